"""Online booking and check-in (issue 17): slots per service, limits per person, check-in at the
kiosk or from the phone, fair placement in the line.

`model` is pure (slots, codes, placement); `identity` validates and hashes who books; `store`
keeps bookings in the hub's SQLite file; `runtime` wires them to the queue service.
"""

from .config import BookingSettings, ServiceBooking, load_booking_settings

__all__ = ["BookingSettings", "ServiceBooking", "load_booking_settings"]
