"""Refusals as the web shows them: an HTTP status and `{ok: false, error: {code, message}}`."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from appliance.errors import MotcuaError
from appliance.i18n import message

from .texts import Language

# Error code (appliance.i18n key) → HTTP status. Anything unlisted is a 400 (the request was refused
# for a reason the caller can read), except errors we did not foresee, which are 500.
HTTP_STATUS: dict[str, int] = {
    "booking_limit": 409,
    "slot_full": 409,
    "booking_no_slot": 409,
    "booking_no_service": 404,
    "booking_day_closed": 409,
    "booking_not_found": 404,
    "booking_cancelled": 409,
    "booking_checked_in": 409,
    "booking_not_today": 409,
    "booking_too_early": 409,
    "check_in_not_here": 403,
    "bad_phone": 400,
    "bad_id_no": 400,
    "otp_required": 401,
    "otp_wrong": 403,
    "otp_unavailable": 503,
    "booking_unavailable": 404,
    "central_code_invalid": 400,
    "central_dossier_not_found": 404,
    "central_rate_limited": 429,
    "central_unavailable": 503,
    "central_not_configured": 501,
    # "In phiếu tiếp nhận" at a counter that has no printer: the request is fine, the counter is not.
    "no_printer": 409,
    "result_desk_unavailable": 404,
    "result_no_ticket": 409,
    "result_not_linked": 409,
    "bad_json": 400,
    "admin_invalid": 400,
    "admin_exists": 409,
    "admin_not_found": 404,
    "admin_service_at_counters": 409,
    "admin_service_at_kiosks": 409,
    "admin_counter_has_officers": 409,
    "admin_service_in_use": 409,
    "admin_numbers_in_use": 409,
    "province_template_locked": 409,
    "admin_block_too_small": 409,
    "admin_forbidden": 403,
    "admin_only": 403,
    "bad_request": 400,
    "unsupported_media_type": 415,
    "cross_origin": 403,
    "too_many_attempts": 429,
    "unsupported_version": 400,
    "bad_score": 400,
    "payload_too_large": 413,
    "login_required": 401,
    "login_failed": 401,
    "csrf_failed": 403,
    "forbidden": 403,
    "reports_forbidden": 403,
    "dossier_already_rated": 409,
    "no_dossier_to_rate": 409,
    "rating_link_invalid": 404,
    "not_your_counter": 403,
    "unknown_method": 404,
    "unknown_service": 404,
    "unknown_counter": 404,
    "unknown_ticket": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "no_waiting": 409,
    "counter_closed": 409,
    "counter_busy": 409,
    "counter_idle": 409,
    "service_not_at_counter": 409,
    "same_service": 409,
    "service_full": 409,
    "service_closed": 409,
    "invalid_state": 409,
    "already_rated": 409,
    "not_rateable": 409,
    "too_many_logins": 429,
    "too_many_tickets": 429,
    "busy": 503,
    "storage_full": 507,  # the hub's disk is full: nothing can be saved until space returns
    "internal": 500,
    "not_implemented": 501,
    "unavailable": 503,
    "demo_screen_absent": 503,
    "timeout": 504,
}


def status_for(code: str) -> int:
    return HTTP_STATUS.get(code, 400)


def describe(error: BaseException, language: Language = "vi") -> tuple[str, str]:
    """(code, human message in `language`) of a refusal raised by the queue service.

    Handles appliance.rpc.RpcError (code, message, message_en) and hub.engine.QueueError (code,
    values) without importing either: both are MotcuaErrors carrying a `code`.
    """
    code = getattr(error, "code", None)
    if not isinstance(error, MotcuaError) or not isinstance(code, str):
        return "internal", message("internal", language)
    if language == "en" and isinstance(getattr(error, "message_en", None), str) and error.message_en:
        return code, error.message_en
    text = getattr(error, "message", None)
    if language == "vi" and isinstance(text, str) and text:
        return code, text
    values: dict[str, Any] = getattr(error, "values", None) or getattr(error, "details", None) or {}
    return code, message(code, language, **values)


def json_error(code: str, text: str, status: int | None = None, **extra: Any) -> Response:
    # A message may quote what the client sent; a lone surrogate there cannot be encoded as UTF-8.
    text = text.encode("utf-8", "replace").decode("utf-8")
    body: dict[str, Any] = {"ok": False, "error": {"code": code, "message": text, **extra}}
    response = jsonify(body)
    response.status_code = status or status_for(code)
    return response
