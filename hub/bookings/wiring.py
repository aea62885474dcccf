"""Wire bookings into the hub: the kiosk's RPC `booking.check_in` (`{code}`, or `{id_no}` from an ID
card read at the kiosk with consent), and the service the web uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.i18n import PRIORITY_GROUPS
from appliance.rpc import RpcError, RpcRequest

from .config import load_booking_settings
from .runtime import BookingService, OtpSender


def attach_bookings(hub: Any, *, otp_sender: OtpSender | None = None) -> BookingService | None:
    """The site's BookingService, its RPC handler registered on `hub.rpc` (call this before the
    fleet guards the handlers); None when the site has no `[booking]` table."""
    config = hub.config
    settings = load_booking_settings(config.booking, [s.id for s in config.services])
    if settings is None:
        return None
    bookings = BookingService(settings, hub.service, otp_sender=otp_sender)

    def check_in(request: RpcRequest) -> Mapping[str, Any]:
        code = request.params.get("code")
        id_no = request.params.get("id_no")
        if code is None and isinstance(id_no, str) and len(id_no) <= 32:
            # The ID card read at the kiosk with consent: today's booking made with its number.
            code = bookings.booking_of_card(id_no, request.language).code
        if not isinstance(code, str) or not code.strip() or len(code) > 256:
            raise RpcError.from_key("bad_request", request.language, detail="code")
        # The kiosk's elderly priority from an ID card read with the citizen's consent.
        group = request.params.get("priority_group")
        if group is not None and group not in PRIORITY_GROUPS:
            raise RpcError.from_key("bad_request", request.language, detail="priority_group")
        result = bookings.check_in(
            code, caller_id=request.caller_id, language=request.language, priority_group=group
        )
        # The kiosk prints the ticket as for any number it issues.
        result.update(hub.send_ticket_to_printer(request.caller_id, result["ticket"]))
        return result

    hub.rpc.handlers["booking.check_in"] = check_in
    return bookings
