"""`motcua kiosk` / `python -m kiosk`: the citizen touchscreen kiosk.

motcua kiosk -c /etc/motcua/kiosk.toml                 full screen, as on the hall's kiosk
motcua kiosk -c kiosk.toml --windowed --orientation landscape
motcua kiosk -c kiosk.toml --screenshot out/kiosk.png  draw the first screen into a PNG and exit
motcua kiosk -c kiosk.toml --check                     validate the configuration
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path

from appliance.config import load
from appliance.device_cli import configured
from appliance.errors import MotcuaError
from appliance.startup import close_kivy_app, process_parser

from .config import KioskConfig

log = logging.getLogger("motcua.kiosk")

DEFAULT_CONFIG = "/etc/motcua/kiosk.toml"
# The screen is healthy while it redraws; a frozen kivy loop is restarted by systemd's watchdog.
STALL_S = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = process_parser("motcua kiosk", "Run the citizen touchscreen kiosk.", DEFAULT_CONFIG)
    parser.add_argument("--windowed", action="store_true", help="not full screen (for a desk)")
    parser.add_argument("--orientation", choices=["portrait", "landscape"], help="override [screen]")
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the first screen and exit")
    started = configured(parser, argv, lambda path: load(path, KioskConfig), answers=(), summary=summary)
    if isinstance(started, int):
        return started
    args, config = started
    if args.orientation:
        config = config.model_copy(
            update={"screen": config.screen.model_copy(update={"orientation": args.orientation})}
        )
    for path in (config.screen.font, config.screen.font_bold):
        if not Path(path).is_file():
            print(
                f"{args.config}: [screen] font {path} does not exist (Debian: fonts-dejavu-core)",
                file=sys.stderr,
            )
            return 2
    try:
        return _run(
            config,
            fullscreen=config.screen.fullscreen and not args.windowed,
            screenshot=args.screenshot,
            config_path=Path(args.config),
        )
    except MotcuaError as error:
        log.error("%s", error)
        return 1


def summary(config: KioskConfig) -> str:
    return (
        f"kiosk {config.device_id} at site {config.site}, "
        f"{config.screen.orientation}, scanners {', '.join(config.kiosk.scanners) or 'none'}"
    )


def _run(
    config: KioskConfig, *, fullscreen: bool, screenshot: Path | None, config_path: Path | None = None
) -> int:
    from appliance.device import RESTART_EXIT_CODE
    from appliance.notify import Notifier

    from .app import run_kiosk
    from .controller import KioskController

    controller = KioskController(config, config_path=config_path, on_restart=close_kivy_app)
    beat = {"at": time.monotonic()}

    def heartbeat() -> None:
        beat["at"] = time.monotonic()

    notifier = Notifier(healthy=lambda: time.monotonic() - beat["at"] < STALL_S)

    signal.signal(signal.SIGTERM, lambda signum, frame: close_kivy_app())
    controller.start()
    log.info("kiosk %s (site %s, %s) starting", config.device_id, config.site, config.screen.orientation)
    try:
        notifier.ready()
        status = run_kiosk(
            controller, config, fullscreen=fullscreen, screenshot=screenshot, heartbeat=heartbeat
        )
        # A clean exit is not restarted by systemd (Restart=on-failure): 75 asks for the restart.
        return RESTART_EXIT_CODE if controller.restart_requested.is_set() else status
    finally:
        notifier.stopping()
        controller.stop()
        notifier.close()
