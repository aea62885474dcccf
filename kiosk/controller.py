"""The kiosk's wiring: MQTT in, KioskModel in the middle, RPC calls out, a ViewState for the screen.

Thread model: paho's network thread delivers queue state, hub state, scans and print results; a small
pool runs the calls the model asks for (an RPC waits for its reply); the kivy thread taps and reads the
view. One lock serialises every touch of the model, and no I/O ever happens under it.

The hub's device commands (appliance.device.DeviceRuntime, its own worker thread): `identify` puts
"Thiết bị {id}" over the screen for a few seconds; `reload` reads the TOML again with the hub's pushed
sections over it and applies what the model reads live (the kiosk's timings and services, opening
hours, language, public URL); `restart` sets `restart_requested` and calls `on_restart` (the command
line closes the window and exits with status 75 for systemd). A pushed configuration that does not
validate is refused whole: a log line and the reason in the result of the next `reload`.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from appliance.device import ReloadsConfig, keep_until_restart
from appliance.inputs import BAD_INPUT, RejectedInputs
from appliance.mqtt import Link, Message, PayloadError
from appliance.rpc import RpcClient, RpcError
from appliance.timeutil import now as site_now

from .card_reader import CardRead, CardReader, CardReaderUnavailable, build_reader
from .config import KioskConfig
from .model import Call, KioskModel
from .speech import Speaker, default_speaker
from .views import ViewState

log = logging.getLogger("motcua.kiosk")

TICKET_LOOKUP_TIMEOUT_S = 3.0
IDENTIFY_S = 6.0  # how long the hub's "identify" overlay stays
# Only a new process takes these: the link, its subscriptions and the window are built on them.
RESTART_KEYS = ("device_id", "site", "role", "mqtt", "hub_id", "screen")


class TicketLookup(Protocol):
    """Finds a ticket by the token of its QR code (to rate it): the public ticket view, or RpcError."""

    def get(self, token: str) -> Mapping[str, Any]: ...


class HttpTicketLookup:
    """The hub's public `GET /api/v1/tickets/{token}` (the same view a phone gets from the QR code)."""

    def __init__(
        self, base_url: str, timeout: float = TICKET_LOOKUP_TIMEOUT_S, *, ca_file: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # The hub's HTTPS certificate may be signed by the site CA (the file enrolment wrote).
        self.context = ssl.create_default_context()
        if ca_file:
            try:
                self.context.load_verify_locations(ca_file)
            except (OSError, ssl.SSLError) as error:
                log.warning("site CA %s not usable for ticket look-ups: %s", ca_file, error)

    def get(self, token: str) -> Mapping[str, Any]:
        url = f"{self.base_url}/api/v1/tickets/{urllib.parse.quote(token, safe='')}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout, context=self.context) as response:
                data = json.loads(response.read(65536).decode("utf-8"))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise RpcError.from_key("unknown_ticket", ticket_id=token[:16]) from None
            raise RpcError.from_key("unavailable") from None
        except (OSError, ValueError) as error:
            log.warning("ticket look-up at %s failed: %s", self.base_url, error)
            raise RpcError.from_key("unavailable") from None
        if not isinstance(data, dict):
            raise RpcError.from_key("internal")
        return data


class KioskController(ReloadsConfig[KioskConfig]):
    """Runs one kiosk: `start()`, then `tap()` and `view()` from the screen; `stop()` at the end."""

    config_model = KioskConfig

    def __init__(
        self,
        config: KioskConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = site_now,
        tickets: TicketLookup | None = None,
        config_path: Path | None = None,
        on_restart: Callable[[], object] | None = None,
        speaker: Speaker | None = None,
        card_reader: CardReader | None = None,
    ) -> None:
        self._set_up_config(config, config_path, on_restart=on_restart)
        self.model = KioskModel(config, clock=clock, wall=wall)
        # The assist mode's voice; `speaker` for tests (a WavFileSink records what was said).
        self.speaker = speaker or default_speaker(config.kiosk.voice, config.kiosk.audio_device)
        # The ID card's chip reader wired to this kiosk (`card_reader`; a test passes a simulated one).
        self.card_reader = card_reader or build_reader(config.kiosk.card_reader)
        self.card_reader_error: str | None = None
        self.tickets = tickets or HttpTicketLookup(config.public_url, ca_file=config.mqtt.ca_file)
        self.link = Link(config.mqtt, site=config.site, device_id=config.device_id, role="kiosk")
        self.topics = self.link.topics
        self.rpc = RpcClient(self.link, default_timeout=config.kiosk.rpc_timeout_s)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Callable[[], None]] = []
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kiosk-call")
        self._stopped = False
        # Messages that are not what the contract says (bad bytes, not JSON): counted in health.
        self.rejected = RejectedInputs(on_change=self._publish_health)
        self.link.on_connection_change(self._on_connection)
        self.link.subscribe(self.topics.queue_state, self._on_queue_state)
        self.link.subscribe(self.topics.device_state(config.hub_id), self._on_hub_state)
        self.link.subscribe(f"{self.topics.root}/print/+/results", self._on_print_result)
        self.link.subscribe(self.topics.device_printer(config.device_id), self._on_printer)
        for scanner in config.kiosk.scanners:
            self._subscribe_scanner(scanner)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        self.listen_to_the_hub(self.link)
        self.link.start()
        if self.card_reader is not None:
            try:
                self.card_reader.start(self._on_card)
            except CardReaderUnavailable as error:  # the kiosk works on without it; health says why
                self.card_reader_error = str(error)
                log.error("ID card reader unavailable: %s", error)
        self._publish_health()

    def _publish_health(self) -> None:
        self.link.publish_health(
            {
                "screen": self.config.screen.orientation,
                "scanners": list(self.config.kiosk.scanners),
                "language": self.config.language,
                "rejected_inputs": self.rejected.as_health(),
                "card_reader": self.card_reader_error or ("ok" if self.card_reader else "none"),
            }
        )

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if self.runtime is not None:
            self.runtime.close()  # the result of a command in progress goes out before the link closes
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.speaker is not None:
            self.speaker.close()
        if self.card_reader is not None:
            self.card_reader.stop()
        self.rpc.close()
        self.link.stop()

    # ------------------------------------------------------------------ the screen's side

    def on_change(self, callback: Callable[[], None]) -> None:
        """`callback()` after anything changed the model (from any thread; keep it quick)."""
        self._listeners.append(callback)

    @property
    def online(self) -> bool:
        """Connected to the broker and the hub is up."""
        with self._lock:
            return self.model.online

    def tap(self, action: str, arg: str = "") -> None:
        with self._lock:
            calls = self.model.tap(action, arg)
            self._notify()
        self._dispatch(calls)

    def view(self) -> ViewState:
        """What the screen shows now (timers are advanced first)."""
        with self._lock:
            self.model.tick()
            return self.model.view()

    def wait_for(self, predicate: Callable[[ViewState], bool], timeout: float = 5.0) -> ViewState:
        """The first view matching `predicate`, re-checked on every change and every 50 ms (timers)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                view = self.view()
                if predicate(view):
                    return view
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"the kiosk did not reach the expected screen; it shows {view.texts()!r}"
                    )
                self._changed.wait(min(0.05, remaining))

    # ------------------------------------------------------------------ hub commands (command worker)

    def identify(self) -> None:
        log.warning("identify asked by the hub: overlay for %g s", IDENTIFY_S)
        with self._lock:
            self.model.identify(IDENTIFY_S)
            self._notify()

    def _config_refused(self, detail: str) -> None:
        self.config_error = detail

    def _apply(self, fresh: KioskConfig) -> None:
        current = self.config
        fresh = keep_until_restart(current, fresh, RESTART_KEYS)
        added = set(fresh.kiosk.scanners) - set(current.kiosk.scanners)
        with self._lock:
            self.config = fresh
            self.model.config, self.model.settings = fresh, fresh.kiosk
            if isinstance(self.tickets, HttpTicketLookup):
                self.tickets.base_url = fresh.public_url.rstrip("/")
            self.config_error = None
            self._notify()
        for scanner in sorted(added):  # a scanner newly bound to this kiosk
            self._subscribe_scanner(scanner)

    def _subscribe_scanner(self, scanner: str) -> None:
        """Its public scans, and those only this kiosk may read (ID cards, receipt proofs)."""
        self.link.subscribe(self.topics.scans(scanner), self._on_scan)
        self.link.subscribe(self.topics.private_scans(scanner, self.config.device_id), self._on_scan)

    # ------------------------------------------------------------------ MQTT (network thread)

    def _on_connection(self, connected: bool) -> None:
        with self._lock:
            self.model.set_link(connected)
            self._notify()

    def _on_queue_state(self, message: Message) -> None:
        self._take(message, self.model.apply_state)

    def _on_hub_state(self, message: Message) -> None:
        self._take(message, lambda state: self.model.set_hub_online(state.get("online") is True), empty={})

    def _on_printer(self, message: Message) -> None:
        self._take(message, self.model.set_printer, empty={})

    def _on_print_result(self, message: Message) -> None:
        self._take(message, self.model.print_result)

    def _on_scan(self, message: Message) -> None:
        # scans/{scanner} or scans/{scanner}/{this kiosk}
        device_id = message.topic[len(f"{self.topics.root}/scans/") :].split("/", 1)[0]
        self._take(message, lambda scan: self.model.scan(device_id, scan))

    def _on_card(self, read: CardRead) -> None:
        """A card on this kiosk's own reader (its thread): as a scan, consent first."""
        with self._lock:
            if self._stopped:
                return
            calls = self.model.read_card(read)
            self._notify()
        if calls:
            self._dispatch(calls)

    def _take(
        self,
        message: Message,
        use: Callable[[dict[str, Any]], list[Call] | None],
        *,
        empty: dict[str, Any] | None = None,
    ) -> None:
        """Give a message to the model; any bytes that are not what the contract says are refused
        and counted in health, never allowed to stop the kiosk. `empty`: what a cleared retained
        topic means (None: ignore it as bad input)."""
        where = message.topic.removeprefix(self.topics.root + "/")
        if not message.payload and empty is not None:
            data: dict[str, Any] = empty
        else:
            try:
                data = message.json()
            except PayloadError as error:
                self.rejected.reject(where, error)
                return
        try:
            with self._lock:
                calls = use(data)
                self._notify()
        except BAD_INPUT as error:
            self.rejected.reject(where, f"{type(error).__name__}: {error}")
            return
        if calls:
            self._dispatch(calls)

    # ------------------------------------------------------------------ calls (worker threads)

    def _dispatch(self, calls: list[Call]) -> None:
        for call in calls:
            try:
                self._pool.submit(self._run, call)
            except RuntimeError:  # stopping
                return

    def _run(self, call: Call) -> None:
        result: Mapping[str, Any] | None = None
        error: RpcError | None = None
        try:
            if call.kind == "resolve_ticket":
                result = self.tickets.get(str(call.params.get("token", "")))
            else:
                result = self.rpc.call(call.method, call.params, request_id=call.request_id)
        except RpcError as refused:
            error = refused
            log.info("%s refused: %s", call.method or call.kind, refused.code)
        except Exception as failure:  # a bug must cost one message on screen, never the kiosk
            log.error("%s failed: %r", call.method or call.kind, failure)
            error = RpcError.from_key("internal")
        with self._lock:
            self.model.reply(call, result, error)
            self._notify()

    def _notify(self) -> None:
        model = self.model
        if model.assist or model.speech:  # under the lock: say() only queues the words
            for text, language in model.take_speech(model.view()):
                if self.speaker is not None:
                    self.speaker.say(text, language)
        self._changed.notify_all()
        for callback in self._listeners:
            try:
                callback()
            except Exception as error:
                log.error("kiosk change listener failed: %r", error)
