"""One-time enrolment codes: short enough to type, strong enough not to guess.

12 characters from a 30-symbol alphabet without look-alikes (no 0/O, 1/I/L, U) ≈ 59 bits, shown as
XXXX-XXXX-XXXX. Only a SHA-256 of the normalised code is stored: a copy of the database does not
let anyone enrol a device. Normalising forgives case, spaces and dashes typed by a technician.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
GROUPS = 3
GROUP_SIZE = 4
CODE_LENGTH = GROUPS * GROUP_SIZE


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP_SIZE] for i in range(0, CODE_LENGTH, GROUP_SIZE))


def normalise(code: str) -> str | None:
    """The code's characters (upper case, no separators), or None if it cannot be a code."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -_\t")
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def code_hash(code: str) -> str:
    """What the hub stores and looks up; raises ValueError for something that is not a code."""
    cleaned = normalise(code)
    if cleaned is None:
        raise ValueError("not an enrolment code")
    return hashlib.sha256(cleaned.encode("ascii")).hexdigest()
