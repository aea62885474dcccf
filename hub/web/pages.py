"""HTML pages: landing, login, officer console, public ticket page, admin, devices, stats."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from appliance.errors import MotcuaError
from appliance.i18n import message
from appliance.timeutil import SITE_TZ

from .api import (
    COUNTER_ACTIONS,
    BadInput,
    ReceiptsMissing,
    counter_printer,
    print_dossier_receipt,
    run_counter_action,
)
from .app import error_response, language
from .auth import MIN_PASSWORD_LENGTH, AuthError, Reservation
from .central_status import StatusGroup, StatusRow, central_groups
from .console_texts import console_texts
from .errors import describe
from .public import public_snapshot as hide_tokens
from .public import public_view
from .results import desk_view
from .results import texts as results_texts
from .security import (
    admin_required,
    client_address,
    csrf_valid,
    current_user,
    login_user,
    logout_user,
    officer_required,
    require_user,
    safe_next,
    session_alive,
    web,
)
from .streams import counter_stream, ticket_stream
from .texts import client_catalogue, text

log = logging.getLogger("motcua.hub.web")

pages = Blueprint("pages", __name__)

MAX_TOKEN_LENGTH = 128


def _redirect(target: str) -> Response:
    return redirect(target)  # type: ignore[return-value]


def public_snapshot() -> dict[str, Any]:
    return hide_tokens(web().service.snapshot())


@pages.app_template_filter("service_label")
def service_label(service_id: str) -> str:
    for service in web().service.site.services:
        if service.id == service_id:
            return service.name_en if language() == "en" and service.name_en else service.name
    return service_id


# -- landing and login ------------------------------------------------------------------------


@pages.get("/")
def home() -> str:
    return render_template("home.html", snapshot=public_snapshot())


@pages.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    lang = language()
    next_page = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_page)
    context = web()
    username = request.form.get("username", "").strip()[:64]
    if not csrf_valid():
        return render_template(
            "login.html", next=next_page, username=username, error=message("csrf_failed", lang)
        ), 403
    address = client_address()
    # Reserved before the password is checked: parallel guesses cannot all get a check.
    attempt = context.limiter.reserve(address)
    if attempt is None:
        wait = context.limiter.blocked(address)
        error = text("too_many_logins", lang, minutes=max(1, round(wait / 60)))
        return render_template("login.html", next=next_page, username=username, error=error), 429
    user = context.users.verify(username, request.form.get("password", ""))
    if user is None:
        log.info("failed login for %r from %s", username, address)
        return render_template(
            "login.html", next=next_page, username=username, error=message("login_failed", lang)
        ), 401
    attempt.refund()  # only failures count against an address
    login_user(user)
    log.info("officer %r logged in from %s", user.username, address)
    if next_page:
        return _redirect(next_page)
    if len(user.counters) == 1 and not user.admin:
        return _redirect(url_for("pages.console", counter_id=user.counters[0]))
    return _redirect(url_for("pages.home"))


@pages.route("/logout", methods=["GET", "POST"])
def logout() -> Response:
    # Logging out is harmless to force, so a plain link works too; it changes nothing else.
    logout_user()
    return _redirect(url_for("pages.login"))


@pages.route("/password", methods=["GET", "POST"])
@officer_required
def password() -> str | tuple[str, int]:
    lang = language()
    if request.method == "GET":
        return render_template("password.html", hide_temporary_notice=True)
    user = require_user()
    users = web().users
    new, repeat = request.form.get("new", ""), request.form.get("repeat", "")
    error = None
    # A stolen session must not become a way to guess the password at full speed: the
    # current-password check is limited like a login, per officer and per address, and counted
    # before the check.
    limiter = web().password_limiter
    keys = (f"user:{user.username}", client_address())
    attempts = [limiter.reserve(key) for key in keys]
    if None in attempts:
        _refund(attempts)
        wait = max(limiter.blocked(key) for key in keys)
        error = text("too_many_logins", lang, minutes=max(1, round(wait / 60)))
        return render_template("password.html", error=error, hide_temporary_notice=True), 429
    if users.verify(user.username, request.form.get("current", "")) is None:
        error = text("wrong_current_password", lang)
    else:
        _refund(attempts)
        if new != repeat:
            error = text("password_mismatch", lang)
        elif len(new) < MIN_PASSWORD_LENGTH:
            error = text("password_too_short", lang, length=MIN_PASSWORD_LENGTH)
    if error:
        return render_template("password.html", error=error, hide_temporary_notice=True), 400
    try:
        updated = users.set_password(user.username, new)
    except AuthError:
        return render_template("password.html", error=text("server_error", lang)), 400
    login_user(updated)  # the change ended every session, this one starts afresh
    return render_template("password.html", done=True)


def _refund(attempts: list[Reservation | None]) -> None:
    for attempt in attempts:
        if attempt is not None:
            attempt.refund()


# -- officer console --------------------------------------------------------------------------


@pages.get("/counter/<counter_id>")
def console(counter_id: str) -> str:
    user = require_user(counter_id=counter_id)
    lang = language()
    view = web().service.counter_view(counter_id, lang)
    config = {
        "counter_id": counter_id,
        "view_url": url_for("api.counter_view", counter_id=counter_id),
        "action_url": url_for("api.counter_action", counter_id=counter_id, action="ACTION"),
        "events_url": url_for("pages.console_events", counter_id=counter_id),
        "lang": lang,
        **client_catalogue(lang),
    }
    config["numbers"] = number_warnings(view)
    config["console"] = console_texts(lang, web().service.site.priority_groups)
    receipts = receipt_panel(counter_id)
    if receipts:
        config["receipt_url"] = url_for("api.counter_receipt", counter_id=counter_id)
    desk = desk_view(counter_id)
    desk_config = None
    if desk is not None:
        desk_config = {
            "view_url": url_for("results.desk_json", counter_id=counter_id),
            "returned_url": url_for("results.desk_returned", counter_id=counter_id),
            "link_url": url_for("results.desk_link", counter_id=counter_id),
            "texts": results_texts(lang),
            "status_word": text("status", lang),
        }
    return render_template(
        "console.html",
        view=view,
        config=config,
        desk=desk,
        desk_config=desk_config,
        has_printer=receipts,
        m=lambda key, **values: message(key, lang, **values),
        console=config["console"],
        # The hub's own faults (clock, disk) and, for an administrator, the way out of a held day.
        hub_problems=web().service.problems(lang),
        can_confirm_day=user.admin and web().service.clock_status()["state"] == "held",
    )


@pages.post("/admin/day/confirm")
@admin_required
def confirm_day() -> Response:
    """The console's "confirm the new day" button: open the day the hub's clock shows."""
    user = require_user(admin=True)
    try:
        result = web().service.confirm_day(user.username, language())
    except MotcuaError as error:
        flash(_refusal_words(error), "error")
    else:
        flash(result["message"], "ok" if result["rolled"] else "warn")
    return _redirect(safe_next(request.form.get("next")) or url_for("pages.home"))


# A service with fewer numbers left than this share of its block is flagged on its counters' consoles.
NUMBERS_LOW_SHARE = 0.05


def number_warnings(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Warnings for the console of the services at this counter whose numbers for the day have run
    out or are running out: `[{service_id, left, level, text}]` (level "error" or "warn")."""
    lang = language()
    last_numbers = {s["id"]: s.get("last_number") for s in web().service.snapshot().get("services", [])}
    served = {item.get("service_id") for item in view.get("waiting", [])} | {
        item.get("id") for item in view.get("counter", {}).get("services", []) if isinstance(item, dict)
    }
    warnings = []
    for spec in web().service.site.services:
        if spec.id not in served:
            continue
        engine = spec.to_engine()
        last = last_numbers.get(spec.id)
        try:
            used = int(str(last)[len(spec.prefix) :]) - spec.first + 1 if last else 0
        except ValueError:
            continue
        left = max(0, engine.capacity - used)
        if left > max(1, int(engine.capacity * NUMBERS_LOW_SHARE)):
            continue
        key, level = ("numbers_out", "error") if left == 0 else ("numbers_low", "warn")
        name = spec.name_en if lang == "en" and spec.name_en else spec.name
        words = text(
            key, lang, service=name, left=left, first=engine.number(1), last=engine.number(engine.capacity)
        )
        warnings.append({"service_id": spec.id, "left": left, "level": level, "text": words})
    return warnings


