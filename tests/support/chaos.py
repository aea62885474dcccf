"""A compressed service day under faults, driven through the contract, and what it recorded.

The world: a persistent Mosquitto, the hub (`python -m hub`, web on), the central simulator with its
journal, the printer daemon on a fake network printer whose roll runs out, and a hall display process
(tests/support/chaos_display.py) whose loudspeaker is a journal. Kiosks issue over MQTT RPC, counters
call over MQTT RPC, each retrying with the same `request_id` until answered, as the real ones do.
A seeded conductor kills the hub with SIGKILL at random points, restarts the broker once, takes
central down for a while and lets the paper run out; after every restart it checks what was
acknowledged so far. Every check's findings are kept in `DayRecord` for the tests to judge.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import tomli_w
import zxingcpp

from appliance.broker import PrivateBroker, find_free_port
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError
from tests.support.fake_printer import FakeNetworkPrinter
from tests.support.hub import ROOT, HubProcess, site_config, write_config

SITE = "chaos"
# Services a kiosk offers (the result-return service needs a dossier code, so kiosks skip it here).
SERVICES = ("dat-dai", "ho-tich", "chung-thuc", "xay-dung", "kinh-doanh", "lao-dong")
COUNTERS = ("1", "2", "3", "4", "5")
PRINTING_KIOSK = "kiosk-1"  # the sample site's kiosk with printer-1; the others print nothing
# A ticket prints only while the citizen can still be standing at the kiosk (issue 14, item 1).
PRINT_WINDOW_S = 30.0
RETRYABLE = {"timeout", "unavailable", "overloaded", "internal"}
QUICK_CENTRAL = {
    "retry_base_s": 0.05,
    "retry_max_s": 0.4,
    "breaker_failures": 3,
    "breaker_open_s": 0.2,
    "poll_interval_s": 0.5,
}


@dataclass(frozen=True)
class Plan:
    """How big the day is and how many faults it gets; `seed` makes the fault points repeatable."""

    seed: int = 14
    tickets: int = 3000
    kiosks: int = 3
    kiosk_threads: int = 3
    printing_share: float = 0.08  # of the tickets, from the kiosk with the printer
    hub_kills: int = 4
    paper_rolls: tuple[int, ...] = (40, 60)  # pages on each roll; the last one is endless
    reload_after_s: float = 3.0  # a technician reloads the paper this long after it ran out


@dataclass
class Ack:
    request_id: str
    ticket_id: str
    number: str
    token: str
    print: str
    at: float  # time.monotonic() when the kiosk got the answer


@dataclass
class Called:
    request_id: str
    counter_id: str
    ticket_id: str
    number: str
    at: float


@dataclass
class DayRecord:
    """Everything acknowledged and observed, and every violation found on the way."""

    acks: dict[str, Ack] = field(default_factory=dict)  # by request_id
    answers_by_request: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    calls: dict[str, Called] = field(default_factory=dict)  # by request_id
    call_answers_by_request: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    restarts: list[str] = field(default_factory=list)
    fault_times: list[tuple[str, float]] = field(default_factory=list)  # (what, monotonic time)
    lost: list[str] = field(default_factory=list)  # acknowledged tickets the hub no longer knows
    doubles: list[str] = field(default_factory=list)  # a number acknowledged to two requests
    changed: list[str] = field(default_factory=list)  # a ticket read back with another number
    paper_out: list[tuple[float, float]] = field(default_factory=list)  # (ran out, reloaded)
    pages: list[tuple[str, float]] = field(default_factory=list)  # (token read from QR, at)
    unreadable_pages: int = 0
    announced: list[str] = field(default_factory=list)  # labels "number-counter" in order
    central_keys: list[str] = field(default_factory=list)
    final_seq: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase, for the report

    def nearest_fault(self, at: float) -> str:
        """The fault just before `at`, for messages: 'hub kill -9 +0.4s'."""
        before = [(what, t) for what, t in self.fault_times if t <= at]
        if not before:
            return "before any fault"
        what, t = before[-1]
        return f"{what} +{at - t:.1f}s"


class TimedPrinter(FakeNetworkPrinter):
    """The fake network printer, noting when each page was cut (monotonic time)."""

    def __init__(self) -> None:
        super().__init__(paper="ok")
        self.cut_at: list[float] = []

    def _consume(self, reader: Any, data: bytes) -> bytes:
        before = len(reader.pages)
        replies = super()._consume(reader, data)
        now = time.monotonic()
        with self._changed:
            self.cut_at.extend([now] * (len(reader.pages) - before))
        return replies


class CentralProcess:
    """`python -m hub.central_sim` with its journal, so a killed simulator remembers what it took."""

    def __init__(self, journal: Path) -> None:
        self.port = find_free_port()
        self.journal = journal
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CentralProcess:
        argv = [
            sys.executable,
            "-m",
            "hub.central_sim",
            "--port",
            str(self.port),
            "--journal",
            str(self.journal),
        ]
        self.process = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("Central simulator ready"), line
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def received_keys(self) -> list[str]:
        items = requests.get(f"{self.url}/admin/received?limit=1000000", timeout=30).json()["items"]
        return [item["key"] for item in items]


def _write_toml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


class ServiceDay:
    """Builds the world in `tmp`, runs the day with `plan`, and fills `record`."""

    def __init__(self, tmp: Path, plan: Plan, voice_pack: Path) -> None:
        self.tmp = tmp
        self.plan = plan
        self.random = random.Random(plan.seed)
        self.record = DayRecord()
        self.broker = PrivateBroker(persistence=True, data_dir=tmp / "broker")
        self.central = CentralProcess(tmp / "central-journal.jsonl")
        self.printer = TimedPrinter()
        self.voice_pack = voice_pack
        self.hub: HubProcess | None = None
        self.processes: list[subprocess.Popen[Any]] = []
        self._hub_lock = threading.Lock()
        self._hub_up = threading.Event()
        self._issued = 0
        self._count_lock = threading.Lock()
        self._issuing_done = threading.Event()
        self._checked_until = 0  # acks before this index were read back after a restart
        self._http = requests.Session()
        self._budget_s = 150.0 * max(1.0, plan.tickets / 3000)  # for issuing: a stuck day fails, not hangs

    # ------------------------------------------------------------------ the world
    def _hub_config(self) -> Path:
        central = {
            "adapter": "opencps",
            "base_url": self.central.url,
            "agency_code": "000.00.16.H19",
            "cache_fresh_s": 0,
            **QUICK_CENTRAL,
        }
        config = site_config(self.tmp, self.broker.port, site=SITE, central=central)
        self.base = config["hub"]["public_url"]
        return write_config(self.tmp, config)

    def _start_printer_daemon(self) -> None:
        config = {
            "device_id": "printer-1",
            "site": SITE,
            "role": "printer",
            "mqtt": {
                "host": "127.0.0.1",
                "port": self.broker.port,
                "reconnect_min": 0.05,
                "reconnect_max": 0.5,
            },
            "state_dir": str(self.tmp / "printer-state"),
            "printer": {
                "dots": 576,
                "backend": {"type": "network", "host": "127.0.0.1", "port": self.printer.port},
            },
            "jobs": {"status_interval_s": 0.2},
        }
        path = _write_toml(self.tmp / "printer.toml", config)
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "ticket_printer", "-c", str(path)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=(self.tmp / "printer.log").open("w"),
            )
        )

    def _start_display(self) -> None:
        config = {
            "device_id": "display-1",
            "site": SITE,
            "role": "display",
            "mqtt": {
                "host": "127.0.0.1",
                "port": self.broker.port,
                "reconnect_min": 0.05,
                "reconnect_max": 0.5,
            },
            "announce": {"voice_pack": str(self.voice_pack)},
            "audio": {"sink": "none"},
        }
        path = _write_toml(self.tmp / "display.toml", config)
        self.journal = self.tmp / "announced.jsonl"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.chaos_display",
                "-c",
                str(path),
                "--journal",
                str(self.journal),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=(self.tmp / "display.log").open("w"),
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Display ready"), line + (self.tmp / "display.log").read_text()
        self.processes.append(process)

    def _start_hub(self) -> None:
        self.hub = HubProcess(self.config_path, web=True).start(timeout=60)
        self._hub_up.set()

    def _kill_hub(self) -> None:
        self._hub_up.clear()
        assert self.hub is not None
        self.hub.kill()

    # ------------------------------------------------------------------ clients
    def _settings(self) -> MqttSettings:
        return MqttSettings(host="127.0.0.1", port=self.broker.port, reconnect_min=0.05, reconnect_max=0.5)

    def _call_until_answered(
        self, client: RpcClient, method: str, params: dict[str, Any], request_id: str
    ) -> dict[str, Any] | RpcError:
        """Retry with the same request_id until the hub answers (a result or a non-retryable error)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                return client.call(method, params, request_id=request_id, timeout=3)
            except RpcError as error:
                if error.code not in RETRYABLE or time.monotonic() > deadline:
                    return error
                time.sleep(0.05 if error.code == "timeout" else 0.2)

    def _kiosk(self, kiosk_id: str, quota: int) -> None:
        with Link(self._settings(), site=SITE, device_id=kiosk_id, role="kiosk") as link:
            link.wait_connected(10)
            client = RpcClient(link, default_timeout=3)

            def one(index: int) -> None:
                request_id = f"{kiosk_id}-{index}"
                service = SERVICES[(index * 7 + len(kiosk_id)) % len(SERVICES)]
                answer = self._call_until_answered(
                    client, "ticket.issue", {"service_id": service}, request_id
                )
                if isinstance(answer, RpcError):
                    self.record.refusals[answer.code] += 1
                    return
                ticket = answer["ticket"]
                ack = Ack(
                    request_id,
                    ticket["id"],
                    ticket["number"],
                    ticket["token"],
                    answer["print"],
                    time.monotonic(),
                )
                with self._count_lock:
                    self.record.answers_by_request[request_id].add(f"{ticket['id']}#{ticket['number']}")
                    self.record.acks.setdefault(request_id, ack)
                    self._issued += 1
                if kiosk_id == PRINTING_KIOSK:
                    time.sleep(0.05)  # one citizen after another at the printing kiosk

            with ThreadPoolExecutor(self.plan.kiosk_threads) as pool:
                list(pool.map(one, range(quota)))

    def _counter(self, counter_id: str) -> None:
        device = f"console-{counter_id}"
        with Link(self._settings(), site=SITE, device_id=device, role="console") as link:
            link.wait_connected(10)
            client = RpcClient(link, default_timeout=3)
            index = 0
            while True:
                request_id = f"{device}-{index}"
                index += 1
                answer = self._call_until_answered(
                    client, "counter.call_next", {"counter_id": counter_id}, request_id
                )
                if isinstance(answer, RpcError):
                    if answer.code == "no_waiting" and self._issuing_done.is_set():
                        return
                    time.sleep(0.05)
                    continue
                ticket = answer["ticket"]
                with self._count_lock:
                    self.record.call_answers_by_request[request_id].add(ticket["id"])
                    self.record.calls.setdefault(
                        request_id,
                        Called(request_id, counter_id, ticket["id"], ticket["number"], time.monotonic()),
                    )
                time.sleep(0.02)

    # ------------------------------------------------------------------ checks after a restart
    def _read_back(self, acks: list[Ack]) -> None:
        """Every acknowledged ticket is still there, with its number (the public ticket page's JSON)."""

        def one(ack: Ack) -> None:
            for _attempt in range(50):
                try:
                    response = self._http.get(f"{self.base}/api/v1/tickets/{ack.token}", timeout=10)
                except requests.RequestException:
                    time.sleep(0.2)
                    continue
                if response.status_code == 404:
                    self.record.lost.append(f"{ack.number} ({ack.ticket_id}, {ack.request_id})")
                elif response.status_code == 200:
                    view = response.json()
                    if view.get("number") != ack.number:
                        self.record.changed.append(f"{ack.ticket_id}: {ack.number} -> {view.get('number')}")
                else:
                    time.sleep(0.2)
                    continue
                return
            self.record.lost.append(f"{ack.number} (no answer for {ack.ticket_id})")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, acks))

    def _check_since_last(self, after: str) -> None:
        """After a restart: what was acknowledged since the last check is still there, and no number
        so far went to two requests."""
        with self._count_lock:
            acks = list(self.record.acks.values())
        self._read_back(acks[self._checked_until :])
        self._checked_until = len(acks)
        seen: dict[str, str] = {}
        for ack in acks:
            other = seen.setdefault(ack.number, ack.request_id)
            if other != ack.request_id:
                self.record.doubles.append(f"after {after}: {ack.number} to {other} and {ack.request_id}")

    # ------------------------------------------------------------------ the conductor
    def _wait_issued(self, count: int) -> None:
        deadline = time.monotonic() + self._budget_s
        while self._issued < count and time.monotonic() < deadline and not self._issuing_done.is_set():
            time.sleep(0.02)

    def _paper(self) -> None:
        """Each roll has a few pages; when it is empty a technician reloads after a while."""
        state = self.printer.state
        for pages in self.plan.paper_rolls:
            state.pages_left = pages
            while state.paper != "out":
                if self._issuing_done.is_set():
                    state.pages_left = None
                    return
                time.sleep(0.05)
            ran_out = time.monotonic()
            time.sleep(self.plan.reload_after_s)
            state.pages_left = None
            state.paper = "ok"
            self.record.paper_out.append((ran_out, time.monotonic()))
        state.pages_left = None

    def _fault(self, what: str) -> None:
        self.record.restarts.append(f"{what} at {self._issued} tickets")
        self.record.fault_times.append((what, time.monotonic()))

    def _conduct(self) -> None:
        plan = self.plan
        total = plan.tickets
        # Fault points, as fractions of the day's tickets: hub kills anywhere, one broker restart, a
        # central outage spanning a hub kill.
        kills = sorted(self.random.uniform(0.05, 0.9) for _ in range(plan.hub_kills))
        events: list[tuple[float, str]] = [(k, "kill") for k in kills]
        broker_at = self.random.uniform(0.2, 0.7)
        central_down = self.random.uniform(0.1, 0.4)
        events += [
            (broker_at, "broker"),
            (central_down, "central_down"),
            (min(central_down + 0.3, 0.95), "central_up"),
        ]
        for fraction, kind in sorted(events):
            self._wait_issued(int(total * fraction))
            if kind == "kill":
                time.sleep(self.random.uniform(0, 0.3))  # not on a ticket boundary
                self._kill_hub()
                self._fault("hub kill -9")
                self._start_hub()
                self._check_since_last("hub kill -9")
            elif kind == "broker":
                self.broker.stop()
                self._fault("broker restart")
                time.sleep(2.0)
                self.broker.start()
                self._check_since_last("broker restart")
            elif kind == "central_down":
                self.central.kill()
                self._fault("central down")
            else:
                self.central.start()
                self._fault("central back")

    # ------------------------------------------------------------------ the day
    def run(self) -> DayRecord:
        started = time.monotonic()
        plan = self.plan
        self.broker.start()
        self.central.start()
        self.printer.__enter__()
        try:
            self.config_path = self._hub_config()
            self._start_hub()
            self._start_printer_daemon()
            self._start_display()
            time.sleep(1.0)  # the printer's persistent session exists and its health reached the hub
            printing = int(plan.tickets * plan.printing_share)
            others = plan.tickets - printing
            quotas = {PRINTING_KIOSK: printing}
            share, rest = divmod(others, plan.kiosks - 1)
            for n in range(2, plan.kiosks + 1):
                quotas[f"kiosk-{n}"] = share + (rest if n == 2 else 0)
            workers = [
                threading.Thread(target=self._kiosk, args=item, daemon=True) for item in quotas.items()
            ]
            counters = [threading.Thread(target=self._counter, args=(c,), daemon=True) for c in COUNTERS]
            paper = threading.Thread(target=self._paper, daemon=True)
            conductor = threading.Thread(target=self._conduct, daemon=True)
            for thread in (*workers, *counters, paper, conductor):
                thread.start()
            for thread in workers:
                thread.join(self._budget_s)
            self.record.phases["issuing"] = time.monotonic() - started
            self._issuing_done.set()
            conductor.join(60)
            for thread in counters:
                thread.join(60)
            paper.join(10)
            finishing = time.monotonic()
            self._finish()
            self.record.phases["final checks"] = time.monotonic() - finishing
        finally:
            self.record.seconds = time.monotonic() - started
            self.close()
        return self.record

    def _finish(self) -> None:
        """After the day: read everything back, wait for the relay, the printer and the hall."""
        mark = time.monotonic()
        self._read_back(list(self.record.acks.values()))
        self.record.phases["read back"] = time.monotonic() - mark
        mark = time.monotonic()
        queue = self._http.get(f"{self.base}/api/v1/queue", timeout=10).json()
        self.record.final_seq = int(queue["seq"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                keys = self.central.received_keys()
            except requests.RequestException:
                keys = []
            if len(set(keys)) >= self.record.final_seq:
                break
            time.sleep(0.5)
        time.sleep(1.0)  # a duplicate would arrive after the last new one
        self.record.central_keys = self.central.received_keys()
        self.record.phases["relay"] = time.monotonic() - mark
        mark = time.monotonic()
        # A page still coming now is late anyway (the last roll ran out long ago): a short grace only.
        time.sleep(2.0)
        for page, at in zip(self.printer.pages, list(self.printer.cut_at), strict=False):
            found = zxingcpp.read_barcodes(page.image.convert("L"))
            token = next((r.text.rsplit("/", 1)[-1] for r in found if "/t/" in r.text), None)
            if token is None:
                self.record.unreadable_pages += 1
            else:
                self.record.pages.append((token, at))
        self.record.phases["pages"] = time.monotonic() - mark
        # The hall is done when it said as many calls as were made, or has been quiet for 3 s.
        called = len(self.record.calls)
        deadline = time.monotonic() + 30
        heard, quiet_since = -1, time.monotonic()
        while time.monotonic() < deadline and heard < called and time.monotonic() - quiet_since < 3:
            time.sleep(0.2)
            now_heard = len(self._journal())
            if now_heard != heard:
                heard, quiet_since = now_heard, time.monotonic()
        time.sleep(1.0)  # a repeat would come right after
        self.record.announced = self._journal()

    def _journal(self) -> list[str]:
        if not self.journal.exists():
            return []
        lines = self.journal.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["label"] for line in lines if line.strip()]

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.hub is not None:
            self.hub.stop()
        self.central.kill()
        self.printer.__exit__(None, None, None)
        self.broker.stop()
        self._http.close()


def environment_ready() -> str | None:
    """Why the chaos day cannot run here, or None."""
    import shutil

    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        return "needs Debian mosquitto"
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        return "needs Debian espeak-ng and sox (the display's voice pack)"
    return None


LONG = os.environ.get("MOTCUA_CHAOS_LONG") == "1"


# ---------------------------------------------------------------------- clock steps (libfaketime)
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


class SteppedClockHub(HubProcess):
    """`python -m hub` whose wall clock is off by `offset` (libfaketime syntax: "-1d", "+1d", "" for
    none), as on a Raspberry Pi that booted with a stale clock; monotonic time stays true."""

    def __init__(self, config_path: Path, offset: str) -> None:
        super().__init__(config_path, web=True)
        self.offset = offset

    def start(self, timeout: float = 60.0) -> SteppedClockHub:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.offset:
            env.update(LD_PRELOAD=str(LIBFAKETIME), FAKETIME=self.offset, FAKETIME_DONT_FAKE_MONOTONIC="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "-c", str(self.config_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("Hub ready"):
                return self
        self.kill()
        raise RuntimeError(f"hub (clock {self.offset or 'true'}) did not start:\n" + "".join(self.output))


@dataclass
class ClockStepRecord:
    acks: list[tuple[str, Ack]] = field(default_factory=list)  # (clock offset, ack) in issue order
    refusals: list[tuple[str, str]] = field(default_factory=list)  # (clock offset, error code)
    lost: list[str] = field(default_factory=list)


def clock_steps(tmp: Path, steps: tuple[str, ...], per_step: int = 5) -> ClockStepRecord:
    """Issue `per_step` tickets under each clock offset in turn, `kill -9` between steps, then read
    every acknowledged ticket back under the true clock."""
    record = ClockStepRecord()
    with PrivateBroker(persistence=True, data_dir=tmp / "broker") as broker:
        config = site_config(tmp, broker.port, site=SITE)
        path = write_config(tmp, config)
        base = config["hub"]["public_url"]
        settings = MqttSettings(host="127.0.0.1", port=broker.port, reconnect_min=0.05, reconnect_max=0.5)
        with Link(settings, site=SITE, device_id="kiosk-2", role="kiosk") as link:
            link.wait_connected(10)
            client = RpcClient(link, default_timeout=5)
            for step, offset in enumerate((*steps, "")):
                hub = SteppedClockHub(path, offset).start()
                try:
                    count = per_step if step < len(steps) else 0
                    for index in range(count):
                        request_id = f"clock-{step}-{index}"
                        try:
                            answer = client.call(
                                "ticket.issue", {"service_id": "dat-dai"}, request_id=request_id
                            )
                        except RpcError as error:
                            record.refusals.append((offset, error.code))
                            continue
                        ticket = answer["ticket"]
                        ack = Ack(
                            request_id,
                            ticket["id"],
                            ticket["number"],
                            ticket["token"],
                            answer["print"],
                            time.monotonic(),
                        )
                        record.acks.append((offset, ack))
                    if step == len(steps):  # the true clock again: everything acknowledged is there
                        with requests.Session() as http:
                            for _offset, ack in record.acks:
                                response = http.get(f"{base}/api/v1/tickets/{ack.token}", timeout=10)
                                if response.status_code != 200 or response.json().get("number") != ack.number:
                                    record.lost.append(f"{ack.ticket_id} ({response.status_code})")
                finally:
                    hub.kill()
    return record
