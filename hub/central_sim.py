"""`motcua central-sim`: a simulated central one-door dossier system speaking the OpenCPS subset.

Seeded, realistic data (hub/central/simdata.py): ≥ 200 dossiers with TT 01/2018 and OpenCPS codes in
every status, received over the last weeks, some overdue; a catalogue of real district-level
procedures in 14 fields. It records every booking, rating and webhook it receives, de-duplicates
them by `Idempotency-Key` (optionally journalled to a file, so a killed simulator remembers), and
injects faults on request:

    curl -X POST localhost:8090/admin/faults -d '{"latency_ms": 1500, "error_rate": 0.2, "down": false}'

Endpoints: `/o/rest/v2/dossiers`, `/o/rest/v2/dossiers/{id}` (header secretCode; 203 if wrong),
`/o/rest/v2/dossiers/publish/searchDossiers`, `/o/rest/v2/serviceinfos`, `POST /o/rest/v2/bookings`,
`POST /o/rest/v2/postal/votings/{id}/results`, `POST /o/rest/v2/dossiers/{id}/actions` (a result
handed over: recorded as kind "returned", the dossier becomes `done`), webhook flavour
`POST /webhook/events` (HMAC checked; `result.returned` also closes the dossier),
`GET /webhook/dossiers?code=` (or `?id_no=`), `GET /webhook/procedures`, `GET /webhook/results`; admin
`/admin/stats`, `/admin/received`, `/admin/dossiers`, `/admin/faults`, `/admin/reset`, and
`POST /admin/ready` (`{"code": "…"}` or `{"count": n}`): dossiers in processing become ready for
collection, as they also do by themselves every `--ready-every` seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request

from appliance.timeutil import iso, now
from hub.central import simdata
from hub.central.model import format_opencps_time
from hub.central.opencps import dossier_from_opencps
from hub.central.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from hub.sim_server import BackgroundServer

log = logging.getLogger("motcua.central_sim")

API = "/o/rest/v2"
MAX_PAGE = 1000


@dataclass
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    down: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "error_rate": self.error_rate, "down": self.down}


@dataclass
class SimState:
    """Central's data and what it has received; shared by every server started on it."""

    seed: int = 1
    dossier_count: int = 240
    extra_procedures: int = 0
    group_id: str | None = None
    username: str | None = None
    password: str | None = None
    webhook_secret: str | None = None
    journal: Path | None = None
    faults: Faults = field(default_factory=Faults)
    # Every this many seconds a dossier in processing becomes ready for collection (0: never).
    ready_every_s: float = 0.0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(self.seed)
        self.procedures = simdata.procedures(self.extra_procedures, self.seed)
        self.procedures_by_code = {p.code: p for p in self.procedures}
        self.dossiers = simdata.dossiers(self.procedures, count=self.dossier_count, seed=self.seed)
        self.by_no = {d["dossierNo"].upper(): d for d in self.dossiers}
        self.by_id = {str(d["dossierId"]): d for d in self.dossiers}
        self.received: list[dict[str, Any]] = []
        self.keys: set[str] = set()
        self.duplicates = 0
        self.requests: Counter[str] = Counter()
        self._journal_file = None
        if self.journal is not None:
            self._load_journal(self.journal)
            self._journal_file = self.journal.open("a", encoding="utf-8")

    def _load_journal(self, path: Path) -> None:
        if not path.exists():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill: central never acknowledged it
            self.received.append(record)
            if record.get("key"):
                self.keys.add(record["key"])

    def record(self, kind: str, key: str | None, data: dict[str, Any]) -> bool:
        """Keep what arrived; False if `key` was seen before (a repeat, not recorded again)."""
        with self.lock:
            if key and key in self.keys:
                self.duplicates += 1
                return False
            entry = {"kind": kind, "key": key, "received_at": iso(now()), "data": data}
            self.received.append(entry)
            if key:
                self.keys.add(key)
            if self._journal_file is not None:
                # Written before the answer: what central acknowledged, it remembers after a kill.
                self._journal_file.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self._journal_file.flush()
            return True

    def make_ready(self, dossier_no: str | None = None) -> dict[str, Any] | None:
        """A dossier in work becomes ready for collection now (the given one, else the oldest one
        in processing); None if there is none."""
        with self.lock:
            if dossier_no is not None:
                row = self.by_no.get(dossier_no.strip().upper())
                if row is None or row["dossierStatus"] in simdata.FINISHED:
                    return None
            else:
                row = next((d for d in self.dossiers if d["dossierStatus"] == "processing"), None)
                if row is None:
                    return None
            self._set_status(row, "releasing", releaseDate=format_opencps_time(now()))
            return dict(row)

    def mark_done(self, target: str) -> dict[str, Any] | None:
        """The result of `target` (dossier id or number) was handed over."""
        with self.lock:
            row = self.by_id.get(target) or self.by_no.get(target.strip().upper())
            if row is None:
                return None
            if row["dossierStatus"] != "done":
                self._set_status(row, "done", finishDate=format_opencps_time(now()))
            return dict(row)

    def _set_status(self, row: dict[str, Any], status: str, **dates: str) -> None:
        row["dossierStatus"] = status
        row["dossierStatusText"] = simdata.STATUS_TEXT[status]
        row["stepCode"], row["stepName"] = simdata.STEPS[status]
        row.update(dates)

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.keys.clear()
            self.duplicates = 0
            self.requests.clear()
            if self._journal_file is not None:
                self._journal_file.truncate(0)

    def close(self) -> None:
        if self._journal_file is not None:
            self._journal_file.close()
            self._journal_file = None


