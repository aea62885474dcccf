"""HTTP API of the hub (contract: docs/contract.md): JSON in, JSON out, errors as
``{ok: false, error: {code, message}}`` with a fitting HTTP status."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request

from appliance.errors import MotcuaError
from appliance.i18n import message

from .app import error_response, language
from .errors import describe, json_error
from .public import public_snapshot, public_view
from .security import client_address, current_user, require_user, web
from .texts import text

log = logging.getLogger("motcua.hub.web")

api = Blueprint("api", __name__)

# URL action → queue method. Each takes {counter_id} (transfer also {to_service_id}).
COUNTER_ACTIONS: dict[str, str] = {
    "call-next": "counter.call_next",
    "recall": "counter.recall",
    "skip": "counter.skip",
    "complete": "counter.complete",
    "transfer": "counter.transfer",
    "open": "counter.open",
    "close": "counter.close",
    "start": "counter.start",
    "reinstate": "ticket.reinstate",
    "call-number": "counter.call_number",
    "hold": "counter.hold",
    "resume": "counter.resume",
    "pause": "counter.pause",
}
MAX_REQUEST_ID = 128
MAX_RECEIPT_CODE = 2048  # a receipt's QR code may carry a whole URL


class BadInput(Exception):
    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


@api.errorhandler(BadInput)
def _bad_input(error: BadInput) -> Response:
    return error_response(error.code, **error.values)


def refusal(error: MotcuaError) -> Response:
    code, words = describe(error, language())
    return json_error(code, words)


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body counts as {}.

    Anything else is a BadInput (400): bytes that are not JSON, JSON nested too deeply for the
    parser (RecursionError: one log line, no traceback), a body that is not an object.
    """
    data = request.get_data(cache=True)
    if not data:
        return {}
    try:
        body = current_app.json.loads(data)
    except RecursionError:
        log.info(
            "refused %s %s from %s: JSON nested too deeply", request.method, request.path, client_address()
        )
        raise BadInput("bad_json") from None
    except (ValueError, UnicodeDecodeError):
        raise BadInput("bad_json") from None
    try:
        # `"\ud800"` is valid JSON but not text: echoed in a refusal it could not be encoded.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("bad_json") from None
    if not isinstance(body, dict):
        raise BadInput("bad_request", detail="body: JSON object expected")
    return body


def public_post_guard() -> None:
    """A POST anyone may make (no login) must be JSON from this site or from a program.

    A web page elsewhere can make a visitor's browser send a `text/plain` form POST without asking
    (no CORS preflight); requiring `application/json` forces a preflight, which this hub never
    grants, and a browser's `Origin` naming another site is refused outright.
    """
    if request.mimetype != "application/json":
        raise BadInput("unsupported_media_type")
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin):
        log.info(
            "refused cross-site %s %s from %s (Origin %s)",
            request.method,
            request.path,
            client_address(),
            origin[:100],
        )
        raise BadInput("cross_origin")