def receipt_panel(counter_id: str) -> bool:
    """Whether the console offers "In phiếu tiếp nhận": the counter has a printer and the hub prints."""
    return web().print_receipt is not None and counter_printer(counter_id) is not None


@pages.post("/counter/<counter_id>/receipt")
def console_receipt(counter_id: str) -> Response:
    """ "In phiếu tiếp nhận" without JavaScript: print, come back to the console with a message."""
    user = require_user(counter_id=counter_id)
    back = url_for("pages.console", counter_id=counter_id)
    try:
        result = print_dossier_receipt(
            counter_id, request.form.get("code", ""), officer=user.name, caller_id=f"web:{user.username}"
        )
    except ReceiptsMissing:
        flash(text("receipt_missing", language()), "error")
        return _redirect(back)
    except (MotcuaError, BadInput) as error:
        flash(_refusal_words(error), "error")
        return _redirect(back)
    key = "receipt_waiting" if result["print"] == "unavailable" else "receipt_sent"
    flash(text(key, language(), code=result["dossier_code"]), "warn" if key == "receipt_waiting" else "ok")
    return _redirect(back)


def _refusal_words(error: MotcuaError | BadInput) -> str:
    if isinstance(error, BadInput):
        return message(error.code, language(), **error.values)
    return describe(error, language())[1]