def create_app(state: SimState) -> Flask:
    app = Flask("motcua-central-sim")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.config["stopped"] = False

    @app.before_request
    def _faults() -> Response | None:
        path = request.path
        if path.startswith("/admin"):
            return None
        state.requests[path.split("/")[-1] if path.startswith(API) else path] += 1
        if app.config["stopped"]:
            response = jsonify({"error": "stopped"})
            response.status_code = 503
            response.headers["Connection"] = "close"
            return response
        faults = state.faults
        if faults.down:
            return _error(503, "central is down (simulated)")
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if faults.error_rate and state.rng.random() < faults.error_rate:
            return _error(500, "internal error (simulated)")
        if path.startswith(API):
            if state.group_id and request.headers.get("groupId") != state.group_id:
                return _error(403, "wrong or missing groupId")
            if state.username is not None:
                auth = request.authorization
                if auth is None or auth.username != state.username or auth.password != state.password:
                    return _error(401, "authentication required")
        return None

    # ------------------------------------------------------------------ OpenCPS dossiers
    @app.get(f"{API}/dossiers")
    def dossiers() -> Response:
        rows = state.dossiers
        number = request.args.get("dossierNo", "").strip().upper()
        if number:
            found = state.by_no.get(number)
            rows = [found] if found else []
        id_no = request.args.get("applicantIdNo", "").strip()
        if id_no:
            rows = [d for d in rows if d["applicantIdNo"] == id_no]
        status = request.args.get("status", "").strip()
        if status:
            rows = [d for d in rows if d["dossierStatus"] == status]
        return jsonify(_page(rows, public=True))

    @app.get(f"{API}/dossiers/<dossier_id>")
    def dossier(dossier_id: str) -> Response | tuple[Response, int]:
        row = state.by_id.get(dossier_id) or state.by_no.get(dossier_id.upper())
        if row is None:
            return _error(404, "dossier not found")
        if request.headers.get("secretCode") != row["secretCode"]:
            return jsonify({}), 203  # OpenCPS: the receipt's secret code is wrong
        return jsonify(_public(row))

    @app.get(f"{API}/dossiers/publish/searchDossiers")
    def published() -> Response:
        step = request.args.get("step", "")
        rows = [
            d
            for d in state.dossiers
            if d["dossierStatus"] == "releasing" and (not step or d["stepCode"] == step)
        ]
        return jsonify(_page(rows, public=True))

    @app.post(f"{API}/dossiers/<dossier_id>/actions")
    def dossier_action(dossier_id: str) -> Response:
        data = _body()
        if not data.get("actionCode"):
            return _error(400, "actionCode is required")
        if state.by_id.get(dossier_id) is None and state.by_no.get(dossier_id.upper()) is None:
            return _error(404, "dossier not found")
        key = request.headers.get("Idempotency-Key")
        fresh = state.record("returned", key, {"dossierId": dossier_id, **data})
        if fresh:
            state.mark_done(dossier_id)
        return jsonify({"dossierActionId": len(state.received), "duplicate": not fresh})

    @app.get(f"{API}/serviceinfos")
    def serviceinfos() -> Response:
        keyword = request.args.get("keyword", "").strip().lower()
        rows = [p.to_opencps() for p in state.procedures if not keyword or keyword in p.name.lower()]
        return jsonify(_page(rows))

    # ------------------------------------------------------------------ OpenCPS relay targets
    @app.post(f"{API}/bookings")
    def bookings() -> Response:
        data = _body()
        if not data.get("codeNumber") or not data.get("className"):
            return _error(400, "codeNumber and className are required")
        key = request.headers.get("Idempotency-Key")
        fresh = state.record("booking", key, data)
        return jsonify({"bookingId": len(state.received), "duplicate": not fresh, **data})

    @app.post(f"{API}/postal/votings/<voting_id>/results")
    def voting(voting_id: str) -> Response:
        data = _body()
        if str(data.get("selected", "")) not in ("1", "2", "3"):
            return _error(400, "selected must be 1, 2 or 3")
        key = request.headers.get("Idempotency-Key")
        fresh = state.record("voting", key, {"votingId": voting_id, **data})
        return jsonify({"votingResultId": len(state.received), "duplicate": not fresh})

    # ------------------------------------------------------------------ webhook flavour
    @app.post("/webhook/events")
    def webhook() -> Response:
        body = request.get_data()
        if state.webhook_secret is not None:
            stamp = request.headers.get(TIMESTAMP_HEADER, "")
            signature = request.headers.get(SIGNATURE_HEADER, "")
            if not verify(state.webhook_secret, stamp, body, signature):
                return _error(401, "bad signature")
        try:
            envelope = json.loads(body)
        except ValueError:
            return _error(400, "not JSON")
        if not isinstance(envelope, dict) or not envelope.get("id") or "data" not in envelope:
            return _error(400, "id and data are required")
        fresh = state.record("webhook", str(envelope["id"]), envelope)
        data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
        if fresh and envelope.get("kind") == "result.returned" and data.get("dossier_code"):
            state.mark_done(str(data["dossier_code"]))
        return jsonify({"ok": True, "duplicate": not fresh})

    @app.get("/webhook/dossiers")
    def webhook_dossier() -> Response:
        id_no = request.args.get("id_no", "").strip()
        if id_no:  # a citizen's own dossiers, asked for by the ID card at a kiosk
            mine = [d for d in state.dossiers if d["applicantIdNo"] == id_no]
            limit = max(1, min(request.args.get("limit", 20, type=int), MAX_PAGE))
            return jsonify({"dossiers": [_motcua_dossier(row) for row in mine[:limit]]})
        row = state.by_no.get(request.args.get("code", "").strip().upper())
        if row is None:
            return _error(404, "dossier not found")
        return jsonify({"dossier": _motcua_dossier(row)})

    @app.get("/webhook/results")
    def webhook_results() -> Response:
        rows = [d for d in state.dossiers if d["dossierStatus"] == "releasing"]
        return jsonify({"dossiers": [_motcua_dossier(row) for row in rows]})

    @app.get("/webhook/procedures")
    def webhook_procedures() -> Response:
        return jsonify({"procedures": [p.to_motcua() for p in state.procedures]})

    # ------------------------------------------------------------------ admin
    @app.get("/admin/stats")
    def stats() -> Response:
        with state.lock:
            kinds = Counter(r["kind"] for r in state.received)
            return jsonify(
                {
                    "received": len(state.received),
                    "unique_keys": len(state.keys),
                    "duplicates": state.duplicates,
                    "by_kind": dict(kinds),
                    "requests": dict(state.requests),
                    "faults": state.faults.to_dict(),
                    "dossiers": len(state.dossiers),
                    "procedures": len(state.procedures),
                }
            )

    @app.get("/admin/received")
    def received() -> Response:
        offset = request.args.get("offset", 0, type=int)
        limit = min(request.args.get("limit", 1000, type=int), 100_000)
        with state.lock:
            items = state.received[offset : offset + limit]
            return jsonify({"total": len(state.received), "duplicates": state.duplicates, "items": items})

    @app.get("/admin/ratings")
    def admin_ratings() -> Response:
        """The ratings central received (votings and webhook rating events), each once."""
        with state.lock:
            rows = []
            for entry in state.received:
                data = entry["data"]
                if entry["kind"] == "webhook" and str(data.get("kind", "")).startswith("rating."):
                    data = {"kind": data["kind"], **(data.get("data") or {})}
                elif entry["kind"] != "voting":
                    continue
                rows.append({"key": entry["key"], "received_at": entry["received_at"], **data})
        return jsonify(rows)

    @app.get("/admin/dossiers")
    def admin_dossiers() -> Response:
        status = request.args.get("status")
        rows = [d for d in state.dossiers if not status or d["dossierStatus"] == status]
        return jsonify({"total": len(rows), "data": rows})

    @app.route("/admin/faults", methods=["GET", "POST", "PUT"])
    def faults() -> Response:
        if request.method != "GET":
            data = request.get_json(force=True, silent=True) or {}
            try:
                state.faults = Faults(
                    latency_ms=max(0.0, float(data.get("latency_ms", 0))),
                    error_rate=min(1.0, max(0.0, float(data.get("error_rate", 0)))),
                    down=bool(data.get("down", False)),
                )
            except (TypeError, ValueError):
                return _error(400, "latency_ms and error_rate must be numbers")
            log.info("faults now %s", state.faults.to_dict())
        return jsonify(state.faults.to_dict())

    @app.post("/admin/ready")
    def admin_ready() -> Response | tuple[Response, int]:
        data = request.get_json(force=True, silent=True) or {}
        code = data.get("code")
        if code is not None:
            row = state.make_ready(str(code))
            if row is None:
                return _error(404, "no such dossier in work")
            return jsonify({"ready": [row["dossierNo"]]})
        count = data.get("count", 1)
        if not isinstance(count, int) or not 1 <= count <= 1000:
            return _error(400, "count must be 1…1000")
        made = [row["dossierNo"] for row in (state.make_ready() for _ in range(count)) if row]
        return jsonify({"ready": made})

    @app.post("/admin/reset")
    def reset() -> Response:
        state.reset()
        state.faults = Faults()
        return jsonify({"ok": True})

    return app


