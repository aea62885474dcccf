"""The LED device process: MQTT in, board out, keys and rating buttons to the hub.

Threads: the MQTT network thread updates the queue model (quick, under a lock); the render thread
draws the view on the board when woken by a change, and every `timing.refresh` seconds for
blinking and scrolling; the keypads' threads hand presses to the desk, whose workers call the hub.

The hub's device commands run on appliance.device.DeviceRuntime's worker: `identify` blinks the whole
board for a few seconds and beeps the counter's buzzer; `reload` reads the TOML again with the hub's
pushed sections over it and applies what can change live (the board, its views, texts and timing; a
new mode, counter, keypads, rating or GPIO wait for the next start); `restart` sets
`restart_requested` for the command line to stop cleanly and exit with status 75 for systemd.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from appliance.device import CommandError, ReloadsConfig, keep_until_restart
from appliance.errors import MotcuaError
from appliance.evdev_input import Opener, open_evdev
from appliance.inputs import BAD_INPUT, RejectedInputs
from appliance.mqtt import Link, Message
from appliance.rpc import RpcClient

from .board import Board, Frame, LineSpec
from .config import (
    EvdevKeypadSettings,
    GpioKeypadSettings,
    LedConfig,
    Max7219BoardSettings,
    ModbusBoardSettings,
    SimulatedBoardSettings,
    SimulatedKeypadSettings,
)
from .desk import Desk, Outcome, Press, RatingArm
from .feedback import Feedback, RatingLamps
from .inputs import EvdevKeypad, GpioButtons, LineKeypad
from .keys import Action
from .model import QueueModel
from .views import CounterView, HallView, Situation, identify_frame

log = logging.getLogger("led_board")

HEALTH_INTERVAL = 30.0
IDENTIFY_S = 5.0  # how long `identify` blinks the board
MIN_FRAME_S = 0.05  # the board redraws at most 20 times a second, however many messages arrive
# Only a new process takes these: the link, the desk, the keypads and GPIO pins are built on them.
RESTART_KEYS = (
    "device_id",
    "site",
    "role",
    "mqtt",
    "mode",
    "counter",
    "keypads",
    "feedback",
    "rating",
    "gpio",
    "hub_id",
)


def build_board(config: LedConfig, *, clock: Callable[[], float] = time.monotonic) -> Board:
    """The board driver the configuration names, opened (BoardError if it cannot be)."""
    settings = config.board
    options = {"blink_period": settings.blink_period, "scroll_speed": settings.scroll_speed}
    if isinstance(settings, SimulatedBoardSettings):
        from .simulated import SimulatedBoard

        spec = LineSpec(columns=settings.columns, text=True, unicode=settings.unicode)
        return SimulatedBoard(
            [spec] * settings.lines,
            png=settings.png,
            terminal=sys.stdout if settings.terminal else None,
            line_heights=settings.line_heights,
            dot=settings.dot,
            colour=settings.colour,
            name=f"simulated board of {config.device_id}",
            clock=clock,
            **options,
        )
    if isinstance(settings, ModbusBoardSettings):
        from .modbus import ModbusBoard, _open_client

        return ModbusBoard(
            _open_client(settings),
            settings.resolved_profile(),
            unit=settings.unit,
            port=settings.port,
            clock=clock,
            **options,
        )
    assert isinstance(settings, Max7219BoardSettings)
    from .max7219 import Max7219Board, open_max7219

    return Max7219Board(open_max7219(settings), line_height=settings.line_height, clock=clock, **options)


def pin_factory_for(config: LedConfig) -> Any:
    if config.gpio.pin_factory == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    return None


class LedDaemon(ReloadsConfig[LedConfig]):
    config_model = LedConfig

    def __init__(
        self,
        config: LedConfig,
        link: Link,
        board: Board,
        *,
        pin_factory: Any = None,
        evdev_opener: Opener = open_evdev,
        clock: Callable[[], float] = time.monotonic,
        config_path: Path | None = None,
        board_factory: Callable[[LedConfig], Board] = build_board,
    ) -> None:
        self._set_up_config(config, config_path)
        self.board_factory = board_factory
        self._identify_until = -math.inf
        self._config_lock = threading.Lock()  # one configuration change at a time
        self.link = link
        self.board = board
        self.clock = clock
        self.topics = link.topics
        self.model = QueueModel()
        self.language = config.language
        timing = config.timing
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._link_up = False
        self._hub_up: bool | None = None  # None: unknown (its retained state not seen)
        self._offline_since: float | None = clock()  # not connected yet
        self._notice: tuple[str, float] | None = None
        self._render_thread: threading.Thread | None = None
        self._last_health: dict[str, Any] | None = None
        self._health_at = 0.0
        self.frames = 0
        # Bytes from the keys FIFO or the broker that are not what they should be: counted in health.
        self.rejected = RejectedInputs(on_change=self._wake.set)

        self.counter_id: str | None = config.counter.counter_id if config.counter is not None else None
        self.view: CounterView | HallView = self._make_view(config, board)

        self.rpc = RpcClient(link, default_timeout=timing.rpc_timeout)
        self.feedback: Feedback | None = None
        self.rating_arm: RatingArm | None = None
        self.rating_lamps: RatingLamps | None = None
        self.desk: Desk | None = None
        self.inputs: list[GpioButtons | EvdevKeypad | LineKeypad] = []
        if self.counter_id is not None:
            self._build_counter(pin_factory, evdev_opener)

        link.subscribe(self.topics.queue_state, self._on_state)
        link.subscribe(self.topics.queue_events, self._on_event)
        link.subscribe(self.topics.device_state(config.hub_id), self._on_hub_state)
        link.subscribe(self.topics.device_commands(config.device_id), self._on_command)
        link.on_connection_change(self._on_link)

    def _make_view(self, config: LedConfig, board: Board) -> CounterView | HallView:
        timing = config.timing
        if config.mode == "counter":
            assert config.counter is not None
            return CounterView(
                config.counter.counter_id,
                board.lines,
                language=self.language,
                blink_seconds=config.counter.blink_seconds,
                offline_after=timing.offline_after,
            )
        return HallView(
            board.lines,
            language=self.language,
            rows=config.hall.rows,
            header=config.hall.header,
            message_text=config.hall.message,
            blink_seconds=config.hall.blink_seconds,
            offline_after=timing.offline_after,
        )

    def _build_counter(self, pin_factory: Any, evdev_opener: Opener) -> None:
        config = self.config
        assert config.counter is not None and self.counter_id is not None
        fb = config.feedback
        self.feedback = Feedback.from_pins(
            fb.buzzer_pin, fb.led_pin, active_high=fb.active_high, pin_factory=pin_factory
        )
        if config.rating is not None:
            self.rating_arm = RatingArm(config.rating.window_seconds)
            self.rating_lamps = RatingLamps.from_pins(config.rating.leds, pin_factory=pin_factory)
        timing = config.timing
        self.desk = Desk(
            self.counter_id,
            self.rpc,
            self,
            link_up=self.online,
            wait_link=self.link.wait_connected,
            feedback=self.feedback,
            rating=self.rating_arm,
            rating_signals=self.rating_lamps,
            transfer_to=config.counter.transfer_to,
            language=self.language,
            clock=self.clock,
            debounce=timing.debounce,
            rpc_timeout=timing.rpc_timeout,
            retry_window=timing.retry_window,
        )
        for settings in config.keypads:
            if isinstance(settings, GpioKeypadSettings):
                self.inputs.append(
                    GpioButtons(
                        {Action.parse(spec): pin for spec, pin in settings.buttons.items()},
                        self.press,
                        pull_up=settings.pull_up,
                        bounce_time=settings.bounce_time,
                        pin_factory=pin_factory,
                    )
                )
            elif isinstance(settings, EvdevKeypadSettings):
                self.inputs.append(
                    EvdevKeypad(
                        settings.device,
                        settings.keymap(),
                        self.press,
                        grab=settings.grab,
                        retry_interval=settings.retry_interval,
                        opener=evdev_opener,
                    )
                )
            elif isinstance(settings, SimulatedKeypadSettings):
                self.inputs.append(LineKeypad(settings.path, self.press, self.rejected))
        if config.rating is not None:
            self.inputs.append(
                GpioButtons(
                    {Action("rate", str(score)): pin for score, pin in enumerate(config.rating.buttons, 1)},
                    self.press,
                    pull_up=config.rating.pull_up,
                    bounce_time=config.rating.bounce_time,
                    pin_factory=pin_factory,
                )
            )

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self.board.set_brightness(self.config.board.brightness)
        self.board.show(self._frame(self.clock()))
        if self.desk is not None:
            self.desk.start()
        for source in self.inputs:
            source.start()
        self._render_thread = threading.Thread(target=self._render_loop, name="board", daemon=True)
        self._render_thread.start()
        self.listen_to_the_hub(self.link)
        self.link.start()

    def stop(self) -> None:
        """Stop everything, leaving the board as it was (a restart redraws it). Idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        if self.runtime is not None:
            self.runtime.close()  # the result of a command in progress goes out before the link closes
        for source in self.inputs:
            source.close()
        if self.desk is not None:
            self.desk.close()
        if self._render_thread is not None:
            self._render_thread.join(5)
        self.rpc.close()
        self.link.stop()
        for device in (self.feedback, self.rating_lamps):
            if device is not None:
                device.close()
        self.board.close()

    # ------------------------------------------------------------------ presses
    def press(self, action: Action) -> Outcome:
        """A key or rating button was pressed (from any input thread)."""
        assert self.desk is not None
        outcome = self.desk.press(action)
        log.debug("press %s: %s", action, outcome.value)
        return outcome

    def online(self) -> bool:
        """The hub can be reached: the link is up and the hub is not known to be down."""
        return self._link_up and self._hub_up is not False

    # DeskListener
    def on_result(self, press: Press, result: Mapping[str, Any]) -> None:
        if self.counter_id is None or press.action.name == "rate":
            return
        try:
            with self._lock:
                self.model.apply_reply(press.method, result, self.counter_id, self.clock())
        except ValueError as error:
            log.warning("reply to %s unusable: %s", press.method, error)
        self._wake.set()

    def on_notice(self, text: str) -> None:
        seconds = self.config.counter.notice_seconds if self.config.counter is not None else 4.0
        with self._lock:
            self._notice = (text, self.clock() + seconds)
        self._wake.set()

    # ------------------------------------------------------------------ MQTT (network thread)
    def _on_state(self, message: Message) -> None:
        if not message.payload:
            return  # the retained state was cleared
        try:
            state = message.json(max_size=1 << 20)
            with self._lock:
                self.model.apply_state(state)
        except BAD_INPUT as error:
            self.rejected.reject("queue/state", error)
            return
        self._wake.set()

    def _on_event(self, message: Message) -> None:
        try:
            event = message.json()
            now = self.clock()
            with self._lock:
                self.model.apply_event(event, now)
                self._maybe_arm_rating(event, now)
        except BAD_INPUT as error:
            self.rejected.reject("queue/events", error)
            return
        self._wake.set()

    def _maybe_arm_rating(self, event: Mapping[str, Any], now: float) -> None:
        if self.rating_arm is None or event.get("counter_id") != self.counter_id:
            return
        ticket = event.get("ticket")
        if event.get("type") == "ticket.completed" and isinstance(ticket, Mapping):
            ticket_id = ticket.get("id")
            if isinstance(ticket_id, str) and self.rating_arm.arm(ticket_id, now):
                log.info("rating armed for ticket %s", ticket.get("number"))

    def _on_hub_state(self, message: Message) -> None:
        try:
            online = message.json().get("online") if message.payload else None
        except BAD_INPUT as error:
            self.rejected.reject("hub state", error)
            return
        with self._lock:
            self._hub_up = online if isinstance(online, bool) else None
            self._update_offline()
        self._wake.set()

    def _on_command(self, message: Message) -> None:
        try:
            command = message.json()
        except BAD_INPUT as error:
            self.rejected.reject("commands", error)
            return
        if "cmd" in command:
            return  # the hub's fleet commands: DeviceRuntime runs them
        if command.get("command") == "brightness" and isinstance(command.get("level"), int):
            self.board.set_brightness(command["level"])
            self._wake.set()
        else:
            log.warning("unknown command %r ignored", command.get("command"))

    def _on_link(self, connected: bool) -> None:
        with self._lock:
            self._link_up = connected
            # The retained queue/state that follows the (re)subscription is the truth, even if its
            # seq went backwards (a hub restored from a backup); it may arrive before this call.
            self.model.expect_resync()
            self._update_offline()
        self._wake.set()

    def _update_offline(self) -> None:
        if self.online():
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = self.clock()

    # ------------------------------------------------------------------ hub commands (command worker)
    def identify(self) -> None:
        """Blink the whole board for a few seconds and beep, so the technician sees which one it is."""
        log.warning("identify asked by the hub: blinking %s for %g s", self.board.name, IDENTIFY_S)
        with self._lock:
            self._identify_until = self.clock() + IDENTIFY_S
        self._wake.set()
        if self.feedback is not None and self.feedback.buzzer is not None:
            self.feedback.buzzer.beep(on_time=0.2, off_time=0.2, n=3, background=True)

    @property
    def config_language(self) -> str:
        return self.language

    def _config_refused(self, detail: str) -> None:
        self.config_error = detail
        self._wake.set()  # health says so with the next frame

    def _apply(self, fresh: LedConfig) -> None:
        """Take a validated configuration: a new [board] opens the new board; views follow."""
        with self._config_lock:
            current = self.config
            fresh = keep_until_restart(current, fresh, RESTART_KEYS)
            board = self.board
            if fresh.board.model_copy(update={"brightness": 0}) != current.board.model_copy(
                update={"brightness": 0}
            ):
                try:
                    board = self.board_factory(fresh)
                except MotcuaError as error:
                    raise CommandError(str(error)) from None
            view = self._make_view(fresh, board)
            with self._lock:
                old, self.board, self.view, self.config = self.board, board, view, fresh
                self.config_error = None
            if old is not board:
                old.close()
                log.info("board changed: now %s", board.name)
            board.set_brightness(fresh.board.brightness)
        self._wake.set()

    # ------------------------------------------------------------------ drawing
    def _frame(self, now: float) -> Frame:
        with self._lock:
            if now < self._identify_until:
                return identify_frame(self.board.lines, self.config.device_id)
            notice, until = self._notice or (None, 0.0)
            situation = Situation(now, self._offline_since, notice, until)
            return self.view.frame(self.model, situation)

    def _render_loop(self) -> None:
        drawn_at = -math.inf
        while not self._stop.is_set():
            self._wake.wait(self.config.timing.refresh)  # read each time: a reload may change it
            # At most one frame per MIN_FRAME_S: a burst of queue/state messages (one per commit at
            # a busy site) is drawn once, from the newest model, instead of once per message.
            pause = drawn_at + MIN_FRAME_S - time.monotonic()
            if pause > 0 and self._stop.wait(pause):
                return
            self._wake.clear()
            if self._stop.is_set():
                return
            drawn_at = time.monotonic()
            try:
                now = self.clock()
                self.board.show(self._frame(now), now)
                self.frames += 1
                if self.rating_lamps is not None and self.rating_arm is not None:
                    with self._lock:
                        armed = self.rating_arm.current(now) is not None
                    self.rating_lamps.set_armed(armed)
                self._publish_health(now)
            except Exception:  # the board must keep refreshing whatever one frame did
                log.exception("drawing the board failed")

    def health(self) -> dict[str, Any]:
        board = self.board
        body: dict[str, Any] = {
            "mode": self.config.mode,
            "board": {
                "driver": board.kind,
                "ok": board.ok,
                "error": board.error,
                "brightness": board.brightness,
            },
            "synced": self.model.synced,
            "identify": self.clock() < self._identify_until,
            "config_error": self.config_error,
            "rejected_inputs": self.rejected.as_health(),
            "inputs": [
                {
                    "kind": source.kind,
                    "device": source.device,
                    "ok": source.error is None,
                    "error": source.error,
                }
                for source in self.inputs
            ],
        }
        if self.counter_id is not None:
            body["counter_id"] = self.counter_id
        if self.rating_arm is not None:
            body["rating_armed"] = self.rating_arm.current(self.clock()) is not None
        return body

    def _publish_health(self, now: float) -> None:
        health = self.health()
        if health == self._last_health and now - self._health_at < HEALTH_INTERVAL:
            return
        self._last_health, self._health_at = health, now
        try:  # queued while offline; the link also re-sends the latest after every reconnect
            self.link.publish_health(health)
        except (ValueError, TypeError) as error:
            log.warning("health not published: %s", error)
