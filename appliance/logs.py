"""One log format for every daemon: journald adds the time, so a line is level, logger, message."""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record, not at set-up (a test runner
    swaps and closes its capture streams; a daemon's stays the same)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, os.environ.get("MOTCUA_LOG", "INFO").upper(), 20)
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    root = logging.getLogger()
    # python-escpos calls logging.basicConfig() on import; replace that plain stderr handler (and
    # ours from an earlier call), but keep any other (a test's log capture, a site's syslog).
    for handler in list(root.handlers):
        if type(handler) in (logging.StreamHandler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(f"{stamp}%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    # paho logs every reconnect attempt at a level that floods the journal during an outage.
    logging.getLogger("paho").setLevel(logging.WARNING)
