"""`python -m ticket_printer`: see ticket_printer.cli."""

import sys

from .cli import main

sys.exit(main())
