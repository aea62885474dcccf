"""A dataclass read back from an SQLite row, field by field, for every part's own database."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from typing import Any, TypeVar, cast

T = TypeVar("T")


def from_row(cls: type[T], row: sqlite3.Row, **converted: Any) -> T:
    """`cls` with each field taken from the row's column of the same name; `converted` gives the
    fields that are not stored as they are used (a date, JSON, a flag)."""
    names = [f.name for f in fields(cast(Any, cls)) if f.init and f.name not in converted]
    return cls(**{name: row[name] for name in names}, **converted)
