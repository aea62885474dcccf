"""Who is asking: officer sessions (cookie + CSRF token) and HTTP Basic auth for scripts.

A cookie-authenticated request that changes something must carry the session's CSRF token (form
field `csrf_token` or header `X-CSRF-Token`). Basic auth needs no token: a browser never adds those
credentials to a forged cross-site request on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, g, request, session

from .auth import LoginLimiter, User, UserStore

if TYPE_CHECKING:
    from hub.service import QueueService

    from .metrics import WebMetrics

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BASIC_CACHE_S = 60.0
BASIC_CACHE_SIZE = 256

F = TypeVar("F", bound=Callable[..., Any])


class AuthRefused(Exception):
    """The request lacks the right credentials; `code` is an appliance.i18n key."""

    def __init__(self, code: str, *, retry_after: float = 0.0, **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.values = values
        self.retry_after = retry_after


@dataclass
class WebContext:
    """Everything the views share; stored in ``app.extensions["motcua_web"]``."""

    service: QueueService
    users: UserStore
    limiter: LoginLimiter
    # Public ticket issuing per client address: a phone or a script cannot empty a service's
    # numbers for the day (kiosks issue over MQTT and are not limited here).
    ticket_limiter: LoginLimiter
    # The current-password check of /password and enrolment-code guesses, per address.
    password_limiter: LoginLimiter
    enrol_limiter: LoginLimiter
    broker_connected: Callable[[], bool]
    devices: Callable[[], list[dict[str, Any]]] | None
    metrics: WebMetrics
    one_time_passwords: dict[str, str]
    # The central-system runtime (hub.central.CentralRuntime) when the site has one.
    central: Any = None
    # hub.daemon.Hub.print_dossier_receipt: (counter_id, code, *, officer, language) -> job summary.
    print_receipt: Callable[..., dict[str, Any]] | None = None
    # hub.fleet.FleetRuntime: the fleet page, enrolment and device commands; None without it.
    fleet: Any = None
    # Served over HTTPS: Secure cookies and Strict-Transport-Security.
    https: bool = False
    hsts_max_age_s: int = 0
    # The site CA (PEM) when the hub made its own certificate: `GET /api/v1/site-ca` serves it so
    # `motcua enroll` can pin it by fingerprint.
    site_ca: str | None = None
    max_streams: int = 200
    # Of max_streams, this many only officers' consoles may take: a crowd of anonymous viewers
    # (or one script) cannot leave the counters without live updates.
    officer_streams: int = 50
    anonymous_streams_per_address: int = 8
    keepalive_s: float = 15.0
    stopping: threading.Event = field(default_factory=threading.Event)
    _streams: int = 0
    _anonymous_streams: dict[str, int] = field(default_factory=dict)
    _streams_lock: threading.Lock = field(default_factory=threading.Lock)
    _basic_cache: dict[bytes, tuple[str, int, float]] = field(default_factory=dict)

    def acquire_stream(self, anonymous_address: str | None = None) -> Callable[[], None] | None:
        """A slot for one event stream, or None when there is none for this caller. An officer's
        stream passes None; an anonymous one its address. Call the returned function to free it."""
        with self._streams_lock:
            if self._streams >= self.max_streams:
                return None
            if anonymous_address is not None:
                anonymous = sum(self._anonymous_streams.values())
                if anonymous >= self.max_streams - self.officer_streams:
                    return None
                held = self._anonymous_streams.get(anonymous_address, 0)
                if held >= self.anonymous_streams_per_address:
                    return None
                self._anonymous_streams[anonymous_address] = held + 1
            self._streams += 1
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            with self._streams_lock:
                self._streams -= 1
                if anonymous_address is not None:
                    left = self._anonymous_streams.get(anonymous_address, 1) - 1
                    if left > 0:
                        self._anonymous_streams[anonymous_address] = left
                    else:
                        self._anonymous_streams.pop(anonymous_address, None)

        return release

    @property
    def open_streams(self) -> int:
        return self._streams


def web() -> WebContext:
    return cast(WebContext, current_app.extensions["motcua_web"])


def client_address() -> str:
    return request.remote_addr or "?"


# -- sessions ---------------------------------------------------------------------------------


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid() -> bool:
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    return isinstance(expected, str) and bool(given) and hmac.compare_digest(expected, given)


def login_user(user: User) -> None:
    """Start a fresh session (a new id against fixation, a new CSRF token)."""
    language = session.get("lang")
    old_id = session.get("sid")
    if isinstance(old_id, str):
        web().users.end_session(old_id)
    session.clear()
    session.permanent = True
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    session["sid"] = web().users.start_session(user.username, lifetime)
    session["user"] = user.username
    session["epoch"] = user.epoch
    session["csrf"] = secrets.token_urlsafe(32)
    if language:
        session["lang"] = language
    g.user = user
    g.auth_method = "session"


def logout_user() -> None:
    """End this session on the server too: a copy of the old cookie opens nothing afterwards."""
    language = session.get("lang")
    session_id = session.get("sid")
    if isinstance(session_id, str):
        web().users.end_session(session_id)
    session.clear()
    if language:
        session["lang"] = language
    g.user = None


def _basic_user(context: WebContext, username: str, password: str, address: str) -> User:
    """Verify Basic credentials; remember a success for a minute (scrypt costs ~80 ms a check).

    Raises AuthRefused when they are wrong or the address used up its attempts. The attempt is
    reserved before the hash is checked, so simultaneous guesses cannot all be checked.
    """

    def refuse() -> AuthRefused:
        g.user = None
        wait = context.limiter.blocked(address)
        return AuthRefused("too_many_logins", retry_after=wait, minutes=max(1, round(wait / 60)))

    if context.limiter.blocked(address):
        raise refuse()
    key = hashlib.sha256(b"%s\0%s" % (username.encode(), password.encode())).digest()
    cached = context._basic_cache.get(key)
    if cached and cached[2] > time.monotonic():
        user = context.users.get(cached[0])
        if user is not None and user.epoch == cached[1]:  # a password change ends the cache entry
            return user
    attempt = context.limiter.reserve(address)
    if attempt is None:
        raise refuse()
    user = context.users.verify(username, password)
    if user is None:
        g.user = None  # an error page asking again must not count a second failure
        raise AuthRefused("login_failed")
    attempt.refund()
    if len(context._basic_cache) >= BASIC_CACHE_SIZE:
        context._basic_cache.clear()
    context._basic_cache[key] = (user.username, user.epoch, time.monotonic() + BASIC_CACHE_S)
    return user


def current_user() -> User | None:
    """The officer making this request (Basic auth first, else the session), or None.

    Raises AuthRefused when Basic credentials are present but wrong or rate-limited.
    """
    if "user" in g:
        return cast(User | None, g.user)
    context = web()
    user: User | None = None
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        g.auth_method = "basic"
        user = _basic_user(context, auth.username or "", auth.password or "", client_address())
    else:
        g.auth_method = "session"
        username, session_id = session.get("user"), session.get("sid")
        if isinstance(username, str):
            live = isinstance(session_id, str) and context.users.session_user(session_id) == username
            user = context.users.get(username) if live else None
            if user is None or user.epoch != session.get("epoch"):
                # Logged out, removed, or its password changed since: this session is over.
                logout_user()
                user = None
    g.user = user
    return user


def known_user() -> User | None:
    """current_user(), with wrong Basic credentials taken as nobody: for what a page shows (its
    links, its banners), never for what it lets through."""
    try:
        return current_user()
    except AuthRefused:
        return None


def session_alive(user: User) -> Callable[[], bool]:
    """For a stream that outlives its request: whether the officer who opened it still may.

    A session-authenticated stream ends with its session (logout, password change, removal); a
    Basic-authenticated one with a password change or removal of the account.
    """
    users = web().users
    session_id = session.get("sid") if g.get("auth_method") == "session" else None

    def alive() -> bool:
        if isinstance(session_id, str) and users.session_user(session_id) != user.username:
            return False
        current = users.get(user.username)
        return current is not None and current.epoch == user.epoch

    return alive


def require_user(*, admin: bool = False, counter_id: str | None = None) -> User:
    """The authenticated user allowed to do this, with a CSRF check for cookie-authenticated writes."""
    user = current_user()
    if user is None:
        raise AuthRefused("login_required")
    if request.method not in SAFE_METHODS and g.auth_method == "session" and not csrf_valid():
        raise AuthRefused("csrf_failed")
    if admin and not user.admin:
        raise AuthRefused("forbidden")
    if counter_id is not None and not user.may_act_for(counter_id):
        raise AuthRefused("not_your_counter", counter=counter_id)
    return user


def officer_required(func: F) -> F:
    """The view needs any logged-in officer."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_user()
        return func(*args, **kwargs)

    return cast(F, wrapper)


def admin_required(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_user(admin=True)
        return func(*args, **kwargs)

    return cast(F, wrapper)


def safe_next(target: str | None) -> str | None:
    """A redirect target after login only if it is a path on this site (no open redirect).

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so `/\t/evil`
    means `//evil` to them: any control character, space or backslash refuses the target, and what
    is left must parse as a bare path.
    """
    if not target or len(target) > 2048 or not target.startswith("/"):
        return None
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in target) or "\\" in target:
        return None
    if target.startswith("//"):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return target
