"""The board driver interface: what every LED board (Modbus module, MAX7219 matrix, simulator) does.

A view describes a `Frame` — lines of text, each maybe blinking or scrolling. `Board.show(frame)`
turns it into an `Output` (the exact strings visible now, folded to ASCII where the line has no
Unicode font, numbers-only where it shows digits only, scrolled and blinked by the clock) and hands
it to the driver's `_draw` only when it differs from what is already on the panel, so an RS-485
module is not rewritten 10 times a second. Drivers with a hardware blink register get the blink
flags instead of a blanked line.

Failures of the panel are values, not exceptions: `_draw` raises BoardError, the base class keeps
the message in `error`, logs the change once and tries again every `retry_interval` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .errors import BoardError
from .text import Align, digits_only, fold_ascii, nfc, scroll_window

log = logging.getLogger(__name__)

Clock = Callable[[], float]

BLINK_PERIOD = 1.0  # seconds: half lit, half dark
SCROLL_SPEED = 3.0  # characters per second
RETRY_INTERVAL = 2.0


@dataclass(frozen=True)
class LineSpec:
    """What one line of a board can show."""

    columns: int
    text: bool = True  # letters; False: digits (and blanks) only
    unicode: bool = True  # Vietnamese diacritics; False: folded to ASCII

    def prepare(self, text: str) -> str:
        text = nfc(text)
        if not self.unicode:
            text = fold_ascii(text)
        if not self.text:
            text = digits_only(text)
        return text


@dataclass(frozen=True)
class Line:
    text: str = ""
    align: Align = "center"
    blink: bool = False
    scroll: bool = False  # scroll right to left when longer than the line


@dataclass(frozen=True)
class Frame:
    lines: tuple[Line, ...] = ()

    @classmethod
    def of(cls, *texts: str, align: Align = "center") -> Frame:
        return cls(tuple(Line(text, align) for text in texts))


BLANK = Frame()


@dataclass(frozen=True)
class Output:
    """What is visible on the panel now: one string per line (never longer than the line)."""

    lines: tuple[str, ...]
    aligns: tuple[Align, ...]
    blink: tuple[bool, ...] = field(default=())  # hardware-blink drivers only

    @property
    def text(self) -> str:
        return " | ".join(self.lines)


class Board(ABC):
    """Base of the drivers. Thread-safe; `close()` is idempotent; a context manager."""

    kind = "board"

    def __init__(
        self,
        lines: Sequence[LineSpec],
        *,
        name: str = "",
        clock: Clock = time.monotonic,
        blink_period: float = BLINK_PERIOD,
        scroll_speed: float = SCROLL_SPEED,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        if not lines:
            raise ValueError(f"board {name or self.kind}: needs at least one line")
        self.specs: tuple[LineSpec, ...] = tuple(lines)
        self.name = name or self.kind
        self.clock = clock
        self.blink_period = blink_period
        self.scroll_speed = scroll_speed
        self.retry_interval = retry_interval
        self.brightness = 100
        self.error: str | None = None
        self._lock = threading.RLock()
        self._frame: Frame | None = None
        self._since = clock()
        self._drawn: Output | None = None
        self._retry_at = 0.0
        self._closed = False

    # ------------------------------------------------------------------ what a driver may override
    @property
    def hardware_blink(self) -> bool:
        """True if the panel blinks by itself (a blink register): it gets flags, not blanked lines."""
        return False

    @abstractmethod
    def _draw(self, output: Output) -> None:
        """Put `output` on the panel, all lines at once; raise BoardError on failure."""

    def _apply_brightness(self, percent: int) -> None:  # noqa: B027 - optional for drivers
        """Set the panel's brightness (0–100); raise BoardError on failure."""

    def _close(self) -> None:  # noqa: B027 - optional for drivers
        """Release the port or bus."""

    # ------------------------------------------------------------------ public API
    @property
    def lines(self) -> tuple[LineSpec, ...]:
        return self.specs

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def output(self) -> Output | None:
        """What was last put on the panel successfully."""
        return self._drawn

    def show(self, frame: Frame, now: float | None = None) -> None:
        """Show `frame`. The same frame again only advances blinking and scrolling."""
        with self._lock:
            now = self.clock() if now is None else now
            if frame != self._frame:
                self._frame = frame
                self._since = now
            self._push(now)

    def tick(self, now: float | None = None) -> None:
        """Advance blinking and scrolling; retry a failed panel. Call a few times a second."""
        with self._lock:
            if self._frame is not None:
                self._push(self.clock() if now is None else now)

    def clear(self) -> None:
        self.show(BLANK)

    def set_brightness(self, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        with self._lock:
            self.brightness = percent
            if self._closed:
                return
            try:
                self._apply_brightness(percent)
            except BoardError as error:
                self._failed(error)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._close()
            except BoardError as error:
                log.warning("%s: closing failed: %s", self.name, error)

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ composing
    def compose(self, frame: Frame, now: float) -> Output:
        """The output of `frame` at time `now` (`now - since` drives blink and scroll)."""
        elapsed = max(0.0, now - self._since)
        texts: list[str] = []
        aligns: list[Align] = []
        blinks: list[bool] = []
        for index, spec in enumerate(self.specs):
            line = frame.lines[index] if index < len(frame.lines) else Line()
            text = spec.prepare(line.text)
            align = line.align
            if len(text) > spec.columns:
                if line.scroll:
                    text = scroll_window(text, spec.columns, int(elapsed * self.scroll_speed))
                    align = "left"
                else:
                    text = text[: spec.columns]
            if (
                line.blink
                and not self.hardware_blink
                and elapsed % self.blink_period >= self.blink_period / 2
            ):
                text = ""
            texts.append(text)
            aligns.append(align)
            blinks.append(line.blink and self.hardware_blink)
        return Output(tuple(texts), tuple(aligns), tuple(blinks) if self.hardware_blink else ())

    def _push(self, now: float) -> None:
        if self._closed or self._frame is None:
            return
        output = self.compose(self._frame, now)
        if output == self._drawn and self.error is None:
            return
        if self.error is not None and now < self._retry_at:
            return
        try:
            self._draw(output)
        except BoardError as error:
            self._failed(error)
            self._retry_at = now + self.retry_interval
            return
        self._drawn = output
        if self.error is not None:
            log.warning("%s: working again", self.name)
            self.error = None

    def _failed(self, error: BoardError) -> None:
        message = str(error)
        if message != self.error:
            log.error("%s", message)  # driver messages name the board
        self.error = message
        self._drawn = None  # redraw everything once the panel answers again