@pages.post("/counter/<counter_id>/do")
def console_action(counter_id: str) -> Response:
    """The console's buttons without JavaScript: do the action, come back with a message."""
    user = require_user(counter_id=counter_id)
    form = request.form
    action = "reinstate" if form.get("reinstate") else form.get("action", "")
    body: dict[str, Any] = {
        "to_service_id": form.get("to_service_id") or None,
        "ticket_id": form.get("reinstate") or form.get("resume"),
        "number": form.get("call") or form.get("number", "").strip(),
    }
    if form.get("call"):
        action = "call-number"
    elif form.get("resume"):
        action = "resume"
    back = url_for("pages.console", counter_id=counter_id)
    if action not in COUNTER_ACTIONS:
        flash(text("server_error", language()), "error")
        return _redirect(back)
    try:
        result = run_counter_action(counter_id, action, body, caller_id=f"web:{user.username}", rid=None)
    except (MotcuaError, BadInput) as error:
        flash(_refusal_words(error), "error")
        return _redirect(back)
    if action == "call-next" and "ticket" in result:
        flash(text("done_called", language(), number=result["ticket"]["number"]), "ok")
    return _redirect(back)


def event_stream(body: Any, *, officer: bool) -> Response:
    """A server-sent event response, if a stream slot is free for this caller (503 `busy` if not):
    officers have slots of their own; anonymous viewers are capped per address."""
    release = web().acquire_stream(None if officer else client_address())
    if release is None:
        return error_response("busy", headers={"Retry-After": "5"})
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must pass events through at once
    response.call_on_close(release)
    return response


@pages.get("/counter/<counter_id>/events")
def console_events(counter_id: str) -> Response:
    user = require_user(counter_id=counter_id)
    web().service.counter_view(counter_id)  # unknown counter: 404 before the stream starts
    return event_stream(counter_stream(web(), counter_id, session_alive(user)), officer=True)


# -- public ticket page -----------------------------------------------------------------------


