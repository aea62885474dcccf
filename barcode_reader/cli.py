"""`python -m barcode_reader` / `motcua scanner`: run the barcode scanner daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from appliance import hardware
from appliance.device import RESTART_EXIT_CODE
from appliance.errors import ConfigError, MotcuaError
from appliance.logs import setup_logging
from appliance.notify import Notifier

from .config import EXAMPLE_CONFIG, load_config
from .service import JsonLinesSink, ScannerService, build_service

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
    daemon = None
    try:
        if args.stdout:
            service: ScannerService = build_service(config, JsonLinesSink())
        else:
            from appliance.mqtt import Link

            from .daemon import ScannerDaemon

            link = Link(config.mqtt, site=config.site, device_id=config.device_id, role=config.role)
            daemon = ScannerDaemon(config, link, config_path=Path(args.config))
            service = daemon.service
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
    if daemon is not None:
        daemon.start()
        service = daemon.service
    else:
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
        while not stop.wait(0.5):
            if daemon is not None and daemon.restart_requested.is_set():
                break
    finally:
        notifier.stopping()
        if daemon is not None:
            daemon.stop()
        else:
            service.stop()
    # A clean exit is not restarted by systemd (Restart=on-failure): 75 asks for the restart.
    return RESTART_EXIT_CODE if daemon is not None and daemon.restart_requested.is_set() else 0
