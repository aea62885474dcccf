"""Which service day the hub works in: what it reads of its clock (synchronised? stepped?), the
day it holds back when the clock cannot be trusted, and what it tells people about it. The rules
themselves are pure (hub.queue_model.decide_day); this keeps their inputs between calls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from appliance.i18n import message
from appliance.timeutil import clock_synchronised, iso

from . import store as store_module
from .engine import DayDecision, HoldReason, decide_day
from .site import HubConfig

log = logging.getLogger("motcua.hub.service")

SyncCheck = Callable[[], "bool | None"]

HELD_MESSAGES = {
    "clock_unsynchronised": "hub_day_held_unsynchronised",
    "clock_jump": "hub_day_held_clock_jump",
}


def sync_check(site: HubConfig) -> SyncCheck:
    if site.hub.clock_check == "off":
        return lambda: True
    flag = Path(site.hub.clock_sync_flag) if site.hub.clock_sync_flag else None
    return lambda: clock_synchronised(flag)


class DayGuard:
    """The day rules' inputs, kept between readings of the clock."""

    def __init__(self, synchronised: SyncCheck, monotonic: Callable[[], float]) -> None:
        self._synchronised = synchronised
        self._monotonic = monotonic
        # The last (wall, monotonic) reading tells a clock step from time passing; a held day is
        # one the clock claims but the hub did not open (persisted).
        self._last_reading: tuple[datetime, float] | None = None
        self.clock_synced: bool | None = None
        # The clock was synchronised during this run and has not stepped since: it is still right
        # even if the kernel stops calling it synchronised (NTP unreachable for a few hours).
        self._kept_in_sync = False
        self.held: date | None = None
        self.held_reason: HoldReason | None = None
        self.clock_day: date | None = None

    def starting(self, now: datetime, clock_day: date, floor: date | None, held: str | None) -> DayDecision:
        """The day to work in when the hub (re)loads: `floor` is the last service day stored,
        `held` the held day stored (ISO text or empty)."""
        synced = self.check_sync()
        self._kept_in_sync = synced is True
        self._last_reading = (now, self._monotonic())
        self.clock_day = clock_day
        if floor is None:
            return DayDecision(clock_day)  # a new database: the first day is the clock's
        return decide_day(
            floor,
            clock_day,
            held=date.fromisoformat(held) if held else None,
            synchronised=synced,
            stepped=False,
            starting=True,
        )

    def check_sync(self) -> bool | None:
        try:
            synced = self._synchronised()
        except Exception as error:  # a broken check must not stop the queue
            log.warning("cannot tell whether the clock is synchronised: %r", error)
            synced = None
        if synced != self.clock_synced:
            if synced is False:
                log.warning("the clock is not synchronised: no new service day opens until it is")
            elif self.clock_synced is False:
                log.info("the clock is synchronised")
        self.clock_synced = synced
        return synced

    def observe_clock(self, now: datetime, step_s: float) -> bool:
        """Whether the wall clock stepped (by more than `step_s`) since the last reading, beyond
        what elapsed."""
        mono = self._monotonic()
        stepped = False
        if self._last_reading is not None:
            wall, then = self._last_reading
            step = (now - wall).total_seconds() - (mono - then)
            stepped = abs(step) > step_s
            if stepped:
                log.warning("the wall clock stepped by %+.0f s (now %s)", step, iso(now))
        self._last_reading = (now, mono)
        return stepped

    def remember(self, store: store_module.Store, day: date, decision: DayDecision) -> None:
        """Persist the service day and the held day (inside the caller's transaction)."""
        store.set_meta(store_module.SERVICE_DAY_KEY, day.isoformat())
        held = decision.held.isoformat() if decision.held else ""
        store.set_meta(store_module.HELD_DAY_KEY, held)
        store.set_meta(store_module.HELD_REASON_KEY, decision.reason or "")
        if (decision.held, decision.reason) != (self.held, self.held_reason):
            if decision.held is not None:
                log.warning(
                    "service day %s held (%s): the clock says %s; numbers go on in %s",
                    decision.held,
                    decision.reason,
                    self.clock_day,
                    day,
                )
            elif self.held is not None:
                log.info("held day %s no longer held; service day %s", self.held, day)
        self.held, self.held_reason = decision.held, decision.reason

    def changed(self, decision: DayDecision) -> bool:
        """Whether `decision` holds another day (or for another reason) than the one remembered."""
        return (decision.held, decision.reason) != (self.held, self.held_reason)

    def day_change(self, now: datetime, service_day: date, clock_day: date, step_s: float) -> DayDecision:
        """The running hub's decision at `now` (`clock_day` is the service day `now` falls in)."""
        stepped = self.observe_clock(now, step_s)
        synced = self.check_sync()
        if stepped:
            self._kept_in_sync = False
        if synced is True:
            self._kept_in_sync = True
        elif synced is False and self._kept_in_sync:
            synced = True  # synchronised earlier in this run and running smoothly since
        self.clock_day = clock_day
        return decide_day(
            service_day,
            clock_day,
            held=self.held,
            synchronised=synced,
            stepped=stepped,
            starting=False,
        )

    def status(self, day: date | None) -> dict[str, Any]:
        """The service day `day` and what the clock says of it: `state` is ok | unsynchronised
        (no day held yet) | held | behind."""
        clock_day, held, reason, synced = self.clock_day, self.held, self.held_reason, self.clock_synced
        state = "ok"
        if held is not None:
            state = "held"
        elif clock_day is not None and day is not None and clock_day < day:
            state = "behind"
        elif synced is False:
            state = "unsynchronised"
        return {
            "state": state,
            "synchronised": synced,
            "service_day": day.isoformat() if day else None,
            "clock_day": clock_day.isoformat() if clock_day else None,
            "held_day": held.isoformat() if held else None,
            "reason": reason,
        }


def clock_problems(clock: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """What `clock` (a DayGuard.status) tells people, each {code, level, message}."""
    values = {
        "day": clock["service_day"],
        "clock_day": clock["clock_day"],
        "held": clock["held_day"],
    }
    if clock["state"] == "held":
        key = HELD_MESSAGES.get(clock["reason"], "hub_day_held_clock_jump")
        return [{"code": key, "level": "error", "message": message(key, lang, **values)}]
    if clock["state"] == "behind":
        key = "hub_clock_behind"
        return [{"code": key, "level": "warning", "message": message(key, lang, **values)}]
    if clock["state"] == "unsynchronised":
        key = "hub_clock_unsynchronised"
        return [{"code": key, "level": "warning", "message": message(key, lang)}]
    return []