def _error(status: int, text: str) -> Response:
    response = jsonify({"error": text, "status": status})
    response.status_code = status
    return response


def _body() -> dict[str, Any]:
    if request.is_json:
        data = request.get_json(silent=True)
        return dict(data) if isinstance(data, dict) else {}
    return {key: value for key, value in request.form.items()}


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "secretCode"}


def _page(rows: list[dict[str, Any]], *, public: bool = False) -> dict[str, Any]:
    start = max(0, request.args.get("start", 0, type=int))
    end = request.args.get("end", start + 15, type=int)
    end = min(max(start, end), start + MAX_PAGE)
    data = rows[start:end]
    return {"total": len(rows), "data": [_public(r) for r in data] if public else data}


def _motcua_dossier(row: dict[str, Any]) -> dict[str, Any]:
    return dossier_from_opencps(row).to_dict()


# ---------------------------------------------------------------------- serving
class SimServer(BackgroundServer):
    """The simulator on a real socket in a background thread (tests, benchmarks, `motcua demo`).

    `stop()` closes the listening socket and the connections kept alive (a request still being
    answered gets 503 + `Connection: close`), so clients see central go away; `start()` again
    serves the same state (same port).
    """

    thread_name = "central-sim"

    def __init__(self, state: SimState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.state = state or SimState()
        self._app: Flask | None = None
        self._ticker: threading.Thread | None = None
        self._ticking = threading.Event()

    def start(self) -> SimServer:
        self._app = create_app(self.state)
        self._serve(self._app)
        if self.state.ready_every_s > 0 and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="central-sim-ready", daemon=True)
            self._ticker.start()
        return self

    def _tick(self) -> None:
        """Central's officers finishing dossiers: one becomes ready every `ready_every_s`."""
        while not self._ticking.wait(self.state.ready_every_s):
            row = self.state.make_ready()
            if row is not None:
                log.info("dossier %s is ready for collection", row["dossierNo"])

    def stop(self) -> None:
        self._ticking.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        self._ticking.clear()
        if self._app is not None:
            self._app.config["stopped"] = True
        self._close()


