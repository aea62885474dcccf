"""Dossier codes (mã hồ sơ): parse, validate and normalise what people type or scanners read.

Two families are in use (../shared/design/DOMAIN.md):

* Circular 01/2018/TT-VPCP art. 19: ``V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX`` — the receiving agency's
  code, the reception date and a 4-digit daily sequence, e.g. ``000.00.06.H56-231027-0361``.
* OpenCPS: the same parts joined by dots (``000.00.06.G04.190701.0501``) or a short procedure prefix
  (``CNTBD.181121.00336``, sequences of 3 to 6 digits).

Separators ``.`` and ``-`` are accepted anywhere between parts, case and surrounding whitespace are
ignored, so one code has one canonical form whatever way it was written: a code with a TT 01/2018
agency code and a 4-digit sequence is canonically ``AGENCY-YYMMDD-XXXX`` (scheme ``tt01``, also when
an OpenCPS receipt printed it with dots); a code with a procedure prefix is ``PREFIX.YYMMDD.NNNNN``
(scheme ``opencps``). Central systems look codes up by exact string, so
:attr:`DossierCode.spellings` lists every spelling a lookup should try.

Pure module: no I/O. Errors are :class:`DossierCodeError` with a stable code and a Vietnamese message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal
from urllib.parse import parse_qs, unquote

from .errors import MotcuaError
from .i18n import Language, message
from .web_address import http_url

Scheme = Literal["tt01", "opencps"]

# Longest code accepted. Real codes are 18–30 characters; anything much longer is not a code.
MAX_LENGTH = 64
# Longest URL we will look into for a code (a QR of version ~10 holds about this much).
MAX_URL_LENGTH = 2048
# Query parameters that carry a dossier code in receipt QR links, in order of preference.
URL_CODE_PARAMETERS = ("code", "dossierNo", "dossierno", "maHoSo", "mahoso", "ma_ho_so")

_ALLOWED = re.compile(r"[A-Z0-9.\-]+")
_TOKEN = re.compile(r"[A-Z0-9]+")
# Agency code of Decision 20/2020/QĐ-BTTTT as used by TT 01/2018: 000.00.06.H56.
_AGENCY_TT01 = (re.compile(r"\d{3}"), re.compile(r"\d{2}"), re.compile(r"\d{2}"), re.compile(r"[A-Z]\d{2}"))
_DATE = re.compile(r"\d{6}")
_SEQUENCE = re.compile(r"\d{3,6}")
_PREFIX_TOKEN_MAX = 20
_PREFIX_TOKENS_MAX = 6


class DossierCodeError(MotcuaError, ValueError):
    """Text that is not a dossier code. `code` is stable (an i18n key), `message` Vietnamese."""

    def __init__(self, code: str, value: str, language: Language = "vi", **values: object) -> None:
        self.code = code
        self.value = value
        self.message = message(code, "vi", value=value, **values)
        self.message_en = message(code, "en", value=value, **values)
        super().__init__(self.message if language == "vi" else self.message_en)


@dataclass(frozen=True)
class DossierCode:
    """A valid dossier code split into its parts."""

    scheme: Scheme
    agency: str  # "000.00.06.H56" or "CNTBD"
    received: date
    sequence: str  # kept as text: leading zeros matter ("0361")

    @property
    def canonical(self) -> str:
        stamp = self.received.strftime("%y%m%d")
        if self.scheme == "tt01":
            return f"{self.agency}-{stamp}-{self.sequence}"
        return f"{self.agency}.{stamp}.{self.sequence}"

    @property
    def spellings(self) -> tuple[str, ...]:
        """The canonical form first, then the all-dots spelling OpenCPS uses for TT 01/2018 codes."""
        if self.scheme == "opencps":
            return (self.canonical,)
        return (self.canonical, f"{self.agency}.{self.received.strftime('%y%m%d')}.{self.sequence}")

    def __str__(self) -> str:
        return self.canonical


def _is_tt01_shape(agency: str, sequence: str) -> bool:
    parts = agency.split(".")
    return (
        len(parts) == len(_AGENCY_TT01)
        and all(pattern.fullmatch(part) for pattern, part in zip(_AGENCY_TT01, parts, strict=True))
        and len(sequence) == 4
    )


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper()


def parse(text: str, language: Language = "vi") -> DossierCode:
    """Parse one dossier code; raise DossierCodeError saying what is wrong otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"dossier code must be a string, not {type(text).__name__}")
    shown = text.strip()[:MAX_LENGTH]
    value = _clean(text)
    if not value:
        raise DossierCodeError("dossier_code_empty", shown, language)
    if len(value) > MAX_LENGTH:
        raise DossierCodeError("dossier_code_too_long", shown + "…", language, limit=MAX_LENGTH)
    if not _ALLOWED.fullmatch(value):
        bad = next(ch for ch in value if not (ch.isascii() and (ch.isalnum() or ch in ".-")))
        raise DossierCodeError("dossier_code_bad_char", shown, language, char=bad)

    tokens = re.split(r"[.\-]", value)
    if len(tokens) < 3 or not all(tokens):
        raise DossierCodeError("dossier_code_format", shown, language)
    *prefix, stamp, sequence = tokens
    if not _DATE.fullmatch(stamp) or not _SEQUENCE.fullmatch(sequence):
        raise DossierCodeError("dossier_code_format", shown, language)
    if len(prefix) > _PREFIX_TOKENS_MAX or any(len(token) > _PREFIX_TOKEN_MAX for token in prefix):
        raise DossierCodeError("dossier_code_format", shown, language)
    if not any(ch.isalpha() for ch in "".join(prefix)):
        # Every agency and procedure code has a letter; an all-digit prefix is a phone number,
        # an amount or an ID number, never a dossier code.
        raise DossierCodeError("dossier_code_format", shown, language)
    received = _parse_date(stamp, shown, language)

    agency = ".".join(prefix)
    scheme: Scheme = "tt01" if _is_tt01_shape(agency, sequence) else "opencps"
    return DossierCode(scheme=scheme, agency=agency, received=received, sequence=sequence)


