"""The LED device's TOML (`motcua led -c /etc/motcua/led.toml`): which board driver and wiring,
counter or hall view, keypads, feedback, rating buttons. led_board/led.example.toml has every key.

    device_id = "led-counter-3"
    site = "demo"
    role = "led"
    mode = "counter"              # counter | hall

    [counter]
    counter_id = "3"

    [board]
    driver = "modbus"             # simulated | modbus | max7219
    port = "/dev/ttyUSB0"
    model = "digits-4"            # or a [board.profile] table
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from appliance.config import DeviceConfig, Strict, load

from .keys import Action, key_code
from .modbus import ModbusProfile, builtin_models

Pin = int | str  # gpiozero pin names: 17, "GPIO17", "BOARD11"


class BoardBase(Strict):
    brightness: int = Field(80, ge=0, le=100)  # percent
    blink_period: float = Field(1.0, ge=0.2, le=5)  # seconds, half lit and half dark
    scroll_speed: float = Field(3.0, gt=0, le=50)  # characters per second


class SimulatedBoardSettings(BoardBase):
    driver: Literal["simulated"]
    lines: int = Field(2, ge=1, le=16)
    columns: int = Field(8, ge=1, le=64)
    # False: a module without a Unicode font (text folded to ASCII), to preview a real board.
    unicode: bool = True
    png: str | None = None  # written on every change
    terminal: bool = False  # draw the board on standard output
    line_heights: list[Annotated[int, Field(ge=12, le=128)]] = Field(default_factory=list)
    dot: int = Field(6, ge=2, le=32)
    colour: Literal["red", "amber", "green", "white"] = "red"


class ModbusBoardSettings(BoardBase):
    driver: Literal["modbus"]
    port: str = "/dev/ttyUSB0"
    baudrate: int = Field(9600, gt=0)
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    unit: int = Field(1, ge=1, le=247)  # the module's Modbus address
    timeout: float = Field(0.3, gt=0, le=10)
    retries: int = Field(1, ge=0, le=5)
    model: str | None = None  # a built-in profile (motcua led --list-models)
    profile: ModbusProfile | None = None  # or the module's own register map

    @model_validator(mode="after")
    def _one_profile(self) -> ModbusBoardSettings:
        if (self.model is None) == (self.profile is None):
            raise ValueError("give either model (a built-in profile) or a [board.profile] table")
        if self.model is not None and self.model not in builtin_models():
            raise ValueError(f"unknown model {self.model!r}; built in: {', '.join(sorted(builtin_models()))}")
        return self

    def resolved_profile(self) -> ModbusProfile:
        return self.profile if self.profile is not None else builtin_models()[self.model or ""]


class Max7219BoardSettings(BoardBase):
    driver: Literal["max7219"]
    spi_port: int = Field(0, ge=0)
    spi_device: int = Field(0, ge=0)
    width: int = Field(32, ge=8, le=512, multiple_of=8)  # LEDs across (8 per chained matrix)
    height: int = Field(8, ge=8, le=128, multiple_of=8)
    block_orientation: Literal[0, 90, -90, 180] = 0
    rotate: Literal[0, 1, 2, 3] = 0
    reverse_order: bool = False
    line_height: int = Field(8, ge=8, le=128)  # 8: ASCII font; 12 or more: Vietnamese font


BoardSettings = Annotated[
    SimulatedBoardSettings | ModbusBoardSettings | Max7219BoardSettings, Field(discriminator="driver")
]


def _check_action(spec: str) -> str:
    Action.parse(spec)
    return spec


class CounterSettings(Strict):
    counter_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    blink_seconds: float = Field(5.0, ge=0, le=60)  # after a call or a recall
    notice_seconds: float = Field(4.0, gt=0, le=60)  # how long a hub message stays on the board
    # Service for a plain "transfer" key (keys may also say "transfer:<service_id>").
    transfer_to: str | None = None


class HallSettings(Strict):
    rows: int | None = Field(None, ge=1, le=32)  # calls shown; default: as many as fit
    header: bool = True  # "SỐ → QUẦY" on top, on boards of 3 lines or more
    message: str = "Kính chào quý khách. Vui lòng giữ phiếu và chờ gọi số."
    blink_seconds: float = Field(5.0, ge=0, le=60)


class GpioKeypadSettings(Strict):
    type: Literal["gpio"]
    # action -> pin, e.g. { call_next = 17, recall = 27, skip = 22, complete = 23, "transfer:ho-tich" = 24 }
    buttons: dict[str, Pin] = Field(min_length=1)
    pull_up: bool = True  # buttons switch the pin to ground
    bounce_time: float | None = Field(0.02, ge=0, le=1)

    @field_validator("buttons")
    @classmethod
    def _actions(cls, value: dict[str, Pin]) -> dict[str, Pin]:
        for spec in value:
            _check_action(spec)
        if len(set(map(str, value.values()))) != len(value):
            raise ValueError("two actions on one pin")
        return value


DEFAULT_KEYS = {
    "KEY_KP1": "call_next",
    "KEY_KP2": "recall",
    "KEY_KP3": "skip",
    "KEY_KPENTER": "complete",
    "KEY_KP0": "transfer",
}


class EvdevKeypadSettings(Strict):
    type: Literal["evdev"]
    # Event device of the USB keypad; a glob picks the first match.
    device: str = "/dev/input/by-id/usb-*-event-kbd"
    grab: bool = True  # keys never reach a console or another program
    keys: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_KEYS))  # evdev key name -> action
    retry_interval: float = Field(2.0, gt=0, le=300)  # looking again for an unplugged keypad

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for name, spec in value.items():
            key_code(name)
            _check_action(spec)
        return value

    def keymap(self) -> dict[int, Action]:
        return {key_code(name): Action.parse(spec) for name, spec in self.keys.items()}


class SimulatedKeypadSettings(Strict):
    type: Literal["simulated"]
    # Lines such as "call_next" or "rate:3" typed on standard input ("-") or written to a FIFO.
    path: str = "-"


KeypadSettings = Annotated[
    GpioKeypadSettings | EvdevKeypadSettings | SimulatedKeypadSettings, Field(discriminator="type")
]


class FeedbackSettings(Strict):
    buzzer_pin: Pin | None = None  # short beep: accepted; two: refused; long: the hub said no
    led_pin: Pin | None = None  # lit while a request is on its way
    active_high: bool = True


class RatingSettings(Strict):
    scale: Literal[3, 5] = 3  # must match the hub's place.rating_scale
    window_seconds: float = Field(30.0, gt=0, le=600)  # armed this long after a ticket is completed
    buttons: list[Pin] = Field(min_length=3, max_length=5)  # score 1 first
    leds: list[Pin] = Field(default_factory=list)  # none, one "armed" lamp, or one per button
    pull_up: bool = True
    bounce_time: float | None = Field(0.02, ge=0, le=1)

    @model_validator(mode="after")
    def _sizes(self) -> RatingSettings:
        if len(self.buttons) != self.scale:
            raise ValueError(f"a scale of {self.scale} needs {self.scale} buttons, not {len(self.buttons)}")
        if len(self.leds) not in (0, 1, self.scale):
            raise ValueError(f"leds: give none, one, or {self.scale}")
        return self


class TimingSettings(Strict):
    offline_after: float = Field(5.0, ge=0, le=300)  # seconds without the broker before "MẤT KẾT NỐI"
    debounce: float = Field(0.3, ge=0, le=5)  # presses of one key closer than this are one press
    rpc_timeout: float = Field(2.0, gt=0, le=30)  # one attempt
    retry_window: float = Field(5.0, ge=0, le=60)  # an unanswered press is retried (same request_id)
    refresh: float = Field(0.1, ge=0.02, le=2)  # seconds between board refreshes (blink, scroll)


class GpioSettings(Strict):
    # "default": gpiozero's choice (lgpio on a Pi 5, RPi.GPIO…); "mock": no GPIO (a PC, a demo).
    pin_factory: Literal["default", "mock"] = "default"


class LedConfig(DeviceConfig):
    role: Literal["led"] = "led"
    mode: Literal["counter", "hall"] = "counter"
    board: BoardSettings
    counter: CounterSettings | None = None
    hall: HallSettings = HallSettings()
    keypads: list[KeypadSettings] = Field(default_factory=list)
    feedback: FeedbackSettings = FeedbackSettings()
    rating: RatingSettings | None = None
    timing: TimingSettings = TimingSettings()
    gpio: GpioSettings = GpioSettings()
    hub_id: str = "hub"  # the hub's device id: its retained state tells whether it is up

    @model_validator(mode="after")
    def _mode(self) -> LedConfig:
        if self.mode == "counter" and self.counter is None:
            raise ValueError("mode = 'counter' needs a [counter] table with counter_id")
        if self.mode == "hall" and (self.keypads or self.rating is not None):
            raise ValueError("keypads and rating buttons belong to a counter (mode = 'counter')")
        return self


def load_config(path: str | Path) -> LedConfig:
    return load(path, LedConfig)


EXAMPLE_CONFIG = Path(__file__).with_name("led.example.toml")
