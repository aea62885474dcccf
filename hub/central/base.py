"""The `CentralSystem` interface and the HTTP plumbing its adapters share.

An adapter speaks one central system's protocol and nothing else: no cache, no retries, no
threads. It raises `CentralUnavailable` when central is down or slow (the caller may retry or serve
a stale answer) and `CentralRejected` when central refused for good.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.util import make_headers

from appliance import __version__

from .config import CentralConfig
from .errors import CentralAuthError, CentralError, CentralRejected, CentralUnavailable, NotSupported
from .model import Dossier, Procedure

USER_AGENT = f"motcua-hub/{__version__}"
# Statuses that mean "later": central is overloaded, restarting or slow.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Outbox kinds about dossiers rather than queue events: relayed whatever `[central] events` lists.
RESULT_RETURNED = "result.returned"
# A citizen's rating of one dossier (hub/reports/dossier_ratings.py), once per dossier.
DOSSIER_RATED = "rating.dossier"
DOSSIER_EVENTS = frozenset({RESULT_RETURNED, DOSSIER_RATED})


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

    def dossiers_of_applicant(
        self, id_no: str, *, limit: int = 20, timeout: float | None = None
    ) -> list[Dossier]:
        """The dossiers whose applicant holds the ID card `id_no` (12 digits), newest first as central
        lists them. Only for the card's holder at a kiosk, with consent (issue 17): the caller shows
        them once and keeps nothing. Adapters whose central has no such search raise NotSupported."""
        raise NotSupported(f"{self.name}: central offers no search by ID card number")

    @abstractmethod
    def list_procedures(self) -> Iterable[Procedure]:
        """The whole procedure catalogue; raises if any page fails (a partial list must not replace
        a complete one)."""

    @abstractmethod
    def list_ready_dossiers(self, limit: int) -> list[Dossier]:
        """Dossiers whose result waits at the one-stop shop (at most `limit`); raises if any page
        fails (a partial list must not replace a complete one)."""

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

    def list_ready_dossiers(self, limit: int) -> list[Dossier]:
        raise NotSupported("no central system is configured")

    def deliver(self, item: OutboxItem) -> None:
        raise NotSupported("no central system is configured")


class Response:
    """What an adapter needs of an HTTP answer."""

    def __init__(self, method: str, url: str, status: int, body: bytes) -> None:
        self.method = method
        self.url = url
        self.status_code = status
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise CentralError(f"{self.method} {self.url}: answer is not JSON") from None


class HttpClient:
    """urllib3 with central's credentials, timeouts and error mapping.

    urllib3 rather than requests: its PoolManager is thread-safe (lookups come from many RPC
    workers, deliveries from the relay's pool) and it costs about half the CPU per request, which
    is what bounds the backlog drain rate on a two-core hub.
    """

    def __init__(self, config: CentralConfig, *, headers: Mapping[str, str] | None = None) -> None:
        self.config = config
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        if config.username is not None and config.password is not None:
            self._headers.update(make_headers(basic_auth=f"{config.username}:{config.password}"))
        if config.token:
            self._headers["Authorization"] = f"Bearer {config.token}"
        tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED" if config.verify_tls else "CERT_NONE"}
        if config.ca_file:
            tls["ca_certs"] = config.ca_file
        # No urllib3 retries: the relay and the lookup cache decide when to try again.
        self.pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=config.delivery_concurrency + 8,
            retries=False,
            timeout=urllib3.Timeout(connect=config.connect_timeout_s, read=config.read_timeout_s),
            **tls,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        form: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        accept: Iterable[int] = (),
    ) -> Response:
        """The response if 2xx or in `accept`; CentralUnavailable / CentralRejected otherwise."""
        if params:
            url = f"{url}?{urlencode(params)}"
        sent = {**self._headers, **(headers or {})}
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        limit = (
            None
            if timeout is None
            else urllib3.Timeout(connect=min(self.config.connect_timeout_s, timeout), read=timeout)
        )
        try:
            answer = self.pool.request(method, url, body=body, headers=sent, timeout=limit, redirect=False)
        except urllib3.exceptions.HTTPError as error:  # refused, reset, timed out, TLS …
            raise CentralUnavailable(f"{method} {url}: {type(error).__name__}") from None
        status = answer.status
        response = Response(method, url, status, answer.data)
        if 200 <= status < 300 or status in accept:
            return response
        if status in RETRYABLE_STATUSES:
            raise CentralUnavailable(f"{method} {url}: HTTP {status}")
        if status in (401, 403):
            raise CentralAuthError(f"{method} {url}: HTTP {status}: check [central] credentials")
        raise CentralRejected(f"{method} {url}: HTTP {status} {response.text[:200]}", status)

    def close(self) -> None:
        self.pool.clear()
