"""TOML device configuration, validated at start with messages that name the file and the key.

Every daemon has one TOML file. The common part is `DeviceConfig` (identity and broker); each role
extends it with its own sections.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Strict(BaseModel):
    """Base of configuration sections: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    keepalive: int = Field(30, ge=5, le=3600)
    # Reconnect backoff bounds, seconds.
    reconnect_min: float = Field(0.5, gt=0)
    reconnect_max: float = Field(30.0, gt=0)
    # A device re-publishes its health this often (seconds, 0: never) with a fresh `ts`: the
    # heartbeat by which the hub tells a dead device from a quiet one (a device that dies while the
    # broker is down leaves no will, and the broker restores its retained "online").
    heartbeat_s: float = Field(30.0, ge=0, le=3600)


class DeviceConfig(Strict):
    """Identity and broker of one device; role configs extend it."""

    device_id: str = Field(pattern=ID_PATTERN)
    site: str = Field(pattern=ID_PATTERN)
    role: Literal["hub", "kiosk", "printer", "scanner", "led", "display"]
    mqtt: MqttSettings = MqttSettings()
    language: Literal["vi", "en"] = "vi"


M = TypeVar("M", bound=BaseModel)


def describe_errors(source: str, error: ValidationError) -> str:
    """One line per problem: `file: [section] key: message (got value)`."""
    lines = [f"{source}: invalid configuration:"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        got = item.get("input")
        shown = "" if isinstance(got, dict) or item["type"] == "missing" else f" (got {got!r})"
        lines.append(f"  {where}: {item['msg']}{shown}")
    return "\n".join(lines)


def validate(data: dict[str, Any], model: type[M], source: str = "<config>") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_errors(source, error)) from None


def load(path: str | Path, model: type[M]) -> M:
    """Read and validate a TOML file; raise ConfigError with a clear message otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read configuration: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return validate(data, model, str(path))
