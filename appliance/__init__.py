"""What every motcua process needs: MQTT link and RPC, contract schemas, configuration, time,
messages shown to people, and systemd notification."""

__version__ = "0.1.0"
