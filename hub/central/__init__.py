"""The central one-door dossier system, seen from the hub.

* `CentralSystem` (base.py) with two adapters: OpenCPS REST (opencps.py) and a signed webhook
  (webhook.py); `[central]` in the hub TOML chooses and configures one (config.py).
* Dossier lookups with cache, stale answers and masking (lookup.py); the procedure catalogue synced
  into the hub's SQLite and searched locally (catalogue.py); the outbox relay (outbox.py).
* `attach_central(parts)` (wiring.py) joins them to a running hub (hub.parts.HubParts).
"""

from __future__ import annotations

from .base import CentralSystem, OutboxItem
from .config import CentralConfig, load_central_config
from .wiring import CentralRuntime, attach_central, build_adapter

__all__ = [
    "CentralConfig",
    "CentralRuntime",
    "CentralSystem",
    "OutboxItem",
    "attach_central",
    "build_adapter",
    "load_central_config",
]
