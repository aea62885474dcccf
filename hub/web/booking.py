"""Online booking and check-in over HTTP (issue 17): the contract's API and the phone-first pages
`/book` (choose, identify, confirm) and `/b/{code}` (the booking: QR, cancel, check in).

Installed by the hub when the site has a `[booking]` table (`install_booking`); the booking code
is the citizen's secret for their booking, as a ticket's token is for their ticket.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import segno
from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from appliance.errors import MotcuaError

from .api import BadInput, anonymous_caller, json_body, public_post_guard, refusal, same_origin
from .app import error_response, language
from .auth import LoginLimiter
from .security import client_address
from .texts import catalogue, load_words

booking = Blueprint("booking", __name__)
# Words of the booking pages (Vietnamese first, English available).
TEXTS = load_words("booking")

OTP_PER_ADDRESS = 5
OTP_WINDOW_S = 600.0
BOOKINGS_PER_ADDRESS = 30
BOOKINGS_WINDOW_S = 3600.0


def install_booking(app: Flask, service: Any) -> None:
    """Serve the booking API and pages of `service` (hub.bookings.runtime.BookingService)."""
    app.extensions["motcua_booking"] = {
        "service": service,
        "otp_limiter": LoginLimiter(OTP_PER_ADDRESS, OTP_WINDOW_S),
        "book_limiter": LoginLimiter(BOOKINGS_PER_ADDRESS, BOOKINGS_WINDOW_S),
    }
    app.register_blueprint(booking)


def bookings() -> Any:
    return current_app.extensions["motcua_booking"]["service"]


class _TooMany(Exception):
    """An address over its limit; the answer (with Retry-After) travels with it."""

    def __init__(self, response: Response) -> None:
        super().__init__("too many attempts")
        self.response = response


def _public_body(limiter_name: str) -> dict[str, Any]:
    """The JSON body of a citizen's write (a code by SMS, a booking): guarded as every public write
    is, and refused past the limiter's count from one address."""
    public_post_guard()
    body = json_body()
    limiter: LoginLimiter = current_app.extensions["motcua_booking"][limiter_name]
    address = client_address()
    if limiter.reserve(address) is None:
        wait = limiter.blocked(address)
        response = error_response("too_many_attempts", minutes=max(1, round(wait / 60)))
        response.headers["Retry-After"] = str(max(1, round(wait)))
        raise _TooMany(response)
    return body


@booking.errorhandler(MotcuaError)
def _refused(error: MotcuaError) -> Response:
    return refusal(error)


@booking.errorhandler(_TooMany)
def _too_many(error: _TooMany) -> Response:
    return error.response


# -- API ----------------------------------------------------------------------------------------


@booking.get("/api/v1/bookings/services")
def services() -> Response:
    days = [d.isoformat() for d in bookings().days()]
    return jsonify({"services": bookings().services(), "days": days})


@booking.get("/api/v1/bookings/slots")
def slots() -> Response:
    service_id = request.args.get("service_id", "")
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        raise BadInput("bad_request", detail="date: YYYY-MM-DD") from None
    return jsonify(bookings().slots(service_id[:64], day, language()))


@booking.post("/api/v1/bookings/otp")
def send_otp() -> tuple[Response, int]:
    """A one-time code by SMS to the phone that books (through the site's SMS gateway)."""
    body = _public_body("otp_limiter")
    return jsonify(bookings().request_otp(body.get("phone"), language())), 202


@booking.post("/api/v1/bookings")
def create() -> tuple[Response, int]:
    body = _public_body("book_limiter")
    return jsonify(bookings().book(body, language())), 201


@booking.get("/api/v1/bookings/<code>")
def show(code: str) -> Response:
    found = bookings().find(code[:64], language())
    return jsonify(bookings().describe(found))


@booking.delete("/api/v1/bookings/<code>")
def cancel(code: str) -> Response:
    _same_site()
    return jsonify(bookings().cancel(code[:64], language()))


@booking.post("/api/v1/bookings/<code>/check-in")
def check_in(code: str) -> Response:
    """Check in from the phone: only from inside the site's own networks (its Wi-Fi), if the head
    allows it; the kiosk checks in over MQTT (`booking.check_in`)."""
    public_post_guard()
    json_body()
    settings = bookings().settings
    if not settings.phone_check_in or not settings.inside(client_address()):
        raise BadInput("check_in_not_here")
    result = bookings().check_in(code[:64], caller_id=anonymous_caller(), language=language())
    ticket = dict(result["ticket"])
    ticket["url"] = f"/t/{ticket['token']}"
    return jsonify({**result, "ticket": ticket})


@booking.get("/api/v1/bookings/<code>/qr.svg")
def qr(code: str) -> Response:
    found = bookings().find(code[:64], language())
    out = io.BytesIO()
    segno.make(f"MCBK:{found.code}", error="m").save(out, kind="svg", scale=6, border=2)
    return Response(out.getvalue(), mimetype="image/svg+xml")


def _same_site() -> None:
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin):
        raise BadInput("cross_origin")


# -- pages --------------------------------------------------------------------------------------


@booking.get("/book")
def book_page() -> str:
    lang = language()
    service = bookings()
    config = {
        "lang": lang,
        "texts": catalogue(TEXTS, lang),
        "services": service.services(),
        "days": [d.isoformat() for d in service.days()],
        "otp": service.settings.phone_otp,
    }
    return render_template("book.html", config=config, bt=catalogue(TEXTS, lang), public=True)


@booking.get("/b/<code>")
def booking_page(code: str) -> Response | str:
    try:
        found = bookings().find(code[:64], language())
    except MotcuaError:
        return error_response("booking_not_found", 404)
    lang = language()
    data = bookings().describe(found)
    config = {"lang": lang, "texts": catalogue(TEXTS, lang), "code": found.code}
    today = found.day == bookings().today()
    return render_template("booking.html", booking=data, config=config, bt=catalogue(TEXTS, lang),
                           today=today, public=True)  # fmt: skip
