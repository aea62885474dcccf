"""The printer daemon: jobs from `print/{id}/jobs` to paper, exactly once, with health and results.

Threads: the MQTT network thread validates a job and writes it to the job log (so it is on disk before
the broker gets its PUBACK), then wakes the print worker. The worker alone talks to the printer: it
polls the status every `status_interval_s` and before each job, prints pending jobs oldest first while
the printer is ready, lets them wait while it is out of paper, offline or silent, and fails a job that
is still waiting after `deadline_s`, saying why. A ticket job with `valid_for_s` (the hub's window
while the citizen can still be at the kiosk) is never printed later than that after it arrived, by
this process's monotonic clock (wall clocks may be wrong), nor after the broker's Message Expiry
Interval ran out: it is cancelled and reported `status: expired`. Tickets pending from before a
restart are expired too (how long the daemon was down is unknown). Any bytes may arrive on the jobs
topic: what is not a job is refused, counted in health (`rejected_inputs`) and never stops the daemon.
A job is drawn as a picture, or in `mode = "text"` laid out for the printer's TCVN-3 fonts
(text_layout.py). Results go to `print/{id}/results` and are sent again after a reconnect until the
broker acknowledged them; health is retained on `devices/{id}/health`.

The hub's commands (appliance.device.DeviceRuntime, on its own worker thread): identify and test_print
queue a slip through the same job log as any job; reload reads the TOML again with the hub's pushed
sections over it and applies it between two jobs; restart sets `restart_requested` for the command
line to stop cleanly and exit with status 75 (systemd starts it again).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paho.mqtt.client import MQTTMessageInfo

from appliance.device import CommandError, ReloadsConfig, keep_until_restart
from appliance.i18n import message
from appliance.inputs import RejectedInputs
from appliance.mqtt import Link, Message
from appliance.timeutil import iso, now

from .config import PrinterConfig
from .documents import render_job
from .errors import JobError, PrinterError, PrintingError
from .jobs import ReceiptJob, TicketJob, parse_job
from .layout import Fonts, paper_for
from .printer import UNKNOWN_STATUS, Printer, PrinterStatus, open_printer
from .store import JobRecord, JobStore
from .text_layout import render_text_job

log = logging.getLogger(__name__)

DB_NAME = "print-jobs.sqlite3"
# While a job waits for the printer, its status is asked this often (seconds).
WAIT_POLL_S = 1.0
# Finished jobs older than `remember_days` are dropped from the log this often (seconds).
CLEANUP_INTERVAL_S = 3600.0
# Keys that only a new process can take (the link, the job log and the broker session are built on them).
RESTART_KEYS = ("device_id", "site", "role", "mqtt", "state_dir", "session_expiry_s")


class PrinterDaemon(ReloadsConfig[PrinterConfig]):
    """Owns the printer, the job log and the MQTT link of one printer device."""

    def __init__(
        self,
        config: PrinterConfig,
        *,
        printer: Printer | None = None,
        link: Link | None = None,
        fonts: Fonts | None = None,
        clock: Callable[[], float] = time.time,
        wait_poll_s: float = WAIT_POLL_S,
        config_path: Path | None = None,
    ) -> None:
        self._set_up_config(config, config_path)
        self.config_model = PrinterConfig
        self.paper = paper_for(config.printer.dots)
        self.fonts = fonts or Fonts(config.printer.font_dir)
        self.printer = printer or open_printer(config.printer)
        self.link = link or Link(
            config.mqtt,
            site=config.site,
            device_id=config.device_id,
            role="printer",
            clean_start=False,
            session_expiry=config.session_expiry_s,
        )
        self.topics = self.link.topics
        self.store = JobStore(config.state_path / DB_NAME)
        self.clock = clock
        self.wait_poll_s = min(wait_poll_s, config.jobs.status_interval_s)
        self.status: PrinterStatus = UNKNOWN_STATUS
        self.last_error: dict[str, str] | None = None
        self.rejected = RejectedInputs(on_change=self._publish_health)
        # Ticket jobs that must not print after this time.monotonic() (their citizen has left).
        self._expires_at: dict[str, float] = {}
        self._expires_lock = threading.Lock()
        self.loop_ran_at = time.monotonic()
        self._wake = threading.Condition()
        self._woken = False
        self._stop = threading.Event()
        self._republish = threading.Event()
        self._in_flight: dict[str, MQTTMessageInfo] = {}
        self._in_flight_lock = threading.Lock()
        self._health_sent: dict[str, Any] | None = None
        self._worker: threading.Thread | None = None
        # Held while the printer is used, so that a new configuration never swaps it mid-job.
        self._printer_lock = threading.RLock()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        for record in self.store.interrupted():
            log.warning("job %s was interrupted while printing: not printed again", record.job_id)
            self._finish(record.job_id, "failed", self._error("print_interrupted"))
        for record in self.store.pending():
            if _window_of(record.payload) is not None:
                log.warning("ticket job %s was waiting before a restart: expired, not printed", record.job_id)
                self._expire(record.job_id)
        self._forget_old_jobs()
        self._republish.set()
        self.link.subscribe(self.topics.print_jobs(self.config.device_id), self._on_job, qos=1)
        self.listen_to_the_hub(self.link, on_test_print=self.test_print)
        self.link.on_connection_change(self._on_connection)
        self._worker = threading.Thread(target=self._run, name="print-worker", daemon=True)
        self._worker.start()
        self.link.start()
        log.info(
            "printer %s (%d dots) serving %s",
            self.printer.name,
            self.paper.dots,
            self.topics.print_jobs(self.config.device_id),
        )

    def stop(self) -> None:
        """Stop taking jobs, finish the one being printed, close. Idempotent.

        The link goes first: once its network thread is joined no job can arrive (and be acknowledged)
        while the log closes. Results of the last job that could not be sent go out on the next start.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        self._poke()
        if self.runtime is not None:
            self.runtime.close()  # the result of a command in progress goes out before the link closes
        self.link.stop()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=30)
        self.printer.close()
        self.store.close()

    def healthy(self) -> bool:
        """For the systemd watchdog: the worker is alive and went round its loop recently."""
        worker_alive = self._worker is not None and self._worker.is_alive()
        recent = time.monotonic() - self.loop_ran_at < 3 * self.config.jobs.status_interval_s + 60
        return worker_alive and recent

    # ------------------------------------------------------------------ MQTT thread

    def _on_job(self, msg: Message) -> None:
        try:
            job = parse_job(msg.payload)
        except JobError as error:
            self.rejected.reject("print job", error.message_en)
            self._refuse(error)
            return
        window = _remaining_s(job, msg)
        if window is not None:
            with self._expires_lock:
                self._expires_at.setdefault(job.job_id, time.monotonic() + window)
        if self.store.add(job.job_id, job.kind, msg.payload, self.clock()):
            if window is None:
                log.info("job %s (%s) queued", job.job_id, job.kind)
            else:
                log.info("job %s (%s) queued, to print within %.1f s", job.job_id, job.kind, window)
            self._poke()
            return
        record = self.store.get(job.job_id)
        if record is not None and record.finished:
            self._forget_window(job.job_id)
        if record is not None and record.finished:
            log.info("job %s seen again: already %s, result sent again", job.job_id, record.state)
            self._report(record)
        else:
            log.info("job %s seen again: already queued", job.job_id)

    def _refuse(self, error: JobError) -> None:
        job_id = error.job_id
        if job_id is None:
            log.warning("print job dropped: %s", error.message_en)
            return
        log.warning("print job %s refused: %s", job_id, error.message_en)
        # Recorded so that a resend of the same id gets the same answer (and a known id keeps its own).
        self.store.add_failed(job_id, error.job_kind, error.as_result_error(), self.clock())
        record = self.store.get(job_id)
        if record is not None and record.finished:
            self._report(record)

    def _on_connection(self, connected: bool) -> None:
        if connected:
            self._republish.set()
            self._poke()

    # ------------------------------------------------------------------ hub commands (command worker)

    def identify(self) -> None:
        """Print a short slip naming this printer, through the job log like any job."""
        self._queue_own_job(
            "identify",
            {"device_id": self.config.device_id, "site": self.config.site, "requested_at": iso(now())},
        )

    def test_print(self) -> None:
        self._queue_own_job("test", {})

    def _queue_own_job(self, kind: str, data: dict[str, Any]) -> None:
        if self._stop.is_set():
            raise CommandError(message("device_stopping", self.config.language))
        job_id = f"{kind}-{uuid.uuid4().hex[:16]}"
        payload = json.dumps({"v": 1, "job_id": job_id, "kind": kind, **data}, ensure_ascii=False).encode()
        self.store.add(job_id, kind, payload, self.clock())
        log.info("%s slip %s queued for the hub's command", kind, job_id)
        self._poke()

    def _config_refused(self, detail: str) -> None:
        self.config_error = detail
        self._publish_health()

    def _apply(self, fresh: PrinterConfig) -> None:
        """Take a validated configuration: a new printer section opens the new printer between jobs."""
        current = self.config
        # The running identity, link and job log stay until the next start; the rest is taken now.
        fresh = keep_until_restart(current, fresh, RESTART_KEYS)
        with self._printer_lock:
            if fresh.printer != current.printer:
                old = self.printer
                self.printer = open_printer(fresh.printer)
                self.paper = paper_for(fresh.printer.dots)
                self.fonts = Fonts(fresh.printer.font_dir)
                self.status = UNKNOWN_STATUS
                old.close()
                log.info("printer section changed: now printing on %s", self.printer.name)
            self.config = fresh
            self.wait_poll_s = min(self.wait_poll_s, fresh.jobs.status_interval_s)
            self.config_error = None
        self._poke()
        self._publish_health()

    # ------------------------------------------------------------------ print worker

    def _poke(self) -> None:
        with self._wake:
            self._woken = True
            self._wake.notify_all()

    def _sleep(self, seconds: float) -> None:
        with self._wake:
            if not self._woken and seconds > 0:
                self._wake.wait(seconds)
            self._woken = False

    def _forget_old_jobs(self) -> None:
        days = self.config.jobs.remember_days
        forgotten = self.store.forget_before(self.clock() - days * 86400)
        if forgotten:
            log.info("forgot %d finished jobs older than %d days", forgotten, days)

    def _run(self) -> None:
        interval = self.config.jobs.status_interval_s
        next_poll = 0.0
        next_cleanup = time.monotonic() + CLEANUP_INTERVAL_S
        while not self._stop.is_set():
            self.loop_ran_at = time.monotonic()
            try:
                if self.loop_ran_at >= next_cleanup:
                    next_cleanup = self.loop_ran_at + CLEANUP_INTERVAL_S
                    self._forget_old_jobs()
                self._track_reports()
                if self._republish.is_set():
                    self._republish.clear()
                    for record in self.store.unreported():
                        self._report(record)
                pending = self.store.pending()
                if not pending and time.monotonic() >= next_poll:
                    self.refresh_status()
                    next_poll = time.monotonic() + interval
                if pending:
                    waiting = self._work(pending)
                    next_poll = time.monotonic() + interval
                    self._sleep(self.wait_poll_s if waiting else 0)
                else:
                    # Come back soon while results await their PUBACK, to mark them reported.
                    limit = 1.0 if self._in_flight else interval
                    self._sleep(max(0.0, min(next_poll - time.monotonic(), limit)))
            except Exception:  # a bug must not end printing for the day: log it, keep going
                log.exception("print worker error")
                self._sleep(self.wait_poll_s)

    def refresh_status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT), remember the answer and publish health if it changed."""
        with self._printer_lock:
            status = self.printer.status()
        if status != self.status:
            log.info("printer %s: paper %s, online %s", self.printer.name, status.paper.value, status.online)
        self.status = status
        self._publish_health()
        return status

    def _ready(self, status: PrinterStatus) -> bool:
        # A write-only device file cannot say anything: print and hope, rather than never print.
        return status.ready or not self.printer.reports_status

    def _late(self, record: JobRecord) -> bool:
        """True (and the job cancelled as `expired`) when its ticket window has passed."""
        with self._expires_lock:
            expires_at = self._expires_at.get(record.job_id)
        if expires_at is None or time.monotonic() < expires_at:
            return False
        log.warning("ticket job %s expired: its window passed before it could print", record.job_id)
        self._expire(record.job_id)
        return True

    def _expire(self, job_id: str) -> None:
        self._finish(job_id, "failed", self._error("print_expired"))

    def _forget_window(self, job_id: str) -> None:
        with self._expires_lock:
            self._expires_at.pop(job_id, None)

    def _work(self, pending: list[JobRecord]) -> bool:
        """Expire overdue jobs, print the rest in order while the printer is ready.
        True if jobs are left waiting for the printer."""
        deadline = self.config.jobs.deadline_s
        waiting = []
        for record in pending:
            if self._late(record):
                continue
            if self.clock() - record.received_at > deadline:
                reason = self._waiting_reason()
                log.warning(
                    "job %s failed: not printed within %g s (%s)",
                    record.job_id,
                    deadline,
                    reason["message_en"],
                )
                error = {
                    "code": "print_deadline",
                    **{
                        key: message("print_deadline", language, seconds=f"{deadline:g}", reason=reason[key])
                        for key, language in (("message", "vi"), ("message_en", "en"))
                    },
                }
                self._finish(record.job_id, "failed", error)
            else:
                waiting.append(record)
        for record in waiting:
            if self._stop.is_set():
                return False
            if not self._ready(self.refresh_status()):
                return True
            if self._late(record):  # its turn came, but after its citizen's window
                continue
            if not self._print(record):
                return True
        return False

    def _waiting_reason(self) -> dict[str, str]:
        """Why jobs are waiting, as a result error: the printer's state, else the last print failure."""
        problem = self.status.problem
        if problem is not None and self.printer.reports_status:
            return self._error(problem)
        if self.last_error is not None:
            return self.last_error
        return self._error("print_no_reply")

    def _print(self, record: JobRecord) -> bool:
        """Print one job; False when the printer failed and the job should wait and try again."""
        with self._printer_lock:  # drawn for, and printed on, the same printer
            return self._print_now(record)

    def _print_now(self, record: JobRecord) -> bool:
        text_mode = self.config.printer.mode == "text"
        try:
            job = parse_job(record.payload or b"")
            common: dict[str, Any] = {
                "language": self.config.language,
                "footer": self.config.jobs.footer,
                "printer_name": f"{self.config.device_id} ({self.printer.name})",
                "now": now(),
            }
            if text_mode:
                document = render_text_job(job, self.paper.dots, **common)
                size = f"{document.lines} lines of {document.columns} columns"
            else:
                image = render_job(job, self.paper, fonts=self.fonts, **common)
                size = f"{image.width}×{image.height} dots"
        except PrintingError as error:
            log.warning("job %s failed: %s", record.job_id, error.message_en)
            self._finish(record.job_id, "failed", error.as_result_error())
            return True
        copies = job.copies if isinstance(job, ReceiptJob) else 1
        self.store.mark_printing(record.job_id)
        try:
            for _ in range(copies):
                if text_mode:
                    self.printer.print_text(document)
                else:
                    self.printer.print_image(image)
        except PrinterError as error:
            # Nothing usable came out (a cut-off ticket is no ticket): try again when the printer is back.
            self.store.mark_pending(record.job_id)
            self.last_error = error.as_result_error()
            log.warning("job %s not printed, will retry: %s", record.job_id, error.message_en)
            self._publish_health()
            return False
        self.last_error = None
        # Ask again at once: the reply comes after the printer has taken the job's bytes, and health
        # shows a roll that ran out on this job before the next job is tried.
        self.refresh_status()
        log.info("job %s printed (%s, %s)", record.job_id, job.kind, size)
        self._finish(record.job_id, "printed")
        return True

    def _error(self, code: str, **values: object) -> dict[str, str]:
        return PrintingError(code, printer=self.config.device_id, **values).as_result_error()

    def _finish(self, job_id: str, state: str, error: dict[str, str] | None = None) -> None:
        self._forget_window(job_id)
        self.store.finish(job_id, state, self.clock(), error)
        record = self.store.get(job_id)
        if record is not None:
            self._report(record)
        self._publish_health()

    # ------------------------------------------------------------------ results and health

    def _report(self, record: JobRecord) -> None:
        body = {**record.result(), "ts": iso(now())}
        info = self.link.publish_json(self.topics.print_results(self.config.device_id), body, qos=1)
        with self._in_flight_lock:
            self._in_flight[record.job_id] = info

    def _track_reports(self) -> None:
        """Mark results the broker acknowledged; the rest are sent again after the next connect."""
        with self._in_flight_lock:
            in_flight = list(self._in_flight.items())
        for job_id, info in in_flight:
            try:
                done = info.is_published()
            except (RuntimeError, ValueError):  # not queued (offline, queue full): resent on connect
                done = None
            if done is False:
                continue
            if done:
                self.store.mark_reported(job_id)
            with self._in_flight_lock:
                if self._in_flight.get(job_id) is info:
                    del self._in_flight[job_id]

    def health(self) -> dict[str, Any]:
        return {
            **self.status.as_health(),
            "ready": self._ready(self.status),
            "pending": self.store.count_pending(),
            "printer": self.printer.name,
            "dots": self.paper.dots,
            "reports_status": self.printer.reports_status,
            "last_error": self.last_error,
            "config_rev": self.runtime.config.rev if self.runtime and self.runtime.config else None,
            "config_error": self.config_error,
            "rejected_inputs": self.rejected.as_health(),
        }

    def _publish_health(self) -> None:
        health = self.health()
        if health != self._health_sent:
            self._health_sent = health
            self.link.publish_health(health)


def _window_of(payload: bytes | None) -> float | None:
    """`valid_for_s` of a stored ticket job, None for other jobs (or an unreadable one)."""
    try:
        job = parse_job(payload or b"")
    except JobError:
        return None
    return job.valid_for_s if isinstance(job, TicketJob) else None


def _remaining_s(job: object, msg: Message) -> float | None:
    """Seconds a ticket job may still print from now: its `valid_for_s`, or less if the broker says
    it waited (v5 Message Expiry Interval, counted down by the broker). None: no window."""
    if not isinstance(job, TicketJob) or job.valid_for_s is None:
        return None
    remaining = job.valid_for_s
    expiry = getattr(msg.properties, "MessageExpiryInterval", None)
    if isinstance(expiry, int):
        remaining = min(remaining, float(expiry))
    return remaining
