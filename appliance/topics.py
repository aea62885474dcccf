"""MQTT topic names of the contract (docs/contract.md). Root: motcua/v1/{site}/."""

from __future__ import annotations

ROOT = "motcua/v1"


class Topics:
    """Builds the contract's topics for one site."""

    def __init__(self, site: str) -> None:
        if not site or any(ch in site for ch in "/+#"):
            raise ValueError(f"site id {site!r} must be non-empty and contain no '/', '+' or '#'")
        self.site = site
        self.root = f"{ROOT}/{site}"

    def device_state(self, device_id: str) -> str:
        return f"{self.root}/devices/{device_id}/state"

    def device_health(self, device_id: str) -> str:
        return f"{self.root}/devices/{device_id}/health"

    def device_config(self, device_id: str) -> str:
        return f"{self.root}/devices/{device_id}/config"

    def device_commands(self, device_id: str) -> str:
        return f"{self.root}/devices/{device_id}/commands"

    def device_printer(self, device_id: str) -> str:
        """Retained, hub → kiosk: whether the kiosk's ticket printer is ready (hub/printing.py)."""
        return f"{self.root}/devices/{device_id}/printer"

    def device_replies(self, device_id: str) -> str:
        return f"{self.root}/devices/{device_id}/replies"

    def rpc(self, caller_id: str, method: str) -> str:
        return f"{self.root}/rpc/{caller_id}/{method}"

    @property
    def rpc_filter(self) -> str:
        return f"{self.root}/rpc/+/+"

    @property
    def queue_state(self) -> str:
        return f"{self.root}/queue/state"

    @property
    def queue_events(self) -> str:
        return f"{self.root}/queue/events"

    @property
    def results_ready(self) -> str:
        """Retained list of dossiers whose results wait for collection."""
        return f"{self.root}/results/ready"

    @property
    def province_commands(self) -> str:
        """Device commands asked by the province (the only topic its bridge brings in); the hub
        checks each and sends it itself on `devices/{id}/commands`."""
        return f"{self.root}/province/commands"

    @property
    def province_templates(self) -> str:
        """Configuration templates from the province (over the bridge); the hub validates each."""
        return f"{self.root}/province/templates"

    @property
    def province_results(self) -> str:
        """The hub's answer to each template (applied or refused, with the reason), to the province."""
        return f"{self.root}/province/results"

    def print_jobs(self, device_id: str) -> str:
        return f"{self.root}/print/{device_id}/jobs"

    def print_results(self, device_id: str) -> str:
        return f"{self.root}/print/{device_id}/results"

    def scans(self, device_id: str) -> str:
        return f"{self.root}/scans/{device_id}"

    def private_scans(self, device_id: str, kiosk_id: str) -> str:
        """Scans only one kiosk may read (ID cards, receipt proofs): the broker ACL of every other
        device excludes this topic."""
        return f"{self.root}/scans/{device_id}/{kiosk_id}"

    def all_devices(self, leaf: str) -> str:
        """Filter for one leaf (state, health, …) of every device."""
        return f"{self.root}/devices/+/{leaf}"

    def split_rpc(self, topic: str) -> tuple[str, str] | None:
        """(caller_id, method) of an RPC request topic, or None if it is not one."""
        prefix = f"{self.root}/rpc/"
        if not topic.startswith(prefix):
            return None
        rest = topic[len(prefix) :].split("/")
        if len(rest) != 2 or not all(rest):
            return None
        return rest[0], rest[1]
