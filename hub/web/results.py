"""Results ready for collection on the web: the public `/results` page for any TV browser (live by
server-sent events, paged), its JSON, and the return counter's panel in the officer console
("Đã trả kết quả"). The data and rules live in hub.central.results and .result_desk; this is presentation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from appliance.errors import MotcuaError
from appliance.i18n import MESSAGES, message
from appliance.timeutil import now as local_now

from .api import json_body, refusal
from .app import error_response, language
from .errors import describe
from .security import WebContext, known_user, require_user, web
from .streams import RETRY_MS, sse

log = logging.getLogger("motcua.hub.web.results")

results = Blueprint("results", __name__)

# Rows per page on the TV: large enough to read from the benches, few enough to fit 1080 lines.
PAGE_ROWS = 8
PAGE_MIN_ROWS = 3
PAGE_MAX_ROWS = 20
PAGE_S = 12
CHANGE_POLL_S = 1.0


def _board() -> Any:
    central = web().central
    return getattr(central, "results", None) if central is not None else None


# The words the TV page and the result desk's script draw with: the catalogue's result words (their
# keys start so) and the TV's page number and offline note.
CLIENT_WORDS = (
    *(key for key in MESSAGES if key.startswith(("results_", "result_"))),
    "display_page",
    "display_offline",
)


def texts(lang: str) -> dict[str, str]:
    return {key: message(key, lang) for key in CLIENT_WORDS}  # type: ignore[arg-type]


def _utc_offset_minutes() -> int:
    offset = local_now().utcoffset()
    return round(offset.total_seconds() / 60) if offset is not None else 0


def _rows(value: str | None) -> int:
    try:
        rows = int(value or PAGE_ROWS)
    except ValueError:
        rows = PAGE_ROWS
    return max(PAGE_MIN_ROWS, min(PAGE_MAX_ROWS, rows))


@results.app_template_filter("results_time")
def results_time(value: str | None) -> str:
    """ "08:42 24/11/2026" of an ISO time (already in site time), or an em dash."""
    if not value or len(value) < 16:
        return "—"
    return f"{value[11:16]} {value[8:10]}/{value[5:7]}/{value[0:4]}"


@results.errorhandler(MotcuaError)
def _refused(error: MotcuaError) -> Response:
    code, _ = describe(error, language())
    return error_response(code, **(getattr(error, "details", None) or {}))


# -- the public board -------------------------------------------------------------------------


@results.get("/results")
def board_page() -> str | tuple[str, int]:
    """The hall TV's list. `?rows=` rows per page, `?page_s=` seconds per page."""
    lang = language()
    board = _board()
    payload = board.payload() if board is not None else None
    try:
        page_s = max(4, min(120, int(request.args.get("page_s", PAGE_S))))
    except ValueError:
        page_s = PAGE_S
    config = {
        "events_url": url_for("results.board_events"),
        "json_url": url_for("results.board_json"),
        "rows": _rows(request.args.get("rows")),
        "utc_offset_minutes": _utc_offset_minutes(),
        "page_s": page_s,
        "lang": lang,
        "texts": texts(lang),
    }
    status = 200 if payload is not None else 404
    return render_template(
        "results.html",
        payload=payload,
        config=config,
        public=True,
        m=lambda key, **values: message(key, lang, **values),
    ), status


@results.get("/api/v1/results")
def board_json() -> Response:
    board = _board()
    if board is None:
        return error_response("not_found")
    return jsonify(board.payload())


@results.get("/results/events")
def board_events() -> Response:
    board = _board()
    if board is None:
        return error_response("not_found")
    from .pages import event_stream

    officer = known_user() is not None
    return event_stream(_board_stream(web(), board), officer=officer)


