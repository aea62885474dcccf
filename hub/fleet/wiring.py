"""How the fleet joins the hub process without the hub knowing its insides.

hub/daemon.py calls `attach_fleet(parts)` (a hub.parts.HubParts) after registering its RPC handlers,
passes the runtime to `create_app(fleet=...)` and closes it before the link stops.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from appliance.rpc import RpcRequest

from .accounts import BrokerAccounts, DynsecAccounts, OpenBroker
from .runtime import FleetRuntime, SiteInfo
from .settings import FleetSettings, load_fleet_settings
from .store import FleetStore

if TYPE_CHECKING:
    from hub.parts import HubParts

_GUARDED = "__motcua_fleet_guarded__"


def site_info(config: Any) -> SiteInfo:
    """SiteInfo of a hub.site.HubConfig."""
    return SiteInfo(
        site=config.site,
        hub_id=config.device_id,
        hub_mqtt=config.mqtt,
        counters=tuple(counter.id for counter in config.counters),
        kiosk_printers={kiosk.id: kiosk.printer for kiosk in config.kiosks},
        language=config.language,
    )


def attach_fleet(
    parts: HubParts,
    *,
    settings: FleetSettings | None = None,
    accounts: BrokerAccounts | None = None,
    guard_rpc: bool = True,
    start: bool = True,
) -> FleetRuntime:
    """The fleet runtime of the hub whose `parts` are given, listening on its link.

    Settings come from the hub's `[fleet]` table (`parts.config.fleet`, a raw dict) unless given.
    With `guard_rpc`, every RPC handler registered so far first checks `FleetRuntime.authorize`:
    call this after the hub registered its handlers (handlers added later are not guarded).
    """
    if settings is None:
        settings = load_fleet_settings(getattr(parts.config, "fleet", None))
    if accounts is None:
        accounts = (
            DynsecAccounts(parts.link, timeout=settings.broker_timeout_s)
            if settings.secured(parts.config.mqtt)
            else OpenBroker()
        )
    runtime = FleetRuntime(
        parts.link, FleetStore(parts.service.db_path), accounts, settings, site_info(parts.config)
    )
    runtime.tickets = parts.service
    if guard_rpc:
        guard_handlers(parts.rpc.handlers, runtime)
        parts.rpc.admit = runtime.admit
    if start:
        runtime.start()
    return runtime


Handler = Callable[[RpcRequest], Any]


def guard(handler: Handler, runtime: FleetRuntime) -> Handler:
    """`handler` preceded by the fleet's authorisation of the caller."""
    if getattr(handler, _GUARDED, False):
        return handler

    @functools.wraps(handler)
    def guarded(request: RpcRequest) -> Any:
        runtime.authorize(request.caller_id, request.method, request.params, language=request.language)
        return handler(request)

    setattr(guarded, _GUARDED, True)
    return guarded


def guard_handlers(handlers: dict[str, Handler] | Mapping[str, Handler], runtime: FleetRuntime) -> None:
    """Guard every handler of an RpcServer's `handlers` dict in place."""
    assert isinstance(handlers, dict)
    for method, handler in list(handlers.items()):
        handlers[method] = guard(handler, runtime)
