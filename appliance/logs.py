"""One log format for every daemon: journald adds the time, so a line is level, logger, message."""

from __future__ import annotations

import logging
import os
import sys


def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, os.environ.get("MOTCUA_LOG", "INFO").upper(), 20)
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format=f"{stamp}%(levelname)s %(name)s: %(message)s",
        force=True,  # python-escpos calls basicConfig() on import; ours must win
    )
    # paho logs every reconnect attempt at a level that floods the journal during an outage.
    logging.getLogger("paho").setLevel(logging.WARNING)
