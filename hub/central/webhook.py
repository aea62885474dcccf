"""Generic webhook adapter for one-door systems that are not OpenCPS.

Each event is one JSON POST to `base_url`:

    {"v": 1, "id": "<idempotency key>", "kind": "ticket.called", "site": "demo", "data": {event}}

with headers `Idempotency-Key`, `X-Motcua-Timestamp` (unix seconds) and
`X-Motcua-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" with webhook_secret>`; the
receiver recomputes it over the raw body (and may refuse old timestamps against replays). Any 2xx
or 409 (already have it) counts as delivered.

Optional lookups: `lookup_url` is called `GET {lookup_url}?code=<code>` and answers 404 or
`{"dossier": {fields of model.Dossier, times ISO-8601}}`; `catalogue_url` answers
`{"procedures": [{fields of model.Procedure}]}`; `results_url` answers the dossiers whose result is
ready, `{"dossiers": [{fields of model.Dossier}]}` (rows in `results_statuses` are kept). A result
handed over at the counter is an event like the others, `kind: "result.returned"`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from .base import CentralSystem, HttpClient, OutboxItem
from .config import CentralConfig
from .errors import CentralError, NotSupported
from .model import Dossier, Procedure, same_id_number

SIGNATURE_HEADER = "X-Motcua-Signature"
TIMESTAMP_HEADER = "X-Motcua-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time check of a signature header (for receivers and the simulator)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


class WebhookAdapter(CentralSystem):
    name = "webhook"

    def __init__(self, config: CentralConfig, *, site: str) -> None:
        assert config.base_url and config.webhook_secret
        self.config = config
        self.site = site
        self.secret = config.webhook_secret
        self.http = HttpClient(config)

    def deliver(self, item: OutboxItem) -> None:
        envelope = {"v": 1, "id": item.key, "kind": item.kind, "site": self.site, "data": item.payload}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": item.key,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self.secret, stamp, body),
        }
        assert self.config.base_url
        self.http.request("POST", self.config.base_url, body=body, headers=headers, accept=(409,))

    def lookup_dossier(self, spellings: Sequence[str], *, timeout: float | None = None) -> Dossier | None:
        if not self.config.lookup_url:
            raise NotSupported("the webhook adapter has no lookup_url")
        for spelling in spellings:
            response = self.http.request(
                "GET", self.config.lookup_url, params={"code": spelling}, timeout=timeout, accept=(404,)
            )
            if response.status_code == 404:
                continue
            body = response.json()
            data = body.get("dossier") if isinstance(body, dict) else None
            if not isinstance(data, dict):
                raise CentralError(f"{self.config.lookup_url}: answer has no 'dossier' object")
            return _dossier(data)
        return None

    def dossiers_of_applicant(
        self, id_no: str, *, limit: int = 20, timeout: float | None = None
    ) -> list[Dossier]:
        # The same endpoint as a lookup, asked by `id_no`: `{"dossiers": [...]}`.
        if not self.config.lookup_url:
            raise NotSupported("the webhook adapter has no lookup_url")
        body = self.http.request(
            "GET", self.config.lookup_url, params={"id_no": id_no, "limit": limit}, timeout=timeout
        ).json()
        rows = body.get("dossiers") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise CentralError(f"{self.config.lookup_url}: answer has no 'dossiers' list")
        found = [_dossier(row) for row in rows if isinstance(row, dict)]
        return [d for d in found if same_id_number(d.applicant_id_no, id_no)][:limit]

    def list_ready_dossiers(self, limit: int) -> list[Dossier]:
        if not self.config.results_url:
            raise NotSupported("the webhook adapter has no results_url")
        body = self.http.request("GET", self.config.results_url, params={"limit": limit}).json()
        rows = body.get("dossiers") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise CentralError(f"{self.config.results_url}: answer has no 'dossiers' list")
        wanted = frozenset(self.config.results_statuses)
        found = [_dossier(row) for row in rows if isinstance(row, dict)]
        return [dossier for dossier in found if dossier.status in wanted][:limit]

    def list_procedures(self) -> Iterator[Procedure]:
        if not self.config.catalogue_url:
            raise NotSupported("the webhook adapter has no catalogue_url")
        body = self.http.request("GET", self.config.catalogue_url).json()
        rows = body.get("procedures") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise CentralError(f"{self.config.catalogue_url}: answer has no 'procedures' list")
        for row in rows:
            if isinstance(row, dict) and row.get("code") and row.get("name"):
                known = {k: v for k, v in row.items() if k in Procedure.__dataclass_fields__}
                yield Procedure.from_dict(known)

    def close(self) -> None:
        self.http.close()


def _dossier(data: dict[str, Any]) -> Dossier:
    known = {k: v for k, v in data.items() if k in Dossier.__dataclass_fields__}
    if not known.get("dossier_no") or not known.get("status"):
        raise CentralError("dossier without dossier_no or status")
    try:
        return Dossier.from_dict(known)
    except (TypeError, ValueError) as error:
        raise CentralError(f"dossier: {error}") from None
