"""A board that exists only on screen: it renders to a PNG (LED dots) and/or the terminal, and keeps
every output so a test or a benchmark can wait for what a citizen would see.

The PNG is a still picture (scrolling lines at their start, blinking lines lit), rewritten only when
the shown frame changes: a picture per scroll step cost a tenth of a core on an idle hall board, and
nobody watches a PNG scroll. The terminal (cheap) follows every step."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from PIL import Image

from .board import Board, Clock, LineSpec, Output
from .errors import BoardError
from .render import PixelRenderer, led_picture
from .text import fit

# Width of one character cell in LED pixels, relative to the line height (DejaVu Sans Bold digits).
CELL_RATIO = 0.62
HISTORY = 1000
DEFAULT_LINE_HEIGHT = 16
# The PNG at most once a second, as often as the demo page looks at it: a hall board's
# picture costs ~35 ms of CPU to encode, which at one picture per call took a core from the hub.
PICTURE_INTERVAL_S = 1.0


class SimulatedBoard(Board):
    kind = "simulated"

    def __init__(
        self,
        lines: Sequence[LineSpec],
        *,
        png: str | Path | None = None,
        terminal: TextIO | None = None,
        line_heights: Sequence[int] = (),
        dot: int = 6,
        colour: str = "red",
        name: str = "simulated board",
        clock: Clock = time.monotonic,
        **options: float,
    ) -> None:
        super().__init__(lines, name=name, clock=clock, **options)
        self.png = Path(png) if png else None
        self.terminal = terminal
        self.dot = dot
        self.colour = colour
        # Default: the first line (the number) twice as tall as the others, as on real counter boards.
        heights = list(line_heights) or [
            DEFAULT_LINE_HEIGHT * (2 if i == 0 else 1) for i in range(len(lines))
        ]
        heights = (heights + [heights[-1]] * len(lines))[: len(lines)]
        width = max(round(spec.columns * h * CELL_RATIO) for spec, h in zip(self.specs, heights, strict=True))
        self.renderer = PixelRenderer(width, heights)
        self.history: list[tuple[float, Output]] = []
        self._pictured: Output | None = None  # the still picture last written
        self._pictured_at = -math.inf  # the board's time it was written at
        self._pending: Output | None = None  # a newer picture, written once the interval has passed
        self._pushed_at = 0.0
        self._in_terminal = False  # a block was written: the next one replaces it in place
        self._changed = threading.Condition()

    # ------------------------------------------------------------------ driver
    def _draw(self, output: Output) -> None:
        with self._changed:
            self.history.append((self.clock(), output))
            del self.history[:-HISTORY]
            self._changed.notify_all()
        if self.terminal is not None:
            self._write_terminal(output)
            self._in_terminal = True
        still = self._still(output)
        if still == self._pictured:
            self._pending = None
            return
        if self.png is None:
            self._pictured = still
        elif self._pushed_at - self._pictured_at < PICTURE_INTERVAL_S:
            self._pending = still  # written by a later show/tick (the daemon refreshes ≥ 0.5 times/s)
        else:
            self._picture(still)

    def _push(self, now: float) -> None:
        self._pushed_at = now
        super()._push(now)
        if self._pending is not None and now - self._pictured_at >= PICTURE_INTERVAL_S:
            try:
                self._picture(self._pending)
            except BoardError as error:
                self._failed(error)

    def _picture(self, still: Output) -> None:
        self._write_png(still)
        self._pictured, self._pictured_at, self._pending = still, self._pushed_at, None

    def _still(self, output: Output) -> Output:
        """`output` without the motion: the frame as composed when it appeared."""
        frame = self._frame
        return output if frame is None else self.compose(frame, self._since)

    def _apply_brightness(self, percent: int) -> None:
        if self.png is not None and self._pictured is not None:
            self._write_png(self._pictured)

    # ------------------------------------------------------------------ inspection
    def wait_for(self, predicate: Callable[[Output], bool], timeout: float = 5.0) -> Output:
        """The first output (already drawn or to come) matching `predicate`; AssertionError after
        `timeout` seconds naming what was shown instead."""
        return self.wait_after(0, predicate, timeout)

    def mark(self) -> int:
        """A position in the history; `wait_after(mark, …)` only looks at outputs drawn later."""
        with self._changed:
            return len(self.history)

    def wait_after(self, mark: int, predicate: Callable[[Output], bool], timeout: float = 5.0) -> Output:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for _, output in self.history[mark:]:
                    if predicate(output):
                        return output
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    shown = [output.text for _, output in self.history[-5:]]
                    raise AssertionError(f"{self.name}: nothing matching within {timeout} s; last: {shown}")
                self._changed.wait(remaining)

    def image(self, output: Output | None = None) -> Image.Image:
        """The LED picture of `output` (default: what is shown now)."""
        shown = output or self._drawn or Output(("",) * len(self.specs), ("center",) * len(self.specs))
        return led_picture(
            self.renderer.render(shown), dot=self.dot, colour=self.colour, brightness=self.brightness
        )

    def render_text(self, output: Output | None = None) -> str:
        """The board as a framed block of text, one row per line."""
        shown = output or self._drawn or Output(("",) * len(self.specs), ("center",) * len(self.specs))
        width = max(spec.columns for spec in self.specs)
        rows = [
            f"│{fit(text, width, align)}│" for text, align in zip(shown.lines, shown.aligns, strict=False)
        ]
        return "\n".join([f"┌{'─' * width}┐", *rows, f"└{'─' * width}┘"])

    # ------------------------------------------------------------------ outputs
    def _write_png(self, output: Output) -> None:
        assert self.png is not None
        temporary = self.png.with_name(f".{self.png.name}.tmp")
        try:
            self.image(output).save(temporary, format="PNG", compress_level=1)
            os.replace(temporary, self.png)  # a viewer never opens a half-written file
        except OSError as error:
            raise BoardError(f"{self.name}: cannot write {self.png}: {error.strerror or error}") from None

    def _write_terminal(self, output: Output) -> None:
        assert self.terminal is not None
        block = self.render_text(output)
        try:
            if self.terminal.isatty():
                # Redraw in place: cursor up over the previous block.
                height = len(self.specs) + 2
                self.terminal.write(f"\x1b[{height}F\x1b[J" if self._in_terminal else "")
            self.terminal.write(block + "\n")
            self.terminal.flush()
        except (OSError, ValueError) as error:
            raise BoardError(f"{self.name}: cannot write to the terminal: {error}") from None
