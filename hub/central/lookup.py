"""Dossier lookups that survive outages: validate, rate-limit, cache, fall back to stale, mask.

Order of work for one lookup (cheapest refusal first, central last):
1. per-device rate limit (a kiosk must not become a tool to enumerate dossiers);
2. the code is parsed (appliance.dossier_code): a malformed code never reaches central;
3. a fresh cached answer is served as is;
4. otherwise central is asked — briefly if a stale answer is at hand, not at all while the circuit
   breaker says central is down — and its answer cached (memory + the hub's SQLite, so a restart
   during an outage still has answers);
5. central down or slow: the last known answer with `stale: true` and `fetched_at`.
Names are masked unless the caller proved possession of the receipt: the receipt's QR code carries
`{code}/{proof}`, the proof a MAC of the code under a secret that only this hub holds (made once,
kept in its SQLite file). The bare code — printed on the public results board — proves nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from appliance import dossier_code
from appliance.i18n import message
from appliance.rpc import RpcError
from appliance.timeutil import iso

from .errors import CentralAuthError, CentralError, CentralRejected, NotSupported
from .local_copy import CentralCopy
from .model import Dossier, Language, same_id_number
from .resilience import CircuitBreaker, RateLimiter

log = logging.getLogger("motcua.hub.central.lookup")

SCHEMA = """
CREATE TABLE IF NOT EXISTS central_dossier_cache (
    code TEXT PRIMARY KEY,
    found INTEGER NOT NULL,
    data TEXT,
    fetched_at TEXT NOT NULL
)
"""
RECEIPT_KEY_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipt_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
)
"""
RECEIPT_KEY_BYTES = 32
PROOF_BYTES = 10  # 80 bits: 16 base32 characters (appliance.dossier_code.split_receipt_proof)
MAX_PROOF_CHARS = 64


class LookupRefused(CentralError):
    """A lookup that cannot be answered; `code` is an i18n key, `values` fill its message."""

    def __init__(self, error_code: str, /, *, retry_after: float = 0.0, **values: Any) -> None:
        super().__init__(message(error_code, "en", **values))
        self.code = error_code
        self.values = values
        self.retry_after = retry_after

    def message(self, language: Language = "vi") -> str:
        return message(self.code, language, **self.values)

    def to_rpc(self, language: Language = "vi") -> RpcError:
        error = RpcError.from_key(self.code, language, **self.values)
        if self.retry_after:
            error.details["retry_after"] = round(self.retry_after, 1)
        return error


@dataclass
class _Entry:
    dossier: Dossier | None  # None: central said "no such dossier"
    fetched_at: datetime


@dataclass
class LookupStats:
    central_calls: int = 0
    cache_hits: int = 0
    stale_answers: int = 0
    refused: int = 0