def _board_stream(context: WebContext, board: Any) -> Iterator[str]:
    """The whole board at once, then again each time it changes (a refresh, a result handed over)."""
    yield f"retry: {RETRY_MS}\n\n"
    version = board.version
    yield sse(board.payload(), event="results", event_id=version)
    last_sent = time.monotonic()
    while not context.stopping.is_set():
        now_version = board.wait_for_change(version, CHANGE_POLL_S)
        if now_version != version:
            version = now_version
            last_sent = time.monotonic()
            yield sse(board.payload(), event="results", event_id=version)
        elif time.monotonic() - last_sent >= context.keepalive_s:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"


# -- the return counter -----------------------------------------------------------------------


def _serving(counter_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    view = web().service.counter_view(counter_id, language())
    return view["counter"], view["serving"]


def desk_view(counter_id: str) -> dict[str, Any] | None:
    """The panel's data for the console page, or None for a counter that does not return results."""
    central = web().central
    if central is None or getattr(central, "desk", None) is None:
        return None
    _counter, serving = _serving(counter_id)
    return central.result_counter_view(counter_id, serving, language())


@results.get("/api/v1/results/counter/<counter_id>")
def desk_json(counter_id: str) -> Response:
    require_user(counter_id=counter_id)
    view = desk_view(counter_id)
    if view is None:
        return error_response("result_desk_unavailable")
    return jsonify(view)


def _return(counter_id: str, officer: str) -> dict[str, Any]:
    counter, serving = _serving(counter_id)
    return web().central.return_result(  # type: ignore[no-any-return]
        counter_id, counter["name"], serving, officer=officer, language=language()
    )


def _link(counter_id: str, officer: str, code: object) -> str:
    _counter, serving = _serving(counter_id)
    return web().central.link_served_ticket(  # type: ignore[no-any-return]
        counter_id, serving, code, officer=officer, language=language()
    )


def _returned_words(outcome: dict[str, Any]) -> str:
    record = outcome["returned"]
    key = "result_returned_ok" if outcome["fresh"] else "result_already_returned"
    stamp = str(record.get("returned_at") or "")
    return message(key, language(), code=record["dossier_code"], time=stamp[11:16])


@results.post("/api/v1/results/counter/<counter_id>/returned")
def desk_returned(counter_id: str) -> Response:
    """ "Đã trả kết quả": a second press answers the first record and tells central nothing more."""
    user = require_user(counter_id=counter_id)
    if web().central is None:
        return error_response("result_desk_unavailable")
    try:
        outcome = _return(counter_id, user.username)
    except MotcuaError as error:
        return refusal(error)
    log.info(
        "web:%s: result of %s handed over at counter %s (%s)",
        user.username,
        outcome["returned"]["dossier_code"],
        counter_id,
        "new" if outcome["fresh"] else "again",
    )
    return jsonify({"ok": True, **outcome, "message": _returned_words(outcome)})


@results.post("/api/v1/results/counter/<counter_id>/link")
def desk_link(counter_id: str) -> Response:
    user = require_user(counter_id=counter_id)
    if web().central is None:
        return error_response("result_desk_unavailable")
    body = json_body()
    try:
        code = _link(counter_id, user.username, body.get("code"))
    except MotcuaError as error:
        return refusal(error)
    return jsonify({"ok": True, "dossier_code": code})


@results.post("/counter/<counter_id>/result")
def desk_form(counter_id: str) -> Response:
    """The panel's buttons without JavaScript: do it, come back with a message."""
    user = require_user(counter_id=counter_id)
    back = redirect(url_for("pages.console", counter_id=counter_id))
    if web().central is None:
        flash(message("result_desk_unavailable", language()), "error")
        return back  # type: ignore[return-value]
    try:
        if request.form.get("rd_action") == "link":
            code = _link(counter_id, user.username, request.form.get("code", ""))
            flash(code, "ok")
        else:
            flash(_returned_words(_return(counter_id, user.username)), "ok")
    except MotcuaError as error:
        flash(describe(error, language())[1], "error")
    return back  # type: ignore[return-value]
