"""What the hub hears of every device over MQTT: its retained state (online/offline from its will),
its health and the results of the commands it was sent; online/offline changes are remembered in
the fleet's store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from appliance.mqtt import Message
from appliance.timeutil import iso

from .model import LiveState
from .store import FleetStore, Seen
from .worker import QueueWorker

log = logging.getLogger("motcua.hub.fleet")


class Presence(QueueWorker[tuple[str, Seen]]):
    """Live state of every device heard (network thread in, any thread out)."""

    def __init__(
        self,
        store: FleetStore,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        stop: threading.Event,
    ) -> None:
        # Online/offline changes are written by a thread of their own: the MQTT network thread must
        # never wait for the database (under a storm of tickets it would wait behind the queue's
        # writer, and every RPC request behind it).
        super().__init__("fleet-seen")
        self.store = store
        self.clock = clock
        self.monotonic = monotonic
        self._stop = stop
        self._lock = threading.Lock()
        self._live: dict[str, LiveState] = {}
        self._seen: dict[str, Seen] = store.seen()

    def _run(self) -> None:
        while (item := self._requests.get()) is not None:
            try:
                self.store.record_seen(*item)
            except Exception as error:
                log.warning("presence of %s not recorded: %r", item[0], error)

    def snapshot(self) -> tuple[dict[str, LiveState], dict[str, Seen]]:
        """Copies of the live state and the remembered presence of every device."""
        with self._lock:
            return {key: replace(value) for key, value in self._live.items()}, dict(self._seen)

    def live(self, device_id: str) -> LiveState | None:
        with self._lock:
            entry = self._live.get(device_id)
            return replace(entry) if entry is not None else None

    def command_sent(self, device_id: str, role: str | None, command: dict[str, Any]) -> bool | None:
        """Remember `command` as the device's last one; whether the device is online."""
        with self._lock:
            entry = self._live.setdefault(device_id, LiveState(role=role))
            entry.last_command = command
            return entry.online

    def on_state(self, msg: Message) -> None:
        device_id = msg.topic.split("/")[-2]
        if not msg.payload:
            with self._lock:
                self._live.pop(device_id, None)
            return
        data = msg.json()
        online = data.get("online") is True
        stamp = iso(self.clock())
        # Heard at receipt, retained copies too: device clocks can be wrong (issue 14), so a dead
        # device is found `silent_after_s` after the hub (re)connects, whatever its `ts` says.
        heard = self.monotonic()
        with self._lock:
            entry = self._live.setdefault(device_id, LiveState())
            entry.heard = heard
            entry.role = str(data.get("role") or entry.role or "") or None
            entry.version = str(data["version"]) if data.get("version") is not None else entry.version
            before = self._seen.get(device_id)
            if online:
                entry.online, entry.last_seen, entry.offline_since = True, stamp, None
                seen = Seen(True, stamp, None)
            else:
                # A retained "offline" met at subscription time happened before we listened: keep the
                # moment we recorded then (if any); a live one happens now.
                since = stamp
                if msg.retain and before is not None:
                    since = before.offline_since or before.last_seen or stamp
                entry.online, entry.offline_since = False, since
                entry.last_seen = entry.last_seen or (before.last_seen if before else None) or since
                seen = Seen(False, entry.last_seen, since)
            changed = (
                before is None or before.online != seen.online or before.offline_since != seen.offline_since
            )
            self._seen[device_id] = seen
        if changed and not self._stop.is_set():
            if self._thread is None:  # not started (a test driving the runtime by hand)
                self.store.record_seen(device_id, seen)
            else:
                self._requests.put((device_id, seen))

    def on_health(self, msg: Message) -> None:
        device_id = msg.topic.split("/")[-2]
        if not msg.payload:
            with self._lock:
                if device_id in self._live:
                    self._live[device_id].health = None
            return
        data = msg.json()
        heard = self.monotonic()
        with self._lock:
            entry = self._live.setdefault(device_id, LiveState())
            entry.heard = heard
            entry.heartbeat_s = data.get("heartbeat_s")  # checked by heartbeat_lost
            entry.health = {k: v for k, v in data.items() if k not in ("v",)}
            if entry.online:
                entry.last_seen = iso(self.clock())

    def on_command_result(self, msg: Message) -> None:
        device_id = msg.topic.split("/")[-2]
        data = msg.json()
        with self._lock:
            entry = self._live.get(device_id)
            if entry is None or not entry.last_command or entry.last_command.get("id") != data.get("id"):
                return
            entry.last_command = {
                **entry.last_command,
                "status": "ok" if data.get("ok") else "failed",
                "error": (data.get("error") or {}).get("message")
                if isinstance(data.get("error"), dict)
                else None,
                "done_at": iso(self.clock()),
            }
