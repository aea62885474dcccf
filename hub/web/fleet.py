"""The technician's side of the hub (with hub.fleet): the fleet page, enrolment codes, device
commands and configuration, and `POST /api/v1/enroll`, which `motcua enroll` calls on a new device."""

from __future__ import annotations

import logging
from typing import Any

import segno
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from appliance.i18n import message

from .app import error_response, language
from .errors import json_error
from .security import client_address, require_user, web

log = logging.getLogger("motcua.hub.web")

fleet = Blueprint("fleet", __name__)

# Refusals of a code → HTTP status (the body says why, in the caller's language).
ENROL_STATUS = {
    "enrol_code_malformed": 400,
    "enrol_code_unknown": 404,
    "enrol_code_used": 409,
    "enrol_code_expired": 410,
    "enrol_too_many": 429,
    "enrol_unavailable": 503,
}
MAX_CONFIG_CHARS = 32 * 1024


def _fleet() -> Any:
    runtime = web().fleet
    if runtime is None:
        raise _Unavailable()
    return runtime


class _Unavailable(Exception):
    pass


@fleet.errorhandler(_Unavailable)
def _unavailable(error: _Unavailable) -> Response:
    return error_response("fleet_unavailable", 404)


def _refusal(error: Exception) -> str:
    """The words of a FleetRefusal or BrokerAccountError for the person at the page."""
    from hub.fleet import BrokerAccountError, FleetRefusal

    if isinstance(error, FleetRefusal):
        return error.text(language())
    if isinstance(error, BrokerAccountError):
        return message("fleet_broker_error", language(), detail=str(error))
    raise error


def _places(runtime: Any) -> list[tuple[str, str]]:
    """(value, label) of every place a device can be put: the site's kiosks and counters, the hall."""
    from .texts import text

    lang = language()
    kiosks = list(runtime.site.kiosk_printers) or ["kiosk-1"]
    places = [(f"kiosk:{k}", text("fleet_place_kiosk", lang, id=k)) for k in kiosks]
    places += [(f"counter:{c}", text("fleet_place_counter", lang, id=c)) for c in runtime.site.counters]
    places.append(("hall", text("fleet_place_hall", lang)))
    return places


def fleet_page(enrolment: Any = None, status: int = 200, form: dict[str, str] | None = None) -> Any:
    """The fleet page; with `enrolment`, the code just made (shown once)."""
    from hub.fleet.roles import ROLES

    runtime = _fleet()
    lang = language()
    views = runtime.devices()
    hub_url = request.host_url.rstrip("/")
    code = None
    if enrolment is not None:
        command = _enrol_command(enrolment.command(hub_url))
        code = {
            "code": enrolment.code,
            "device": enrolment.device.device_id,
            "expires": _when(enrolment.expires_at),
            "command": command,
            # segno draws it: no request text inside. The command with its pin, so a scanner types it.
            "qr": Markup(segno.make(command, error="m").svg_inline(scale=4, border=2, title=enrolment.code)),
        }
    page = render_template(
        "fleet.html",
        devices=views,
        alerts=_hub_alerts(lang) + [(a.level, a.text(lang)) for view in views for a in view.alerts],
        enrolment=code,
        roles=ROLES,
        places=_places(runtime),
        form=form or {},
        secured=runtime.secured,
        code_hours=round(runtime.settings.code_ttl_hours),
        when=_when,
        place_label=_place_label,
    )
    return (page, status) if status != 200 else page


def _hub_alerts(lang: str) -> list[tuple[str, str]]:
    """The hub's own faults (its clock, its disk) first: they stop the whole site."""
    return [(problem["level"], problem["message"]) for problem in web().service.problems(lang)]


def _enrol_command(command: str) -> str:
    """The `motcua enroll` line, pinning the site CA when the hub serves its own certificate."""
    pem = web().site_ca
    if pem:
        from hub.web.tls import fingerprint

        command += f" --ca-sha256 {fingerprint(pem)}"
    return command


@fleet.get("/api/v1/site-ca")
def site_ca() -> Response:
    """The site CA certificate (public; `motcua enroll --ca-sha256` checks it before trusting it)."""
    pem = web().site_ca
    if not pem:
        return error_response("not_found")
    return Response(pem, mimetype="application/x-pem-file")


def _place_label(place: str) -> str:
    """'Quầy 5' for 'counter:5', 'Sảnh chờ' for 'hall' (in the page's language)."""
    from .texts import text

    kind, _, ident = place.partition(":")
    if kind in ("kiosk", "counter", "hall"):
        label = text(f"fleet_place_{kind}", language(), id=ident)
        return f"{label} {ident}" if kind == "hall" and ident else label
    return place or "—"


def _when(iso_time: str | None) -> str:
    """'06/01 07:31:02' of an ISO time (site-local already), or an em dash."""
    if not iso_time or len(iso_time) < 19:
        return "—"
    return f"{iso_time[8:10]}/{iso_time[5:7]} {iso_time[11:19]}"


