"""`python -m led_board` / `motcua led`: run a counter or hall LED board with its keys."""

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

from .config import EXAMPLE_CONFIG, LedConfig, load_config

log = logging.getLogger("led_board")


def list_models() -> str:
    from .modbus import builtin_models

    lines = ["Built-in Modbus LED module profiles (model = …):"]
    for name, profile in sorted(builtin_models().items()):
        lines.append(f"  {name:<14} {profile.description}")
    return "\n".join(lines)


def list_devices() -> str:
    return "\n".join(
        [
            "Keyboards and keypads (evdev):",
            *hardware.keyboards(),
            "Serial ports (RS-485 adapters):",
            *hardware.serial_ports(),
            "SPI buses (MAX7219):",
            *hardware.device_files("/dev/spidev*"),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motcua led",
        description="Drive a counter or hall LED board and send the counter's keys to the hub.",
    )
    parser.add_argument("-c", "--config", default="/etc/motcua/led.toml", help="the device's TOML file")
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")
    parser.add_argument("--example-config", action="store_true", help="print an example configuration")
    parser.add_argument("--list-models", action="store_true", help="list the built-in Modbus module profiles")
    parser.add_argument(
        "--list-devices", action="store_true", help="list keypads, serial ports and SPI buses"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # it logs every timeout as an error

    if args.example_config:
        print(EXAMPLE_CONFIG.read_text(encoding="utf-8"), end="")
        return 0
    if args.list_models:
        print(list_models())
        return 0
    if args.list_devices:
        print(list_devices())
        return 0
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if args.check:
        where = f"counter {config.counter.counter_id}" if config.counter is not None else "hall"
        print(
            f"{args.config}: OK — LED {config.device_id} ({where}) at site {config.site}, "
            f"board {config.board.driver}, {len(config.keypads)} keypad(s), "
            f"rating {'on' if config.rating else 'off'}"
        )
        return 0
    return run(config, config_path=Path(args.config))


def run(config: LedConfig, config_path: Path | None = None) -> int:
    from appliance.mqtt import Link

    from .daemon import LedDaemon, build_board, pin_factory_for

    try:
        board = build_board(config)
    except MotcuaError as error:
        log.error("%s", error)
        return 1
    link = Link(config.mqtt, site=config.site, device_id=config.device_id, role=config.role)
    try:
        daemon = LedDaemon(config, link, board, pin_factory=pin_factory_for(config), config_path=config_path)
    except MotcuaError as error:  # a GPIO pin in use, …
        log.error("%s", error)
        board.close()
        return 1

    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # The watchdog follows the render loop, not the broker: during an outage the board must keep
    # showing the last state with its mark, not be restarted in a loop.
    last_frames = [-1]

    def healthy() -> bool:
        moved = daemon.frames != last_frames[0]
        last_frames[0] = daemon.frames
        return moved

    notifier = Notifier(healthy=healthy)
    daemon.start()
    notifier.ready()
    where = f"counter {config.counter.counter_id}" if config.counter is not None else "hall"
    print(
        f"LED ready: {config.device_id} ({where}) at site {config.site}, board {board.name}, "
        f"MQTT {config.mqtt.host}:{config.mqtt.port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(0.5) and not daemon.restart_requested.is_set():
            pass
    finally:
        notifier.stopping()
        daemon.stop()
    # A clean exit is not restarted by systemd (Restart=on-failure): 75 asks for the restart.
    return RESTART_EXIT_CODE if daemon.restart_requested.is_set() else 0
