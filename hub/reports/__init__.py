"""Reports over any period: the office's record (issue 16).

`period` reads periods, `facts` turns tickets into facts and per-day cells (pure), `history` keeps
the cells in the hub's SQLite file, `report` assembles a grouping, `export` writes CSV/xlsx/PDF,
`charts` draws SVG, `generate` makes a realistic year for tests and benchmarks.
"""

from .facts import DIMENSIONS
from .period import Period, PeriodError, parse_period
from .report import Report, build, build_all

__all__ = ["DIMENSIONS", "Period", "PeriodError", "Report", "build", "build_all", "parse_period"]
