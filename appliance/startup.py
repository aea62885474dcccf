"""How every motcua process starts and stops: the options they share, the configuration check, and
the life under systemd (READY, a health-gated watchdog, SIGTERM, and exit code 75 when the hub asked
for a restart — a clean exit is not restarted by `Restart=on-failure`)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from .device import RESTART_EXIT_CODE
from .errors import ConfigError
from .notify import Notifier

Config = TypeVar("Config")

# What a process returns when its configuration is unusable (the message went to stderr).
CONFIG_ERROR_EXIT_CODE = 2


def process_parser(prog: str, description: str, default_config: str | None) -> argparse.ArgumentParser:
    """The options every process has: `-c/--config`, `--check` and `-v/--verbose`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "-c",
        "--config",
        default=default_config,
        help=f"TOML file (default {default_config})" if default_config else "TOML file",
    )
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def load_config(path: str | Path, load: Callable[[str | Path], Config]) -> Config | None:
    """`load(path)`, or None after telling the person what is wrong with the file (stderr)."""
    try:
        return load(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None


class Daemon(Protocol):
    """A device's daemon as its process runs it."""

    def start(self) -> object: ...

    def stop(self) -> object: ...


def run_until_stopped(
    daemon: Daemon,
    *,
    healthy: Callable[[], bool] | None,
    ready_line: Callable[[], str] | None = None,
    status: Callable[[], str] | None = None,
    restart_requested: threading.Event | None = None,
    poll_s: float = 0.5,
) -> int:
    """Start `daemon`, tell systemd it is ready, and stop it on SIGTERM/SIGINT or when the hub asked
    for a restart (then the exit code is RESTART_EXIT_CODE, else 0). `ready_line` goes to stderr
    once started; `status` (if given) is shown by `systemctl status`, refreshed every `poll_s`."""
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    restart = restart_requested or getattr(daemon, "restart_requested", None) or threading.Event()
    with Notifier(healthy=healthy) as notifier:
        daemon.start()
        notifier.ready()
        if ready_line is not None:
            print(ready_line(), file=sys.stderr, flush=True)
        try:
            while not stop.wait(poll_s) and not restart.is_set():
                if status is not None:
                    notifier.status(status())
        finally:
            notifier.stopping()
            daemon.stop()
    return RESTART_EXIT_CODE if restart.is_set() else 0


def close_kivy_app() -> None:
    """Ask the running kivy app (if any) to close its window, from any thread."""
    from kivy.app import App
    from kivy.clock import Clock

    app = App.get_running_app()
    if app is not None:
        Clock.schedule_once(lambda _dt: app.stop(), 0)