def _ticket(token: str) -> dict[str, Any] | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return web().service.public_ticket(token)


@pages.get("/t/<token>")
def ticket_page(token: str) -> str | tuple[str, int]:
    ticket = _ticket(token)
    if ticket is None:
        return render_template("ticket_missing.html", public=True), 404
    lang = language()
    config = {
        "events_url": url_for("pages.ticket_events", token=token),
        "status_url": url_for("api.ticket_status", token=token),
        "lang": lang,
        **client_catalogue(lang),
    }
    return render_template("ticket.html", ticket=public_view(ticket), config=config, public=True)


@pages.get("/t/<token>/events")
def ticket_events(token: str) -> Response:
    if _ticket(token) is None:
        return error_response("unknown_ticket", ticket_id=token[:32])
    return event_stream(ticket_stream(web(), token, _ticket_lookup(web())), officer=False)


def _ticket_lookup(context: Any) -> Any:
    # The stream runs after the request context is gone: bind the service now.
    service = context.service

    def lookup(token: str) -> dict[str, Any] | None:
        return service.public_ticket(token)

    return lookup


# -- admin, devices, stats --------------------------------------------------------------------


@pages.get("/admin")
@admin_required
def admin() -> str:
    return render_template(
        "admin.html", snapshot=public_snapshot(), officers=web().users.all(), central=central_view()
    )


def central_view() -> list[StatusGroup] | None:
    """The admin page's "Hệ thống một cửa điện tử" section; None when the site has no central."""
    central = web().central
    if central is None:
        return None
    lang = language()
    try:
        status = central.status()
    except Exception as error:
        # The page is where a technician looks when things are wrong: it must still open.
        log.warning("central status could not be read: %s", error)
        failed = StatusRow(text("central_status_failed", lang, error=error), "", "error")
        return [StatusGroup(text("central_title", lang), [failed])]
    return central_groups(status if isinstance(status, dict) else {}, lang)


@pages.post("/admin/officers/<username>/reset")
@admin_required
def reset_password(username: str) -> str | Response:
    users = web().users
    if users.get(username) is None:
        return error_response("not_found")
    password = users.create_or_reset(username)
    actor = current_user()
    log.info("admin %r reset the password of %r", actor.username if actor else "?", username)
    # Shown in this response only: never stored in the session cookie or a log.
    return render_template(
        "admin.html",
        snapshot=public_snapshot(),
        officers=users.all(),
        new_password=(username, password),
        central=central_view(),
    )


def _device_rows(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for device in devices:
        row = dict(device)
        row["id"] = device.get("id") or device.get("device_id") or "?"
        seen = device.get("last_seen")
        if isinstance(seen, int | float):
            seen = datetime.fromtimestamp(seen, SITE_TZ).isoformat(timespec="seconds")
        row["last_seen_text"] = str(seen).replace("T", " ")[:19] if seen else "—"
        health = device.get("health")
        row["health"] = (
            sorted((str(k), str(v)) for k, v in health.items() if k not in ("v", "ts"))
            if isinstance(health, dict)
            else []
        )
        rows.append(row)
    return sorted(rows, key=lambda r: (str(r.get("role") or ""), str(r["id"])))


@pages.get("/devices")
@admin_required
def devices() -> str:
    if web().fleet is not None:
        from .fleet import fleet_page

        return fleet_page()
    source = web().devices
    listed = _device_rows(source()) if source is not None else None
    return render_template("devices.html", devices=listed)


@pages.get("/stats")
@officer_required
def stats() -> str:
    return render_template("stats.html", stats=web().service.stats())


@pages.errorhandler(MotcuaError)
def _refused(error: MotcuaError) -> Response:
    code, _ = describe(error, language())
    return error_response(code, **(getattr(error, "details", None) or {}))


@pages.errorhandler(BadInput)
def _bad_input(error: BadInput) -> Response:
    return error_response(error.code, **error.values)