def _back() -> Response:
    return redirect(url_for("pages.devices"))  # type: ignore[return-value]


@fleet.post("/devices/add")
def add_device() -> Any:
    user = require_user(admin=True)
    runtime = _fleet()
    form = {key: request.form.get(key, "").strip()[:100] for key in ("role", "place", "device_id", "label")}
    try:
        enrolment = runtime.add_device(
            form["role"],
            form["place"],
            device_id=form["device_id"] or None,
            label=form["label"],
            created_by=user.username,
        )
    except Exception as error:
        flash(_refusal(error), "error")
        return fleet_page(status=400, form=form)
    return fleet_page(enrolment)


@fleet.post("/devices/<device_id>/replace")
def replace_device(device_id: str) -> Any:
    user = require_user(admin=True)
    try:
        enrolment = _fleet().replace_device(device_id, created_by=user.username)
    except Exception as error:
        flash(_refusal(error), "error")
        return _back()
    return fleet_page(enrolment)


@fleet.post("/devices/<device_id>/command")
def command(device_id: str) -> Response:
    require_user(admin=True)
    try:
        outcome = _fleet().send_command(device_id, request.form.get("cmd", ""))
    except Exception as error:
        flash(_refusal(error), "error")
        return _back()
    flash(outcome.text(language()), "ok")
    return _back()


@fleet.post("/devices/<device_id>/revoke")
def revoke(device_id: str) -> Response:
    user = require_user(admin=True)
    if request.form.get("confirm") != "yes":
        flash(message("bad_request", language(), detail="confirm"), "error")
        return _back()
    try:
        outcome = _fleet().revoke(device_id)
    except Exception as error:
        flash(_refusal(error), "error")
        return _back()
    log.warning("admin %r revoked device %s", user.username, device_id)
    flash(outcome.text(language()), "ok")
    return _back()


@fleet.route("/devices/<device_id>/config", methods=["GET", "POST"])
def device_config(device_id: str) -> Any:
    require_user(admin=True)
    runtime = _fleet()
    record = runtime.get(device_id)
    if record is None or record.status == "revoked":
        return error_response("fleet_unknown_device", 404, device=device_id)
    if request.method == "GET":
        return render_template(
            "fleet_config.html",
            record=record,
            text=runtime.config_toml(device_id),
            place=_place_label(str(record.place)),
        )
    text = request.form.get("config", "")[:MAX_CONFIG_CHARS]
    try:
        outcome = runtime.push_config_toml(device_id, text)
    except Exception as error:
        return render_template(
            "fleet_config.html",
            record=record,
            text=text,
            error=_refusal(error),
            place=_place_label(str(record.place)),
        ), 400
    flash(outcome.text(language()), "ok")
    return _back()


@fleet.get("/api/v1/devices")
def api_devices() -> Response:
    require_user(admin=True)
    lang = language()
    return Response(
        _json(
            {
                "v": 1,
                "devices": [view.as_json(lang) for view in _fleet().devices()],
                "hub": web().service.problems(lang),  # the hub's own faults: clock, storage
            }
        ),
        mimetype="application/json",
    )


def _json(body: dict[str, Any]) -> str:
    from flask import json

    return json.dumps(body, ensure_ascii=False)


@fleet.post("/api/v1/enroll")
def enroll() -> Response:
    """Redeem a one-time code: `{code, hostname?}` → the device's identity and credentials."""
    from hub.fleet import EnrolmentRefused

    from .api import json_body, public_post_guard

    runtime = _fleet()
    lang = language()
    address = client_address()
    public_post_guard()
    body = json_body()
    if not isinstance(body.get("code"), str):
        return json_error("enrol_code_malformed", message("enrol_code_malformed", lang), 400)
    hostname = body.get("hostname") if isinstance(body.get("hostname"), str) else ""
    # Counted before the code is checked: simultaneous guesses cannot all be tried.
    limiter = web().enrol_limiter
    attempt = limiter.reserve(address)
    if attempt is None:
        minutes = max(1, round(limiter.blocked(address) / 60))
        return json_error(
            "enrol_too_many",
            message("enrol_too_many", lang, minutes=minutes),
            429,
            details={"minutes": minutes},
        )
    try:
        reply = runtime.enrol(body["code"][:64], hub_host=request.host, remote=address, hostname=hostname)
    except EnrolmentRefused as error:
        if error.code == "enrol_unavailable":
            attempt.refund()  # the hub's fault, not a guess
        log.info("enrolment refused from %s: %s", address, error.code)
        details = {key: str(value) for key, value in error.values.items()}
        return json_error(error.code, error.text(lang), ENROL_STATUS.get(error.code, 400), details=details)
    attempt.refund()
    response = Response(_json(reply), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
