"""Rating a dossier: the officer links the ticket at the counter to a dossier code; the counter's
tablet (`/rate/{counter_id}`) or the signed link on the receipt (`/rate/d/{token}`) takes one rating
of that dossier, relayed to central exactly once (hub/reports/dossier_ratings.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer

from appliance import dossier_code
from appliance.i18n import message
from hub import store as store_module
from hub.reports import dossier_ratings as ratings
from hub.reports import rating_links

from .app import error_response, language
from .security import require_user, web

rating = Blueprint("rating", __name__)


@rating.record_once
def _schema(state: Any) -> None:
    conn = store_module.connect(state.app.extensions["motcua_web"].service.db_path)
    try:
        ratings.ensure_schema(conn)
        rating_links.ensure_schema(conn)
    finally:
        conn.close()


def _signer() -> URLSafeSerializer:
    from flask import current_app

    return rating_links.signer(current_app.secret_key)


def rating_link(code: str) -> str:
    """The signed address (for the receipt's QR) where the citizen can rate `code` later."""
    base = web().service.site.hub.public_url.rstrip("/")
    return f"{base}/rate/d/{_signer().dumps(code)}"


def _current_ticket(counter_id: str) -> dict[str, Any] | None:
    service = web().service
    with service._lock:
        counter = service.engine.counters.get(counter_id)
        current = service.engine.current_ticket(counter) if counter else None
        return service.engine.describe(current) if current else None


@rating.post("/api/v1/counters/<counter_id>/dossier")
def link_dossier(counter_id: str) -> Response:
    user = require_user(counter_id=counter_id)
    service = web().service
    if counter_id not in service.engine.counters:
        return error_response("unknown_counter", counter_id=counter_id)
    body = request.get_json(silent=True) or {}
    raw = body.get("code") if isinstance(body, dict) else None
    try:
        code = dossier_code.parse_any(str(raw or ""), language()).canonical
    except dossier_code.DossierCodeError as error:
        return error_response(
            "central_code_invalid", reason=error.message if language() == "vi" else error.message_en
        )
    ticket = _current_ticket(counter_id)
    if ticket is None:
        return error_response("counter_idle", counter=service.engine.counters[counter_id].spec.name)
    conn = store_module.connect(service.db_path)
    try:
        ratings.link(
            conn,
            counter_id=counter_id,
            ticket_id=ticket["id"],
            code=code,
            officer=user.username,
            now=service.clock(),
        )
    finally:
        conn.close()
    return Response(
        _dumps(
            {
                "ok": True,
                "dossier_code": code,
                "ticket": {"id": ticket["id"], "number": ticket["number"]},
                "rate_url": rating_link(code),
            }
        ),
        mimetype="application/json",
    )


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


def _texts() -> dict[str, str]:
    en = language() == "en"
    return {
        "title": "Rate this dossier" if en else "Đánh giá sự hài lòng",
        "dossier": "Dossier" if en else "Hồ sơ",
        "overall": "Overall" if en else "Đánh giá chung",
        "send": "Send" if en else "Gửi đánh giá",
        "thanks": "Thank you for your rating." if en else "Xin cảm ơn quý khách đã đánh giá.",
        "waiting": "Waiting for the officer to link your dossier…" if en else "Đang chờ cán bộ gắn hồ sơ…",
    }


def _form(code: str, action: str, *, status: int = 200, note: str | None = None) -> tuple[str, int]:
    en = language() == "en"
    overall = [(score, names[en]) for score, names in ratings.OVERALL.items()]
    return render_template(
        "rate.html",
        code=code,
        action=action,
        token=_signer().dumps(code),
        overall=overall,
        criteria=web().service.site.place.rating_criteria,
        texts=_texts(),
        note=note,
        public=True,
    ), status


def _submit(code: str, counter_id: str | None, via: str) -> tuple[str, int] | Response:
    service = web().service
    try:
        overall = int(request.form.get("overall", ""))
        names = service.site.place.rating_criteria
        criteria = {name: int(request.form.get(f"c{i}", "0") or 0) for i, name in enumerate(names)}
        criteria = {name: score for name, score in criteria.items() if score}
    except ValueError:
        return error_response("bad_request", detail="overall")
    conn = store_module.connect(service.db_path)
    try:
        ticket_id, linked_counter = ratings.linked_ticket(conn, code)
        counter_id = counter_id or linked_counter
        counter = service.engine.counters.get(counter_id or "")
        central = web().central
        relay = getattr(central, "relay", None)
        ratings.rate(
            conn,
            code=code,
            overall=overall,
            criteria=criteria,
            via=via,
            ticket={"id": ticket_id, "number": (ticket_id or "").rsplit("-", 1)[-1]} if ticket_id else None,
            counter_id=counter_id,
            counter_name=counter.spec.name if counter else None,
            site=service.site.site,
            relay=relay is not None,
            now=service.clock(),
        )
    except ratings.AlreadyRated:
        return error_response("dossier_already_rated", dossier=code)
    except ValueError:
        return error_response("bad_request", detail="overall: 1, 2, 3")
    finally:
        conn.close()
    if relay is not None:
        relay.wake()
    return render_template("rate.html", code=code, done=True, texts=_texts(), public=True), 200


@rating.route("/rate/<counter_id>", methods=["GET", "POST"])
def at_counter(counter_id: str) -> Any:
    service = web().service
    if counter_id not in service.engine.counters:
        return error_response("unknown_counter", counter_id=counter_id)
    if request.method == "POST":
        try:
            code = _signer().loads(request.form.get("token", ""))
        except BadSignature:
            return error_response("rating_link_invalid")
        return _submit(code, counter_id, "counter")
    ticket = _current_ticket(counter_id)
    conn = store_module.connect(service.db_path)
    try:
        pending = ratings.pending_at(conn, counter_id, ticket["id"] if ticket else None)
    finally:
        conn.close()
    if pending is None:
        page = render_template(
            "rate.html",
            code=None,
            waiting=True,
            texts=_texts(),
            public=True,
            note=message("no_dossier_to_rate", language()),
        )
        return Response(page, headers={"Refresh": "5"})
    return _form(pending.dossier_code, f"/rate/{counter_id}")


@rating.get("/r/<short>")
def by_short_link(short: str) -> Any:
    """The short address printed under the receipt's QR code, typed by hand: to the signed page."""
    conn = store_module.connect(web().service.db_path)
    try:
        code = rating_links.resolve(conn, short)
    finally:
        conn.close()
    if code is None:
        return error_response("rating_link_invalid")
    return redirect(f"/rate/d/{_signer().dumps(code)}", code=303)


@rating.route("/rate/d/<token>", methods=["GET", "POST"])
def by_link(token: str) -> Any:
    try:
        code = _signer().loads(token)
    except BadSignature:
        return error_response("rating_link_invalid")
    if request.method == "POST":
        return _submit(code, None, "link")
    conn = store_module.connect(web().service.db_path)
    try:
        done = ratings.rated(conn, code)
    finally:
        conn.close()
    if done:
        return error_response("dossier_already_rated", dossier=code)
    return _form(code, f"/rate/d/{token}")
