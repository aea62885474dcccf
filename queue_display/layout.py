"""The hall display's counter grid per orientation (how many tiles a page holds, and how they sit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """The counter grid of one orientation: page size and the grid (columns, rows) for n tiles.

    Sizes keep a serving number readable from 8 m: at 20 tiles a landscape tile is ~248×225 px and
    its number ~90 px high (≈ 5.5 cm on a 55" screen).
    """

    orientation: str
    grids: tuple[tuple[int, int], ...]  # ascending capacity; the last one is the page size

    @property
    def page_size(self) -> int:
        columns, rows = self.grids[-1]
        return columns * rows

    def grid(self, tiles: int) -> tuple[int, int]:
        """(columns, rows) of the smallest grid that holds `tiles` tiles."""
        return next(((c, r) for c, r in self.grids if c * r >= tiles), self.grids[-1])


LANDSCAPE = Layout("landscape", ((1, 1), (2, 1), (2, 2), (3, 2), (3, 3), (4, 3), (4, 4), (5, 4)))
PORTRAIT = Layout("portrait", ((1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 4), (4, 4), (4, 5)))


def layout_for(orientation: str) -> Layout:
    return PORTRAIT if orientation == "portrait" else LANDSCAPE
