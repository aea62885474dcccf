"""What the hub's parts (central, fleet) may use of the hub process — and nothing more.

hub/daemon.py builds one `HubParts` and hands it to `attach_central` and `attach_fleet`; the web gets
its callables through `create_app(...)`. No part imports hub.daemon, so the process can be rewired
(or a part tested on its own) without the parts knowing the `Hub` class (tests/test_house.py).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from appliance.mqtt import Link
    from appliance.rpc import RpcRequest
    from appliance.topics import Topics

    from .site import HubConfig

RpcHandler = Callable[["RpcRequest"], Any]


class RpcRegistry(Protocol):
    """The RPC server's table: a part adds its methods or wraps the ones already there."""

    handlers: MutableMapping[str, RpcHandler]
    # (caller_id, method) -> None, or raises: who may call at all (hub.fleet's admission rule).
    admit: Any


class Tickets(Protocol):
    """The queue service (hub.service.QueueService) as the parts see it."""

    db_path: Path

    def add_commit_hook(self, hook: Callable[..., Any]) -> None:
        """`hook(events, snapshot)` after every commit (central's outbox relay)."""

    def ticket_facts(self, ref: str) -> Any:
        """What the fleet's rating and reinstating rules read of a ticket."""

    def counter_services(self, counter_id: str) -> frozenset[str]:
        """The services a counter serves."""


@dataclass(frozen=True)
class HubParts:
    """The hub's configuration, MQTT link, queue service and RPC table."""

    config: HubConfig
    link: Link
    service: Tickets
    rpc: RpcRegistry

    @property
    def topics(self) -> Topics:
        return self.link.topics
