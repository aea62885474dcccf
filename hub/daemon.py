"""The hub process: queue service + MQTT RPC server + publishers + web, wired together."""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from appliance.mqtt import Link, Message
from appliance.notify import Notifier
from appliance.rpc import RpcError, RpcRequest, RpcServer
from appliance.timeutil import iso, now

from .parts import HubParts
from .printing import TicketPrinting
from .service import QUEUE_METHODS, QueueService
from .site import HubConfig

log = logging.getLogger("motcua.hub")

# What counter units and officers' keypads call (hub.fleet.roles: a counter unit's methods).
PRIORITY_METHODS = frozenset(
    {m for m in QUEUE_METHODS if m.startswith("counter.")} | {"ticket.reinstate", "ticket.cancel"}
)

# Methods the contract names that later parts of the hub answer (central-system issue).
PENDING_METHODS = ("dossier.lookup", "dossier.mine", "procedure.search")


class DeviceRegistry:
    """What the hub knows of every device: its retained state and health topics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[str, dict[str, Any]] = {}

    def on_state(self, message: Message) -> None:
        self._update(message, "state")

    def on_health(self, message: Message) -> None:
        self._update(message, "health")

    def _update(self, message: Message, leaf: str) -> None:
        parts = message.topic.split("/")
        device_id = parts[-2]
        if not message.payload:  # a retained topic cleared
            with self._lock:
                self._devices.get(device_id, {}).pop(leaf, None)
            return
        try:
            data = message.json()
        except ValueError as error:
            log.warning("ignoring %s from %s: %s", leaf, message.topic, error)
            return
        with self._lock:
            entry = self._devices.setdefault(device_id, {"id": device_id})
            entry[leaf] = data
            entry["last_seen"] = iso(now())
            if leaf == "state":
                entry["role"] = data.get("role")
                entry["online"] = bool(data.get("online"))
                entry["version"] = data.get("version")

    def get(self, device_id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._devices.get(device_id)
            return dict(entry) if entry else None

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for _, entry in sorted(self._devices.items())]


class QueuePublisher:
    """Publishes queue events and the retained `queue/state` on a thread of its own.

    The queue's writer only hands events over (a deque append): building and serialising the state,
    and paho's bookkeeping, happen here, off the path of the next commit and of the callers'
    replies. Several commits waiting together cost one state, not one each. Bounded: beyond
    `max_events` waiting (a hub that cannot publish at all), the oldest events are dropped — devices
    rebuild from the retained state, which is always published last.
    """

    def __init__(
        self,
        link: Link,
        snapshot: Callable[[], dict[str, Any]],
        *,
        max_events: int = 10_000,
    ) -> None:
        self.link = link
        self.topics = link.topics
        self.snapshot = snapshot
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._state_due = False
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="queue-publisher", daemon=True)
        self._thread.start()

    def on_commit(self, events: list[dict[str, Any]], snapshot: Callable[[], dict[str, Any]]) -> None:
        """QueueService commit hook (writer thread): hand over, nothing more."""
        with self._wake:
            self._events.extend(events)
            self._state_due = True
            self._wake.notify()

    def publish_state(self) -> None:
        """Ask for the retained state to be published again (e.g. after a reconnect)."""
        with self._wake:
            self._state_due = True
            self._wake.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is waiting, then stop. Idempotent."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not (self._events or self._state_due or self._stopped):
                    self._wake.wait()
                events = list(self._events)
                self._events.clear()
                state_due, self._state_due = self._state_due, False
                stopping = self._stopped
            try:
                for event in events:
                    self.link.publish_json(self.topics.queue_events, event, qos=1)
                if state_due:
                    self.link.publish_json(self.topics.queue_state, self.snapshot(), qos=1, retain=True)
            except Exception as error:  # never lose the thread: the next commit must be published
                log.error("publishing the queue failed: %r", error)
            if stopping:
                return


class Hub:
    @property
    def config(self) -> HubConfig:
        """The live site configuration (the admin pages change it while the hub runs)."""
        service = self.__dict__.get("service")
        return service.site if service is not None else self.__dict__["_config"]

    def __init__(self, config: HubConfig, *, db_path: str | Path | None = None) -> None:
        self._config = config
        # With a central system, every queue event is also written to the outbox in its own
        # transaction, so the relay can deliver it exactly once whatever happens to either side.
        self.service = QueueService(config, db_path or config.hub.db, outbox=config.central is not None)
        self.devices = DeviceRegistry()
        self.link = Link(config.mqtt, site=config.site, device_id=config.device_id, role="hub")
        self.topics = self.link.topics
        self.link.subscribe(self.topics.all_devices("state"), self.devices.on_state)
        self.link.subscribe(self.topics.all_devices("health"), self.devices.on_health)
        self.printing = TicketPrinting(config, self.link, self.devices, site=lambda: self.service.site)
        self.service.add_commit_hook(self.printing.on_commit)
        self.link.on_connection_change(self._on_connection)
        self.publisher = QueuePublisher(self.link, self.service.snapshot)
        self.service.add_commit_hook(self.publisher.on_commit)
        handlers: dict[str, Callable[[RpcRequest], Mapping[str, Any]]] = {
            method: self._queue_handler for method in QUEUE_METHODS
        }
        handlers["ticket.issue"] = self._issue
        handlers["receipt.print"] = self._print_receipt
        for method in PENDING_METHODS:
            handlers[method] = self._pending
        # Counters are served first: their methods have worker threads of their own, so an officer's
        # key press never waits behind a backlog of kiosk requests.
        self.rpc = RpcServer(
            self.link,
            handlers,
            workers=config.hub.rpc_workers,
            priority_methods=PRIORITY_METHODS,
            priority_workers=config.hub.rpc_workers,
        )
        # What central and the fleet may use of this process: they never see the Hub itself.
        self.parts = HubParts(config=config, link=self.link, service=self.service, rpc=self.rpc)
        self.central: Any = None
        if config.central:
            from .central import attach_central

            self.central = attach_central(self.parts)
        # Citizens (issue 17): notifications, then online booking and check-in (`booking.check_in`).
        self.citizen_notify: Any = None
        self.bookings: Any = None
        self._attach_citizen_services()
        # Enrolment, per-device broker accounts, fleet health; guards every RPC handler above with
        # the caller's role (a counter unit acts only for its own counter).
        from .fleet.wiring import attach_fleet

        self.fleet = attach_fleet(self.parts)
        self.web: Any = None
        self._rating_secret: bytes | str | None = None  # the web app's key, which signs rating links
        # systemd restarts a hub that is connected but cannot publish (nothing reaches the hall).
        self.notifier = Notifier(healthy=self.mqtt_healthy)
        self._stopped = threading.Event()
        self._stop_requested = threading.Event()

    def _attach_citizen_services(self) -> None:
        from .bookings.wiring import attach_bookings
        from .citizen_notify.config import load_notify_settings

        settings = load_notify_settings(self.config.citizen_notify)
        if settings is not None:
            from .citizen_notify.runtime import CitizenNotify

            self.citizen_notify = CitizenNotify(settings, self.service)
        sender = self.citizen_notify.send_otp if self.citizen_notify is not None else None
        self.bookings = attach_bookings(self, otp_sender=sender)

    def mqtt_healthy(self) -> bool:
        """Connected and publishing: the broker acknowledges what the hub sends. (Called by every
        /healthz and watchdog tick: the change is logged by the watchdog and the fleet's alerts.)"""
        return self.link.publishing().healthy

    # ------------------------------------------------------------------ RPC
    def _queue_handler(self, request: RpcRequest) -> Mapping[str, Any]:
        return self.service.call(
            request.method,
            request.params,
            caller_id=request.caller_id,
            request_id=request.request_id,
            language=request.language,
        )

    def _issue(self, request: RpcRequest) -> Mapping[str, Any]:
        result = dict(self._queue_handler(request))
        result.update(self.send_ticket_to_printer(request.caller_id, result["ticket"]))
        return result

    def _print_receipt(self, request: RpcRequest) -> Mapping[str, Any]:
        """Send a dossier receipt to the counter's printer; the printer validates the fields and
        answers on print/{id}/results (a bad receipt fails there with its reason)."""
        counter_id = request.params.get("counter_id")
        receipt = request.params.get("receipt")
        if not isinstance(counter_id, str) or not isinstance(receipt, dict):
            raise RpcError.from_key(
                "bad_request", request.language, detail="counter_id (chuỗi), receipt (đối tượng)"
            )
        counter = next((c for c in self.config.counters if c.id == counter_id), None)
        if counter is None:
            raise RpcError.from_key("unknown_counter", request.language, counter_id=counter_id)
        if counter.printer is None:
            raise RpcError.from_key("no_printer", request.language, counter=counter.name)
        suffix = request.request_id or uuid.uuid4().hex
        job = {
            "v": 1,
            "job_id": f"receipt-{request.caller_id}-{suffix}",
            "kind": "receipt",
            "copies": request.params.get("copies", 1),
            "receipt": self.with_rating_link(receipt),
        }
        self.link.publish_json(self.topics.print_jobs(counter.printer), job, qos=1)
        status = "queued" if self.printer_ready(counter.printer) else "unavailable"
        return {"job_id": job["job_id"], "printer": counter.printer, "print": status}

    def print_dossier_receipt(
        self, counter_id: str, code: str, *, officer: str, language: str = "vi"
    ) -> dict[str, Any]:
        """ "In phiếu tiếp nhận": the receipt of dossier `code`, with data from central, on the
        counter's printer. RpcError when the counter has no printer or central cannot answer."""
        counter = next((c for c in self.config.counters if c.id == counter_id), None)
        if counter is None:
            raise RpcError.from_key("unknown_counter", language, counter_id=counter_id)
        if counter.printer is None:
            raise RpcError.from_key("no_printer", language, counter=counter.name)
        if self.central is None:
            raise RpcError.from_key("central_not_configured", language)
        job = self.central.receipt_job(code, officer=officer)
        job["receipt"] = self.with_rating_link(job["receipt"])
        self.link.publish_json(self.topics.print_jobs(counter.printer), job, qos=1)
        status = "queued" if self.printer_ready(counter.printer) else "unavailable"
        return {
            "job_id": job["job_id"],
            "printer": counter.printer,
            "print": status,
            "dossier_code": job["receipt"]["dossier_code"],
        }

    def with_rating_link(self, receipt: Mapping[str, Any]) -> dict[str, Any]:
        """The receipt with the addresses where the citizen rates the dossier later (a QR code and a
        short URL in words: hub/reports/rating_links.py). Only while the hub serves its web pages
        (they are the rating page and sign the link); a receipt that has its own is left alone."""
        printed = dict(receipt)
        code = printed.get("dossier_code")
        if self._rating_secret is None or not isinstance(code, str) or printed.get("rating_url"):
            return printed
        from .reports import rating_links
        from .store import connect

        conn = connect(self.service.db_path)
        try:
            link = rating_links.make(
                conn,
                secret=self._rating_secret,
                base_url=self.config.hub.public_url,
                code=code.strip(),
                now=self.service.clock(),
            )
        finally:
            conn.close()
        printed.update(rating_url=link.url, rating_short_url=link.short_url)
        return printed

    def _pending(self, request: RpcRequest) -> Mapping[str, Any]:
        raise RpcError.from_key("not_implemented", request.language, method=request.method)

    # ------------------------------------------------------------------ printing
    def printer_of(self, kiosk_id: str) -> str | None:
        return self.printing.printer_of(kiosk_id)

    def send_ticket_to_printer(self, kiosk_id: str, ticket: Mapping[str, Any]) -> dict[str, Any]:
        """`{print: queued|unavailable|none, print_window_s?}`: the rule of hub/printing.py (a ticket
        prints only within the site's window, and never after the kiosk was told it will not)."""
        return self.printing.send_ticket(kiosk_id, ticket)

    def printer_ready(self, printer_id: str) -> bool:
        """Online by its will/birth and ready by its own health report (paper, link, status)."""
        return self.printing.printer_ready(printer_id)

    # ------------------------------------------------------------------ publishing
    def _on_connection(self, connected: bool) -> None:
        if connected:
            # Displays and boards rebuild from this after any restart of theirs or ours.
            self.publisher.publish_state()
        else:
            log.warning("lost the broker; queue operations over HTTP continue")

    # ------------------------------------------------------------------ life cycle
    def start(self, *, web: bool = True) -> None:
        self.link.start()
        # Serve from the start even if the broker is down (HTTP keeps working), but give it a
        # moment so the RPC subscription is in place before we say we are ready.
        if not self.link.wait_connected(5.0):
            log.warning(
                "broker %s:%d not reachable yet; retrying in the background",
                self.config.mqtt.host,
                self.config.mqtt.port,
            )
        if web:
            self.start_web()
        self.notifier.ready()
        self.notifier.start_watchdog()

    def start_web(self) -> None:
        from .web.app import create_app, serve_site

        app = create_app(
            self.service,
            broker_connected=self.mqtt_healthy,
            devices=self.devices.all,
            central=self.central,
            fleet=self.fleet,
            print_receipt=self.print_dossier_receipt,
            https=self.config.hub.https,
            hsts_max_age_s=self.config.hub.hsts_max_age_s,
        )
        if self.bookings is not None:
            from .web.booking import install_booking

            install_booking(app, self.bookings)
        from .web.citizen_notify import install_citizen_notify

        install_citizen_notify(app, self.citizen_notify)
        if self.config.hub.demo_dir:
            from .web.demo import install_demo

            install_demo(app, Path(self.config.hub.demo_dir))
        self._rating_secret = app.secret_key
        self.web = serve_site(app, self.config)

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.notifier.stopping()
        if self.web is not None:
            self.web.shutdown()
        self.rpc.close()
        if self.central is not None:
            self.central.stop()
        if self.citizen_notify is not None:
            self.citizen_notify.close()
        self.service.close()
        if self.bookings is not None:
            self.bookings.close()
        self.publisher.close()
        self.fleet.close()
        self.link.stop()
        self.notifier.close()

    def run_forever(self) -> None:
        def _stop(signum: int, frame: object) -> None:
            self._stop_requested.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        while not self._stop_requested.wait(timeout=1.0):
            pass
        self.stop()