class DossierLookup(CentralCopy):
    schema = (SCHEMA,)

    def __post_init__(self) -> None:
        super().__post_init__()
        config = self.config
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_open_s)
        self.limiter = RateLimiter(config.lookup_rate_per_minute, config.lookup_burst)
        self.stats = LookupStats()
        self._memory: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._receipt_key = self._load_receipt_key()
        self._purge()

    def _load_receipt_key(self) -> bytes:
        """The site's receipt secret, made at the first start; written with a full sync (a receipt
        printed before a power cut must still prove possession after it)."""
        with self._db_lock:
            self._db.execute(RECEIPT_KEY_SCHEMA)
            row = self._db.execute("SELECT key FROM receipt_key WHERE id = 1").fetchone()
            if row is None:
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute(
                    "INSERT OR IGNORE INTO receipt_key(id, key) VALUES(1, ?)",
                    (secrets.token_bytes(RECEIPT_KEY_BYTES),),
                )
                self._db.execute("PRAGMA synchronous=NORMAL")
                row = self._db.execute("SELECT key FROM receipt_key WHERE id = 1").fetchone()
        return bytes(row[0])

    # ------------------------------------------------------------------ receipt proof
    def receipt_proof(self, code: str) -> str:
        """The proof printed in the QR code of `code`'s receipt (16 base32 characters)."""
        return receipt_proof_for(self._receipt_key, self._parse(code, "vi").canonical)

    def receipt_qr(self, code: str) -> str:
        """What the receipt's QR code holds: `{code}/{proof}` (scanners and kiosks read both parts)."""
        canonical = self._parse(code, "vi").canonical
        return f"{canonical}{dossier_code.RECEIPT_PROOF_SEPARATOR}{self.receipt_proof(canonical)}"

    def _proof_holds(self, canonical: str, proof: str | None) -> bool:
        if not proof or not isinstance(proof, str) or len(proof) > MAX_PROOF_CHARS:
            return False
        return hmac.compare_digest(proof.strip().upper().encode(), self.receipt_proof(canonical).encode())

    def close(self) -> None:
        with self._db_lock:
            self._db.close()

    # ------------------------------------------------------------------ the lookup
    def lookup(
        self,
        code: str,
        *,
        caller_id: str,
        possession: bool = False,
        applicant_id_no: str | None = None,
        receipt_proof: str | None = None,
        language: Language = "vi",
    ) -> dict[str, Any]:
        """The public view of a dossier; raises LookupRefused with a message people understand.

        The name is shown to an officer (`possession`), with the receipt's proof (`receipt_proof`, or
        `code` given as the QR's `{code}/{proof}`), or with the applicant's ID number; else masked.
        """
        wait = self.limiter.take(caller_id)
        if wait > 0:
            self.stats.refused += 1
            raise LookupRefused("central_rate_limited", retry_after=wait, seconds=max(1, round(wait)))
        if isinstance(code, str):
            code, embedded = dossier_code.split_receipt_proof(code)
            receipt_proof = receipt_proof or embedded
        parsed = self._parse(code, language)
        entry, stale = self._answer(parsed)
        if entry.dossier is None:
            raise LookupRefused("central_dossier_not_found", dossier=parsed.canonical)
        dossier = entry.dossier
        proof = "officer" if possession else None
        if proof is None and self._proof_holds(parsed.canonical, receipt_proof):
            proof = "receipt"
        if proof is None and applicant_id_no and same_id_number(applicant_id_no, dossier.applicant_id_no):
            proof = "id_no"
        view = dossier.public_view(now=self.clock(), possession=proof is not None, language=language)
        view.update(code=parsed.canonical, possession=proof, stale=stale, fetched_at=iso(entry.fetched_at))
        return view

    def dossier(self, code: str, language: Language = "vi") -> tuple[Dossier, bool, datetime]:
        """The full dossier for officers (receipts): (dossier, stale, fetched_at); no rate limit."""
        parsed = self._parse(code, language)
        entry, stale = self._answer(parsed)
        if entry.dossier is None:
            raise LookupRefused("central_dossier_not_found", dossier=parsed.canonical)
        return entry.dossier, stale, entry.fetched_at

    def _parse(self, code: str, language: Language) -> dossier_code.DossierCode:
        if not isinstance(code, str):
            raise LookupRefused("central_code_invalid", reason=message("dossier_code_empty", language))
        try:
            return dossier_code.parse_any(code, language)
        except dossier_code.DossierCodeError as error:
            self.stats.refused += 1
            reason = error.message if language == "vi" else error.message_en
            raise LookupRefused("central_code_invalid", reason=reason) from None

    def _answer(self, code: dossier_code.DossierCode) -> tuple[_Entry, bool]:
        """(entry, stale) for `code`, asking central only when the cache is not fresh."""
        key = code.canonical
        cached = self._cached(key)
        now = self.clock()
        if cached is not None and self._is_fresh(cached, now):
            self.stats.cache_hits += 1
            return cached, False
        usable = (
            cached if cached is not None and self._age(cached, now) <= self.config.cache_max_stale_s else None
        )
        if not self.breaker.allow():
            return self._fallback(usable, key, "circuit open")
        timeout = self.config.stale_timeout_s if usable is not None else self.config.read_timeout_s
        self.stats.central_calls += 1
        try:
            dossier = self.adapter.lookup_dossier(code.spellings, timeout=timeout)
        except NotSupported:
            self.breaker.success()  # nothing wrong with central; there is none
            raise LookupRefused("central_not_configured") from None
        except (CentralRejected, CentralAuthError) as error:
            # Central refuses us (credentials, group id, API): an operator problem, loudly logged.
            log.error("central refused a lookup of %s: %s", key, error)
            self.breaker.failure()
            return self._fallback(usable, key, str(error))
        except CentralError as error:  # includes CentralUnavailable
            self.breaker.failure()
            return self._fallback(usable, key, str(error))
        except Exception as error:  # an adapter bug: still answer from the cache if we can
            log.exception("lookup of %s failed unexpectedly", key)
            self.breaker.failure()
            return self._fallback(usable, key, repr(error))
        self.breaker.success()
        entry = _Entry(dossier, self.clock())
        self._store(key, entry)
        return entry, False

    def _fallback(self, usable: _Entry | None, key: str, reason: str) -> tuple[_Entry, bool]:
        if usable is None:
            log.warning("lookup of %s: central unavailable (%s) and nothing cached", key, reason)
            raise LookupRefused("central_unavailable")
        log.info("lookup of %s served stale: %s", key, reason)
        self.stats.stale_answers += 1
        return usable, True

    # ------------------------------------------------------------------ cache
    def _age(self, entry: _Entry, now: datetime) -> float:
        return (now - entry.fetched_at).total_seconds()

    def _is_fresh(self, entry: _Entry, now: datetime) -> bool:
        limit = self.config.cache_fresh_s if entry.dossier is not None else self.config.cache_negative_s
        return 0 <= self._age(entry, now) < limit

    def _cached(self, key: str) -> _Entry | None:
        with self._lock:
            entry = self._memory.get(key)
            if entry is not None:
                self._memory.move_to_end(key)
                return entry
        with self._db_lock:
            row = self._db.execute(
                "SELECT found, data, fetched_at FROM central_dossier_cache WHERE code=?", (key,)
            ).fetchone()
        if row is None:
            return None
        try:
            dossier = Dossier.from_dict(json.loads(row[1])) if row[0] else None
            entry = _Entry(dossier, datetime.fromisoformat(row[2]))
        except (TypeError, ValueError) as error:
            log.warning("ignoring unreadable cached dossier %s: %s", key, error)
            return None
        self._remember(key, entry)
        return entry

    def _remember(self, key: str, entry: _Entry) -> None:
        with self._lock:
            self._memory[key] = entry
            self._memory.move_to_end(key)
            while len(self._memory) > self.config.cache_entries:
                self._memory.popitem(last=False)

    def _store(self, key: str, entry: _Entry) -> None:
        self._remember(key, entry)
        data = json.dumps(entry.dossier.to_dict(), ensure_ascii=False) if entry.dossier else None
        try:
            with self._db_lock:
                self._db.execute(
                    "INSERT INTO central_dossier_cache(code, found, data, fetched_at) VALUES(?,?,?,?)"
                    " ON CONFLICT(code) DO UPDATE SET found=excluded.found, data=excluded.data,"
                    " fetched_at=excluded.fetched_at",
                    (key, int(entry.dossier is not None), data, iso(entry.fetched_at)),
                )
        except sqlite3.Error as error:  # the answer is still good; only the copy on disk is missing
            log.warning("could not cache dossier %s: %s", key, error)

    def _purge(self) -> None:
        """Personal data is kept no longer than it can be served."""
        limit = self.clock() - timedelta(seconds=self.config.cache_max_stale_s)
        with self._db_lock:
            rows = self._db.execute("SELECT code, fetched_at FROM central_dossier_cache").fetchall()
            old = [code for code, fetched in rows if _before(fetched, limit)]
            self._db.executemany("DELETE FROM central_dossier_cache WHERE code=?", [(c,) for c in old])

    def status(self) -> dict[str, Any]:
        return {
            "breaker": self.breaker.state,
            "central_calls": self.stats.central_calls,
            "cache_hits": self.stats.cache_hits,
            "stale_answers": self.stats.stale_answers,
            "refused": self.stats.refused,
            "cached": len(self._memory),
        }


def receipt_proof_for(key: bytes, canonical: str) -> str:
    """The proof of a receipt: HMAC-SHA256 of the canonical dossier code, 10 bytes in base32."""
    mac = hmac.new(key, b"motcua-receipt\0" + canonical.encode(), hashlib.sha256)
    return base64.b32encode(mac.digest()[:PROOF_BYTES]).decode("ascii")


def _before(text: str, limit: datetime) -> bool:
    try:
        return datetime.fromisoformat(text) < limit
    except ValueError:
        return True
