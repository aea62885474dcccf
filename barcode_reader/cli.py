"""`python -m barcode_reader` / `motcua scanner`: run the barcode scanner daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from appliance import hardware
from appliance.errors import ConfigError, MotcuaError
from appliance.logs import setup_logging
from appliance.notify import Notifier

from .config import EXAMPLE_CONFIG, load_config
from .service import JsonLinesSink, MqttSink, ScanSink, build_service

log = logging.getLogger("barcode_reader")


def list_devices() -> str:
    """What a technician needs to fill `[source]`: keyboards, serial ports, cameras."""
    return "\n".join(
        [
            "Keyboard-wedge (HID) scanners:",
            *hardware.keyboards(),
            "Serial scanners:",
            *hardware.serial_ports(),
            "Cameras:",
            *hardware.device_files("/dev/video*"),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motcua scanner",
        description="Read barcode scanners (HID, serial, camera) and publish scans/{device_id}.",
    )
    parser.add_argument("-c", "--config", default="/etc/motcua/scanner.toml", help="the scanner's TOML file")
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")
    parser.add_argument("--stdout", action="store_true",
                        help="print scans as JSON lines instead of publishing them (no broker needed)")
    parser.add_argument("--list-devices", action="store_true", help="list scanners and cameras, then exit")
    parser.add_argument("--example-config", action="store_true", help="print an example configuration")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)

    if args.list_devices:
        print(list_devices())
        return 0
    if args.example_config:
        print(EXAMPLE_CONFIG.read_text(encoding="utf-8"), end="")
        return 0
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: OK — scanner {config.device_id} at site {config.site}, "
              f"source {config.source.type}")
        return 0

    link = None
    sink: ScanSink
    if args.stdout:
        sink = JsonLinesSink()
    else:
        from appliance.mqtt import Link

        link = Link(config.mqtt, site=config.site, device_id=config.device_id, role=config.role)
        sink = MqttSink(link)
    try:
        service = build_service(config, sink)
    except (MotcuaError, ValueError) as error:
        log.error("%s", error)
        return 2

    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # The watchdog follows the broker link: a daemon that cannot publish scans is of no use.
    notifier = Notifier(healthy=(lambda: link.connected) if link is not None else None)
    if link is not None:
        link.start()
    service.start()
    notifier.ready()
    broker = "" if link is None else f", MQTT {config.mqtt.host}:{config.mqtt.port}"
    print(
        f"Scanner ready: {config.device_id} at site {config.site}, "
        f"source {service.source.kind} {service.source.device}{broker}",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        notifier.stopping()
        service.stop()
        if link is not None:
            link.stop()
    return 0
