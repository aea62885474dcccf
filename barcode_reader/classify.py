"""Understanding a scan: normalise the text, classify it, reject garbage, suppress repeats.

Pure module (no I/O): the daemon feeds it what a source read and publishes what it returns.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from appliance.dossier_code import DossierCode, DossierCodeError, code_text_in_url, parse, split_receipt_proof
from appliance.timeutil import now as site_now
from appliance.web_address import http_url
from hub.bookings.id_card import IdCardError, parse_id_card

Kind = Literal["dossier_code", "ticket", "dossier_url", "id_card", "booking", "unknown"]
RejectReason = Literal["empty", "too_long", "undecodable", "binary", "no_content"]

DEFAULT_MAX_LENGTH = 512
DEFAULT_TICKET_PATH = "/t/"
# Ticket tokens are URL-safe random strings (secrets.token_urlsafe and the like).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,128}")
# The QR code of a chip ID card (CCCD) or a VNeID screen: `ID|old ID|name|DOB|sex|address|issue date`
# with a 12-digit ID. Sensitive personal data (Law 91/2025): recognised before anything is logged.
_ID_CARD = re.compile(r"^\s*(?:\][A-Za-z][0-9A-Za-z])?(\d{12})\|")
ID_CARD_MIN_FIELDS = 5
# A booking's QR (hub/bookings/model.py QR_PREFIX): `MCBK:` and an 8-letter code without 0/O, 1/I/L.
_BOOKING = re.compile(
    r"^MCBK:\s*([ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4})-?([ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4})$"
)
DEFAULT_BOOKING_PATH = "/b/"
WITHHELD = "(ID card data withheld)"
# More than this share of control characters in what a source read means line noise, not a code.
_MAX_CONTROL_SHARE = 0.25

# AIM symbology identifiers (ISO/IEC 15424) that scanners can be set to prefix: "]C0", "]Q1", …
_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_AIM_SYMBOLOGIES = {
    "A": "code39",
    "C": "code128",
    "d": "datamatrix",
    "E": "ean",
    "F": "codabar",
    "G": "code93",
    "I": "itf",
    "L": "pdf417",
    "Q": "qr",
    "z": "aztec",
}


@dataclass(frozen=True)
class Classified:
    """An accepted scan. `code` is what consumers act on: the canonical dossier code, the ticket token,
    or the normalised text for `unknown`."""

    kind: Kind
    code: str
    text: str  # the normalised scanned text (for `id_card`, only the masked number)
    dossier: DossierCode | None = None
    # The secret half of a receipt's QR (`CODE/PROOF`): proves the paper is in hand, so it goes only
    # to the scanner's own kiosk.
    proof: str | None = None
    # An ID card's holder's age in whole years (elderly priority at the kiosk, with consent): the
    # only fact of the card that leaves the scanner besides its masked number.
    age: int | None = None

    @property
    def private(self) -> bool:
        """Carries personal data or a secret: published only to the paired kiosk, never logged."""
        return self.kind == "id_card" or self.proof is not None


@dataclass(frozen=True)
class Rejected:
    """A scan that is not worth publishing, with the reason logged."""

    reason: RejectReason
    detail: str


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls (CR, LF, GS in GS1 codes, NUL); Cf: BOM, zero-width spaces.
    return unicodedata.category(ch) in ("Cc", "Cf")


def normalise(raw: str) -> str:
    """NFC, control and format characters removed, surrounding whitespace trimmed."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(" " if ch == "\t" else ch for ch in text if ch == "\t" or not _is_control(ch))
    return text.strip()


def split_aim(text: str) -> tuple[str | None, str]:
    """(symbology, text without the prefix) for text starting with an AIM identifier like "]C0"."""
    if not _AIM.match(text):
        return None, text
    return _AIM_SYMBOLOGIES.get(text[1], "other"), text[3:]


def looks_like_id_card(text: str) -> bool:
    """True for anything that starts like an ID card's QR; such text is never shown in a log."""
    return _ID_CARD.match(text) is not None


def mask_id_number(number: str) -> str:
    """All but the last 3 digits hidden: "001092012345" → "*********345"."""
    return "*" * (len(number) - 3) + number[-3:]


def id_card(text: str, today: date | None = None) -> Classified | None:
    """An ID card's QR as `id_card` with only the masked number and the holder's age kept (no age
    when the card does not parse whole), or None if it is not one."""
    match = _ID_CARD.match(text)
    if match is None or text.count("|") < ID_CARD_MIN_FIELDS - 1:
        return None
    masked = mask_id_number(match.group(1))
    day = today or site_now().date()
    try:
        age: int | None = parse_id_card(text, today=day).age_on(day)
    except IdCardError:
        age = None
    return Classified("id_card", masked, masked, age=age)


