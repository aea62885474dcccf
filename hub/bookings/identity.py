"""Who books: a Vietnamese mobile number or a CCCD number, validated and hashed.

The ID number is stored only as a keyed hash (HMAC with the site's secret: a 12-digit number is
too easy to guess from a plain hash); the phone stays in clear only while a message may still be
sent to it, and is purged with the rest of the personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import phonenumbers

_ID_NO = re.compile(r"^\d{12}$")
# The first three digits of a CCCD number are the province of birth registration (001–096).
_MAX_PROVINCE = 96


class IdentityError(ValueError):
    """A phone or ID number that cannot be one; `code` is a key of appliance.i18n.MESSAGES."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise_phone(text: str) -> str:
    """A Vietnamese mobile number as E.164 (+84…): 0912 345 678, +84912345678, 84912345678.
    Landlines and foreign numbers are refused (they cannot receive the brandname SMS)."""
    digits = re.sub(r"[\s.()-]", "", text or "")
    if digits.startswith("84") and len(digits) == 11:
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException:
        raise IdentityError("bad_phone") from None
    if (
        number.country_code != 84
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise IdentityError("bad_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def local_phone(e164: str) -> str:
    """+84912345678 → 0912345678 (as the gateways and people write it)."""
    return "0" + e164[3:] if e164.startswith("+84") else e164


def mask_phone(e164: str) -> str:
    local = local_phone(e164)
    return local[:3] + "****" + local[-3:]


def check_id_no(text: str) -> str:
    cleaned = re.sub(r"\s", "", text or "")
    if not _ID_NO.match(cleaned) or not 1 <= int(cleaned[:3]) <= _MAX_PROVINCE:
        raise IdentityError("bad_id_no")
    return cleaned


def identity_hash(secret: bytes, kind: str, value: str) -> str:
    """The keyed hash that counts a person's bookings without keeping who they are."""
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
