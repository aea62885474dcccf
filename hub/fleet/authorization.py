"""Who may call which RPC method: the quota check before parsing, and the role, counter and ticket
rules after it (what the broker's ACLs cannot see)."""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from appliance.i18n import message
from appliance.rpc import Refusal, RpcError

from .model import TicketBook
from .quotas import Quotas
from .roles import COUNTER_METHODS, allowed_methods
from .store import DeviceRecord

log = logging.getLogger("motcua.hub.fleet")


class RpcGate:
    """The fleet's rules for device RPC calls, over the fleet's (shared, live) device records."""

    def __init__(
        self,
        records: Mapping[str, DeviceRecord],
        quotas: Quotas,
        hub_id: str,
        *,
        secured: Callable[[], bool],
        on_flood: Callable[[str], None],
    ) -> None:
        self.records = records
        self.quotas = quotas
        self.hub_id = hub_id
        self.secured = secured
        self.on_flood = on_flood

    def admit(self, caller_id: str, method: str) -> Refusal | None:
        """The quota check of `appliance.rpc.RpcServer` (network thread, before parsing): a
        Refusal when an enrolled device is over its quota for `method`. Devices the hub did not
        enrol pass here; `authorize` refuses them on a secured site."""
        record = self.records.get(caller_id)
        if record is None or record.status != "active":
            return None
        verdict = self.quotas.check(caller_id, record.role, method)
        if verdict is None:
            return None
        if verdict.started_flooding:
            log.warning(
                "device %s (%s at %s) floods %s: refused beyond its quota; see the fleet page",
                caller_id,
                record.role,
                record.place,
                method,
            )
            self.on_flood(caller_id)
        return Refusal(verdict.code, verdict.answer, {"seconds": max(1, math.ceil(verdict.retry_after_s))})

    def authorize(
        self,
        caller_id: str,
        method: str,
        params: Mapping[str, Any],
        *,
        language: str = "vi",
        tickets: TicketBook | None = None,
    ) -> None:
        """Raise RpcError("forbidden") unless `caller_id` may call `method` with `params`.

        The broker already guarantees the caller id is the device's own (ACL); this adds what the
        broker cannot see: each role calls only its role's methods, and a counter unit acts only for
        its own counter. Without broker security (demo) devices the hub never enrolled act freely.
        """
        lang = "en" if language == "en" else "vi"
        if caller_id == self.hub_id:
            return
        record = self.records.get(caller_id)
        if record is None or record.status != "active":
            if not self.secured():
                return
            raise forbidden("fleet_not_enrolled", lang, device=caller_id)
        if method not in allowed_methods(record.role, record.place):
            raise RpcError.from_key("forbidden", lang)  # type: ignore[arg-type]
        if method in COUNTER_METHODS:
            own = record.place.counter_id
            asked = params.get("counter_id")
            if own is None or str(asked) != own:
                raise forbidden(
                    "fleet_not_your_counter", lang, device=caller_id, own=own or "—", counter=str(asked)
                )
        if method in ("rating.submit", "ticket.reinstate") and tickets is not None:
            self._authorize_ticket(caller_id, record, method, params, lang, tickets)

    def _authorize_ticket(
        self,
        caller_id: str,
        record: DeviceRecord,
        method: str,
        params: Mapping[str, Any],
        lang: str,
        tickets: TicketBook,
    ) -> None:
        """A rating belongs to the ticket's holder (its token: a kiosk) or to the counter that served
        it (a counter unit); a counter unit reinstates only a no-show of its own counter's services,
        as an officer does on the web."""
        ref = params.get("ticket_id")
        facts = tickets.ticket_facts(ref) if isinstance(ref, str) else None
        if facts is None:
            return  # the queue itself answers unknown_ticket / bad_request
        own = record.place.counter_id
        if method == "rating.submit" and record.role == "kiosk":
            token = params.get("token")
            if not isinstance(token, str) or not secrets.compare_digest(token, facts.token):
                raise forbidden("fleet_rating_needs_token", lang, device=caller_id)
        elif method == "rating.submit":
            if own is None or facts.counter_id != own:
                raise forbidden("fleet_not_your_ticket", lang, device=caller_id, own=own or "—")
        elif own is None or facts.service_id not in tickets.counter_services(own):
            raise forbidden("fleet_not_your_ticket", lang, device=caller_id, own=own or "—")


def forbidden(key: str, language: str, **values: object) -> RpcError:
    return RpcError(
        "forbidden",
        message(key, "en" if language == "en" else "vi", **values),
        message(key, "en", **values),
        {k: v for k, v in values.items() if isinstance(v, str)},
    )
