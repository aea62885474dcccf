"""The hub TOML's `[central]` table: which central one-door system, where, and how patient to be.

`HubConfig.central` keeps the raw table; `load_central_config` validates it here so a typo is
reported with the key (`[central] cache_fresh_s: …`) when the hub starts, never at the first lookup.

```toml
[central]
adapter = "opencps"                  # "opencps" | "webhook" | "none"
base_url = "https://dichvucong.example.gov.vn"
group_id = "35417"                   # OpenCPS `groupId` header
username = "motcua"                  # HTTP Basic, or `token` for a Bearer token
password = "…"
agency_code = "000.00.11.H19"        # govAgencyCode sent with bookings
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from appliance.config import Strict, validate

# Queue events forwarded to central unless the site says otherwise (counter.opened/closed are
# local bookkeeping, not something a dossier system tracks).
DEFAULT_EVENTS = (
    "ticket.issued",
    "ticket.called",
    "ticket.recalled",
    "ticket.skipped",
    "ticket.transferred",
    "ticket.completed",
    "ticket.cancelled",
    "ticket.reinstated",
    "rating.submitted",
)


class CentralConfig(Strict):
    adapter: Literal["opencps", "webhook", "none"] = "none"
    # OpenCPS: the server root (the adapter adds /o/rest/v2). Webhook: the URL events are POSTed to.
    base_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    # Webhook adapter: optional GET endpoints answering in motcua's own JSON (see webhook.py).
    lookup_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    catalogue_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    group_id: str | None = None
    username: str | None = None
    password: str | None = None
    token: str | None = None
    webhook_secret: str | None = Field(None, min_length=16)
    agency_code: str = ""
    # OpenCPS votingId that counter ratings are posted to.
    voting_id: str = "counter-satisfaction"
    # No longer used (kept so older files load): a device saying `scanned: true` proves nothing; only
    # the proof in the receipt's QR code does (hub.central.lookup).
    possession_devices: list[str] = []
    verify_tls: bool = True
    ca_file: str | None = None

    # Network patience, seconds.
    connect_timeout_s: float = Field(2.0, gt=0, le=60)
    read_timeout_s: float = Field(5.0, gt=0, le=120)
    # With a stale answer at hand, a lookup waits only this long for central before serving it.
    stale_timeout_s: float = Field(1.0, gt=0, le=60)

    # Dossier lookup cache.
    cache_fresh_s: float = Field(30.0, ge=0, le=3600)
    cache_negative_s: float = Field(10.0, ge=0, le=3600)
    cache_max_stale_s: float = Field(3 * 86400.0, ge=0)
    cache_entries: int = Field(5000, ge=10, le=1_000_000)

    # Per-device lookup budget: a burst, refilled at `lookup_rate_per_minute`.
    lookup_rate_per_minute: float = Field(20.0, gt=0)
    lookup_burst: int = Field(10, ge=1, le=1000)

    # Procedure catalogue.
    catalogue_sync_interval_s: float = Field(3600.0, ge=5)
    catalogue_page_size: int = Field(500, ge=10, le=5000)

    # Relay of queue events and ratings.
    deliver: bool = True
    events: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    delivery_batch: int = Field(200, ge=1, le=5000)
    delivery_concurrency: int = Field(4, ge=1, le=32)
    retry_base_s: float = Field(0.5, gt=0, le=600)
    retry_max_s: float = Field(300.0, gt=0, le=86400)
    breaker_failures: int = Field(5, ge=1, le=1000)
    breaker_open_s: float = Field(10.0, gt=0, le=3600)
    poll_interval_s: float = Field(1.0, gt=0, le=60)
    # Delivered rows are kept this long (to answer "did central get it?"), then deleted.
    outbox_keep_days: float = Field(7.0, ge=0)

    # Results ready for collection (results.py): the list of dossiers central says are ready,
    # refreshed this often, kept in the hub's SQLite while central is down.
    results: bool = True
    results_refresh_s: float = Field(60.0, ge=0.2, le=3600)
    # Statuses that mean "the result waits at the one-stop shop" (OpenCPS; DVCQG 9 maps to releasing).
    results_statuses: list[str] = Field(default_factory=lambda: ["releasing"], min_length=1)
    # OpenCPS `searchDossiers?step=`: the site's "trả kết quả" step code, when central needs one.
    results_step: str | None = None
    # Webhook adapter: `GET {results_url}` answers {"dossiers": [{fields of model.Dossier}]}.
    results_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    results_max: int = Field(500, ge=1, le=10_000)
    results_page_size: int = Field(200, ge=10, le=1000)
    # Newly ready for this long: highlighted on the boards.
    results_new_minutes: float = Field(30.0, ge=0, le=1440)
    # Ready but not collected for this many days: marked on the board and listed for officers.
    collection_overdue_days: int = Field(7, ge=1, le=365)
    # The site's result-return service; None: "tra-ket-qua" if the site has it.
    result_service: str | None = None
    # OpenCPS action code of "trả kết quả" in the site's process, posted to /dossiers/{id}/actions.
    return_action_code: str = Field("1500", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _complete(self) -> CentralConfig:
        if self.adapter != "none" and not self.base_url:
            raise ValueError(f"adapter {self.adapter!r} needs base_url")
        if self.adapter == "webhook" and not self.webhook_secret:
            raise ValueError("adapter 'webhook' needs webhook_secret (at least 16 characters)")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.token and self.username:
            raise ValueError("give either token or username/password, not both")
        if self.retry_max_s < self.retry_base_s:
            raise ValueError("retry_max_s must not be below retry_base_s")
        return self

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) as `requests` takes it."""
        return (self.connect_timeout_s, self.read_timeout_s)


def load_central_config(raw: Mapping[str, Any] | None, source: str = "[central]") -> CentralConfig:
    """Validate the raw `[central]` table; raise ConfigError naming the key otherwise."""
    return validate(dict(raw or {}), CentralConfig, source)
