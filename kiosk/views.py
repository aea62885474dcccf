"""What each kiosk screen shows: plain, immutable data with every text already in the chosen language.

`KioskModel.view()` builds a `ViewState`; the kivy widgets (kiosk/screens.py) only lay it out, and tests
assert on it directly. Every touchable thing is a `Button` whose `action`/`arg` go back to
`KioskModel.tap(action, arg)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from appliance.i18n import Language

Screen = Literal[
    "home", "services", "ticket", "dossier", "procedures", "procedure", "rating", "booking", "card"
]
NoticeKind = Literal["info", "ok", "warn", "error"]


@dataclass(frozen=True)
class Button:
    action: str
    label: str
    arg: str = ""
    detail: str = ""  # a second, smaller line (waiting count, field of a procedure)
    note: str = ""  # a third line in a warning colour (counter closed)
    selected: bool = False


@dataclass(frozen=True)
class Notice:
    text: str
    kind: NoticeKind = "info"


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    alarm: bool = False  # shown in red (overdue)


@dataclass(frozen=True)
class Header:
    site: str
    clock: str
    date: str
    language: Button
    back: Button | None = None
    home: Button | None = None
    assist: Button | None = None  # "Hỗ trợ": speech, high contrast, larger text, slower timeouts


@dataclass(frozen=True)
class HomeBody:
    title: str
    subtitle: str
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class ServicesBody:
    title: str
    hint: str
    priority_title: str
    priorities: tuple[Button, ...]
    services: tuple[Button, ...]
    notice: Notice | None = None
    busy: str = ""


@dataclass(frozen=True)
class TicketBody:
    title: str
    number: str
    service: str
    priority: str
    ahead: str
    wait: str
    qr_url: str
    qr_hint: str
    print_text: str
    print_kind: NoticeKind
    closes: str
    done: Button


@dataclass(frozen=True)
class Keyboard:
    rows: tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class DossierCard:
    rows: tuple[Row, ...]
    notes: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class TypedBody:
    """A screen where the citizen types: its heading, and what was typed so far (or what to type)."""

    title: str
    hint: str
    input: str
    placeholder: str


@dataclass(frozen=True)
class LookupBody(TypedBody):
    """Typed on the on-screen keyboard and sent with `submit`: a dossier code, a procedure's name, a
    booking code (kiosk/lookup_screens.py lays them out alike)."""

    keyboard: Keyboard
    submit: Button


@dataclass(frozen=True)
class DossierBody(LookupBody):
    busy: str = ""
    notice: Notice | None = None
    result: DossierCard | None = None
    # The dossier's result is ready: "Hồ sơ đã có kết quả…" and "Lấy số nhận kết quả".
    ready: Notice | None = None
    collect: Button | None = None


@dataclass(frozen=True)
class ProceduresBody(LookupBody):
    results: tuple[Button, ...] = ()
    summary: str = ""
    busy: str = ""
    notice: Notice | None = None


@dataclass(frozen=True)
class ProcedureBody:
    title: str
    field: str
    rows: tuple[Row, ...]
    papers_title: str
    papers: tuple[str, ...]
    take: Button | None
    note: str = ""
    notice: Notice | None = None
    busy: str = ""


@dataclass(frozen=True)
class RatingBody(TypedBody):
    keypad: Keyboard
    scores: tuple[Button, ...]
    busy: str = ""
    notice: Notice | None = None


@dataclass(frozen=True)
class BookingBody(LookupBody):
    """ "Tôi đã đặt lịch": the booking code typed or scanned, checked in for a ticket."""

    identity: str = ""  # the ID card read with consent (masked) and the priority it gives
    busy: str = ""
    notice: Notice | None = None


@dataclass(frozen=True)
class CardBody:
    """An ID card was scanned: consent first; then what it gave and where to go next."""

    title: str
    text: str
    choices: tuple[Button, ...]
    notice: Notice | None = None
    # The holder's own dossiers from central (chip read, consent): one line each, names in full.
    dossiers: tuple[str, ...] = ()
    busy: str = ""
    # What the assist mode's voice says of them: codes and statuses, never a name aloud in the hall.
    spoken: str = ""


@dataclass(frozen=True)
class Overlay:
    kind: Literal["reconnecting", "locked", "identify"]
    title: str
    lines: tuple[str, ...]


Body = (
    HomeBody
    | ServicesBody
    | TicketBody
    | DossierBody
    | ProceduresBody
    | ProcedureBody
    | RatingBody
    | BookingBody
    | CardBody
)


@dataclass(frozen=True)
class ViewState:
    screen: Screen
    language: Language
    header: Header
    body: Body
    overlay: Overlay | None = None
    assist: bool = False  # high contrast and larger text on screen

    def buttons(self) -> list[Button]:
        """Every button on screen (for tests and the scripted driver); none under an overlay."""
        if self.overlay is not None:
            return []
        header = self.header
        found: list[Button] = [b for b in (header.language, header.back, header.home, header.assist) if b]
        for value in vars(self.body).values():
            found.extend(_buttons_in(value))
        return found

    def find(self, action: str, arg: str | None = None) -> Button | None:
        return next((b for b in self.buttons() if b.action == action and (arg is None or b.arg == arg)), None)

    def texts(self) -> list[str]:
        """Every text on screen, in reading order (tests look for words in it)."""
        out: list[str] = []
        if self.overlay is not None:
            return [self.overlay.title, *self.overlay.lines]
        _collect(self.header, out)
        _collect(self.body, out)
        return [text for text in out if text]


def _buttons_in(value: object) -> list[Button]:
    if isinstance(value, Button):
        return [value]
    if isinstance(value, Keyboard):
        return [key for row in value.rows for key in row]
    if isinstance(value, tuple):
        return [b for item in value for b in _buttons_in(item)]
    return []


def _collect(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, Button):
        out.extend((value.label, value.detail, value.note))
    elif isinstance(value, Row):
        out.extend((value.label, value.value))
    elif isinstance(value, Notice):
        out.append(value.text)
    elif isinstance(value, tuple):
        for item in value:
            _collect(item, out)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:  # type: ignore[attr-defined]
            if name not in ("qr_url", "print_kind", "kind"):
                _collect(getattr(value, name), out)