def _parse_date(stamp: str, shown: str, language: Language) -> date:
    year, month, day = 2000 + int(stamp[:2]), int(stamp[2:4]), int(stamp[4:6])
    try:
        return date(year, month, day)
    except ValueError:
        raise DossierCodeError("dossier_code_date", shown, language, date=stamp) from None


def is_dossier_code(text: str) -> bool:
    try:
        parse(text)
    except DossierCodeError:
        return False
    return True


def code_text_in_url(url: str) -> str | None:
    """The candidate code a receipt URL carries (`?code=` or the last path segment), unvalidated.

    None when `url` is not an http(s) URL or carries nothing usable.
    """
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        return None
    parts = http_url(url)
    if parts is None:
        return None
    query = parse_qs(parts.query)
    for name in URL_CODE_PARAMETERS:
        values = [v.strip() for v in query.get(name, []) if v.strip()]
        if values:
            return values[0]
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    return segments[-1].strip() if segments else None


def parse_url(url: str, language: Language = "vi") -> DossierCode:
    """The dossier code carried by a receipt URL; DossierCodeError if there is none."""
    candidate = code_text_in_url(url)
    if candidate is None:
        raise DossierCodeError("dossier_code_no_code_in_url", url.strip()[:MAX_LENGTH], language)
    return parse(candidate, language)


# A receipt's QR code carries `{dossier code}/{proof}`: the proof is a MAC of the code under a secret
# only the hub knows (hub.central.lookup), so holding the paper — not knowing the code, which the
# public results board shows — is what unmasks the applicant's name. 10 bytes in base32: 16 letters
# and digits 2-7, readable by every scanner (also as keystrokes) and QR alphanumeric mode.
RECEIPT_PROOF_SEPARATOR = "/"
_RECEIPT_PROOF = re.compile(r"[A-Z2-7]{16}")


def split_receipt_proof(text: str) -> tuple[str, str | None]:
    """(code text, proof) of a receipt QR `CODE/PROOF`; (text, None) for anything else (unvalidated)."""
    stripped = text.strip()
    if "://" in stripped:
        return text, None
    head, separator, tail = stripped.rpartition(RECEIPT_PROOF_SEPARATOR)
    proof = tail.strip().upper()
    if separator and head.strip() and _RECEIPT_PROOF.fullmatch(proof):
        return head.strip(), proof
    return text, None


def parse_any(text: str, language: Language = "vi") -> DossierCode:
    """A code typed or scanned either bare, with a receipt's proof, or inside a receipt URL."""
    stripped = split_receipt_proof(text)[0].strip()
    if "://" in stripped:
        return parse_url(stripped, language)
    return parse(stripped, language)
