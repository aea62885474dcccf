"""`python -m led_board` is `motcua led`."""

import sys

from .cli import main

sys.exit(main())
