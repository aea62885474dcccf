"""What the kiosk's model keeps between taps (kiosk/model.py), and the limits its rules use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from appliance.i18n import Language

from .views import (
    Notice,
    Screen,
)

CallKind = Literal["issue", "lookup", "search", "rate", "resolve_ticket", "check_in", "mine"]
PrintState = Literal["printing", "printed", "failed", "unavailable", "none", "no_answer"]

MAX_INPUT = 64
MAX_PROOF = 64
SEARCH_MIN_CHARS = 2
# Procedures listed at once: more would not fit above the keyboard; typing more narrows them down.
RESULTS_SHOWN = 5
# A reply that takes longer than this shows "Đang …"; quicker ones never flash it.
BUSY_AFTER_S = 0.3
# Tokens of tickets issued or scanned here that a rating can still use (a day of one kiosk).
MAX_REMEMBERED_TOKENS = 2000
# After "Cảm ơn" the rating screen goes home by itself.
THANKS_S = 6.0
# A ticket issued after the citizen left the services screen is still shown if it came this quickly.
LATE_TICKET_S = 10.0
RECENT_PRINT_RESULTS = 50
# The printer may still be finishing a ticket it began at the very end of its window: the kiosk says
# "the printer has not answered" only this long after the window, so it never says so before paper.
PRINT_WINDOW_MARGIN_S = 2.0
# Errors after which the request may or may not have been carried out: repeat it with the same id.
UNKNOWN_OUTCOME = frozenset({"timeout", "unavailable", "overloaded"})
# Errors that mean "this kiosk cannot do that here"; a citizen gets a calm sentence, not a method name.
NOT_AVAILABLE = frozenset({"not_implemented", "central_not_configured", "unknown_method"})

# Screens with a button that takes a number; a failed issue is explained there.
ISSUING_SCREENS: tuple[Screen, ...] = ("services", "procedure", "dossier")

DOSSIER_KEYS = ("1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM.")
SEARCH_KEYS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
DIGIT_KEYS = ("123", "456", "789")
# A booking code's alphabet (hub/bookings/model.py): no 0/O, 1/I/L.
BOOKING_KEYS = ("23456789", "ABCDEFGH", "JKMNPQRS", "TUVWXYZ")
BOOKING_CODE_LENGTH = 8
# The assist mode stretches every timeout by this much: a slow reader is never hurried away.
ASSIST_SLOWER = 3.0
# Elderly priority from the ID card's age unless the hub's site says otherwise (`[booking] elderly_age`).
ELDERLY_AGE = 60


@dataclass(frozen=True)
class Call:
    """Work for the controller. `tag` ties the reply to the screen that asked (stale replies are dropped)."""

    kind: CallKind
    method: str
    params: Mapping[str, Any]
    tag: int
    request_id: str | None = None


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    name_en: str
    waiting: int
    estimated_wait_s: float | None
    open: bool  # some open counter serves it

    def title(self, language: Language) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


@dataclass
class _Issue:
    request_id: str
    service_id: str
    group: str | None
    started: float
    in_flight: bool = True
    dossier_code: str | None = None  # a result-collection ticket linked to this dossier


@dataclass
class _Ticket:
    data: dict[str, Any]
    print_state: PrintState
    shown_at: float
    closes_at: float
    print_deadline: float | None
    print_error: str = ""


@dataclass
class _Pending:
    """The one in-flight call of a kind of screen work, if any."""

    tag: int
    started: float


@dataclass
class _Inputs:
    dossier: str = ""
    dossier_proof: str | None = None  # the receipt's proof, from a scan of its QR code
    dossier_result: dict[str, Any] | None = None
    query: str = ""
    searched: str | None = None
    results: tuple[dict[str, Any], ...] = ()
    procedure: dict[str, Any] | None = None
    rating: str = ""
    rated_at: float | None = None
    booking: str = ""  # the booking code as typed or scanned
    notice: Notice | None = None
    pending: dict[str, _Pending] = field(default_factory=dict)


@dataclass
class _Card:
    """An ID card read at this kiosk: its masked number and its holder's age; the full number only
    from a reader wired to this kiosk (the chip). Kept in memory only until the citizen goes (home,
    idle) or declines; the number and the dossiers never appear in a repr."""

    masked: str
    age: int | None
    consented: bool = False
    id_no: str | None = field(default=None, repr=False)
    dossiers: tuple[str, ...] | None = field(default=None, repr=False)
    spoken: str = field(default="", repr=False)
