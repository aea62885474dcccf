"""The notification runtime: hooks into the queue service and a sender thread over the outbox."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.rpc import RpcError
from appliance.timeutil import iso, parse_iso
from hub.store import connect

from .config import NotifySettings
from .gateways import CitizenNotifier, NotifyError, Outgoing, SmsGateway, WebPush, ZaloZns, ensure_vapid_key
from .outbox import QueueHook, ensure_schema, phone_hash

log = logging.getLogger("motcua.hub.citizen_notify")

IDLE_S = 5.0
BATCH = 50


class CitizenNotify:
    def __init__(self, settings: NotifySettings, service: Any) -> None:
        self.settings = settings
        self.service = service  # hub.service.QueueService
        self.conn = connect(Path(service.db_path))
        self.conn.row_factory = sqlite3.Row
        self.secret = ensure_schema(self.conn)
        # A hub coming back tries what was waiting at once (its backoff belonged to the old run).
        self.conn.execute("UPDATE citizen_outbox SET next_at = created_at WHERE sent_at IS NULL")
        self._lock = threading.Lock()
        self.gateways: dict[str, CitizenNotifier] = {}
        if settings.sms is not None:
            self.gateways["sms"] = SmsGateway(settings.sms)
        if settings.zalo is not None:
            self.gateways["zalo"] = ZaloZns(settings.zalo)
        self.vapid_public_key: str | None = None
        if settings.webpush is not None:
            key_file = Path(settings.webpush.key_file or Path(service.db_path).parent / "vapid_private.pem")
            self.vapid_public_key = ensure_vapid_key(key_file)
            self.gateways["webpush"] = WebPush(settings.webpush, key_file)
        self._wake = threading.Event()
        service.add_transaction_hook(QueueHook(settings, self.secret, channels=set(self.gateways)))
        service.add_commit_hook(lambda events, snapshot: self._wake.set())
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="citizen-notify", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the sender
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                sent = self.deliver_due()
            except Exception:
                log.exception("delivering citizens' messages failed")
                sent = 0
            if sent < BATCH:
                self._wake.wait(IDLE_S)
                self._wake.clear()

    def deliver_due(self) -> int:
        """Send what is due now; returns how many rows were tried."""
        now = self.service.clock()
        with self._lock:
            rows = self.conn.execute(
                """SELECT o.*, c.opted_out FROM citizen_outbox o
                   LEFT JOIN citizen_contacts c ON c.ticket_id = o.ticket_id
                   WHERE o.sent_at IS NULL AND o.next_at <= ? ORDER BY o.created_at LIMIT ?""",
                (iso(now), BATCH),
            ).fetchall()
        for row in rows:
            if self._stopping.is_set():
                break
            self._deliver(row, now)
        return len(rows)

    def _finish(self, key: str, outcome: str, error: str | None = None) -> None:
        with self._lock:
            self.conn.execute(
                "UPDATE citizen_outbox SET sent_at=?, outcome=?, last_error=? WHERE key=?",
                (iso(self.service.clock()), outcome, error, key),
            )

    def _deliver(self, row: sqlite3.Row, now: datetime) -> None:
        key = row["key"]
        if row["opted_out"]:
            self._finish(key, "opted_out")
            return
        gateway = self.gateways.get(row["channel"])
        if gateway is None:
            self._finish(key, "no_gateway")
            return
        message = Outgoing(
            key, row["channel"], row["address"], row["kind"], row["text"], json.loads(row["vals"])
        )
        try:
            gateway.send(message)
        except NotifyError as error:
            created = parse_iso(row["created_at"]) or now
            if error.permanent or (now - created).total_seconds() > self.settings.give_up_s:
                log.warning("message %s not delivered: %s", key, error)
                self._finish(key, "failed", str(error))
                return
            delay = min(self.settings.retry_max_s, self.settings.retry_min_s * 2 ** row["attempts"])
            with self._lock:
                self.conn.execute(
                    "UPDATE citizen_outbox SET attempts=attempts+1, next_at=?, last_error=? WHERE key=?",
                    (iso(now + timedelta(seconds=delay)), str(error), key),
                )
            log.info("message %s: %s; retrying in %.0f s", key, error, delay)
            return
        self._finish(key, "sent")
        log.info("message %s sent by %s", key, row["channel"])

    # ------------------------------------------------------------------ citizens' choices
    def _ticket_of(self, token: str) -> tuple[str, str] | None:
        with self._lock:
            row = self.conn.execute("SELECT id, service_day FROM tickets WHERE token=?", (token,)).fetchone()
        return (row[0], row[1]) if row else None

    def add_contact(self, token: str, *, phone: str | None = None, push: dict[str, Any] | None = None,
                    language: str = "vi") -> bool:  # fmt: skip
        """A phone or a Web Push subscription for the ticket of `token` (its page); False: no ticket."""
        found = self._ticket_of(token)
        if found is None:
            return False
        ticket_id, day = found
        now = iso(self.service.clock())
        with self._lock:
            self.conn.execute(
                """INSERT INTO citizen_contacts (ticket_id, service_day, phone, push, language, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (ticket_id) DO UPDATE SET
                       phone=COALESCE(excluded.phone, phone), push=COALESCE(excluded.push, push),
                       language=excluded.language, opted_out=0""",
                (ticket_id, day, phone, json.dumps(push) if push else None, language, now),
            )
            if phone:
                self.conn.execute(
                    "DELETE FROM citizen_opt_outs WHERE phone_hash=?", (phone_hash(self.secret, phone),)
                )
        return True

    def opt_out(self, token: str) -> bool:
        """No more messages for this ticket, nor to its phone number (until it is given again)."""
        found = self._ticket_of(token)
        if found is None:
            return False
        with self._lock:
            row = self.conn.execute(
                "SELECT phone FROM citizen_contacts WHERE ticket_id=?", (found[0],)
            ).fetchone()
            self.conn.execute("UPDATE citizen_contacts SET opted_out=1 WHERE ticket_id=?", (found[0],))
            if row is not None and row["phone"]:
                self.conn.execute(
                    "INSERT OR IGNORE INTO citizen_opt_outs (phone_hash, at) VALUES (?, ?)",
                    (phone_hash(self.secret, row["phone"]), iso(self.service.clock())),
                )
        log.info("ticket %s: messages turned off", found[0])
        return True

    def contact_state(self, token: str) -> dict[str, Any]:
        found = self._ticket_of(token)
        if found is None:
            return {"subscribed": False}
        with self._lock:
            row = self.conn.execute(
                "SELECT phone, push, opted_out FROM citizen_contacts WHERE ticket_id=?", (found[0],)
            ).fetchone()
        if row is None or row["opted_out"]:
            return {"subscribed": False}
        return {"subscribed": True, "phone": bool(row["phone"]), "push": bool(row["push"])}

    # ------------------------------------------------------------------ one-time codes
    def send_otp(self, phone: str, text: str) -> None:
        """A booking's one-time code, now (not through the outbox: a late code is useless)."""
        channel = "sms" if "sms" in self.gateways else None
        if channel is None:
            raise RpcError.from_key("otp_unavailable")
        key = f"otp:{phone_hash(self.secret, phone)}:{iso(self.service.clock())}"
        try:
            self.gateways[channel].send(Outgoing(key, channel, phone, "otp", text))
        except NotifyError as error:
            log.warning("one-time code not sent: %s", error)
            raise RpcError.from_key("otp_unavailable") from None

    def close(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.conn.close()
