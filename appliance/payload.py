"""JSON payloads on the wire: untrusted bytes in (a dict or a `PayloadError` whose code is also the
i18n message key sent back to the caller), compact UTF-8 out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pydantic

from .errors import MotcuaError
from .timeutil import iso

DEFAULT_MAX_PAYLOAD = 65536
PROTOCOL_VERSION = 1


class PayloadError(MotcuaError, ValueError):
    """An incoming payload is unusable.

    `code` goes on the wire (payload_too_large, bad_json, bad_request, unsupported_version);
    `message_key` is the i18n message shown to people (usually the code) and `values` fill its
    placeholders; `detail` is for logs.
    """

    def __init__(self, code: str, detail: str, *, message_key: str | None = None, **values: object) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.message_key = message_key or code
        self.values = values


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; Python accepts them by default and they poison arithmetic later.
    raise ValueError(f"{name} is not allowed in JSON")


def decode_json(payload: bytes | str, max_size: int = DEFAULT_MAX_PAYLOAD) -> dict[str, Any]:
    """Parse an untrusted UTF-8 JSON object, or raise PayloadError.

    The size is checked before parsing so a hostile payload costs nothing; invalid UTF-8, NaN and
    absurd nesting count as bad JSON rather than escaping as other exceptions.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if len(payload) > max_size:
        raise PayloadError("payload_too_large", f"{len(payload)} bytes, at most {max_size}", limit=max_size)
    try:
        value = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise PayloadError("bad_json", str(error) or type(error).__name__) from None
    if not isinstance(value, dict):
        kind = type(value).__name__
        raise PayloadError("bad_request", f"expected a JSON object, got {kind}", message_key="not_an_object")
    return value


def check_version(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept payload version 1 (a missing "v" counts as 1, for hand-typed requests); return `obj`."""
    version = obj.get("v", PROTOCOL_VERSION)
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise PayloadError("unsupported_version", f"v={version!r}", version=version)
    return obj


def _json_default(value: object) -> object:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_json(payload: Mapping[str, Any] | pydantic.BaseModel) -> bytes:
    """Compact UTF-8 JSON (Vietnamese kept readable, not \\u-escaped); aware datetimes as ISO-8601."""
    if isinstance(payload, pydantic.BaseModel):
        return payload.model_dump_json().encode("utf-8")
    return json.dumps(
        dict(payload), ensure_ascii=False, separators=(",", ":"), default=_json_default, allow_nan=False
    ).encode("utf-8")
