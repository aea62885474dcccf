"""A citizen's messages about their own ticket, from its page `/t/{token}`: leave a phone number,
allow Web Push, or turn messages off (issue 17). The token is the proof of holding the ticket."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from appliance.errors import MotcuaError

from .api import BadInput, json_body, public_post_guard, refusal, same_origin
from .app import error_response, language

citizen = Blueprint("citizen_notify", __name__)

DEFAULT_REINSTATE_MINUTES = 15
MAX_SUBSCRIPTION = 2048


def install_citizen_notify(app: Flask, runtime: Any) -> None:
    """The ticket page's notification parts; the API only when the site sends messages (`runtime`
    is hub.citizen_notify.runtime.CitizenNotify or None)."""
    app.extensions["motcua_citizen_notify"] = runtime
    minutes = runtime.settings.reinstate_minutes if runtime is not None else DEFAULT_REINSTATE_MINUTES

    @app.context_processor
    def _citizen() -> dict[str, Any]:
        return {
            "citizen_notify": (
                {"vapid": runtime.vapid_public_key, "sms": bool(runtime.gateways.keys() & {"sms", "zalo"})}
                if runtime is not None
                else None
            ),
            "reinstate_minutes": minutes,
        }

    if runtime is not None:
        app.register_blueprint(citizen)


def runtime() -> Any:
    return current_app.extensions["motcua_citizen_notify"]


@citizen.errorhandler(MotcuaError)
def _refused(error: MotcuaError) -> Response:
    return refusal(error)


@citizen.get("/api/v1/tickets/<token>/notifications")
def state(token: str) -> Response:
    return jsonify({**runtime().contact_state(token[:128]), "vapid_public_key": runtime().vapid_public_key})


@citizen.post("/api/v1/tickets/<token>/notifications")
def subscribe(token: str) -> Response | tuple[Response, int]:
    """{phone} and/or {subscription} (a PushSubscription's JSON)."""
    public_post_guard()
    body = json_body()
    phone = None
    if body.get("phone"):
        from hub.bookings.identity import IdentityError, normalise_phone

        try:
            phone = normalise_phone(str(body["phone"]))
        except IdentityError as error:
            raise BadInput(error.code) from None
    push = body.get("subscription")
    if push is not None:
        keys = push.get("keys") if isinstance(push, dict) else None
        if (
            not isinstance(push, dict)
            or not str(push.get("endpoint", "")).startswith(("https://", "http://"))
            or not isinstance(keys, dict)
            or len(str(push)) > MAX_SUBSCRIPTION
        ):
            raise BadInput("bad_request", detail="subscription")
        push = {
            "endpoint": push["endpoint"],
            "keys": {"p256dh": keys.get("p256dh"), "auth": keys.get("auth")},
        }
    if phone is None and push is None:
        raise BadInput("bad_request", detail="phone | subscription")
    if not runtime().add_contact(token[:128], phone=phone, push=push, language=language()):
        return error_response("unknown_ticket", ticket_id=token[:32])
    return jsonify(runtime().contact_state(token[:128])), 201


@citizen.delete("/api/v1/tickets/<token>/notifications")
def opt_out(token: str) -> Response:
    from flask import request

    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin):
        raise BadInput("cross_origin")
    if not runtime().opt_out(token[:128]):
        return error_response("unknown_ticket", ticket_id=token[:32])
    return jsonify({"subscribed": False})


@citizen.get("/push-sw.js")
def service_worker() -> Response:
    """The Web Push service worker, served from the root so its scope covers the ticket pages."""
    response = current_app.send_static_file("push-sw.js")
    response.headers["Service-Worker-Allowed"] = "/"
    return response
