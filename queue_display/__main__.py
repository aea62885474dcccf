"""`python -m queue_display [options]` runs the hall display daemon (same as `motcua display`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(["display", *sys.argv[1:]]))
