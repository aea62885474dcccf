"""The kiosk's rules for citizens who come prepared or need help (issue 17), a part of `KioskModel`:

- "Tôi đã đặt lịch": a booking's code, typed or scanned from its QR (`MCBK:…`), is checked in with
  the hub's `booking.check_in`; the ticket it answers is shown and printed like any other, and a
  refusal (not today, too early, cancelled, not found) is said in the citizen's language;
- an ID card (CCCD) scanned here asks for consent first; with it, the holder's age (the only fact of
  the card the scanner sends, with the masked number) sets the elderly priority from the site's
  threshold for this visit. Nothing of the card outlives the citizen's visit;
- "Hỗ trợ" (assist): every button is spoken on its first touch and works on the second, each screen
  is read aloud when it appears, the screen turns high-contrast with larger text, timeouts ×3.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from appliance.i18n import Language
from appliance.rpc import RpcError

from .model_state import (
    ASSIST_SLOWER,
    BOOKING_CODE_LENGTH,
    BOOKING_KEYS,
    ELDERLY_AGE,
    Call,
    _Card,
)
from .texts import priority_label, t
from .views import BookingBody, Button, Notice, ViewState

_NOT_IN_CODE = re.compile(r"[^ABCDEFGHJKMNPQRSTUVWXYZ23456789]")
# What is read aloud of a screen when it appears, in this order.
_SPOKEN_FIELDS = (
    "title",
    "subtitle",
    "hint",
    "number",
    "service",
    "priority",
    "ahead",
    "text",
    "identity",
    "spoken",
)
MAX_CARD_TEXT = 16


def booking_code_input(text: str) -> str:
    """What a typed or scanned booking code leaves in the input: its letters, upper case, at most 8."""
    return _NOT_IN_CODE.sub("", text.upper())[:BOOKING_CODE_LENGTH]


def spoken_summary(view: ViewState) -> str:
    """The screen's title, its hint and what it says (a ticket's number, a refusal), for the voice."""
    parts: list[str] = []
    body = view.body
    for name in _SPOKEN_FIELDS:
        value = getattr(body, name, "")
        if isinstance(value, str) and value:
            parts.append(value)
    notice = getattr(body, "notice", None)
    if isinstance(notice, Notice) and notice.text:
        parts.append(notice.text)
    print_text = getattr(body, "print_text", "")
    if isinstance(print_text, str) and print_text:
        parts.append(print_text)
    return ". ".join(part.rstrip(". ") for part in parts)


class CitizenFlows:
    """Mixed into `KioskModel` (kiosk/model.py), whose state and helpers these methods use."""

    # Provided by KioskModel.
    language: Language
    screen: Any
    inputs: Any
    priority: str | None
    clock: Any

    def _init_citizen(self) -> None:
        self.card: _Card | None = None
        self.elderly_age = ELDERLY_AGE  # the hub's `[booking] elderly_age`, from its queue state
        self.assist = False
        self._armed: tuple[str, str] | None = None  # assist: the button touched once, spoken
        self.speech: list[tuple[str, Language]] = []  # what the voice should say, in order
        self._spoken: tuple[object, ...] | None = None

    # ------------------------------------------------------------------ rules

    def _slower(self) -> float:
        """How much longer every timeout is: a slow reader in assist mode gets three times as long."""
        return ASSIST_SLOWER if self.assist else 1.0

    def _card_priority(self) -> str | None:
        card = self.card
        if card is not None and card.consented and card.age is not None and card.age >= self.elderly_age:
            return "elderly"
        return None

    def _forget_card(self) -> None:
        self.card = None

    def _apply_site_rules(self, site: Mapping[str, Any]) -> None:
        age = site.get("elderly_age")
        if isinstance(age, int) and not isinstance(age, bool) and 50 <= age <= 100:
            self.elderly_age = age

    # ------------------------------------------------------------------ scans

    def _scan_booking(self, code: str) -> list[Call]:
        self._open("booking")  # type: ignore[attr-defined]
        self.inputs.booking = booking_code_input(code)
        return self._check_in()

    # ------------------------------------------------------------------ taps

    def _tap_consent(self, answer: str) -> None:
        card = self.card
        if self.screen != "card" or card is None or card.consented:
            return
        if answer != "yes":
            self._go_home(keep_language=True)  # type: ignore[attr-defined]
            return
        card.consented = True
        self.priority = self._card_priority()

    def _tap_assist(self, _: str) -> None:
        self.assist = not self.assist
        self._armed = None
        self._spoken = None  # the screen is read again in the new mode
        self.speech.append((t("kiosk_assist_on" if self.assist else "kiosk_assist_off", self.language),
                            self.language))  # fmt: skip

    def _assist_allows(self, action: str, arg: str, view: ViewState) -> bool:
        """In assist mode a first touch speaks the button and a second touch on it works."""
        if not self.assist or action == "assist":
            return True
        if self._armed == (action, arg):
            self._armed = None
            return True
        button = view.find(action, arg)
        if button is None:
            return False
        self._armed = (action, arg)
        said = ". ".join(text for text in (button.label, button.detail, button.note) if text)
        self.speech.append((said, self.language))
        return False

    def _check_in(self) -> list[Call]:
        if "check_in" in self.inputs.pending:
            return []
        code = self.inputs.booking
        if len(code) != BOOKING_CODE_LENGTH:
            self.inputs.notice = Notice(t("kiosk_booking_bad_code", self.language), "error")
            return []
        self.inputs.notice = None
        params: dict[str, Any] = {"code": code}
        group = self._card_priority()
        if group is not None:
            params["priority_group"] = group
        return [self._call("check_in", "booking.check_in", params)]  # type: ignore[attr-defined]

    def _checked_in(self, result: Mapping[str, Any] | None, error: RpcError | None) -> None:
        if error is not None or result is None or not isinstance(result.get("ticket"), Mapping):
            text = self._failure_text("check_in", error)  # type: ignore[attr-defined]
            self.inputs.notice = Notice(text, "error")
            return
        self._show_ticket(result, self.clock())  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ speech

    def take_speech(self, view: ViewState) -> list[tuple[str, Language]]:
        """What to say now: the button or mode just touched, and in assist mode each new screen or
        message once. The controller hands it to the voice."""
        if self.assist and view.overlay is None:
            notice = getattr(view.body, "notice", None)
            key = (view.screen, view.language, getattr(view.body, "title", ""), notice,
                   getattr(view.body, "spoken", ""))  # fmt: skip
            if key != self._spoken:
                self._spoken = key
                summary = spoken_summary(view)
                if summary:
                    self.speech.append((summary, self.language))
        said, self.speech = self.speech, []
        return said

    # ------------------------------------------------------------------ views

    def _booking_body(self) -> BookingBody:
        lang = self.language
        identity = ""
        card = self.card
        if card is not None and card.consented:
            identity = t("kiosk_booking_identity", lang, card=card.masked,
                         priority=priority_label(self._card_priority(), lang))  # fmt: skip
        code = self.inputs.booking
        shown = f"{code[:4]}-{code[4:]}" if len(code) > 4 else code
        return BookingBody(
            **self._typed("booking", shown),  # type: ignore[attr-defined]
            keyboard=self._keyboard(BOOKING_KEYS),  # type: ignore[attr-defined]
            submit=Button("submit", t("kiosk_booking_submit", lang)),
            identity=identity,
            busy=self._busy("check_in", "kiosk_checking_in"),  # type: ignore[attr-defined]
            notice=self.inputs.notice,
        )
