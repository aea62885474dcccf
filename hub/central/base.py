"""The `CentralSystem` interface and the HTTP plumbing its adapters share.

An adapter speaks one central system's protocol and nothing else: no cache, no retries, no
threads. It raises `CentralUnavailable` when central is down or slow (the caller may retry or serve
a stale answer) and `CentralRejected` when central refused for good.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from appliance import __version__

from .config import CentralConfig
from .errors import CentralAuthError, CentralError, CentralRejected, CentralUnavailable, NotSupported
from .model import Dossier, Procedure

USER_AGENT = f"motcua-hub/{__version__}"
# Statuses that mean "later": central is overloaded, restarting or slow.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class OutboxItem:
    """One queue event or rating bound for central. `key` is unique per site and never reused."""

    id: int
    key: str
    kind: str
    payload: Mapping[str, Any]


class CentralSystem(ABC):
    """What the hub needs from a central one-door dossier system."""

    name: str = "central"

    @abstractmethod
    def lookup_dossier(self, spellings: Sequence[str], *, timeout: float | None = None) -> Dossier | None:
        """The dossier known under any of `spellings` (tried in order), or None if central has none."""

    @abstractmethod
    def list_procedures(self) -> Iterable[Procedure]:
        """The whole procedure catalogue; raises if any page fails (a partial list must not replace
        a complete one)."""

    @abstractmethod
    def deliver(self, item: OutboxItem) -> None:
        """Hand one event to central, carrying `item.key` so that a repeat is recognised."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class NoCentral(CentralSystem):
    """`adapter = "none"`: the site works alone; lookups say so."""

    name = "none"

    def lookup_dossier(self, spellings: Sequence[str], *, timeout: float | None = None) -> Dossier | None:
        raise NotSupported("no central system is configured")

    def list_procedures(self) -> Iterable[Procedure]:
        raise NotSupported("no central system is configured")

    def deliver(self, item: OutboxItem) -> None:
        raise NotSupported("no central system is configured")


class HttpClient:
    """`requests` with central's credentials, timeouts and error mapping; one Session per thread
    (Session is not documented as thread-safe; its connection pool is per session)."""

    def __init__(self, config: CentralConfig, *, headers: Mapping[str, str] | None = None) -> None:
        self.config = config
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self._headers)
            if self.config.username is not None and self.config.password is not None:
                session.auth = (self.config.username, self.config.password)
            if self.config.token:
                session.headers["Authorization"] = f"Bearer {self.config.token}"
            session.verify = self.config.ca_file or self.config.verify_tls
            # No urllib3 retries: the relay and the lookup cache decide when to try again.
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def request(
        self,
        method: str,
        url: str,
        *,
        timeout: float | None = None,
        accept: Iterable[int] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """The response if 2xx or in `accept`; CentralUnavailable / CentralRejected otherwise."""
        limit = (
            self.config.timeout if timeout is None else (min(self.config.connect_timeout_s, timeout), timeout)
        )
        try:
            response = self.session().request(method, url, timeout=limit, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise CentralUnavailable(f"{method} {url}: {type(error).__name__}") from None
        except requests.RequestException as error:
            raise CentralError(f"{method} {url}: {error}") from None
        status = response.status_code
        if 200 <= status < 300 or status in accept:
            return response
        if status in RETRYABLE_STATUSES:
            raise CentralUnavailable(f"{method} {url}: HTTP {status}")
        if status in (401, 403):
            raise CentralAuthError(f"{method} {url}: HTTP {status}: check [central] credentials")
        raise CentralRejected(f"{method} {url}: HTTP {status} {response.text[:200]}", status)

    @staticmethod
    def json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CentralError(f"{response.request.method} {response.url}: answer is not JSON") from None

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
