"""`python -m led_board` / `motcua led`: run a counter or hall LED board with its keys."""

from __future__ import annotations

import logging
from pathlib import Path

from appliance import hardware
from appliance.device_cli import Answer, configured, device_list, example_config
from appliance.errors import MotcuaError
from appliance.startup import process_parser, run_until_stopped

from .config import EXAMPLE_CONFIG, LedConfig
from .config import load_config as load_led_config

log = logging.getLogger("led_board")


def list_models() -> str:
    from .modbus import builtin_models

    lines = ["Built-in Modbus LED module profiles (model = …):"]
    for name, profile in sorted(builtin_models().items()):
        lines.append(f"  {name:<14} {profile.description}")
    return "\n".join(lines)


ANSWERS = [
    example_config(EXAMPLE_CONFIG),
    Answer("--list-models", "list the built-in Modbus module profiles", list_models),
    device_list(
        "list keypads, serial ports and SPI buses",
        [
            ("Keyboards and keypads (evdev):", hardware.keyboards),
            ("Serial ports (RS-485 adapters):", hardware.serial_ports),
            ("SPI buses (MAX7219):", lambda: hardware.device_files("/dev/spidev*")),
        ],
    ),
]


def main(argv: list[str] | None = None) -> int:
    parser = process_parser(
        "motcua led",
        "Drive a counter or hall LED board and send the counter's keys to the hub.",
        "/etc/motcua/led.toml",
    )
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # it logs every timeout as an error
    started = configured(parser, argv, load_led_config, answers=ANSWERS, summary=summary)
    if isinstance(started, int):
        return started
    args, config = started
    return run(config, config_path=Path(args.config))


def where(config: LedConfig) -> str:
    return f"counter {config.counter.counter_id}" if config.counter is not None else "hall"


def summary(config: LedConfig) -> str:
    return (
        f"LED {config.device_id} ({where(config)}) at site {config.site}, board {config.board.driver}, "
        f"{len(config.keypads)} keypad(s), rating {'on' if config.rating else 'off'}"
    )


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

    # The watchdog follows the render loop, not the broker: during an outage the board must keep
    # showing the last state with its mark, not be restarted in a loop.
    last_frames = [-1]

    def healthy() -> bool:
        moved = daemon.frames != last_frames[0]
        last_frames[0] = daemon.frames
        return moved

    return run_until_stopped(
        daemon,
        healthy=healthy,
        ready_line=lambda: (
            f"LED ready: {config.device_id} ({where(config)}) at site {config.site}, board {board.name}, "
            f"MQTT {config.mqtt.host}:{config.mqtt.port}"
        ),
    )
