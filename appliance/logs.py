"""One log format for every daemon: journald adds the time, so a line is level, logger, message."""

from __future__ import annotations

import logging
import os
import sys


def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, os.environ.get("MOTCUA_LOG", "INFO").upper(), 20)
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    root = logging.getLogger()
    # python-escpos calls logging.basicConfig() on import; replace that plain stderr handler with
    # ours, but keep any other handler (a test's log capture, a syslog handler a site added).
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{stamp}%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    # paho logs every reconnect attempt at a level that floods the journal during an outage.
    logging.getLogger("paho").setLevel(logging.WARNING)
