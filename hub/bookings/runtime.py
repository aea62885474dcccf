"""Bookings at work: slots, booking, cancelling, one-time codes and check-in into the queue.

Check-in issues the ticket through the queue service with the booking code as the request id, so a
check-in retried after a crash (or twice from two kiosks) gives back the same ticket, never two.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from appliance.rpc import RpcError
from appliance.timeutil import iso

from . import model
from .config import BookingSettings
from .identity import IdentityError, check_id_no, identity_hash, normalise_phone
from .store import Booking, BookingStore

log = logging.getLogger("motcua.hub.bookings")

CHECK_IN_CALLER = "booking"
# Sends a one-time code: (phone E.164, text). hub.citizen_notify provides it; None: no SMS.
OtpSender = Callable[[str, str], None]


class BookingService:
    def __init__(
        self, settings: BookingSettings, service: Any, *, otp_sender: OtpSender | None = None
    ) -> None:
        self.settings = settings
        self.service = service  # hub.service.QueueService
        self.store = BookingStore(service.db_path)
        self.otp_sender = otp_sender
        self._lock = threading.Lock()  # one connection, shared by the web threads and the RPC workers

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ helpers
    def now(self) -> datetime:
        return self.service.clock()

    def today(self) -> date:
        return self.service.engine.day_of(self.now())

    def _refuse(self, code: str, language: str, **values: object) -> RpcError:
        return RpcError.from_key(code, "en" if language == "en" else "vi", **values)

    def _service_booking(self, service_id: str, language: str) -> Any:
        spec = self.settings.services.get(service_id)
        if spec is None:
            raise self._refuse("booking_no_service", language, service_id=service_id[:64])
        return spec

    def services(self) -> list[dict[str, Any]]:
        names = {s.id: (s.name, s.name_en) for s in self.service.site.services}
        return [
            {"id": sid, "name": names[sid][0], "name_en": names[sid][1]}
            for sid in self.settings.services
            if sid in names
        ]

    def days(self) -> list[date]:
        return model.bookable_days(self.today(), self.settings.days_ahead)

    def _check_day(self, day: date, language: str) -> None:
        if day not in self.days():
            first, last = self.days()[0], self.days()[-1]
            raise self._refuse("booking_day_closed", language, first=first.isoformat(), last=last.isoformat())

    # ------------------------------------------------------------------ slots
    def slots(self, service_id: str, day: date, language: str = "vi") -> list[dict[str, Any]]:
        spec = self._service_booking(service_id, language)
        self._check_day(day, language)
        now = self.now()
        with self._lock:
            taken = self.store.taken(service_id, day)
        found = []
        for slot in spec.slot_times():
            if not model.slot_open(day, slot, now, self.settings.grace_minutes):
                continue
            key = f"{slot:%H:%M}"
            found.append({"slot": key, "free": max(0, spec.capacity - taken.get(key, 0))})
        return found

    # ------------------------------------------------------------------ one-time codes
    def _phone_hash(self, phone: str) -> str:
        return identity_hash(self.store.secret, "otp", phone)

    def _otp_hash(self, phone: str, code: str) -> str:
        return hmac.new(self.store.secret, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()

    def request_otp(self, phone_text: str, language: str = "vi") -> dict[str, Any]:
        phone = self._phone(phone_text, language)
        if self.otp_sender is None:
            raise self._refuse("otp_unavailable", language)
        code = f"{secrets.randbelow(1_000_000):06d}"
        with self._lock, self.store.transaction():
            self.store.put_otp(self._phone_hash(phone), self._otp_hash(phone, code),
                               self.now() + timedelta(seconds=self.settings.otp_ttl_s))  # fmt: skip
        minutes = max(1, self.settings.otp_ttl_s // 60)
        self.otp_sender(phone, f"Ma xac nhan dat lich cua ban: {code} (hieu luc {minutes} phut)")
        return {"sent": True, "expires_in_s": self.settings.otp_ttl_s}

    def _check_otp(self, phone: str, code: object, language: str) -> None:
        if not self.settings.phone_otp:
            return
        if not isinstance(code, str) or not code.strip():
            raise self._refuse("otp_required", language)
        key = self._phone_hash(phone)
        with self._lock, self.store.transaction():
            row = self.store.get_otp(key)
            if row is None or row["expires_at"] < self.now().isoformat():
                raise self._refuse("otp_wrong", language)
            if row["attempts"] >= self.settings.otp_attempts:
                self.store.drop_otp(key)
                raise self._refuse("otp_wrong", language)
            if not hmac.compare_digest(row["code_hash"], self._otp_hash(phone, code.strip())):
                self.store.otp_attempt(key)
                raise self._refuse("otp_wrong", language)
            # Kept until it expires: the same code books a second slot of the same visit.

    def _phone(self, text: object, language: str) -> str:
        try:
            return normalise_phone(text if isinstance(text, str) else "")
        except IdentityError as error:
            raise self._refuse(error.code, language) from None

    # ------------------------------------------------------------------ booking
    def book(self, body: dict[str, Any], language: str = "vi") -> dict[str, Any]:
        service_id = body.get("service_id")
        if not isinstance(service_id, str):
            raise self._refuse("bad_request", language, detail="service_id")
        spec = self._service_booking(service_id, language)
        try:
            day = date.fromisoformat(str(body.get("date")))
        except ValueError:
            raise self._refuse("bad_request", language, detail="date: YYYY-MM-DD") from None
        self._check_day(day, language)
        slot = body.get("slot")
        if not isinstance(slot, str) or slot not in {f"{s:%H:%M}" for s in spec.slot_times()}:
            raise self._refuse("booking_no_slot", language, slot=str(slot)[:8])
        now = self.now()
        if not model.slot_open(day, model.parse_hhmm(slot), now, self.settings.grace_minutes):
            raise self._refuse("booking_no_slot", language, slot=slot)
        phone: str | None = None
        if body.get("phone"):
            phone = self._phone(body["phone"], language)
            self._check_otp(phone, body.get("otp"), language)
            who, kind = identity_hash(self.store.secret, "phone", phone), "phone"
        elif body.get("id_no"):
            try:
                id_no = check_id_no(str(body["id_no"]))
            except IdentityError as error:
                raise self._refuse(error.code, language) from None
            who, kind = identity_hash(self.store.secret, "id_no", id_no), "id_no"
        else:
            raise self._refuse("bad_request", language, detail="phone | id_no")
        booking = Booking(model.new_code(), service_id, day, slot, who, kind, phone, "booked", iso(now) or "")
        with self._lock, self.store.transaction():
            if self.store.count_for(who, day) >= self.settings.per_person_per_day:
                raise self._refuse("booking_limit", language, limit=self.settings.per_person_per_day)
            if self.store.taken(service_id, day).get(slot, 0) >= spec.capacity:
                raise self._refuse("slot_full", language, slot=slot)
            self.store.insert(booking)
        log.info("booking %s: %s %s %s", booking.code, service_id, day, slot)
        return self.describe(booking)

    def describe(self, booking: Booking) -> dict[str, Any]:
        name = self.service.site.service_name(booking.service_id)
        data: dict[str, Any] = {
            "code": booking.code,
            "code_display": model.show_code(booking.code),
            "service_id": booking.service_id,
            "service_name": name,
            "date": booking.day.isoformat(),
            "slot": booking.slot,
            "status": self._status(booking),
            "qr_url": f"/api/v1/bookings/{booking.code}/qr.svg",
            "url": f"/b/{booking.code}",
        }
        if booking.status == "checked_in" and booking.ticket_token:
            data["ticket_url"] = f"/t/{booking.ticket_token}"
        return data

    def _status(self, booking: Booking) -> str:
        """booked | cancelled | checked_in | no_show (a booked slot whose grace period is over)."""
        if booking.status == "booked":
            start = datetime.combine(booking.day, model.parse_hhmm(booking.slot), self.now().tzinfo)
            if self.now() > start + timedelta(minutes=self.settings.grace_minutes):
                return "no_show"
        return booking.status

    def find(self, code_text: str, language: str = "vi") -> Booking:
        code = model.normalise_code(code_text or "")
        booking = None
        if code is not None:
            with self._lock:
                booking = self.store.get(code)
        if booking is None:
            raise self._refuse("booking_not_found", language)
        return booking

    def cancel(self, code_text: str, language: str = "vi") -> dict[str, Any]:
        booking = self.find(code_text, language)
        if booking.status == "checked_in":
            raise self._refuse("booking_checked_in", language)
        if booking.status == "booked":
            with self._lock, self.store.transaction():
                self.store.cancel(booking.code, self.now())
            booking.status = "cancelled"
            log.info("booking %s cancelled", booking.code)
        return self.describe(booking)

    # ------------------------------------------------------------------ check-in
    def booking_of_card(self, id_no_text: str, language: str = "vi") -> Booking:
        """Today's booking made with this ID card number, found by its keyed hash (the number itself
        is not kept): the first not yet checked in, else the one already checked in (a repeat)."""
        try:
            id_no = check_id_no(id_no_text)
        except IdentityError as error:
            raise self._refuse(error.code, language) from None
        who = identity_hash(self.store.secret, "id_no", id_no)
        with self._lock:
            found = self.store.of_person(who, self.today())
        waiting = [b for b in found if b.status == "booked"]
        if not found:
            raise self._refuse("booking_not_found_card", language)
        return (waiting or found)[0]

    def check_in(
        self, code_text: str, *, caller_id: str, language: str = "vi", priority_group: str | None = None
    ) -> dict[str, Any]:
        """The booking becomes a ticket (with its token: the citizen follows it at /t/{token}).
        Idempotent: a second check-in answers the same ticket."""
        booking = self.find(code_text, language)
        if booking.status == "cancelled":
            raise self._refuse("booking_cancelled", language)
        now = self.now()
        if booking.day != self.today():
            raise self._refuse("booking_not_today", language, date=booking.day.isoformat())
        slot_start = datetime.combine(booking.day, model.parse_hhmm(booking.slot), now.tzinfo)
        if booking.status == "booked" and now < slot_start - timedelta(minutes=self.settings.early_minutes):
            raise self._refuse("booking_too_early", language, slot=booking.slot,
                               minutes=self.settings.early_minutes)  # fmt: skip
        arrival: list[str] = []

        def placement(at: datetime, first_walk_in: datetime | None) -> datetime:
            place = model.place_in_line(
                slot_start,
                at,
                grace_minutes=self.settings.grace_minutes,
                rule=self.settings.placement,
                first_walk_in=first_walk_in,
            )
            arrival.append(place.arrival)
            return place.queue_at

        params: dict[str, Any] = {"service_id": booking.service_id}
        if booking.phone:
            params["phone"] = booking.phone
        if priority_group is not None:
            params.update(priority=True, priority_group=priority_group)
        result = self.service.call(
            "ticket.issue",
            params,
            caller_id=CHECK_IN_CALLER,
            request_id=f"check-in:{booking.code}",
            language=language,
            placement=placement,
        )
        ticket = result["ticket"]
        if booking.status != "checked_in":
            with self._lock, self.store.transaction():
                self.store.checked_in(booking.code, now, arrival[0] if arrival else "on_time", ticket)
            log.info("booking %s checked in by %s: ticket %s (%s)", booking.code, caller_id,
                     ticket["number"], arrival[0] if arrival else "again")  # fmt: skip
        stored = self.store.get(booking.code)
        return {
            "booking": self.describe(stored or booking),
            "arrival": (stored.arrival if stored else None) or (arrival[0] if arrival else None),
            "ticket": ticket,
        }
