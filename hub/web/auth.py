"""Officer accounts of the hub's web console, kept in the hub's SQLite file.

There is no default password. Officers come from the site configuration: a configured
`password_hash` is used as is; an officer without one gets a random one-time password that the
caller (``motcua hub`` / ``motcua demo``) prints once. If no administrator exists, one is created with
a one-time password the same way. Passwords are stored as werkzeug scrypt hashes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from werkzeug.security import check_password_hash, generate_password_hash

from appliance.errors import MotcuaError
from appliance.timeutil import iso, now

from ..store import connect_rows

log = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"
PASSWORD_METHOD = "scrypt"
# Unambiguous letters and digits: a one-time password is read off a terminal and typed by hand.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
MIN_PASSWORD_LENGTH = 10

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    admin         INTEGER NOT NULL DEFAULT 0,
    counters      TEXT NOT NULL DEFAULT '[]',
    source        TEXT NOT NULL,              -- 'config': from the site file; 'local': made here
    temporary     INTEGER NOT NULL DEFAULT 0, -- 1 while the password is a generated one-time one
    epoch         INTEGER NOT NULL DEFAULT 0, -- bumped on every password change: ends old sessions
    updated_at    TEXT NOT NULL
);
-- Officers' browser sessions, server-side: the cookie carries a random id whose hash is here, so
-- logging out, a password change or removing the officer ends a session at once.
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash    TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (username);
CREATE TABLE IF NOT EXISTS web_settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


class AuthError(MotcuaError):
    """A user account operation was refused (unknown user, weak password)."""


class OfficerLike(Protocol):
    """What `ensure_officers` reads from the site configuration (hub.site.OfficerSpec)."""

    username: str
    name: str
    counters: list[str]
    admin: bool
    password_hash: str | None


@dataclass(frozen=True)
class User:
    username: str
    name: str
    admin: bool
    counters: tuple[str, ...]
    epoch: int
    temporary: bool
    source: str
    disabled: bool = False

    def may_act_for(self, counter_id: str) -> bool:
        """An officer acts only for the counters assigned to them; an administrator for all."""
        return self.admin or counter_id in self.counters


def generate_password(groups: int = 3, group_length: int = 4) -> str:
    """A random password such as ``k7mq-2xhd-p9ta`` (about 59 bits)."""
    return "-".join(
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(group_length)) for _ in range(groups)
    )


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so that a wrong user name costs as long as a
    wrong password and user names cannot be discovered by timing."""
    return hash_password(secrets.token_hex(16))


def _check(password_hash: str, password: str) -> bool:
    try:
        return check_password_hash(password_hash, password)
    except (ValueError, TypeError):
        log.warning("a stored password hash has an unknown format; login refused")
        return False


