"""A ticket's paper, by one rule the hub owns: it prints only while the citizen can still be there.

- The hub sends a kiosk's ticket job only when that kiosk's printer is ready; when it is not, the kiosk
  is told `print: unavailable` and nothing is sent, so no ticket comes out later for the next person.
- A job carries `valid_for_s` (the site's `[printing] ticket_window_s`), `print_by` (for people and
  logs: clocks may be wrong) and the same MQTT Message Expiry Interval, which the broker counts down
  while the job waits in the printer's session. The printer gives up on a job once that long has
  passed since it received it (its own monotonic clock) and answers `status: expired`.
- The kiosk is told the window (`print_window_s`) so that it says "the printer has not answered" only
  after the printer can no longer print: the kiosk and the printer never disagree.
- Every kiosk with a printer gets its printer's readiness on the retained `devices/{kiosk}/printer`,
  so it can say *before* a citizen takes a number that the number will be on screen, not on paper.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.i18n import PRIORITY_GROUPS
from appliance.mqtt import Link, Message
from appliance.timeutil import iso, now

from .site import HubConfig

log = logging.getLogger("motcua.hub.printing")

# What the hub remembers of what each citizen was told about their paper (for logs and checks).
TOLD_REMEMBERED = 2000
# After a (re)connect, readiness of printers not heard from is published this much later (seconds).
READINESS_SETTLE_S = 2.0


class Devices(Protocol):
    def get(self, device_id: str) -> dict[str, Any] | None: ...


def printer_readiness(device: Mapping[str, Any] | None) -> tuple[bool, str]:
    """(ready, reason) of a printer from its retained state and health: reason is `ok`,
    `offline` (no birth, or its will), `paper_out` or `not_ready` (cover open, error, silent)."""
    if not device or not device.get("online"):
        return False, "offline"
    health = device.get("health") or {}
    if health.get("paper") == "out":
        return False, "paper_out"
    if "ready" in health:
        return (True, "ok") if health["ready"] else (False, "not_ready")
    if bool(health.get("online", False)) and health.get("paper") == "ok":
        return True, "ok"
    return False, "not_ready"


def kiosks_by_printer(site: HubConfig) -> dict[str, list[str]]:
    """Printer id → the kiosks whose tickets it prints."""
    found: dict[str, list[str]] = {}
    for kiosk in site.kiosks:
        if kiosk.printer:
            found.setdefault(kiosk.printer, []).append(kiosk.id)
    return found


class TicketPrinting:
    """Sends kiosk tickets to their printers under the window rule; publishes readiness per kiosk."""

    def __init__(
        self,
        config: HubConfig,
        link: Link,
        devices: Devices,
        *,
        wall: Callable[[], Any] = now,
        site: Callable[[], HubConfig] | None = None,
    ) -> None:
        self.config = config
        # The live site (the head edits the footer, the kiosks' printers, the priority groups).
        self.site = site or (lambda: config)
        self.link = link
        self.topics = link.topics
        self.devices = devices
        self.wall = wall
        self.window_s = config.printing.ticket_window_s
        self._kiosks_of = kiosks_by_printer(config)
        self._lock = threading.Lock()
        self._published: dict[str, dict[str, Any]] = {}
        # job id → (what the kiosk was told, time.monotonic() of the job when queued)
        self._told: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._connected_at = time.monotonic()
        # After the registry's own handlers (same filters, subscribed later): it is up to date here.
        link.subscribe(self.topics.all_devices("state"), self._on_device)
        link.subscribe(self.topics.all_devices("health"), self._on_device)
        link.subscribe(f"{self.topics.root}/print/+/results", self._on_result)
        link.on_connection_change(self._on_connection)

    # ------------------------------------------------------------------ tickets

    def printer_of(self, kiosk_id: str) -> str | None:
        kiosk = next((k for k in self.site().kiosks if k.id == kiosk_id), None)
        return kiosk.printer if kiosk else None

    def printer_ready(self, printer_id: str) -> bool:
        return printer_readiness(self.devices.get(printer_id))[0]

    def send_ticket(self, kiosk_id: str, ticket: Mapping[str, Any]) -> dict[str, Any]:
        """`{print: queued|unavailable|none}` (+ `print_window_s` when queued) for the issue reply.

        The job id is derived from the ticket, so a retried issue never prints twice. A printer that
        is not ready gets no job at all: the citizen is told now, and nothing prints for them later.
        """
        printer = self.printer_of(kiosk_id)
        if printer is None:
            return {"print": "none"}
        job_id = f"ticket-{ticket['id']}"
        with self._lock:
            before = self._told.get(job_id)
        if before is not None and before[0] == "queued":
            # A repeated issue (the kiosk never got the first answer): the job is already at the
            # printer, under its first window; say the same, never "unavailable" for a job that may print.
            left = self.window_s - (time.monotonic() - before[1])
            if left > 0:
                return {"print": "queued", "print_window_s": round(left, 1)}
            return {"print": "unavailable"}
        self._await_first_state(printer)
        if not self.printer_ready(printer):
            self._tell(job_id, "unavailable")
            return {"print": "unavailable"}
        window = self.window_s
        site = self.site()
        printed = dict(ticket)
        group = next((g for g in site.priority_groups if g.id == printed.get("priority_group")), None)
        if group is not None and group.id not in PRIORITY_GROUPS:
            printed["priority_group"] = group.name  # a group the head added: the printer prints a label as is
        job = {
            "v": 1,
            "job_id": job_id,
            "kind": "ticket",
            "site_name": site.place.name,
            "ticket": printed,
            "ticket_url": f"{self.config.hub.public_url.rstrip('/')}/t/{ticket['token']}",
            "footer": site.place.ticket_footer,
            "valid_for_s": window,
            "print_by": iso(self.wall() + timedelta(seconds=window)),
        }
        # The broker counts this down while the job waits for the printer and drops it at zero; the
        # printer reads what is left when the job reaches it.
        expiry = Properties(PacketTypes.PUBLISH)
        expiry.MessageExpiryInterval = max(1, math.ceil(window))
        self.link.publish_json(self.topics.print_jobs(printer), job, qos=1, properties=expiry)
        self._tell(job_id, "queued")
        return {"print": "queued", "print_window_s": window}

    def _await_first_state(self, printer_id: str) -> None:
        """Just after the hub (re)connects, a printer's retained state may not have arrived yet:
        unknown is not "not ready". A kiosk's retry after a hub restart (its job may already be at
        the printer) must not be told "unavailable" for a printer that is fine; wait for the state,
        at most until the readiness settles."""
        settled = self._connected_at + READINESS_SETTLE_S
        while self.devices.get(printer_id) is None and time.monotonic() < settled:
            time.sleep(0.02)

    def told(self, job_id: str) -> str | None:
        """What the citizen of this ticket job was told: queued, unavailable (None: not remembered)."""
        with self._lock:
            entry = self._told.get(job_id)
        return entry[0] if entry else None

    def _tell(self, job_id: str, told: str) -> None:
        with self._lock:
            self._told[job_id] = (told, time.monotonic())
            self._told.move_to_end(job_id)
            while len(self._told) > TOLD_REMEMBERED:
                self._told.popitem(last=False)
        log.info("%s: kiosk told print %s", job_id, told)

    def _on_result(self, message: Message) -> None:
        try:
            result = message.json()
        except ValueError:
            return
        job_id = result.get("job_id")
        if not isinstance(job_id, str) or not job_id.startswith("ticket-"):
            return
        told = self.told(job_id)
        status = result.get("status")
        if status == "printed" and told == "unavailable":
            # Cannot happen by construction; if it ever does, it must be loud.
            log.error("%s printed although the citizen was told it would not", job_id)
        else:
            log.info("%s: %s (citizen told %s)", job_id, status, told)

    # ------------------------------------------------------------------ readiness per kiosk

    def readiness(self, printer_id: str) -> dict[str, Any]:
        ready, reason = printer_readiness(self.devices.get(printer_id))
        return {
            "v": 1,
            "printer": printer_id,
            "ready": ready,
            "reason": reason,
            "ticket_window_s": self.window_s,
        }

    def on_commit(self, events: list[dict[str, Any]], snapshot: Callable[[], dict[str, Any]]) -> None:
        """QueueService commit hook: after a site change (a kiosk added, its printer changed or
        removed in the admin pages) the kiosks concerned hear of their printer at once, without a
        restart; a kiosk left without a printer has its retained word cleared."""
        new = kiosks_by_printer(self.site())  # a few kiosks: cheap enough for every commit
        if new == self._kiosks_of:
            return
        before = {kiosk: printer for printer, kiosks in self._kiosks_of.items() for kiosk in kiosks}
        after = {kiosk: printer for printer, kiosks in new.items() for kiosk in kiosks}
        self._kiosks_of = new
        for kiosk_id in before.keys() - after.keys():
            with self._lock:
                self._published.pop(kiosk_id, None)
            self.link.publish(self.topics.device_printer(kiosk_id), b"", retain=True)
        moved = {kiosk: printer for kiosk, printer in after.items() if before.get(kiosk) != printer}
        with self._lock:
            for kiosk_id in moved:
                self._published.pop(kiosk_id, None)  # told again, the others only if it changed
        for printer_id in set(moved.values()):
            self._publish_readiness(printer_id)

    def _on_device(self, message: Message) -> None:
        device_id = message.topic.split("/")[-2]
        if device_id in self._kiosks_of:
            self._publish_readiness(device_id)

    def _on_connection(self, connected: bool) -> None:
        if not connected:
            return
        self._connected_at = time.monotonic()
        with self._lock:
            self._published.clear()
        # The printers' retained state and health arrive just after (re)subscribing and publish as
        # they come; a printer never heard of is published as offline once they had time to arrive.
        timer = threading.Timer(READINESS_SETTLE_S, self._publish_all)
        timer.daemon = True
        timer.start()

    def _publish_all(self) -> None:
        if self.link.connected:
            for printer_id in self._kiosks_of:
                self._publish_readiness(printer_id)

    def _publish_readiness(self, printer_id: str) -> None:
        body = self.readiness(printer_id)
        for kiosk_id in self._kiosks_of.get(printer_id, ()):
            with self._lock:
                if self._published.get(kiosk_id) == body:
                    continue
                self._published[kiosk_id] = body
            self.link.publish_json(
                self.topics.device_printer(kiosk_id), {**body, "ts": iso(now())}, retain=True
            )
