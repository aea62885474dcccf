"""A seeded, realistic year of a district one-stop shop written into a hub database.

The tickets go through the real queue engine (hub.engine) and the real store (hub.store), so the
history has exactly the shape a running hub leaves: tickets, events, ratings and who called. Morning
peaks, a lunch break, no-shows (some come back), transfers, citizens who give up, ratings.

    python -m hub.reports.generate --db /tmp/year.db --config /tmp/year.toml --days 365
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time as wallclock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from heapq import heappop, heappush
from pathlib import Path
from typing import Any

from appliance.i18n import PRIORITY_GROUPS
from appliance.timeutil import SITE_TZ, iso

from ..engine import Change, QueueEngine, QueueError
from ..site import HubConfig
from ..store import Store
from . import history

# id, name, English name, mean service minutes, share of arrivals, target wait minutes
SERVICES: list[tuple[str, str, str, float, float, int]] = [
    ("dat-dai", "Đất đai", "Land", 9, 0.15, 30),
    ("ho-tich", "Hộ tịch", "Civil status", 6, 0.15, 20),
    ("chung-thuc", "Chứng thực", "Certification", 3, 0.18, 15),
    ("xay-dung", "Xây dựng", "Construction", 10, 0.05, 30),
    ("kinh-doanh", "Đăng ký kinh doanh", "Business registration", 8, 0.07, 30),
    ("lao-dong", "Lao động – Thương binh và Xã hội", "Labour and social affairs", 7, 0.07, 30),
    ("tu-phap", "Tư pháp", "Justice", 6, 0.05, 30),
    ("tai-nguyen", "Tài nguyên – Môi trường", "Natural resources", 8, 0.03, 30),
    ("giao-duc", "Giáo dục – Đào tạo", "Education", 5, 0.04, 30),
    ("y-te", "Y tế", "Health", 5, 0.04, 30),
    ("cong-thuong", "Công thương", "Industry and trade", 7, 0.04, 30),
    ("tra-ket-qua", "Trả kết quả", "Results", 2, 0.10, 10),
]
# counter id → services it serves (busy services have several counters)
COUNTERS: dict[str, list[str]] = {
    "1": ["dat-dai"], "2": ["dat-dai"], "3": ["dat-dai"], "4": ["dat-dai", "tai-nguyen"],
    "5": ["ho-tich"], "6": ["ho-tich"], "7": ["ho-tich", "tu-phap"], "8": ["chung-thuc"],
    "9": ["chung-thuc"], "10": ["chung-thuc", "tu-phap"], "11": ["xay-dung"],
    "12": ["xay-dung", "tai-nguyen"], "13": ["kinh-doanh"], "14": ["kinh-doanh", "cong-thuong"],
    "15": ["lao-dong"], "16": ["lao-dong", "y-te"], "17": ["giao-duc", "y-te"],
    "18": ["cong-thuong", "giao-duc"], "19": ["tra-ket-qua"], "20": ["tra-ket-qua"],
}  # fmt: skip
# Counters whose officers use the web console (caller web:USER); the others an LED keypad.
WEB_COUNTERS = frozenset(str(i) for i in range(1, 16))
OFFICER_NAMES = (
    "Nguyễn Thị Lan", "Trần Văn Minh", "Lê Hoàng Phúc", "Phạm Thu Hà", "Hoàng Văn Nam", "Vũ Thị Mai",
    "Đặng Quốc Bảo", "Bùi Thị Hương", "Đỗ Minh Tuấn", "Hồ Thị Thảo", "Ngô Văn Hùng", "Dương Thị Yến",
    "Lý Văn Đức", "Mai Thị Ngọc", "Trịnh Văn Long", "Phan Thị Hồng", "Võ Văn Tài", "Đinh Thị Nga",
    "Tạ Văn Sơn", "Lưu Thị Bích",
)  # fmt: skip
PERIODS = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))
SATURDAY = ((time(7, 30), time(11, 30)),)
# Relative arrival intensity by half hour from 07:30 (morning peak 08:00–09:30, a smaller one at 14:00).
MORNING = (1.0, 2.2, 2.6, 2.4, 1.8, 1.3, 1.0, 0.6)
AFTERNOON = (0.8, 1.2, 1.3, 1.1, 0.9, 0.7, 0.5, 0.3)

NO_SHOW = 0.06
COME_BACK = 0.25  # of no-shows, reinstated a little later
TRANSFER = 0.03
GIVE_UP_AFTER_S = 50 * 60
GIVE_UP = 0.25  # of those still waiting after GIVE_UP_AFTER_S
RATED = 0.35
PRIORITY = 0.07


def year_site(*, site: str = "year", db: str = "/tmp/motcua-year.db", mqtt_port: int = 1883,
              http_port: int = 8080) -> dict[str, Any]:  # fmt: skip
    """The site configuration (TOML as a dict) the generated year belongs to."""
    services = [
        {"id": sid, "name": name, "name_en": en, "first": 1001 + i * 1000, "last": 1999 + i * 1000,
         "digits": 4 if i < 8 else 5, "default_service_minutes": minutes, "target_wait_minutes": target}
        for i, (sid, name, en, minutes, _, target) in enumerate(SERVICES)
    ]  # fmt: skip
    counters = [{"id": cid, "name": f"Quầy {cid}", "services": served} for cid, served in COUNTERS.items()]
    officers: list[dict[str, Any]] = [
        {"username": "admin", "name": "Quản trị viên", "admin": True},
        {"username": "truongbp", "name": "Trưởng bộ phận Một cửa", "head": True},
    ]
    officers += [
        {"username": f"canbo{cid}", "name": OFFICER_NAMES[int(cid) - 1], "counters": [cid]}
        for cid in COUNTERS
    ]
    return {
        "device_id": "hub",
        "site": site,
        "role": "hub",
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "hub": {
            "db": db,
            "http_host": "127.0.0.1",
            "http_port": http_port,
            "public_url": f"http://127.0.0.1:{http_port}",
            # A generated site on this machine's loopback (tests, benchmarks): plain HTTP.
            "https": False,
        },
        "place": {
            "name": "Bộ phận Một cửa UBND huyện Long Thành",
            "day_rollover": "03:00",
            "rating_scale": 3,
        },
        "opening_hours": {"days": ["mon", "tue", "wed", "thu", "fri", "sat"]},
        "services": services,
        "counters": counters,
        "officers": officers,
    }


@dataclass
class _Writer:
    """Persists engine changes the way QueueService._apply_change does (one transaction a day)."""

    store: Store
    engine: QueueEngine
    scale: int
    seq: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def apply(
        self, change: Change, caller_id: str, *, rating: bool = False, now: datetime | None = None
    ) -> None:
        assert self.engine.service_day is not None
        self.store.write_change(change, self.engine.service_day)
        drafts = []
        for draft in change.events:
            self.seq += 1
            event: dict[str, Any] = {
                "v": 1, "type": draft.type, "seq": self.seq, "ts": iso(draft.ts),
                "ticket": self.engine.describe(draft.ticket) if draft.ticket else None,
                "counter_id": draft.counter_id,
            }  # fmt: skip
            event.update(draft.extra)
            drafts.append(event)
            self.counts[draft.type] = self.counts.get(draft.type, 0) + 1
        self.store.write_events(drafts)
        history.record_callers(self.store.conn, drafts, caller_id)
        if rating and now is not None:
            self.store.write_rating(change.result, self.scale, now, caller_id)


def _arrival_times(rng: random.Random, day: date, count: int) -> list[datetime]:
    slots: list[tuple[datetime, float]] = []
    periods = SATURDAY if day.weekday() == 5 else PERIODS
    for (start, _), weights in zip(periods, (MORNING, AFTERNOON), strict=False):
        first = datetime.combine(day, start, SITE_TZ)
        slots += [(first + timedelta(minutes=30 * i), w) for i, w in enumerate(weights)]
    picks = rng.choices([s for s, _ in slots], weights=[w for _, w in slots], k=count)
    return sorted(p + timedelta(seconds=rng.uniform(0, 1800)) for p in picks)


def _service_seconds(rng: random.Random, minutes: float) -> float:
    # Log-normal: most are quick, a few dossiers take long.
    return max(30.0, rng.lognormvariate(math.log(minutes * 60) - 0.18, 0.6))


def simulate_day(writer: _Writer, rng: random.Random, day: date, tickets: int) -> None:
    engine = writer.engine
    periods = SATURDAY if day.weekday() == 5 else PERIODS
    opens = datetime.combine(day, periods[0][0], SITE_TZ)
    closes = datetime.combine(day, periods[-1][1], SITE_TZ)
    lunch = (datetime.combine(day, PERIODS[0][1], SITE_TZ), datetime.combine(day, PERIODS[1][0], SITE_TZ))
    # The hub opens each service day explicitly (its day rules); the engine never rolls by itself.
    writer.apply(engine.roll(opens - timedelta(hours=1), day), "hub")
    service_ids = [s[0] for s in SERVICES]
    shares = [s[4] for s in SERVICES]
    minutes = {s[0]: s[3] for s in SERVICES}
    callers = {c: f"web:canbo{c}" if c in WEB_COUNTERS else f"led-{c}" for c in COUNTERS}

    for counter_id in COUNTERS:
        writer.apply(engine.set_open(counter_id, True, now=opens - timedelta(minutes=2)), callers[counter_id])

    heap: list[tuple[datetime, int, str, str]] = []
    n = 0

    def push(moment: datetime, kind: str, ref: str) -> None:
        nonlocal n
        n += 1
        heappush(heap, (moment, n, kind, ref))

    for moment in _arrival_times(rng, day, tickets):
        push(moment, "arrive", rng.choices(service_ids, weights=shares)[0])
    idle = set(COUNTERS)
    for counter_id in COUNTERS:
        push(opens + timedelta(seconds=rng.uniform(0, 240)), "free", counter_id)
        idle.discard(counter_id)

    while heap:
        moment, _, kind, ref = heappop(heap)
        if kind == "arrive":
            priority = rng.random() < PRIORITY
            group = rng.choice(list(PRIORITY_GROUPS)) if priority and rng.random() < 0.9 else None
            token = f"{rng.getrandbits(96):024x}"
            try:
                change = engine.issue(ref, now=moment, token=token, priority=priority, priority_group=group,
                                      issued_by="kiosk-1")  # fmt: skip
            except QueueError:
                continue
            writer.apply(change, "kiosk-1")
            if rng.random() < 0.5:
                push(moment + timedelta(seconds=GIVE_UP_AFTER_S), "give_up", change.result.id)
            for counter_id in sorted(idle):
                if ref in COUNTERS[counter_id]:
                    idle.discard(counter_id)
                    push(moment + timedelta(seconds=rng.uniform(5, 40)), "free", counter_id)
                    break
        elif kind == "free":
            counter_id = ref
            if lunch[0] <= moment < lunch[1]:
                push(lunch[1] + timedelta(seconds=rng.uniform(0, 300)), "free", counter_id)
                continue
            if moment >= closes:
                continue
            try:
                change = engine.call_next(
                    counter_id,
                    now=moment,
                )
            except QueueError:
                idle.add(counter_id)
                continue
            writer.apply(change, callers[counter_id])
            ticket = change.result
            if rng.random() < NO_SHOW:
                writer.apply(
                    engine.recall(counter_id, now=moment + timedelta(seconds=60)), callers[counter_id]
                )
                writer.apply(
                    engine.skip(counter_id, now=moment + timedelta(seconds=120)), callers[counter_id]
                )
                if rng.random() < COME_BACK:
                    push(moment + timedelta(minutes=rng.uniform(5, 30)), "back", ticket.id)
                push(moment + timedelta(seconds=125), "free", counter_id)
                continue
            started = moment + timedelta(seconds=rng.uniform(15, 60))
            writer.apply(engine.start(counter_id, now=started), callers[counter_id])
            done = started + timedelta(seconds=_service_seconds(rng, minutes[ticket.service_id]))
            others = [s for s in service_ids if s != ticket.service_id]
            if rng.random() < TRANSFER and ticket.original_service_id is None:
                push(done, "transfer", f"{counter_id}|{rng.choice(others)}")
            else:
                push(done, "complete", counter_id)
        elif kind == "complete":
            change = engine.complete(ref, now=moment)
            writer.apply(change, callers[ref])
            if rng.random() < RATED:
                score = rng.choices((3, 2, 1), weights=(0.72, 0.22, 0.06))[0]
                rated = moment + timedelta(seconds=10)
                rating = engine.rate(change.result.id, score, low=1, high=writer.scale, now=rated)
                writer.apply(rating, "rating-" + ref, rating=True, now=rated)
            push(moment + timedelta(seconds=rng.uniform(5, 30)), "free", ref)
        elif kind == "transfer":
            counter_id, target = ref.split("|")
            writer.apply(engine.transfer(counter_id, target, now=moment), callers[counter_id])
            for other in sorted(idle):
                if target in COUNTERS[other]:
                    idle.discard(other)
                    push(moment + timedelta(seconds=20), "free", other)
                    break
            push(moment + timedelta(seconds=rng.uniform(5, 30)), "free", counter_id)
        elif kind == "back":
            if moment < closes and engine.tickets[ref].status == "skipped":
                writer.apply(engine.reinstate(ref, now=moment), "kiosk-1")
        elif kind == "give_up":
            ticket = engine.tickets.get(ref)
            if ticket is not None and ticket.status == "waiting" and rng.random() < GIVE_UP:
                writer.apply(engine.cancel(ref, now=moment), "kiosk-1")

    # Closing time: whoever is still waiting is sent home (their tickets are cancelled).
    end = closes + timedelta(minutes=5)
    for ticket in list(engine.tickets.values()):
        if ticket.status in ("called", "serving") and ticket.counter_id:
            writer.apply(engine.complete(ticket.counter_id, now=end), callers[ticket.counter_id])
    for ticket in list(engine.tickets.values()):
        if ticket.status in ("waiting", "skipped"):
            writer.apply(engine.cancel(ticket.id, now=end), "hub")
    for counter_id in COUNTERS:
        writer.apply(engine.set_open(counter_id, False, now=end + timedelta(minutes=1)), callers[counter_id])


def generate(
    db_path: str | Path,
    site: HubConfig,
    *,
    start: date,
    days: int,
    seed: int = 16,
    per_day: int = 1100,
) -> dict[str, int]:
    """Write `days` days from `start` (Sundays closed, Saturdays a morning) into `db_path`."""
    rng = random.Random(seed)
    store = Store(db_path)
    history.ensure_schema(store.conn)
    engine = QueueEngine(site.service_specs(), site.counter_specs(), rollover=site.place.rollover_time)
    last_seq = store.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    writer = _Writer(store, engine, site.place.rating_scale, seq=last_seq)
    issued = 0
    try:
        for offset in range(days):
            day = start + timedelta(days=offset)
            if day.weekday() == 6:
                continue
            volume = per_day // 2 if day.weekday() == 5 else per_day
            volume = max(1, round(volume * rng.uniform(0.85, 1.15)))
            with store.transaction():
                simulate_day(writer, rng, day, volume)
            issued += len(engine.tickets)
    finally:
        store.close()
    return {"tickets": issued, **writer.counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a realistic year of hub history.")
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--config", type=Path, help="write the matching site TOML here")
    parser.add_argument("--start", default="2025-01-01")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=1100)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    import tomli_w

    raw = year_site(db=str(args.db))
    if args.config:
        args.config.write_text(tomli_w.dumps(raw), encoding="utf-8")
    started = wallclock.perf_counter()
    counts = generate(args.db, HubConfig.model_validate(raw), start=date.fromisoformat(args.start),
                      days=args.days, seed=args.seed, per_day=args.per_day)  # fmt: skip
    counts["seconds"] = round(wallclock.perf_counter() - started)
    json.dump(counts, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
