"""What a counter board and a hall board show, as a pure function of the queue model, the board's
lines and the time: `view.frame(model, situation) -> Frame`.

Counter board: the number served at this counter (blinking for a few seconds after a call or a
recall), "QUẦY n" under it; blank while the counter is closed, or "Tạm nghỉ: họp" over "QUẦY n" while it
is paused with a reason. A message (the hub's refusal, e.g.
"Không còn ai chờ") or the "MẤT KẾT NỐI" mark takes the last line; on a one-line board it takes
turns with the number.

Hall board: a "SỐ → QUẦY" header, the latest calls as "1002 → 3" rows (the newest blinking), and a
scrolling message at the bottom (with the paused counters and why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass

from appliance.i18n import Language, message

from .board import Frame, Line, LineSpec
from .model import CounterInfo, QueueModel

OFFLINE_AFTER = 5.0  # seconds without the broker before the mark shows
ALTERNATE_PERIOD = 2.0  # seconds each side shows when a one-line board alternates


@dataclass(frozen=True)
class Situation:
    """Everything besides the queue that changes what a board shows."""

    now: float
    offline_since: float | None = None  # monotonic time the link went down, None while up
    notice: str | None = None  # a message to show (hub error, feedback)
    notice_until: float = 0.0

    def offline(self, after: float) -> bool:
        return self.offline_since is not None and self.now - self.offline_since >= after

    @property
    def active_notice(self) -> str | None:
        return self.notice if self.notice and self.now < self.notice_until else None


def _alternate(now: float, since: float) -> bool:
    """True during the second half of each alternation period."""
    return int((now - since) / ALTERNATE_PERIOD) % 2 == 1


@dataclass(frozen=True, eq=False)
class CounterView:
    counter_id: str
    specs: tuple[LineSpec, ...]
    _: KW_ONLY
    language: Language = "vi"
    blink_seconds: float = 5.0
    offline_after: float = OFFLINE_AFTER

    def frame(self, model: QueueModel, situation: Situation) -> Frame:
        now = situation.now
        counter = model.counters.get(self.counter_id)
        offline = situation.offline(self.offline_after)
        offline_text = message("led_offline", self.language)
        notice = situation.active_notice or (offline_text if offline else None)
        if counter is None or not counter.open:
            # Closed (or not known yet): nothing but the notice, or why the counter is paused.
            lines = [Line()] * len(self.specs)
            if counter is not None and counter.pause_reason and self.specs[0].text:
                paused = Line(message("led_paused", self.language, reason=counter.pause_reason), scroll=True)
                label = Line(message("led_counter", self.language, counter=counter.name))
                lines = [paused, label, *lines][: len(self.specs)]
            return self._with_notice(lines, notice, situation)
        number = Line(self._number(counter), blink=self._blinking(model, now))
        label = message("led_counter", self.language, counter=counter.name)
        lines = [number, Line(label)]
        if counter.serving is not None and counter.serving.service_name:
            lines.append(Line(counter.serving.service_name, scroll=True))
        lines = (lines + [Line()] * len(self.specs))[: len(self.specs)]
        return self._with_notice(lines, notice, situation)

    def _number(self, counter: CounterInfo) -> str:
        return counter.serving.number if counter.serving is not None else ""

    def _blinking(self, model: QueueModel, now: float) -> bool:
        mark = model.calls.get(self.counter_id)
        return mark is not None and mark.at is not None and 0 <= now - mark.at < self.blink_seconds

    def _with_notice(self, lines: list[Line], notice: str | None, situation: Situation) -> Frame:
        if notice is None:
            return Frame(tuple(lines))
        if len(lines) >= 2:
            lines[-1] = Line(notice, scroll=True)
            return Frame(tuple(lines))
        if situation.active_notice is not None and self.specs[0].text:
            return Frame((Line(notice, scroll=True),))  # the hub's answer, for its few seconds
        since = situation.offline_since if situation.offline_since is not None else 0.0
        if _alternate(situation.now, since):
            # Numbers-only boards cannot spell the mark: a slow dark beat shows it instead.
            return Frame((Line(notice if self.specs[0].text else "", scroll=True),))
        return Frame(tuple(lines))


@dataclass(frozen=True, eq=False)
class HallView:
    specs: tuple[LineSpec, ...]
    _: KW_ONLY
    language: Language = "vi"
    rows: int | None = None
    header: bool = True
    message_text: str = ""
    blink_seconds: float = 5.0
    offline_after: float = OFFLINE_AFTER

    def frame(self, model: QueueModel, situation: Situation) -> Frame:
        total = len(self.specs)
        lines: list[Line] = []
        if self.header and total >= 3:
            lines.append(Line(message("led_hall_header", self.language)))
        offline = situation.offline(self.offline_after)
        notice = situation.active_notice or (message("led_offline", self.language) if offline else None)
        paused = [
            message("led_hall_paused", self.language, counter=c.name, reason=c.pause_reason)
            for c in model.counters.values()
            if not c.open and c.pause_reason
        ]
        bottom = notice or " · ".join(text for text in (self.message_text, *paused) if text)
        space = total - len(lines) - (1 if bottom and total >= 2 else 0)
        if self.rows is not None:
            space = min(space, self.rows)
        for index, row in enumerate(model.recent[: max(0, space)]):
            mark = model.calls.get(row.counter_id)
            fresh = (
                index == 0
                and mark is not None
                and mark.key[0] == row.ticket_id
                and mark.at is not None
                and 0 <= situation.now - mark.at < self.blink_seconds
            )
            text = message("led_hall_row", self.language, number=row.number, counter=row.counter_name)
            lines.append(Line(text, blink=fresh))
        if bottom and total >= 2:
            lines += [Line()] * (total - 1 - len(lines))
            lines.append(Line(bottom, scroll=True))
        elif notice:  # a one-line hall board: the notice takes turns with the newest call
            since = situation.offline_since if situation.offline_since is not None else 0.0
            if situation.active_notice is not None or _alternate(situation.now, since):
                lines = [Line(notice, scroll=True)]
        return Frame(tuple(lines[:total]))


def identify_frame(specs: Sequence[LineSpec], device_id: str) -> Frame:
    """Every line blinking, so a technician sees which board the hub means: the device id where the
    line shows letters, all segments lit ("8888") where it shows digits only."""
    return Frame(
        tuple(
            Line(device_id, blink=True, scroll=True) if spec.text else Line("8" * spec.columns, blink=True)
            for spec in specs
        )
    )
