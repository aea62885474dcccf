"""How well a link publishes: QoS>0 messages sent and not yet acknowledged, refusals by paho when
its queue is full (`Link.publishing()`, read by /healthz, the watchdog and the fleet's alerts)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from paho.mqtt.client import MQTTMessageInfo
from paho.mqtt.enums import MQTTErrorCode

log = logging.getLogger("appliance.mqtt")

# QoS>0 messages paho keeps for the broker while it is away; beyond that publish() reports
# MQTT_ERR_QUEUE_SIZE instead of growing memory for a months-long outage.
MAX_QUEUED_MESSAGES = 1000

# An acknowledgement this late means the link cannot publish (the broker or our own network thread
# is wedged): `PublishStatus.stalled`.
PUBLISH_STALL_S = 20.0
# Refusals by paho (its queue full) within this many seconds count as "cannot publish" too.
PUBLISH_DROP_MEMORY_S = 60.0


@dataclass(frozen=True)
class PublishStatus:
    connected: bool
    backlog: int  # QoS>0 messages published and not yet acknowledged by the broker
    oldest_unacked_s: float  # 0 when none waits
    last_ack_age_s: float | None  # None before the first acknowledgement
    dropped: int  # refused by paho (queue full) since start
    dropped_recently: bool

    @property
    def stalled(self) -> bool:
        return self.oldest_unacked_s >= PUBLISH_STALL_S or self.dropped_recently

    @property
    def healthy(self) -> bool:
        return self.connected and not self.stalled

    def as_json(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "ok": self.healthy,
            "backlog": self.backlog,
            "oldest_unacked_s": round(self.oldest_unacked_s, 1),
            "last_ack_age_s": None if self.last_ack_age_s is None else round(self.last_ack_age_s, 1),
            "dropped": self.dropped,
        }


class PublishBook:
    """Book-keeping of unacknowledged QoS>0 publications (paho keeps its own privately)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._unacked: dict[int, float] = {}
        # Acknowledgements that overtook the bookkeeping of their own publish (paho calls
        # on_publish on the network thread, possibly before publish() returned in ours).
        self._early: set[int] = set()
        self._qos0: set[int] = set()  # QoS 0 messages whose on_publish (written out) is still due
        self._last_ack: float | None = None
        self._dropped = 0
        self._last_drop: float | None = None

    def sent(self, info: MQTTMessageInfo, qos: int) -> None:
        moment = time.monotonic()
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
                return
            if info.rc != MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                if qos > 0:
                    # A reused mid means paho is done with the earlier message of that mid.
                    self._unacked[info.mid] = moment
                elif info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self._qos0.add(info.mid)
                return
            quiet = self._last_drop is not None and moment - self._last_drop < PUBLISH_DROP_MEMORY_S
            self._dropped += 1
            self._last_drop = moment
        if not quiet:
            log.error(
                "MQTT: outgoing queue full (%d messages): publications are dropped", MAX_QUEUED_MESSAGES
            )

    def acknowledged(self, mid: int) -> None:
        with self._lock:
            if mid in self._qos0:
                self._qos0.discard(mid)
            elif self._unacked.pop(mid, None) is None:
                self._early.add(mid)
            self._last_ack = time.monotonic()

    def reconnected(self) -> None:
        """paho re-sends unacknowledged QoS>0 messages (their clock starts again) and forgets the QoS 0
        ones it had not written yet (their on_publish never comes)."""
        moment = time.monotonic()
        with self._lock:
            self._unacked = dict.fromkeys(self._unacked, moment)
            self._qos0.clear()
            self._early.clear()

    def status(self, *, connected: bool) -> PublishStatus:
        moment = time.monotonic()
        with self._lock:
            oldest = min(self._unacked.values(), default=moment)
            return PublishStatus(
                connected=connected,
                backlog=len(self._unacked),
                oldest_unacked_s=moment - oldest,
                last_ack_age_s=None if self._last_ack is None else moment - self._last_ack,
                dropped=self._dropped,
                dropped_recently=self._last_drop is not None
                and moment - self._last_drop < PUBLISH_DROP_MEMORY_S,
            )