def same_origin(origin: str) -> bool:
    """Whether a browser's Origin header names this hub (as the browser reached it)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()


def request_id(body: dict[str, Any]) -> str | None:
    value = body.get("request_id", request.headers.get("Idempotency-Key"))
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_REQUEST_ID:
        raise BadInput("bad_request", detail=f"request_id: 1–{MAX_REQUEST_ID} characters")
    return value


def anonymous_caller() -> str:
    """The caller id of a request without login: its address, keyed so the database (which
    remembers who issued a ticket) holds no IP address in clear."""
    secret = current_app.secret_key
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    digest = hmac.new(key, client_address().encode(), hashlib.sha256).hexdigest()[:16]
    return f"web:{digest}"


def call(method: str, params: dict[str, Any], *, caller_id: str, rid: str | None) -> dict[str, Any]:
    """Run a queue method for this request; a refusal propagates as MotcuaError.

    A request id is remembered per caller (the officer, or the anonymous client's address) and per
    method: another client reusing it, or the same client reusing it for another action, does not
    get the earlier answer.
    """
    scoped = f"{method}:{rid}" if rid is not None else None
    return web().service.call(method, params, caller_id=caller_id, request_id=scoped, language=language())


@api.errorhandler(MotcuaError)
def _refused(error: MotcuaError) -> Response:
    return refusal(error)


# -- public -----------------------------------------------------------------------------------


@api.get("/api/v1/queue")
def queue_snapshot() -> Response:
    return jsonify(public_snapshot(web().service.snapshot()))


@api.post("/api/v1/tickets")
def issue_ticket() -> tuple[Response, int]:
    """Take a number, like a kiosk does (no login: the hall is public)."""
    public_post_guard()
    body = json_body()
    params = {key: body[key] for key in ("service_id", "priority", "priority_group", "phone") if key in body}
    rid = request_id(body)
    limiter = web().ticket_limiter
    address = client_address()
    # Reserved before the ticket is issued: simultaneous requests cannot all pass a limit that
    # would only be counted afterwards.
    reservation = limiter.reserve(address)
    if reservation is None:
        wait = limiter.blocked(address)
        minutes = max(1, round(wait / 60))
        retry = {"Retry-After": str(max(1, round(wait)))}
        return error_response("too_many_tickets", headers=retry, minutes=minutes), 429
    try:
        result = call("ticket.issue", params, caller_id=anonymous_caller(), rid=rid)
    except BaseException:
        reservation.refund()  # nothing was issued: the attempt does not count
        raise
    ticket = dict(result["ticket"])
    ticket["url"] = f"/t/{ticket['token']}"
    return jsonify(ticket), 201


@api.get("/api/v1/tickets/<token>")
def ticket_status(token: str) -> Response:
    ticket = web().service.public_ticket(token) if len(token) <= 128 else None
    if ticket is None:
        return error_response("unknown_ticket", ticket_id=token[:32])
    return jsonify(public_view(ticket))


@api.get("/api/v1/dossiers/<code>")
def dossier(code: str) -> Response:
    """A dossier's status. Names are masked unless an officer asks, the receipt's proof (`?proof=`,
    from its QR code) or the applicant's ID number (`?id_no=`) matches: a public screen must not show
    a stranger's personal data."""
    central = web().central
    if central is None:
        return json_error("not_implemented", text("dossier_lookup_missing", language()), 501)
    user = current_user()
    answer = central.lookup(
        code,
        caller_id=f"web:{request.remote_addr or '?'}",
        possession=user is not None,
        language=language(),
        applicant_id_no=request.args.get("id_no") or None,
        receipt_proof=request.args.get("proof") or None,
    )
    return jsonify(answer)


@api.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        connected = bool(web().broker_connected())
    except Exception:
        log.exception("broker_connected() failed")
        connected = False
    # The hub's own faults (a held service day, a full disk) make it unhealthy too, with the reason.
    problems = web().service.problems(language())
    healthy = connected and not any(problem["level"] == "error" for problem in problems)
    body = {
        "ok": healthy,
        "broker_connected": connected,
        "site": web().service.site.site,
        "clock": web().service.clock_status(),
        "problems": problems,
    }
    fleet = web().fleet
    if fleet is not None:  # connected is not enough: can the hub still publish? (issue 13)
        body["publishing"] = fleet.link.publishing().as_json()
        body["broker_connected"] = fleet.link.connected
    return jsonify(body), 200 if healthy else 503


@api.post("/api/v1/admin/day/confirm")
def confirm_day() -> Response:
    """An administrator confirms the day the hub's clock shows (a day held after a clock jump or
    on an unsynchronised clock): it opens now, and the held day's line is cancelled."""
    user = require_user(admin=True)
    return jsonify({"ok": True, **web().service.confirm_day(user.username, language())})


@api.get("/metrics")
def metrics() -> Response:
    return Response(web().metrics.render(), mimetype="text/plain; version=0.0.4; charset=utf-8")


# -- officers ---------------------------------------------------------------------------------


@api.get("/api/v1/counters/<counter_id>")
def counter_view(counter_id: str) -> Response:
    from .console_texts import group_labels
    from .pages import number_warnings

    require_user(counter_id=counter_id)
    lang = language()
    view = web().service.counter_view(counter_id, lang)
    # The priority groups' names as the head set them now: the console redraws with them when a
    # site change wakes it (a `resync` on its event stream), without a reload.
    groups = group_labels(lang, web().service.site.priority_groups)
    return jsonify({**view, "numbers": number_warnings(view), "groups": groups})


@api.get("/api/v1/counters/<counter_id>/waiting")
def counter_waiting(counter_id: str) -> Response:
    """The counter's waiting citizens in calling order: number, priority group, waited time,
    transferred-from."""
    require_user(counter_id=counter_id)
    return jsonify({"counter_id": counter_id, "waiting": web().service.waiting_list(counter_id, language())})


@api.post("/api/v1/counters/<counter_id>/receipt")
def counter_receipt(counter_id: str) -> Response:
    """ "In phiếu tiếp nhận": the receipt of a dossier, with data from central, on this counter's
    printer. The officer types or scans the dossier code at the console."""
    user = require_user(counter_id=counter_id)
    body = json_body()
    result = print_dossier_receipt(
        counter_id, body.get("code"), officer=user.name, caller_id=f"web:{user.username}"
    )
    return jsonify({"ok": True, **result})


def counter_printer(counter_id: str) -> str | None:
    """The printer of the counter (receipts), None without one; BadInput for an unknown counter."""
    counter = next((c for c in web().service.site.counters if c.id == counter_id), None)
    if counter is None:
        raise BadInput("unknown_counter", counter_id=counter_id[:40])
    return counter.printer


def print_dossier_receipt(counter_id: str, code: object, *, officer: str, caller_id: str) -> dict[str, Any]:
    """Send the receipt of dossier `code` to the counter's printer for an officer allowed to act
    there: {job_id, printer, print ("queued" | "unavailable"), dossier_code}.

    Raises BadInput for a request that cannot be right, MotcuaError (RpcError) when the hub refuses.
    """
    lang = language()
    if code is not None and not isinstance(code, str):
        raise BadInput("bad_request", detail="code: " + text("receipt_code", lang))
    code = (code or "").strip()
    if not code:
        raise BadInput("central_code_invalid", reason=message("dossier_code_empty", lang))
    if len(code) > MAX_RECEIPT_CODE:
        raise BadInput("bad_request", detail=f"code: ≤ {MAX_RECEIPT_CODE}")
    printer = counter_printer(counter_id)
    if printer is None:
        raise BadInput("no_printer", counter=counter_id)
    print_receipt = web().print_receipt
    if print_receipt is None:
        raise ReceiptsMissing()
    result = print_receipt(counter_id, code, officer=officer, language=lang)
    log.info(
        "%s: receipt of dossier %s at counter %s → %s (%s)",
        caller_id,
        result.get("dossier_code", code),
        counter_id,
        result.get("printer"),
        result.get("print"),
    )
    return {key: result.get(key) for key in ("job_id", "printer", "print", "dossier_code")}


class ReceiptsMissing(Exception):
    """The web runs without the hub's printing (a bare web app): 501, said in words."""


@api.errorhandler(ReceiptsMissing)
def _receipts_missing(error: ReceiptsMissing) -> Response:
    return json_error("not_implemented", text("receipt_missing", language()), 501)


@api.get("/api/v1/central/status")
def central_status() -> Response:
    """What the admin page shows of central: relay backlog, breaker, catalogue, results board."""
    require_user(admin=True)
    central = web().central
    if central is None:
        return error_response("central_not_configured")
    return jsonify(central.status())


@api.post("/api/v1/counters/<counter_id>/<action>")
def counter_action(counter_id: str, action: str) -> Response:
    user = require_user(counter_id=counter_id)
    method = COUNTER_ACTIONS.get(action)
    if method is None:
        return error_response("unknown_method", method=action[:40])
    body = json_body()
    result = run_counter_action(
        counter_id, action, body, caller_id=f"web:{user.username}", rid=request_id(body)
    )
    return jsonify({"ok": True, **result})


def run_counter_action(
    counter_id: str, action: str, body: dict[str, Any], *, caller_id: str, rid: str | None
) -> dict[str, Any]:
    """Do `action` at the counter for an officer already allowed to act there."""
    method = COUNTER_ACTIONS[action]
    params: dict[str, Any] = {"counter_id": counter_id}
    if action == "transfer":
        params["to_service_id"] = body.get("to_service_id")
        if "position" in body:
            params["position"] = body.get("position")
    elif action == "call-number":
        params["number"] = body.get("number")
    elif action == "resume":
        params["ticket_id"] = body.get("ticket_id")
    elif action == "pause":
        params["reason"] = body.get("reason")
    elif action == "reinstate":
        ticket_id = body.get("ticket_id")
        # Only a no-show of this counter's services: an officer acts for their own counter.
        skipped = web().service.counter_view(counter_id, language())["skipped"]
        if not any(ticket_id in (t["id"], t["number"]) for t in skipped):
            raise BadInput("unknown_ticket", ticket_id=str(ticket_id)[:32])
        params = {"ticket_id": ticket_id}
    result = call(method, params, caller_id=caller_id, rid=rid)
    log.info(
        "%s: %s at counter %s%s",
        caller_id,
        method,
        counter_id,
        f" → {result['ticket']['number']}" if "ticket" in result else "",
    )
    return result
