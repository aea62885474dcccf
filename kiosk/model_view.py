"""The kiosk model's view: what the screen shows (`ViewState`, kiosk/views.py) of the model's state.

A part of `KioskModel` (kiosk/model.py), kept apart because it only reads: no rule changes state here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from appliance.i18n import Language, message

from .config import OpeningHours
from .model_state import BUSY_AFTER_S, DIGIT_KEYS, DOSSIER_KEYS, RESULTS_SHOWN, SEARCH_KEYS, ServiceInfo
from .texts import (
    PRIORITY_GROUPS,
    RATING_LEVELS,
    describe_hours,
    fold,
    format_date,
    format_datetime,
    format_wait,
    priority_label,
    t,
    weekday,
)
from .views import (
    Body,
    Button,
    DossierBody,
    DossierCard,
    Header,
    HomeBody,
    Keyboard,
    Notice,
    Overlay,
    ProcedureBody,
    ProceduresBody,
    RatingBody,
    Row,
    Screen,
    ServicesBody,
    TicketBody,
    ViewState,
)


class KioskView:
    """`KioskModel.view()` and the bodies of its screens."""

    # The hub's priority groups in the order it offers them: (id, name, English name); empty until
    # a queue/state carried them (an older hub): the law's five, named by the catalogue.
    priority_groups: tuple[tuple[str, str, str], ...] = ()

    # The site's opening hours with its holidays, as the hub's queue/state carries them (None until
    # a state carried them: an older hub). The hub's are the site's word (the head's edits, the
    # province's templates); the kiosk's own `[opening_hours]` only stand in until then.
    hub_hours: OpeningHours | None = None

    def site_hours(self) -> OpeningHours:
        """The hours the lock screen follows (`[opening_hours] lock_outside` is the kiosk's own)."""
        return self.hub_hours or self.config.opening_hours

    def _take_hours(self, hours: object) -> None:
        if not isinstance(hours, Mapping):
            return
        wanted = {k: hours[k] for k in ("days", "periods", "holidays") if k in hours}
        try:
            self.hub_hours = OpeningHours.model_validate(wanted)
        except ValueError:  # hours this kiosk cannot read: keep what it had
            return

    def _hub_settings(self, state: Mapping[str, Any]) -> list[str]:
        """Take the site's settings from a queue/state (the head edits them live): the opening
        hours, the priority groups, and the services this kiosk offers, in order ([] when the hub
        sets none)."""
        self._take_hours(state.get("opening_hours"))
        groups = state.get("priority_groups")
        if isinstance(groups, list):
            self.priority_groups = tuple(
                (g["id"], str(g.get("name") or g["id"]), str(g.get("name_en") or ""))
                for g in groups
                if isinstance(g, Mapping) and isinstance(g.get("id"), str)
            )
        kiosks = state.get("kiosks")
        mine = kiosks.get(self.config.device_id) if isinstance(kiosks, Mapping) else None
        services = mine.get("services") if isinstance(mine, Mapping) else None
        return [s for s in services if isinstance(s, str)] if isinstance(services, list) else []

    def _group_ids(self) -> tuple[str, ...]:
        return tuple(g[0] for g in self.priority_groups) or PRIORITY_GROUPS

    def _group_label(self, group: str | None, lang: Language) -> str:
        named = next((g for g in self.priority_groups if g[0] == group), None)
        if named is None:
            return priority_label(group, lang) if group in PRIORITY_GROUPS or group is None else str(group)
        return named[2] or named[1] if lang == "en" else named[1]

    def view(self) -> ViewState:
        language = self.language
        moment = self.wall()
        header = Header(
            site=self.site_name,
            clock=moment.strftime("%H:%M"),
            date=f"{weekday(moment, language)}, {moment.strftime('%d/%m/%Y')}",
            language=Button("language", t("kiosk_language_switch", language)),
            back=Button("back", t("kiosk_back", language)) if self.screen not in ("home", "ticket") else None,
            home=Button("home", t("kiosk_home", language)) if self.screen == "procedure" else None,
            assist=Button("assist", t("kiosk_assist", language), selected=self.assist),
        )
        return ViewState(self.screen, language, header, self._body(), self._overlay(), self.assist)

    def _overlay(self) -> Overlay | None:
        kind = self._overlay_kind()
        language = self.language
        if kind == "locked":
            hours = self.site_hours()
            holiday = hours.holiday(self.wall())
            lines = (
                t("kiosk_locked_hours", language),
                describe_hours(hours, language),
                t("kiosk_locked_body", language),
            )
            if holiday is not None:  # "closed today" says more than the week's hours
                day = holiday.date.strftime("%d/%m/%Y")
                lines = (t("kiosk_locked_holiday", language, date=day, name=holiday.name).strip(), *lines)
            return Overlay("locked", t("kiosk_locked_title", language), lines)
        if kind == "identify":
            return Overlay(
                "identify",
                message("device_identify_title", language, device=self.config.device_id),
                (message("device_identify_hint", language),),
            )
        if kind == "reconnecting":
            return Overlay(
                "reconnecting",
                t("kiosk_reconnecting_title", language),
                (t("kiosk_reconnecting_body", language),),
            )
        return None

    def _busy(self, kind: str, key: str) -> str:
        pending = self.inputs.pending.get(kind)
        if pending is not None and self.clock() - pending.started >= BUSY_AFTER_S:
            return t(key, self.language)
        return ""

    def _typed(self, screen: str, typed: str) -> dict[str, str]:
        """The heading and entry texts of a screen where the citizen types (a `TypedBody`), from the
        catalogue's kiosk_<screen>_title, _hint and _placeholder."""
        lang = self.language
        return {
            "title": t(f"kiosk_{screen}_title", lang),
            "hint": t(f"kiosk_{screen}_hint", lang),
            "input": typed,
            "placeholder": t(f"kiosk_{screen}_placeholder", lang),
        }

    def _body(self) -> Body:
        builders: dict[Screen, Callable[[], Body]] = {
            "home": self._home,
            "services": self._services,
            "ticket": self._ticket,
            "dossier": self._dossier,
            "procedures": self._procedures,
            "procedure": self._procedure,
            "rating": self._rating,
            "booking": self._booking_body,
            "card": self._card_body,
        }
        if self.screen == "ticket" and self.ticket is None:
            self.screen = "home"
        return builders[self.screen]()

    def _home(self) -> HomeBody:
        lang = self.language
        return HomeBody(
            title=t("kiosk_welcome", lang),
            subtitle=t("kiosk_choose", lang),
            buttons=(
                Button("open", t("kiosk_menu_ticket", lang), "services", t("kiosk_menu_ticket_hint", lang)),
                Button("open", t("kiosk_menu_booking", lang), "booking", t("kiosk_menu_booking_hint", lang)),
                Button("open", t("kiosk_menu_dossier", lang), "dossier", t("kiosk_menu_dossier_hint", lang)),
                Button(
                    "open",
                    t("kiosk_menu_procedure", lang),
                    "procedures",
                    t("kiosk_menu_procedure_hint", lang),
                ),
                Button("open", t("kiosk_menu_rating", lang), "rating", t("kiosk_menu_rating_hint", lang)),
            ),
        )

    def _services(self) -> ServicesBody:
        lang = self.language
        priorities = (
            Button("priority", t("kiosk_priority_none", lang), "", selected=self.priority is None),
            *(
                Button("priority", self._group_label(group, lang), group, selected=self.priority == group)
                for group in self._group_ids()
            ),
        )
        tiles = []
        for service in self.services:
            if service.waiting:
                detail = (
                    f"{t('kiosk_waiting_count', lang, count=service.waiting)} · "
                    f"{t('kiosk_wait_estimate', lang, wait=format_wait(service.estimated_wait_s, lang))}"
                )
            else:
                detail = t("kiosk_waiting_none", lang)
            note = "" if service.open else t("kiosk_service_closed", lang)
            tiles.append(Button("issue", service.title(lang), service.id, detail, note))
        busy = self._issuing_text()
        notice = self.inputs.notice
        if not tiles and notice is None:
            notice = Notice(t("kiosk_no_services", lang), "info")
        if notice is None and self.printer_ready is False:
            # Said before the number is taken, not as a surprise after: the number will be on screen.
            key = "kiosk_printer_paper_out" if self.printer_reason == "paper_out" else "kiosk_printer_down"
            notice = Notice(t(key, lang), "warn")
        return ServicesBody(
            title=t("kiosk_services_title", lang),
            hint=t("kiosk_services_hint", lang),
            priority_title=t("kiosk_priority_title", lang),
            priorities=priorities,
            services=tuple(tiles),
            notice=notice,
            busy=busy,
        )

    def _ticket(self) -> TicketBody:
        assert self.ticket is not None
        lang = self.language
        ticket = self.ticket.data
        service = next((s for s in self.services if s.id == ticket.get("service_id")), None)
        service_name = service.title(lang) if service else str(ticket.get("service_name") or "")
        ahead = ticket.get("ahead")
        group = ticket.get("priority_group")
        state = self.ticket.print_state
        print_text = {
            "printing": t("kiosk_print_printing", lang),
            "printed": t("kiosk_print_done", lang),
            "failed": t("kiosk_print_failed", lang),
            "unavailable": t("kiosk_print_unavailable", lang),
            "none": t("kiosk_print_none", lang),
            "no_answer": t("kiosk_print_no_answer", lang),
        }[state]
        kind = "info" if state == "printing" else "ok" if state == "printed" else "warn"
        seconds = max(0, round(self.ticket.closes_at - self.clock()))
        return TicketBody(
            title=t("kiosk_ticket_title", lang),
            number=str(ticket.get("number") or ""),
            service=service_name,
            priority=t("kiosk_ticket_priority", lang, group=self._group_label(group, lang))
            if isinstance(group, str) and group
            else "",
            ahead=t("kiosk_ticket_ahead", lang, count=ahead)
            if isinstance(ahead, int) and ahead > 0
            else t("kiosk_ticket_ahead_none", lang),
            wait=t("kiosk_ticket_wait", lang, wait=format_wait(ticket.get("estimated_wait_s"), lang))
            if isinstance(ahead, int) and ahead > 0
            else "",
            qr_url=self.config.ticket_url(str(ticket.get("token") or "")),
            qr_hint=t("kiosk_ticket_qr", lang),
            print_text=print_text,
            print_kind=kind,
            closes=t("kiosk_closing_in", lang, seconds=seconds),
            done=Button("done", t("kiosk_done", lang)),
        )

    def _keyboard(self, rows: tuple[str, ...], *, space: bool = False) -> Keyboard:
        lang = self.language
        keys = [tuple(Button("key", ch, ch) for ch in row) for row in rows]
        last = [Button("backspace", t("kiosk_key_delete", lang))]
        if space:
            last.insert(0, Button("key", t("kiosk_key_space", lang), " "))
        last.append(Button("clear", t("kiosk_key_clear", lang)))
        return Keyboard((*keys, tuple(last)))

    def _dossier(self) -> DossierBody:
        lang = self.language
        result = self.inputs.dossier_result
        ready = result is not None and self._collect_offer() is not None
        return DossierBody(
            **self._typed("dossier", self.inputs.dossier),
            keyboard=self._keyboard(DOSSIER_KEYS),
            submit=Button("submit", t("kiosk_lookup", lang)),
            busy=self._busy("lookup", "kiosk_looking_up") or self._issuing_text(),
            notice=self.inputs.notice,
            result=self._dossier_card(result, ready=ready) if result is not None else None,
            ready=Notice(t("result_ready_notice", lang), "ok") if ready else None,
            collect=Button("collect", t("result_take_number", lang)) if ready else None,
        )

    def _collect_offer(self) -> tuple[str, str] | None:
        """(result-return service, dossier code) when the hub said this dossier's result is ready."""
        answer = self.inputs.dossier_result
        if answer is None or answer.get("result_ready") is not True:
            return None
        service_id, code = answer.get("result_service_id"), answer.get("code")
        if not isinstance(service_id, str) or not service_id or not isinstance(code, str) or not code:
            return None
        return service_id, code

    def _issuing_text(self) -> str:
        issue = self.issue
        if issue is not None and issue.in_flight and self.clock() - issue.started >= BUSY_AFTER_S:
            return t("kiosk_issuing", self.language)
        return ""

    def _dossier_card(self, dossier: Mapping[str, Any], *, ready: bool = False) -> DossierCard:
        """The dossier's facts; once its result is ready, the step and the appointment say nothing the
        "Hồ sơ đã có kết quả" notice does not, and the card keeps room for "Lấy số nhận kết quả"."""
        lang = self.language

        def text(key: str) -> str:
            value = dossier.get(key)
            return str(value) if value not in (None, "") else ""

        overdue = dossier.get("overdue") is True and not ready
        # The code itself is in the input field above the card.
        rows = [
            Row(t("kiosk_dossier_procedure", lang), text("procedure")),
            Row(t("kiosk_dossier_applicant", lang), text("applicant_name")),
            Row(t("kiosk_dossier_status", lang), text("status_label") or text("status")),
            Row(t("kiosk_dossier_step", lang), "" if ready else text("step")),
            Row(t("kiosk_dossier_received", lang), format_date(dossier.get("received_at")) or ""),
            Row(
                t("kiosk_dossier_appointment", lang),
                "" if ready else format_datetime(dossier.get("due_at"), lang) or "",
                alarm=overdue,
            ),
        ]
        if overdue:
            days = dossier.get("overdue_days")
            value = (
                t("kiosk_dossier_overdue", lang, days=days)
                if isinstance(days, int) and days > 0
                else t("kiosk_dossier_overdue_today", lang)
            )
            rows.append(Row("", value, alarm=True))
        notes = []
        if dossier.get("stale") is True:
            fetched = format_datetime(dossier.get("fetched_at"), lang) or "—"
            notes.append(Notice(t("kiosk_dossier_stale", lang, time=fetched), "warn"))
        if dossier.get("masked") is True:
            notes.append(Notice(t("kiosk_dossier_masked", lang), "info"))
        return DossierCard(tuple(row for row in rows if row.value), tuple(notes))

    def _procedures(self) -> ProceduresBody:
        lang = self.language
        found = self.inputs.results
        results = tuple(
            Button(
                "procedure",
                str(p.get("name") or p.get("code") or ""),
                str(index),
                " · ".join(str(p[key]) for key in ("field_name", "processing_time") if p.get(key)),
            )
            for index, p in enumerate(found[:RESULTS_SHOWN])
        )
        summary = ""
        if self.inputs.searched is not None and "search" not in self.inputs.pending:
            if len(found) > RESULTS_SHOWN:
                summary = t("kiosk_procedures_more", lang, count=len(found), shown=RESULTS_SHOWN)
            elif found:
                summary = t("kiosk_procedures_count", lang, count=len(found))
            else:
                summary = t("kiosk_procedures_none", lang, query=self.inputs.searched)
        return ProceduresBody(
            **self._typed("procedures", self.inputs.query),
            keyboard=self._keyboard(SEARCH_KEYS, space=True),
            submit=Button("submit", t("kiosk_lookup", lang)),
            results=results,
            summary=summary,
            busy=self._busy("search", "kiosk_looking_up"),
            notice=self.inputs.notice,
        )

    def service_for(self, procedure: Mapping[str, Any]) -> ServiceInfo | None:
        """The queue service to take a number for: the hub's own hint, the configured mapping
        (procedure code, then field code), else a service named like the procedure's field."""
        by_id = {s.id: s for s in self.services}
        mapping = self.settings.procedure_services
        for candidate in (
            procedure.get("service_id"),
            mapping.get(str(procedure.get("code") or "")),
            mapping.get(str(procedure.get("field_code") or "")),
        ):
            if isinstance(candidate, str) and candidate in by_id:
                return by_id[candidate]
        field_name = fold(str(procedure.get("field_name") or ""))
        if field_name:
            for service in self.services:
                name = fold(service.name)
                if name and (name == field_name or name in field_name or field_name in name):
                    return service
        return None

    def _procedure(self) -> ProcedureBody:
        lang = self.language
        procedure = self.inputs.procedure or {}
        rows = tuple(
            Row(t(key, lang), str(procedure.get(field) or ""))
            for key, field in (
                ("kiosk_procedure_fee", "fee"),
                ("kiosk_procedure_time", "processing_time"),
                ("kiosk_procedure_agency", "agency"),
            )
            if procedure.get(field)
        )
        papers = []
        for paper in procedure.get("papers") or ():
            if not isinstance(paper, Mapping) or not paper.get("name"):
                continue
            count = paper.get("count")
            extra = [t("kiosk_procedure_paper_count", lang, count=count)] if isinstance(count, int) else []
            if paper.get("note"):
                extra.append(str(paper["note"]))
            papers.append(f"{paper['name']} ({', '.join(extra)})" if extra else str(paper["name"]))
        service = self.service_for(procedure)
        take = (
            Button("take", t("kiosk_procedure_take", lang, service=service.title(lang)), service.id)
            if service is not None
            else None
        )
        busy = self._issuing_text()
        return ProcedureBody(
            title=str(procedure.get("name") or ""),
            field=str(procedure.get("field_name") or ""),
            rows=rows,
            papers_title=t("kiosk_procedure_papers", lang),
            papers=tuple(papers),
            take=take,
            note="" if take else t("kiosk_procedure_no_service", lang),
            notice=self.inputs.notice,
            busy=busy,
        )

    def _rating(self) -> RatingBody:
        lang = self.language
        letters = "".join(self.ticket_letters)
        rows = (*DIGIT_KEYS, letters + "0")
        scale = RATING_LEVELS[self.settings.rating_scale]
        return RatingBody(
            **self._typed("rating", self.inputs.rating),
            keypad=self._keyboard(rows),
            scores=tuple(Button("rate", t(key, lang), str(score)) for score, key in scale),
            busy=self._busy("rate", "kiosk_looking_up"),
            notice=self.inputs.notice,
        )
