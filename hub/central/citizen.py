"""A citizen's own dossiers, found by the ID card read at a kiosk with their consent (issue 17).

RPC `dossier.mine {id_no}` from a kiosk of this site: the full 12-digit number comes only over the
kiosk's RPC (TLS to the broker in production) and goes only to central, in the adapter's request.
Nothing of it is cached, stored or logged here (a lookup by dossier code is cached; this is not),
and the answer — names unmasked, since the card proves who asks — goes back only to the asking
kiosk on its RPC reply topic, never retained.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from appliance.rpc import RpcError, RpcRequest
from hub.bookings.identity import IdentityError, check_id_no

from .errors import CentralAuthError, CentralError, CentralRejected, NotSupported

if TYPE_CHECKING:
    from hub.parts import HubParts

    from .wiring import CentralRuntime

log = logging.getLogger("motcua.hub.central.citizen")

# More than a kiosk screen can list; a citizen with more sees the newest.
MAX_DOSSIERS = 10


def citizen_dossiers(runtime: CentralRuntime, request: RpcRequest) -> dict[str, Any]:
    language = request.language
    if request.caller_id not in runtime.possession_devices:
        # Only the site's own kiosks, whose screen shows the answer to the card's holder alone.
        raise RpcError.from_key("forbidden", language)
    raw = request.params.get("id_no")
    try:
        id_no = check_id_no(raw if isinstance(raw, str) and len(raw) <= 32 else "")
    except IdentityError:
        raise RpcError.from_key("bad_id_no", language) from None
    lookups = runtime.lookups
    # The same per-device budget as lookups by code: a kiosk must not become a tool to try numbers.
    wait = lookups.limiter.take(request.caller_id)
    if wait > 0:
        raise RpcError.from_key("central_rate_limited", language, seconds=max(1, round(wait)))
    if not lookups.breaker.allow():
        raise RpcError.from_key("central_unavailable", language)
    try:
        found = runtime.adapter.dossiers_of_applicant(
            id_no, limit=MAX_DOSSIERS, timeout=runtime.config.read_timeout_s
        )
    except NotSupported:
        raise RpcError.from_key("central_not_configured", language) from None
    except (CentralRejected, CentralAuthError) as error:
        log.error("central refused a citizen's dossier list: %s", type(error).__name__)
        lookups.breaker.failure()
        raise RpcError.from_key("central_unavailable", language) from None
    except CentralError:
        lookups.breaker.failure()
        raise RpcError.from_key("central_unavailable", language) from None
    lookups.breaker.success()
    now = runtime.clock()
    views = []
    for dossier in found[:MAX_DOSSIERS]:
        view = dossier.public_view(now=now, possession=True, language=language)
        view.update(code=dossier.dossier_no, possession="id_card")
        views.append(view)
    # The count only: neither the number nor a name is written anywhere.
    log.info("dossier.mine from %s: %d dossiers", request.caller_id, len(views))
    return {"dossiers": views, "count": len(views)}


def attach_citizen_dossiers(parts: HubParts, runtime: CentralRuntime) -> None:
    parts.rpc.handlers["dossier.mine"] = lambda request: citizen_dossiers(runtime, request)
