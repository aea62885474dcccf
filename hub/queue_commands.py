"""The queue's commands: the request schemas of its methods (what a device or page may send),
and what each method asks of the engine. Pure: no I/O (the writer thread in hub.service runs them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from appliance.i18n import message
from appliance.rpc import RpcError

from .engine import Change, QueueEngine, Ticket

# A checked-in booking (hub.bookings): (now, first waiting walk-in) -> its place in line.
Placement = Callable[[datetime, "datetime | None"], datetime]


# ---------------------------------------------------------------------- request schemas
class Params(BaseModel):
    # Unknown keys are ignored so newer devices can talk to an older hub; known keys are typed
    # strictly: "5" is not a score.
    model_config = ConfigDict(extra="ignore", strict=True)


class IssueParams(Params):
    service_id: str = Field(min_length=1, max_length=64)
    priority: StrictBool = False
    priority_group: str | None = None
    # For a result-return ticket: the dossier (canonical code, checked by hub.central.result_desk).
    dossier_code: str | None = Field(None, min_length=1, max_length=64)
    # A mobile number for "your turn is near" messages (hub.citizen_notify); never in an event.
    phone: str | None = Field(None, min_length=1, max_length=32)


class CounterParams(Params):
    counter_id: str = Field(min_length=1, max_length=64)


class TransferParams(CounterParams):
    to_service_id: str = Field(min_length=1, max_length=64)
    # "front": keep the place the original issue time gives; "end": behind everyone waiting now.
    position: Literal["front", "end"] = "front"


class CallNumberParams(CounterParams):
    # A number as printed ("1005") or a ticket id.
    number: str = Field(min_length=1, max_length=64)


class ResumeParams(CounterParams):
    ticket_id: str = Field(min_length=1, max_length=64)


class PauseParams(CounterParams):
    reason: str = Field(min_length=1, max_length=80)


class TicketParams(Params):
    ticket_id: str = Field(min_length=1, max_length=64)


class RatingParams(TicketParams):
    score: StrictInt
    # The ticket's secret (its QR code): how a kiosk proves the rating is the ticket holder's.
    token: str | None = Field(None, min_length=1, max_length=64)


PARAMS: dict[str, type[Params]] = {
    "ticket.issue": IssueParams,
    "ticket.cancel": TicketParams,
    "ticket.reinstate": TicketParams,
    "counter.call_next": CounterParams,
    "counter.recall": CounterParams,
    "counter.skip": CounterParams,
    "counter.complete": CounterParams,
    "counter.start": CounterParams,
    "counter.transfer": TransferParams,
    "counter.open": CounterParams,
    "counter.call_number": CallNumberParams,
    "counter.hold": CounterParams,
    "counter.resume": ResumeParams,
    "counter.pause": PauseParams,
    "counter.close": CounterParams,
    "rating.submit": RatingParams,
}
QUEUE_METHODS = frozenset(PARAMS)


def parse_params(method: str, params: Mapping[str, Any], language: str = "vi") -> Params:
    model = PARAMS.get(method)
    if model is None:
        raise RpcError.from_key("unknown_method", language, method=method)
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "params"
        detail = f"{where}: {_explain(first['type'], language)}"
        raise RpcError.from_key("bad_request", language, detail=detail) from None


def _explain(kind: str, language: str) -> str:
    vi = {
        "missing": "thiếu",
        "string_type": "phải là chuỗi",
        "bool_type": "phải là true/false",
        "int_type": "phải là số nguyên",
        "string_too_short": "không được rỗng",
        "string_too_long": "quá dài",
    }
    en = {
        "missing": "missing",
        "string_type": "must be a string",
        "bool_type": "must be true/false",
        "int_type": "must be an integer",
        "string_too_short": "must not be empty",
        "string_too_long": "too long",
    }
    table = vi if language == "vi" else en
    return table.get(kind, "không hợp lệ" if language == "vi" else "invalid")


# ---------------------------------------------------------------------- commands of the hub itself
class DayConfirmParams(Params):
    """An administrator confirms the day the clock shows (never an MQTT method)."""

    username: str


DAY_CONFIRM = "day.confirm"
SITE_RECONFIGURE = "site.reconfigure"


class ReconfigureParams(Params):
    """A new live site configuration and its audit entries (never an MQTT method)."""

    model_config = ConfigDict(extra="ignore", strict=False, arbitrary_types_allowed=True)
    site: Any
    audit: list[dict[str, Any]]
    # A province template and what became of it (hub.admin.province.write_answer), in the same
    # transaction: the template in force survives a crash exactly as the configuration it set.
    province: dict[str, Any] | None = None


@dataclass
class Command:
    """One request waiting for the writer thread, with the future its caller waits on."""

    method: str
    params: Params
    caller_id: str
    request_id: str | None
    language: str
    future: Future[dict[str, Any]] = field(default_factory=Future)
    # A checked-in booking (hub.bookings): (now, first waiting walk-in) -> its place in line.
    placement: Placement | None = None


def dispatch(
    engine: QueueEngine, command: Command, now: datetime, *, token: Callable[[], str], rating_scale: int
) -> Change:
    """Apply one queue method to the engine; `token` makes a new ticket's secret."""
    p, m = command.params, command.method
    if m == "ticket.issue" and command.placement is not None:
        assert isinstance(p, IssueParams)
        first = engine.first_walk_in(p.service_id)
        return engine.issue_booked(
            p.service_id,
            now=now,
            token=token(),
            queue_at=command.placement(now, first),
            priority=p.priority,
            priority_group=p.priority_group,
            issued_by=command.caller_id,
        )
    if m == "ticket.issue":
        assert isinstance(p, IssueParams)
        return engine.issue(
            p.service_id,
            now=now,
            token=token(),
            priority=p.priority,
            priority_group=p.priority_group,
            issued_by=command.caller_id,
            dossier_code=p.dossier_code,
        )
    if m == "rating.submit":
        assert isinstance(p, RatingParams)
        return engine.rate(p.ticket_id, p.score, low=1, high=rating_scale, now=now)
    if isinstance(p, TicketParams):
        return (
            engine.cancel(p.ticket_id, now=now)
            if m == "ticket.cancel"
            else engine.reinstate(p.ticket_id, now=now)
        )
    assert isinstance(p, CounterParams)
    if isinstance(p, TransferParams):
        return engine.transfer(p.counter_id, p.to_service_id, now=now, to_end=p.position == "end")
    if isinstance(p, CallNumberParams):
        return engine.call_number(p.counter_id, p.number, now=now)
    if isinstance(p, ResumeParams):
        return engine.resume(p.counter_id, p.ticket_id, now=now)
    if isinstance(p, PauseParams):
        return engine.pause(p.counter_id, p.reason.strip() or p.reason, now=now)
    if m == "counter.hold":
        return engine.hold(p.counter_id, now=now)
    actions: dict[str, Callable[..., Change]] = {
        "counter.call_next": engine.call_next,
        "counter.recall": engine.recall,
        "counter.skip": engine.skip,
        "counter.complete": engine.complete,
        "counter.start": engine.start,
    }
    if m in actions:
        return actions[m](p.counter_id, now=now)
    return engine.set_open(p.counter_id, m == "counter.open", now=now)


def result(engine: QueueEngine, command: Command | None, change: Change) -> dict[str, Any]:
    """The caller's answer to a command that changed the queue."""
    if command is None:
        return {}
    outcome = change.result
    if isinstance(outcome, Ticket):
        issuer = command.method == "ticket.issue"
        data: dict[str, Any] = {"ticket": engine.describe(outcome, with_token=issuer)}
        if command.method.startswith("counter."):
            data["counter_id"] = command.params.counter_id  # type: ignore[attr-defined]
        if command.method == "rating.submit":
            data["score"] = outcome.rating
        return data
    return {"counter": outcome.to_dict()}  # counter.open / counter.close


def error_payload(code: str, language: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": code,
        # The contract's message is Vietnamese; English rides along for an English-mode kiosk.
        "message": message(code, "vi", **values),
        "message_en": message(code, "en", **values),
    }