@contextmanager
def running(state: SimState | None = None, **kwargs: Any) -> Iterator[SimServer]:
    server = SimServer(state, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motcua central-sim", description="A simulated central one-door dossier system (OpenCPS subset)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same dossiers")
    parser.add_argument("--dossiers", type=int, default=240, help="how many dossiers (≥ 13 for every status)")
    parser.add_argument("--extra-procedures", type=int, default=0, help="catalogue variants to add")
    parser.add_argument("--group-id", help="require this groupId header")
    parser.add_argument("--username", help="require HTTP Basic authentication")
    parser.add_argument("--password")
    parser.add_argument("--webhook-secret", help="check X-Motcua-Signature on /webhook/events")
    parser.add_argument("--journal", type=Path, help="append received events here and reload them at start")
    parser.add_argument(
        "--ready-every",
        type=float,
        default=0.0,
        metavar="S",
        help="a dossier in processing becomes ready for collection every S seconds (0: never)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    from appliance.logs import setup_logging

    setup_logging(args.verbose)
    if (args.username is None) != (args.password is None):
        print("central-sim: --username and --password go together", file=sys.stderr)
        return 2
    state = SimState(
        seed=args.seed,
        dossier_count=max(13, args.dossiers),
        extra_procedures=max(0, args.extra_procedures),
        group_id=args.group_id,
        username=args.username,
        password=args.password,
        webhook_secret=args.webhook_secret,
        journal=args.journal,
        ready_every_s=max(0.0, args.ready_every),
    )
    server = SimServer(state, host=args.host, port=args.port)

    def ready() -> str:
        return (
            f"Central simulator ready: {server.url}{API} — {len(state.dossiers)} dossiers, "
            f"{len(state.procedures)} procedures, {len(state.received)} events already received"
        )

    code = server.serve_until_signalled("central-sim", ready)
    state.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
