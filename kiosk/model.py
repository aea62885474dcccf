"""The kiosk's brain: screens, rules and texts, without kivy, MQTT or threads.

Inputs are taps (`tap(action, arg)`), scans, the hub's retained queue state, the hub's and the broker's
availability, print results and replies to the calls the model asked for. Outputs are `ViewState`
(kiosk/views.py) and `Call`s: work for the controller (an RPC to the hub, a ticket look-up), whose
outcome comes back through `reply()`. Time comes from injected clocks so tests can move it.

Rules that a citizen notices:
- one tap on a service issues one ticket: taps while a request is in flight are ignored, and a request
  whose answer never came is repeated with the same request_id (the hub then answers with the ticket
  it already issued instead of a second one);
- "Hệ thống đang kết nối lại" replaces everything `reconnect_grace_s` after losing the broker or the hub
  and goes away by itself once both are back;
- outside opening hours a lock screen shows the hours; idle screens go home and forget what was typed;
- a looked-up dossier whose result is ready offers "Lấy số nhận kết quả": a ticket of the hub's
  result-return service linked to that dossier, issued under the same one-tap rules.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from appliance import dossier_code
from appliance.i18n import Language
from appliance.rpc import RpcError
from appliance.timeutil import now as site_now

from .config import KioskConfig
from .model_card import CardFlows
from .model_citizen import CitizenFlows, booking_code_input
from .model_printing import PrintFollower
from .model_state import (
    ISSUING_SCREENS,
    LATE_TICKET_S,
    MAX_INPUT,
    MAX_PROOF,
    MAX_REMEMBERED_TOKENS,
    NOT_AVAILABLE,
    PRINT_WINDOW_MARGIN_S,
    SEARCH_MIN_CHARS,
    THANKS_S,
    UNKNOWN_OUTCOME,
    Call,
    CallKind,
    PrintState,
    ServiceInfo,
    _Inputs,
    _Issue,
    _Pending,
    _Ticket,
)
from .model_view import KioskView
from .texts import (
    fold,
    t,
)
from .views import (
    Notice,
    Screen,
)


class KioskModel(CardFlows, CitizenFlows, PrintFollower, KioskView):
    def __init__(
        self,
        config: KioskConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = site_now,
        new_request_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.config = config
        self.settings = config.kiosk
        self.clock = clock
        self.wall = wall
        self.new_request_id = new_request_id
        self.language: Language = config.language
        self.screen: Screen = "home"
        self.site_name = ""
        self.services: tuple[ServiceInfo, ...] = ()
        self.ticket_letters: tuple[str, ...] = ()
        self.link_up = False
        self.hub_online: bool | None = None
        self.offline_since: float | None = clock()
        self.last_activity = clock()
        self.priority: str | None = None
        self.issue: _Issue | None = None
        self.ticket: _Ticket | None = None
        self.inputs = _Inputs()
        # Number → token of the tickets issued or scanned here: a rating over MQTT must carry the
        # ticket's token (the hub refuses a kiosk rating any number it is told).
        self._tokens: OrderedDict[str, str] = OrderedDict()
        self._tag = 0
        self._print_results: OrderedDict[str, Mapping[str, Any]] = OrderedDict()
        self._was_locked = False
        # The hub's word on this kiosk's ticket printer (`devices/{id}/printer`); None: not heard.
        self.printer_ready: bool | None = None
        self.printer_reason = ""
        self.identify_until: float | None = None  # the hub's "identify": an overlay until then
        self._init_citizen()

    # ------------------------------------------------------------------ what the outside world tells us

    def set_link(self, up: bool) -> None:
        """The broker connection came up or went down."""
        self.link_up = up
        if not up:
            # After a reconnect, wait to hear from the hub again rather than trust what we knew.
            self.hub_online = None
        self._update_offline()

    def set_hub_online(self, online: bool) -> None:
        """The hub's retained `devices/{hub}/state` (its birth, or its last will)."""
        self.hub_online = online
        self._update_offline()

    @property
    def online(self) -> bool:
        return self.link_up and self.hub_online is True

    def _update_offline(self) -> None:
        if self.online:
            self.offline_since = None
        elif self.offline_since is None:
            self.offline_since = self.clock()

    def apply_state(self, state: Mapping[str, Any]) -> None:
        """The hub's retained queue/state: site name, services with their queues, open counters."""
        site = state.get("site")
        if isinstance(site, Mapping) and isinstance(site.get("name"), str):
            self.site_name = site["name"]
            self._apply_site_rules(site)
        open_services: set[str] = set()
        for counter in state.get("counters") or ():
            if isinstance(counter, Mapping) and counter.get("open"):
                open_services.update(s for s in counter.get("services") or () if isinstance(s, str))
        services: list[ServiceInfo] = []
        letters: set[str] = set()
        for item in state.get("services") or ():
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                continue
            waiting = item.get("waiting")
            wait = item.get("estimated_wait_s")
            services.append(
                ServiceInfo(
                    id=item["id"],
                    name=str(item.get("name") or item["id"]),
                    name_en=str(item.get("name_en") or ""),
                    waiting=waiting if isinstance(waiting, int) and waiting >= 0 else 0,
                    estimated_wait_s=float(wait) if isinstance(wait, int | float) else None,
                    open=item["id"] in open_services,
                )
            )
            last = item.get("last_number")
            if isinstance(last, str):
                letters.update(ch for ch in last.upper() if "A" <= ch <= "Z")
        offered = self._hub_settings(state) or self.settings.services
        if offered:
            by_id = {s.id: s for s in services}
            services = [by_id[sid] for sid in offered if sid in by_id]
        self.services = tuple(services)
        self.ticket_letters = tuple(sorted(letters))

    def set_printer(self, payload: Mapping[str, Any]) -> None:
        """The hub's retained readiness of this kiosk's printer: warn before a number is taken."""
        ready = payload.get("ready")
        self.printer_ready = ready if isinstance(ready, bool) else None
        reason = payload.get("reason")
        self.printer_reason = reason if isinstance(reason, str) else ""

    def scan(self, device_id: str, payload: Mapping[str, Any]) -> list[Call]:
        """A scan from a scanner bound to this kiosk switches to the matching screen from anywhere."""
        if device_id not in self.settings.scanners or self._locked() or self._stale_scan(payload):
            return []
        kind = payload.get("kind")
        code = payload.get("code") if isinstance(payload.get("code"), str) else ""
        text = payload.get("text") if isinstance(payload.get("text"), str) else code
        proof = payload.get("proof") if isinstance(payload.get("proof"), str) else None
        self.last_activity = self.clock()
        if kind == "booking" and code:
            return self._scan_booking(code)
        if kind == "id_card" and self.screen not in ("dossier",):
            self._scan_card(code, payload.get("age"))  # consent is asked before anything is used
            return []
        if kind == "ticket" and code:
            self._open("rating")
            return [self._call("resolve_ticket", "", {"token": code})]
        self._open("dossier")
        if kind == "id_card":  # an ID card where the receipt was expected: nothing of it is kept
            self.inputs.dossier = ""
            self.inputs.notice = Notice(t("kiosk_id_card_scanned", self.language), "warn")
            return []
        self.inputs.dossier = (code if kind in ("dossier_code", "dossier_url") else text or code)[:MAX_INPUT]
        try:
            dossier_code.parse_any(self.inputs.dossier, self.language)
        except dossier_code.DossierCodeError as error:
            self.inputs.notice = Notice(self._error_text(error), "error")
            return []
        return self._lookup(proof=proof[:MAX_PROOF] if proof else None)

    def _stale_scan(self, payload: Mapping[str, Any]) -> bool:
        """A scan older than `scan_max_age_s` (made while the broker was out, delivered late): the
        citizen who made it has most likely left, so it must not switch the screen."""
        stamp = payload.get("ts")
        if not isinstance(stamp, str) or not stamp:
            return False
        try:
            made = datetime.fromisoformat(stamp)
        except ValueError:
            return False
        if made.tzinfo is None:
            return False
        return (self.wall() - made).total_seconds() > self.settings.scan_max_age_s

    # ------------------------------------------------------------------ taps

    def tap(self, action: str, arg: str = "") -> list[Call]:
        """A touch on the button with this `action`/`arg`. Ignored under the reconnect or lock screen."""
        if self._overlay_kind() is not None:
            return []
        self.last_activity = self.clock()
        handler = getattr(self, f"_tap_{action}", None)
        if handler is None or (self.assist and not self._assist_allows(action, arg, self.view())):
            return []
        result: list[Call] | None = handler(arg)
        return result or []

    def _tap_open(self, screen: str) -> None:
        if screen in ("services", "dossier", "procedures", "rating", "booking"):
            self._open(screen)  # type: ignore[arg-type]

    def _tap_home(self, _: str) -> None:
        self._go_home(keep_language=True)

    def _tap_back(self, _: str) -> None:
        if self.screen == "procedure":
            self.screen = "procedures"
            self.inputs.notice = None
        else:
            self._go_home(keep_language=True)

    def _tap_language(self, _: str) -> None:
        self.language = "en" if self.language == "vi" else "vi"

    def _tap_priority(self, group: str) -> None:
        self.priority = group if group in self._group_ids() else None

    def _tap_issue(self, service_id: str) -> list[Call]:
        return self._issue(service_id, self.priority)

    def _tap_take(self, service_id: str) -> list[Call]:
        return self._issue(service_id, None)

    def _tap_collect(self, _: str) -> list[Call]:
        """The "Lấy số nhận kết quả" button: the service and the code come from the hub's answer on screen,
        never from the button, so a stale button cannot link a ticket to another dossier."""
        offer = self._collect_offer()
        if self.screen != "dossier" or offer is None:
            return []
        service_id, code = offer
        return self._issue(service_id, None, dossier_code=code)

    def _tap_done(self, _: str) -> None:
        self._go_home(keep_language=True)

    def _tap_key(self, char: str) -> list[Call]:
        if len(char) != 1:
            return []
        return self._edit(lambda text: (text + char)[:MAX_INPUT])

    def _tap_backspace(self, _: str) -> list[Call]:
        return self._edit(lambda text: text[:-1])

    def _tap_clear(self, _: str) -> list[Call]:
        return self._edit(lambda _text: "")

    def _tap_submit(self, _: str) -> list[Call]:
        if self.screen == "dossier":
            return self._submit_dossier()
        if self.screen == "procedures":
            return self._search(force=True)
        if self.screen == "booking":
            return self._check_in()
        return []

    def _tap_procedure(self, index: str) -> None:
        if index.isdigit() and int(index) < len(self.inputs.results):
            self.inputs.procedure = self.inputs.results[int(index)]
            self.inputs.notice = None
            self.screen = "procedure"

    def _tap_rate(self, score: str) -> list[Call]:
        if not score.isdigit() or "rate" in self.inputs.pending:
            return []
        number = self.inputs.rating.strip()
        if not number:
            self.inputs.notice = Notice(t("kiosk_rating_enter_first", self.language), "warn")
            return []
        self.inputs.notice = None
        params: dict[str, Any] = {"ticket_id": number, "score": int(score)}
        token = self._tokens.get(number.upper())
        if token:
            params["token"] = token
        return [self._call("rate", "rating.submit", params)]

    def _remember_token(self, number: object, token: object) -> None:
        if isinstance(number, str) and isinstance(token, str) and number and token:
            self._tokens[number.upper()] = token
            self._tokens.move_to_end(number.upper())
            while len(self._tokens) > MAX_REMEMBERED_TOKENS:
                self._tokens.popitem(last=False)

    # ------------------------------------------------------------------ screens

    def _open(self, screen: Screen) -> None:
        """Open a screen afresh (a new citizen may be in front of it)."""
        if screen != self.screen:
            self.inputs = _Inputs()
            if screen == "services":
                self.priority = self._card_priority()  # the ID card's, with consent
        self.inputs.notice = None
        self.screen = screen

    def _go_home(self, *, keep_language: bool) -> None:
        self.screen = "home"
        self.inputs = _Inputs()
        self.priority = None
        self.ticket = None
        self._forget_card()
        self._tag += 1  # whatever is still in flight belongs to the previous citizen
        if not keep_language:
            self.language = self.config.language
            self.assist = False

    def _edit(self, change: Callable[[str], str]) -> list[Call]:
        inputs = self.inputs
        if self.screen == "dossier":
            inputs.dossier = change(inputs.dossier)
            inputs.dossier_proof = None
            inputs.notice = None
        elif self.screen == "procedures":
            inputs.query = change(inputs.query)
            return self._search(force=False)
        elif self.screen == "rating":
            inputs.rating = change(inputs.rating).upper()
            inputs.notice = None
            inputs.rated_at = None
        elif self.screen == "booking":
            inputs.booking = booking_code_input(change(inputs.booking))
            inputs.notice = None
        return []

    # ------------------------------------------------------------------ work for the controller

    def _call(
        self, kind: CallKind, method: str, params: Mapping[str, Any], request_id: str | None = None
    ) -> Call:
        self._tag += 1
        self.inputs.pending[kind] = _Pending(self._tag, self.clock())
        return Call(kind, method, {**params, "lang": self.language}, self._tag, request_id)

    def _issue(self, service_id: str, group: str | None, *, dossier_code: str | None = None) -> list[Call]:
        now = self.clock()
        issue = self.issue
        if issue is not None and issue.in_flight:
            return []  # the second tap of a double tap
        if (
            issue is not None
            and (issue.service_id, issue.group, issue.dossier_code) == (service_id, group, dossier_code)
            and now - issue.started <= self.settings.retry_window_s
        ):
            request_id = issue.request_id  # the previous answer never came: ask for the same ticket
        else:
            request_id = self.new_request_id()
        self.issue = _Issue(request_id, service_id, group, now, dossier_code=dossier_code)
        self.inputs.notice = None
        params: dict[str, Any] = {"service_id": service_id, "priority": group is not None}
        if group is not None:
            params["priority_group"] = group
        if dossier_code is not None:
            params["dossier_code"] = dossier_code
        self._tag += 1
        return [Call("issue", "ticket.issue", {**params, "lang": self.language}, self._tag, request_id)]

    def _submit_dossier(self) -> list[Call]:
        if "lookup" in self.inputs.pending:
            return []
        try:
            dossier_code.parse_any(self.inputs.dossier, self.language)
        except dossier_code.DossierCodeError as error:
            self.inputs.notice = Notice(self._error_text(error), "error")
            self.inputs.dossier_result = None
            return []
        return self._lookup(proof=self.inputs.dossier_proof)

    def _lookup(self, *, proof: str | None) -> list[Call]:
        parsed = dossier_code.parse_any(self.inputs.dossier, self.language)
        self.inputs.dossier = parsed.canonical
        self.inputs.dossier_proof = proof
        self.inputs.dossier_result = None
        self.inputs.notice = None
        params: dict[str, Any] = {"code": parsed.canonical}
        if proof:  # only the receipt's QR code unmasks the applicant's name
            params["proof"] = proof
        return [self._call("lookup", "dossier.lookup", params)]

    def _search(self, *, force: bool) -> list[Call]:
        query = self.inputs.query.strip()
        if len(fold(query)) < SEARCH_MIN_CHARS:
            self.inputs.results = ()
            self.inputs.searched = None
            self.inputs.notice = None
            self.inputs.pending.pop("search", None)
            return []
        if not force and query == self.inputs.searched:
            return []
        return [self._call("search", "procedure.search", {"query": query, "limit": 20})]

    # ------------------------------------------------------------------ replies

    def reply(self, call: Call, result: Mapping[str, Any] | None, error: RpcError | None) -> None:
        """The outcome of a `Call`: its result, or the error (a hub refusal, a timeout, the link down)."""
        if call.kind == "issue":
            self._issued(call, result, error)
            return
        pending = self.inputs.pending.get(call.kind)
        if pending is None or pending.tag != call.tag:
            return  # the citizen has moved on
        del self.inputs.pending[call.kind]
        if call.kind in ("check_in", "mine"):
            (self._checked_in if call.kind == "check_in" else self._mine_reply)(result, error)
            return
        if error is not None or result is None:
            self.inputs.notice = Notice(self._failure_text(call.kind, error), "error")
            if call.kind == "lookup":
                self.inputs.dossier_result = None
            return
        if call.kind == "lookup":
            self.inputs.dossier_result = dict(result)
        elif call.kind == "search":
            raw = result.get("results")
            self.inputs.results = (
                tuple(r for r in raw if isinstance(r, Mapping)) if isinstance(raw, list) else ()
            )
            self.inputs.searched = str(call.params.get("query", ""))
        elif call.kind == "rate":
            self.inputs.notice = Notice(t("kiosk_rating_thanks", self.language), "ok")
            self.inputs.rating = ""
            self.inputs.rated_at = self.clock()
        elif call.kind == "resolve_ticket":
            number = result.get("number")
            if isinstance(number, str) and number:
                self.inputs.rating = number.upper()
                self._remember_token(number, call.params.get("token"))
            else:
                self.inputs.notice = Notice(t("kiosk_rating_ticket_unknown", self.language), "error")

    def _issued(self, call: Call, result: Mapping[str, Any] | None, error: RpcError | None) -> None:
        issue = self.issue
        if issue is None or issue.request_id != call.request_id:
            return
        now = self.clock()
        if error is not None or result is None or not isinstance(result.get("ticket"), Mapping):
            if error is not None and error.code in UNKNOWN_OUTCOME:
                issue.in_flight = False  # kept: the next tap on the same service repeats this request
            else:
                self.issue = None
            if self.screen in ISSUING_SCREENS:
                self.inputs.notice = Notice(self._failure_text("issue", error), "error")
            return
        self.issue = None
        if self.screen not in ISSUING_SCREENS and now - issue.started > LATE_TICKET_S:
            return  # the citizen left long ago; the printer still prints it
        self._show_ticket(result, now)

    def _show_ticket(self, result: Mapping[str, Any], now: float) -> None:
        """A ticket the hub issued (a number taken, a booking checked in), with its print state."""
        ticket = dict(result["ticket"])
        self._remember_token(ticket.get("number"), ticket.get("token"))
        printing = result.get("print")
        state: PrintState = (
            "printing" if printing == "queued" else "unavailable" if printing == "unavailable" else "none"
        )
        # With the hub's window, "not answered" is said only once the printer can no longer print.
        window = result.get("print_window_s")
        wait = (
            float(window) + PRINT_WINDOW_MARGIN_S
            if isinstance(window, int | float) and window > 0
            else self.settings.print_wait_s
        )
        self.ticket = _Ticket(
            data=ticket,
            print_state=state,
            shown_at=now,
            closes_at=now + self.settings.ticket_screen_s * self._slower(),
            print_deadline=now + wait if state == "printing" else None,
        )
        if state != "printing":
            self._printing_failed(state, now)
        self.inputs = _Inputs()
        self.screen = "ticket"
        early = self._print_results.get(self._job_id(ticket))
        if early is not None:
            self._apply_print(early)

    def _failure_text(self, kind: CallKind, error: RpcError | None) -> str:
        language = self.language
        if error is None or error.code in ("internal", "bad_request", "bad_json"):
            return t("kiosk_try_again", language)
        if error.code in NOT_AVAILABLE:
            if kind == "lookup":
                return t("kiosk_lookup_unavailable", language)
            if kind == "search":
                return t("kiosk_procedure_unavailable", language)
            return t("kiosk_try_again", language)
        if error.code in UNKNOWN_OUTCOME:
            return t("kiosk_try_again", language)
        if kind == "resolve_ticket":
            return t("kiosk_rating_ticket_unknown", language)
        return self._error_text(error)

    def _error_text(self, error: RpcError | dossier_code.DossierCodeError) -> str:
        if self.language == "en" and error.message_en:
            return error.message_en
        return error.message

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        """Timers: idle timeout, the ticket screen closing, the printer not answering, the lock."""
        now = self.clock()
        if self._locked():
            if not self._was_locked:
                self._go_home(keep_language=False)
            self._was_locked = True
            return
        self._was_locked = False
        ticket = self.ticket
        if self.screen == "ticket" and ticket is not None:
            if ticket.print_deadline is not None and now >= ticket.print_deadline:
                self._printing_failed("no_answer", now)
            if now >= ticket.closes_at:
                self._go_home(keep_language=False)
            return
        if self.screen == "rating" and self.inputs.rated_at is not None:
            if now - self.inputs.rated_at >= THANKS_S * self._slower():
                self._go_home(keep_language=False)
            return
        idle = now - self.last_activity >= self.settings.idle_timeout_s * self._slower()
        at_rest = self.screen == "home" and self.language == self.config.language and not self.assist
        if idle and (not at_rest or self.priority):
            self._go_home(keep_language=False)

    def _locked(self) -> bool:
        # The site's hours (the hub's, with its holidays) once known: see KioskView.site_hours.
        return self.config.opening_hours.lock_outside and not self.site_hours().is_open(self.wall())

    def identify(self, seconds: float) -> None:
        """Show "Thiết bị {id}" over the screen for `seconds` (the hub's "identify" command)."""
        self.identify_until = self.clock() + seconds

    def _overlay_kind(self) -> str | None:
        if self.identify_until is not None and self.clock() < self.identify_until:
            return "identify"
        if self._locked():
            return "locked"
        if (
            self.offline_since is not None
            and self.clock() - self.offline_since >= self.settings.reconnect_grace_s
        ):
            return "reconnecting"
        return None