def booking_code(text: str, booking_path: str = DEFAULT_BOOKING_PATH) -> str | None:
    """The code of a booking QR (`MCBK:ABCD2345`) or of the booking page's address (`…/b/ABCD2345`)."""
    if "://" in text:
        parts = http_url(text)
        if parts is None or not parts.path.startswith(booking_path):
            return None
        text = "MCBK:" + parts.path[len(booking_path) :].rstrip("/")
    match = _BOOKING.match(text.upper())
    return match.group(1) + match.group(2) if match else None


def _preview(text: str, limit: int = 40) -> str:
    if looks_like_id_card(text):
        return WITHHELD
    shown = text[:limit].encode("unicode_escape").decode("ascii")
    return shown + ("…" if len(text) > limit else "")


def check(raw: str, max_length: int = DEFAULT_MAX_LENGTH) -> Rejected | str:
    """The normalised text, or why the raw text is garbage."""
    if len(raw) > max_length:
        return Rejected("too_long", f"{len(raw)} characters (limit {max_length}): {_preview(raw)}")
    if "\ufffd" in raw:
        return Rejected("undecodable", f"bytes that are not valid text: {_preview(raw)}")
    controls = sum(1 for ch in raw if _is_control(ch) and ch not in "\r\n\t")
    if raw and controls / len(raw) > _MAX_CONTROL_SHARE:
        return Rejected("binary", f"{controls} control characters in {len(raw)}: {_preview(raw)}")
    text = normalise(raw)
    if not text:
        return Rejected("empty", "nothing but whitespace or control characters")
    if any(unicodedata.category(ch) in ("Co", "Cn", "Cs") for ch in text):
        return Rejected("binary", f"unassigned or private-use characters: {_preview(text)}")
    if not any(ch.isalnum() for ch in text):
        return Rejected("no_content", f"no letter or digit: {_preview(text)}")
    return text


def ticket_token(text: str, ticket_path: str = DEFAULT_TICKET_PATH) -> str | None:
    """The token of a ticket QR (an http(s) URL whose path is `/t/{token}`), or None."""
    parts = http_url(text)
    if parts is None:
        return None
    path = parts.path
    if not path.startswith(ticket_path):
        return None
    token = path[len(ticket_path) :].rstrip("/")
    return token if _TOKEN.fullmatch(token) else None


def classify(
    raw: str,
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    ticket_path: str = DEFAULT_TICKET_PATH,
    today: date | None = None,
) -> Classified | Rejected:
    """Classify one scan: dossier code, ticket QR, booking QR, URL carrying a dossier code, or unknown."""
    checked = check(raw, max_length)
    if isinstance(checked, Rejected):
        return checked
    text = checked
    card = id_card(text, today)
    if card is not None:
        return card
    if looks_like_id_card(text):  # an ID card's QR read in part: not published, not logged
        return Rejected("no_content", WITHHELD)
    booking = booking_code(text)
    if booking is not None:
        return Classified("booking", booking, text)
    if "://" in text:
        token = ticket_token(text, ticket_path)
        if token is not None:
            return Classified("ticket", token, text)
        candidate = code_text_in_url(text)
        if candidate is not None:
            try:
                dossier = parse(candidate)
            except DossierCodeError:
                pass
            else:
                return Classified("dossier_url", dossier.canonical, text, dossier)
        return Classified("unknown", text, text)
    code_text, proof = split_receipt_proof(text)
    try:
        dossier = parse(code_text)
    except DossierCodeError:
        return Classified("unknown", text, text)
    return Classified("dossier_code", dossier.canonical, dossier.canonical if proof else text, dossier, proof)


class Deduplicator:
    """Suppresses the same code seen again within `window` seconds.

    The window slides: every sighting, suppressed or not, restarts it, so a receipt held under a
    camera produces one scan however long it stays there, and scanning it again after a pause of
    `window` seconds produces another.
    """

    def __init__(
        self, window: float = 2.0, clock: Callable[[], float] = time.monotonic, max_entries: int = 1024
    ) -> None:
        if window < 0:
            raise ValueError(f"dedupe window must be >= 0, not {window}")
        self.window = window
        self._clock = clock
        self._max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def is_repeat(self, key: str) -> bool:
        """True when `key` was seen less than `window` seconds ago; records this sighting either way."""
        moment = self._clock()
        last = self._seen.pop(key, None)
        self._seen[key] = moment
        self._prune(moment)
        return last is not None and moment - last < self.window

    def _prune(self, moment: float) -> None:
        while self._seen:
            oldest_key, oldest = next(iter(self._seen.items()))
            if moment - oldest < self.window and len(self._seen) <= self._max_entries:
                break
            del self._seen[oldest_key]