class UserStore:
    """The `users` table in the hub's SQLite file (own connection, WAL). Thread-safe."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        self._db = connect_rows(self.db_path)
        with self._lock:
            self._db.executescript(_SCHEMA)
            columns = {row["name"] for row in self._db.execute("PRAGMA table_info(users)")}
            if "disabled" not in columns:  # a database from before officers could be disabled
                self._db.execute("ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- reading ------------------------------------------------------------------------------

    @staticmethod
    def _user(row: sqlite3.Row) -> User:
        return User(
            username=row["username"],
            name=row["name"],
            admin=bool(row["admin"]),
            counters=tuple(json.loads(row["counters"])),
            epoch=int(row["epoch"]),
            temporary=bool(row["temporary"]),
            source=row["source"],
            disabled=bool(row["disabled"]),
        )

    def get(self, username: str) -> User | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return self._user(row) if row else None

    def all(self) -> list[User]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM users ORDER BY admin DESC, username").fetchall()
        return [self._user(row) for row in rows]

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is right, else None (same cost whether or not the user exists)."""
        with self._lock:
            row = self._db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            _check(_dummy_hash(), password)
            return None
        if not _check(row["password_hash"], password):
            return None
        user = self._user(row)
        return None if user.disabled else user

    # -- writing ------------------------------------------------------------------------------

    def _upsert(
        self,
        username: str,
        *,
        name: str,
        password_hash: str,
        admin: bool,
        counters: Iterable[str],
        source: str,
        temporary: bool,
    ) -> None:
        self._db.execute(
            """INSERT INTO users (username, name, password_hash, admin, counters, source, temporary,
                                  epoch, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
               ON CONFLICT (username) DO UPDATE SET
                   name = excluded.name, password_hash = excluded.password_hash,
                   admin = excluded.admin, counters = excluded.counters, source = excluded.source,
                   temporary = excluded.temporary, epoch = users.epoch + 1,
                   updated_at = excluded.updated_at""",
            (
                username,
                name,
                password_hash,
                int(admin),
                json.dumps(list(counters)),
                source,
                int(temporary),
                iso(now()),
            ),
        )

    def ensure_officers(self, officers: Iterable[OfficerLike]) -> dict[str, str]:
        """Bring the accounts in line with the site configuration.

        Returns ``{username: one_time_password}`` for officers created now without a configured
        hash: the caller prints them once; they are not stored in clear anywhere. Accounts that
        came from the configuration and are no longer in it are removed (their sessions end).
        """
        created: dict[str, str] = {}
        officers = list(officers)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for officer in officers:
                    row = self._db.execute(
                        "SELECT * FROM users WHERE username = ?", (officer.username,)
                    ).fetchone()
                    if row is None:
                        if officer.password_hash:
                            password_hash, temporary = officer.password_hash, False
                        else:
                            password = generate_password()
                            created[officer.username] = password
                            password_hash, temporary = hash_password(password), True
                        self._upsert(
                            officer.username,
                            name=officer.name,
                            password_hash=password_hash,
                            admin=officer.admin,
                            counters=officer.counters,
                            source="config",
                            temporary=temporary,
                        )
                        if getattr(officer, "disabled", False):
                            self._db.execute(
                                "UPDATE users SET disabled = 1 WHERE username = ?", (officer.username,)
                            )
                        continue
                    # Existing account: the configuration decides name, role and counters; its hash
                    # replaces the stored one only when it changed (a password reset done here
                    # survives restarts otherwise).
                    new_hash = officer.password_hash or row["password_hash"]
                    password_changed = new_hash != row["password_hash"]
                    disabled = bool(getattr(officer, "disabled", False))
                    disabling = disabled and not row["disabled"]
                    self._db.execute(
                        """UPDATE users SET name = ?, admin = ?, counters = ?, source = 'config',
                               password_hash = ?, temporary = ?, epoch = epoch + ?, disabled = ?,
                               updated_at = ?
                           WHERE username = ?""",
                        (
                            officer.name,
                            int(officer.admin),
                            json.dumps(list(officer.counters)),
                            new_hash,
                            0 if password_changed else row["temporary"],
                            int(password_changed or disabling),
                            int(disabled),
                            iso(now()),
                            officer.username,
                        ),
                    )
                    if disabling:  # a disabled officer's sessions end now, in every browser
                        self._db.execute("DELETE FROM web_sessions WHERE username = ?", (officer.username,))
                names = [officer.username for officer in officers]
                marks = ",".join("?" * len(names))
                removed = self._db.execute(
                    f"DELETE FROM users WHERE source = 'config' AND username NOT IN ({marks})", names
                ).rowcount
                # A removed officer's sessions end with the account.
                self._db.execute(
                    "DELETE FROM web_sessions WHERE username NOT IN (SELECT username FROM users)"
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if removed:
            log.info("removed %d officer account(s) no longer in the site configuration", removed)
        return created

    def ensure_admin(self, username: str = ADMIN_USERNAME) -> str | None:
        """Create an administrator with a one-time password if there is none; return that password."""
        with self._lock:
            if self._db.execute("SELECT 1 FROM users WHERE admin = 1 LIMIT 1").fetchone():
                return None
        if self.get(username) is not None:
            raise AuthError(
                f"no administrator exists and the user name {username!r} is taken by an officer: "
                "mark an officer `admin = true` in the site file"
            )
        return self.create_or_reset(username, name="Quản trị hệ thống", admin=True)

    def bootstrap(self, officers: Iterable[OfficerLike]) -> dict[str, str]:
        """`ensure_officers` then `ensure_admin`: every one-time password created, by user name."""
        created = self.ensure_officers(officers)
        admin_password = self.ensure_admin()
        if admin_password is not None:
            created[ADMIN_USERNAME] = admin_password
        return created

    def create_or_reset(
        self,
        username: str,
        *,
        name: str | None = None,
        admin: bool | None = None,
        counters: Iterable[str] | None = None,
    ) -> str:
        """Give `username` a new random one-time password (creating a local account if needed).

        Returns the password; the user's existing sessions end.
        """
        if not username or len(username) > 64 or not username.isprintable():
            raise AuthError(f"invalid user name {username!r}")
        password = generate_password()
        with self._lock:
            row = self._db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
            self._db.execute("DELETE FROM web_sessions WHERE username = ?", (username,))
            self._upsert(
                username,
                name=name if name is not None else (row["name"] if row else username),
                password_hash=hash_password(password),
                admin=admin if admin is not None else bool(row and row["admin"]),
                counters=counters if counters is not None else (json.loads(row["counters"]) if row else []),
                source=row["source"] if row else "local",
                temporary=True,
            )
        log.info("password of user %r reset", username)
        return password

    def set_password(self, username: str, password: str) -> User:
        """Set a password the user chose; ends their other sessions. Returns the updated user."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AuthError(f"password shorter than {MIN_PASSWORD_LENGTH} characters")
        with self._lock:
            changed = self._db.execute(
                """UPDATE users SET password_hash = ?, temporary = 0, epoch = epoch + 1, updated_at = ?
                   WHERE username = ?""",
                (hash_password(password), iso(now()), username),
            ).rowcount
            self._db.execute("DELETE FROM web_sessions WHERE username = ?", (username,))
        if not changed:
            raise AuthError(f"no user {username!r}")
        user = self.get(username)
        assert user is not None
        return user

    # -- sessions -----------------------------------------------------------------------------

    def start_session(self, username: str, lifetime_s: float) -> str:
        """A new session id for `username` (only its hash is stored); expired ones are swept."""
        session_id = secrets.token_urlsafe(32)
        moment = time.time()
        with self._lock:
            self._db.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (moment,))
            self._db.execute(
                "INSERT INTO web_sessions (id_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (_session_hash(session_id), username, moment, moment + lifetime_s),
            )
        return session_id

    def session_user(self, session_id: str) -> str | None:
        """The user name of a live session, None when it ended, expired or never existed."""
        with self._lock:
            row = self._db.execute(
                """SELECT s.username FROM web_sessions s JOIN users u ON u.username = s.username
                   WHERE s.id_hash = ? AND s.expires_at > ? AND u.disabled = 0""",
                (_session_hash(session_id), time.time()),
            ).fetchone()
        return str(row["username"]) if row else None

    def end_session(self, session_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM web_sessions WHERE id_hash = ?", (_session_hash(session_id),))

    def end_sessions(self, username: str) -> int:
        """End every session of `username` (password changed, account removed); how many ended."""
        with self._lock:
            return int(self._db.execute("DELETE FROM web_sessions WHERE username = ?", (username,)).rowcount)

    # -- web settings -------------------------------------------------------------------------

    def secret_key(self) -> bytes:
        """The Flask secret key, made once and kept in the database so sessions survive restarts."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO web_settings (key, value) VALUES ('flask_secret_key', ?)",
                (secrets.token_bytes(32),),
            )
            row = self._db.execute("SELECT value FROM web_settings WHERE key = 'flask_secret_key'").fetchone()
        return bytes(row["value"])


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class LoginLimiter:
    """Attempts per client address in a sliding window; over the limit, attempts are refused.

    Atomic: `reserve` takes a slot *before* the work (a password check, an issued ticket) under the
    same lock that counts, so 60 parallel requests against a limit of 10 get 10 checks, not 60.
    A reservation that turns out not to count (a login that succeeded, a ticket the hub refused) is
    given back with `refund`.
    """

    def __init__(self, max_failures: int = 10, window_s: float = 300.0, max_clients: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, address: str, moment: float) -> deque[float]:
        times = self._failures.get(address)
        if times is None:
            return deque()
        while times and times[0] <= moment - self.window_s:
            times.popleft()
        if not times:
            del self._failures[address]
        return times

    def blocked(self, address: str) -> float:
        """Seconds until `address` may try again; 0 when it may try now."""
        moment = time.monotonic()
        with self._lock:
            times = self._prune(address, moment)
            if len(times) < self.max_failures:
                return 0.0
            return max(0.0, times[0] + self.window_s - moment)

    def reserve(self, address: str) -> Reservation | None:
        """Count one attempt for `address` now, or return None when it is over the limit
        (`blocked(address)` then says for how long)."""
        moment = time.monotonic()
        with self._lock:
            times = self._prune(address, moment)
            if len(times) >= self.max_failures:
                return None
            self._append(address, moment)
        return Reservation(self, address, moment)

    def refund(self, reservation: Reservation) -> None:
        """Give back a reserved attempt that did not count."""
        with self._lock:
            times = self._failures.get(reservation.address)
            if times is None:
                return
            try:
                times.remove(reservation.moment)
            except ValueError:
                return
            if not times:
                del self._failures[reservation.address]

    def record_failure(self, address: str) -> None:
        self.record(address)

    def record(self, address: str) -> None:
        """Count one event (a failed login, an issued ticket) for `address`."""
        with self._lock:
            self._append(address, time.monotonic())

    def _append(self, address: str, moment: float) -> None:
        if address not in self._failures and len(self._failures) >= self.max_clients:
            # Forget the stalest client rather than grow without bound under a spray of addresses.
            stalest = min(self._failures, key=lambda key: self._failures[key][-1])
            del self._failures[stalest]
        self._failures.setdefault(address, deque()).append(moment)


@dataclass(frozen=True)
class Reservation:
    """One attempt counted by `LoginLimiter.reserve`; `refund()` gives it back."""

    limiter: LoginLimiter
    address: str
    moment: float

    def refund(self) -> None:
        self.limiter.refund(self)
