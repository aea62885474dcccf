"""The ID card at the kiosk (issue 17), a part of `KioskModel`: one path for every reader.

A card read — its QR from the hall's scanner (masked number and age only) or its chip from the reader
wired to this kiosk (`kiosk.card_reader`: the full number too) — opens the consent screen. With
"Đồng ý": the age sets the elderly priority; with the full number, two more buttons: "Hồ sơ của
tôi" (RPC `dossier.mine {id_no}`: the holder's own dossiers from central, names in full, shown on
this screen only) and "Lịch hẹn hôm nay" (RPC `booking.check_in {id_no}`: today's booking made
with this number, found by the hub from its keyed hash). The number leaves the kiosk only in those
RPCs; everything of the card is forgotten when the citizen goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.i18n import Language
from appliance.rpc import RpcError

from .card_reader import CardRead
from .model_citizen import MAX_CARD_TEXT
from .model_state import NOT_AVAILABLE, Call, _Card
from .texts import t
from .views import Button, CardBody, Notice

MAX_DOSSIER_LINES = 6


class CardFlows:
    """Mixed into `KioskModel` (kiosk/model.py), whose state and helpers these methods use."""

    # Provided by KioskModel.
    language: Language
    screen: Any
    inputs: Any
    priority: str | None
    card: _Card | None

    def read_card(self, read: CardRead) -> list[Call]:
        """A card read by this kiosk's own reader; refused while locked or under an overlay."""
        if self._overlay_kind() is not None:  # type: ignore[attr-defined]
            return []
        self.last_activity = self.clock()  # type: ignore[attr-defined]
        self._read_card(read)
        return []

    def _scan_card(self, masked: str, age: object) -> None:
        """The hall scanner's QR read: the masked number and the age are all it sends."""
        known = age if isinstance(age, int) and not isinstance(age, bool) and 0 <= age <= 150 else None
        self._read_card(CardRead(masked[:MAX_CARD_TEXT], known))

    def _read_card(self, read: CardRead) -> None:
        self.card = _Card(read.masked[:MAX_CARD_TEXT], read.age, id_no=read.id_no)
        self._open("card")  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ taps

    def _consented_card(self, request: str) -> _Card | None:
        """The card on screen, read from its chip (with the full number) and consented to, unless
        `request` is already on its way."""
        card = self.card
        if self.screen != "card" or card is None or not card.consented or card.id_no is None:
            return None
        return None if request in self.inputs.pending else card

    def _tap_mine(self, _: str) -> list[Call]:
        card = self._consented_card("mine")
        if card is None:
            return []
        card.dossiers = None
        self.inputs.notice = None
        return [self._call("mine", "dossier.mine", {"id_no": card.id_no})]  # type: ignore[attr-defined]

    def _tap_card_check_in(self, _: str) -> list[Call]:
        card = self._consented_card("check_in")
        if card is None:
            return []
        self.inputs.notice = None
        params: dict[str, Any] = {"id_no": card.id_no}
        group = self._card_priority()  # type: ignore[attr-defined]
        if group is not None:
            params["priority_group"] = group
        return [self._call("check_in", "booking.check_in", params)]  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ replies

    def _mine_reply(self, result: Mapping[str, Any] | None, error: RpcError | None) -> None:
        card = self.card
        if card is None:
            return
        rows = result.get("dossiers") if result is not None else None
        if error is not None or not isinstance(rows, list):
            if error is not None and error.code in NOT_AVAILABLE:
                text = t("kiosk_lookup_unavailable", self.language)
            else:
                text = self._failure_text("mine", error)  # type: ignore[attr-defined]
            self.inputs.notice = Notice(text, "error")
            return
        lines, said = [], []
        for row in rows[:MAX_DOSSIER_LINES]:
            if isinstance(row, Mapping):
                said.append(f"{row.get('procedure') or ''}: {row.get('status_label') or ''}"[:160])
                lines.append(
                    t(
                        "kiosk_card_mine_line",
                        self.language,
                        code=str(row.get("code") or row.get("dossier_no") or "")[:40],
                        procedure=str(row.get("procedure") or "")[:80],
                        name=str(row.get("applicant_name") or "")[:60],
                        status=str(row.get("status_label") or "")[:60],
                    )
                )
        card.dossiers = tuple(lines)
        card.spoken = ". ".join(said)
        if not lines:
            self.inputs.notice = Notice(t("kiosk_card_mine_none", self.language), "info")

    # ------------------------------------------------------------------ view

    def _card_body(self) -> CardBody:
        lang = self.language
        card = self.card
        if card is None:
            return CardBody(t("kiosk_card_title", lang), "", ())
        if not card.consented:
            key = "kiosk_card_consent_chip" if card.id_no else "kiosk_card_consent"
            return CardBody(
                title=t("kiosk_card_title", lang),
                text=t(key, lang, card=card.masked),
                choices=(
                    Button("consent", t("kiosk_card_yes", lang), "yes"),
                    Button("consent", t("kiosk_card_no", lang), "no"),
                ),
            )
        elderly = self.elderly_age  # type: ignore[attr-defined]
        if self.inputs.notice is not None:
            notice: Notice = self.inputs.notice
        elif card.age is None:
            notice = Notice(t("kiosk_card_unreadable", lang), "warn")
        elif self._card_priority() == "elderly":  # type: ignore[attr-defined]
            notice = Notice(t("kiosk_card_elderly", lang, age=elderly), "ok")
        else:
            notice = Notice(t("kiosk_card_not_elderly", lang, age=elderly), "info")
        choices = [
            Button("open", t("kiosk_menu_ticket", lang), "services", t("kiosk_menu_ticket_hint", lang)),
        ]
        if card.id_no:
            choices += [
                Button(
                    "card_check_in", t("kiosk_card_booking", lang), "", t("kiosk_card_booking_hint", lang)
                ),
                Button("mine", t("kiosk_card_mine", lang), "", t("kiosk_card_mine_hint", lang)),
            ]
        else:
            choices.append(
                Button("open", t("kiosk_menu_booking", lang), "booking", t("kiosk_menu_booking_hint", lang))
            )
        busy = self._busy("mine", "kiosk_card_mine_busy") or self._busy(  # type: ignore[attr-defined]
            "check_in", "kiosk_checking_in"
        )
        return CardBody(
            title=t("kiosk_card_title", lang),
            text=t("kiosk_card_next", lang),
            choices=tuple(choices),
            notice=notice,
            dossiers=card.dossiers or (),
            busy=busy,
            spoken=card.spoken,
        )
