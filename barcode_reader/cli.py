"""`python -m barcode_reader` / `motcua scanner`: run the barcode scanner daemon."""

from __future__ import annotations

import logging
from pathlib import Path

from appliance import hardware
from appliance.device_cli import configured, device_list, example_config
from appliance.errors import MotcuaError
from appliance.startup import process_parser, run_until_stopped

from .config import EXAMPLE_CONFIG
from .config import load_config as load_scanner_config
from .daemon import ScannerDaemon
from .service import JsonLinesSink, ScannerService, build_service

log = logging.getLogger("barcode_reader")


DEVICES = device_list(
    "list scanners and cameras, then exit",
    [
        ("Keyboard-wedge (HID) scanners:", hardware.keyboards),
        ("Serial scanners:", hardware.serial_ports),
        ("Cameras:", lambda: hardware.device_files("/dev/video*")),
    ],
)


def main(argv: list[str] | None = None) -> int:
    parser = process_parser(
        "motcua scanner",
        "Read barcode scanners (HID, serial, camera) and publish scans/{device_id}.",
        "/etc/motcua/scanner.toml",
    )
    parser.add_argument(
        "--stdout",
        action="store_true",
        help="print scans as JSON lines instead of publishing them (no broker needed)",
    )
    started = configured(
        parser,
        argv,
        load_scanner_config,
        answers=[DEVICES, example_config(EXAMPLE_CONFIG)],
        summary=lambda config: (
            f"scanner {config.device_id} at site {config.site}, source {config.source.type}"
        ),
    )
    if isinstance(started, int):
        return started
    args, config = started

    link = None
    try:
        if args.stdout:
            runner: ScannerService | ScannerDaemon = build_service(config, JsonLinesSink())
        else:
            from appliance.mqtt import Link

            link = Link(config.mqtt, site=config.site, device_id=config.device_id, role=config.role)
            runner = ScannerDaemon(config, link, config_path=Path(args.config))
    except (MotcuaError, ValueError) as error:
        log.error("%s", error)
        return 2

    def ready_line() -> str:
        service = runner.service if isinstance(runner, ScannerDaemon) else runner
        broker = "" if link is None else f", MQTT {config.mqtt.host}:{config.mqtt.port}"
        return (
            f"Scanner ready: {config.device_id} at site {config.site}, "
            f"source {service.source.kind} {service.source.device}{broker}"
        )

    # The watchdog follows the broker link: a daemon that cannot publish scans is of no use.
    return run_until_stopped(
        runner, healthy=(lambda: link.connected) if link is not None else None, ready_line=ready_line
    )
