"""One active province service per group, elected through PostgreSQL (`[mqtt] mode = "leader"`).

Each instance tries a session-level advisory lock on a connection of its own. The one that holds it
runs the ingest under the group's one MQTT session; the others stand by and try again every
`leader_poll_s`. The lock lives as long as that connection: an instance killed with SIGKILL, or cut
off from PostgreSQL, loses it as soon as the server sees the connection gone, and a standby takes
the MQTT session over — with everything the broker queued for it meanwhile. Nothing is counted
twice whatever the timing: the store's unique (site, seq) is the last word (province.store).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg

log = logging.getLogger("motcua.province.leader")


class Leadership:
    def __init__(self, dsn: str, group: str, *, poll_s: float, stop: threading.Event) -> None:
        self.dsn = dsn
        self.name = f"motcua-province/{group}"
        self.poll_s = poll_s
        self.stop = stop
        self._conn: psycopg.Connection | None = None

    def _try(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                # TCP keep-alives: a PostgreSQL server that vanished is noticed, not waited on forever.
                self._conn = psycopg.connect(
                    self.dsn,
                    autocommit=True,
                    keepalives=1,
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=2,
                )
            row = self._conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.name,)).fetchone()
            return bool(row and row[0])
        except psycopg.Error as error:
            log.warning("leader lock: %s", error)
            self.release()
            return False

    def acquire(self, on_standby: Callable[[], None] | None = None) -> bool:
        """Wait until this instance holds the lock (True) or it is stopping (False); `on_standby`
        is called once if it has to wait."""
        waited = False
        while not self.stop.is_set():
            if self._try():
                return True
            if not waited:
                log.info("another instance is active: standing by")
                if on_standby is not None:
                    on_standby()
                waited = True
            self.stop.wait(self.poll_s)
        return False

    def held(self) -> bool:
        """Still the leader? (The lock's connection still answers.)"""
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error as error:
            log.error("leader lock lost: %s", error)
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None
