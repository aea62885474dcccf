"""The base of the parts that keep a copy of what central said in the hub's SQLite file, each on a
connection of its own: the dossier cache of lookups (hub.central.lookup) and the board of results
ready (hub.central.results). Central can always be asked again, so losing the last writes to a
power cut costs one more call to central: their commits need not wait for the disk
(synchronous=NORMAL on this connection only)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from appliance.timeutil import now as local_now
from hub.store import connect

from .base import CentralSystem
from .config import CentralConfig


@dataclass(eq=False, repr=False)
class CentralCopy:
    adapter: CentralSystem
    config: CentralConfig
    db_path: str | Path
    clock: Callable[[], datetime] = field(default=local_now, kw_only=True)
    # The CREATE statements of the part's tables, run at start.
    schema: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self._db: sqlite3.Connection = connect(Path(self.db_path))
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in self.schema:
            self._db.execute(statement)
        self._db_lock = threading.Lock()
