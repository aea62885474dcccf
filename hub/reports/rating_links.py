"""The links on a dossier receipt that let the citizen rate the dossier later, from home.

Two forms of one link: the signed address `/rate/d/{token}` (the QR code: long, but a phone reads it)
and a short one `/r/{short}` printed under it for a citizen who types it in. The short token is an
HMAC of the dossier code, so printing the receipt again prints the same address; it is kept in
`rating_links` (purged with the other personal data after the retention period) and the page it
opens redirects to the signed address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

from appliance.timeutil import iso

SALT = "motcua-dossier-rating"
SHORT_SALT = b"motcua-dossier-rating-short"
SHORT_CHARS = 10  # 50 bits: not guessable in practice, short enough to type from paper
# Crockford's base32 without the letters read as digits (I, L, O, U): easy to copy by hand.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

SCHEMA = """CREATE TABLE IF NOT EXISTS rating_links (
    short TEXT PRIMARY KEY,
    dossier_code TEXT NOT NULL,
    created_at TEXT NOT NULL
)"""


@dataclass(frozen=True)
class RatingLink:
    url: str  # signed, for the QR code
    short_url: str  # printed in words


def signer(secret: bytes | str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def short_token(secret: bytes | str, code: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, SHORT_SALT + code.encode(), hashlib.sha256).digest()
    # 5 bits a character; the standard base32 alphabet mapped onto Crockford's.
    standard = base64.b32encode(digest).decode()[:SHORT_CHARS]
    return standard.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET))


def normalise_short(text: str) -> str:
    """What a citizen typed, read as Crockford does: any case, O for 0, I and L for 1."""
    return text.strip().upper().translate(str.maketrans("OIL", "011"))


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.execute(SCHEMA)


def make(
    conn: sqlite3.Connection, *, secret: bytes | str, base_url: str, code: str, now: datetime
) -> RatingLink:
    """Both addresses for `code`, the short one remembered (idempotent: a reprint prints the same)."""
    ensure_schema(conn)
    short = short_token(secret, code)
    conn.execute(
        "INSERT OR IGNORE INTO rating_links(short, dossier_code, created_at) VALUES(?,?,?)",
        (short, code, iso(now)),
    )
    base = base_url.rstrip("/")
    return RatingLink(url=f"{base}/rate/d/{signer(secret).dumps(code)}", short_url=f"{base}/r/{short}")


def resolve(conn: sqlite3.Connection, short: str) -> str | None:
    """The dossier code behind a short token, None when unknown (or purged)."""
    ensure_schema(conn)
    row = conn.execute(
        "SELECT dossier_code FROM rating_links WHERE short = ?", (normalise_short(short),)
    ).fetchone()
    return str(row[0]) if row else None


def code_of(secret: bytes | str, token: str) -> str | None:
    try:
        return str(signer(secret).loads(token))
    except BadSignature:
        return None
