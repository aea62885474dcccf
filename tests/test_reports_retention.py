"""Retention: a real hub database with an old and a recent result-return ticket linked to dossiers;
the purge removes the old dossier code (ticket, events, links, cached applicant) and keeps the
recent one, and the old day's report figures are the same after the purge."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from appliance.timeutil import SITE_TZ
from hub.central.lookup import SCHEMA as CACHE_SCHEMA
from hub.reports import Period, build, dossier_ratings, rating_links
from hub.reports.retention import purge
from hub.service import QueueService
from hub.site import HubConfig
from hub.store import connect
from tests.support.hub import site_config

OLD = date(2026, 1, 5)
RECENT = date(2026, 4, 6)
TODAY = date(2026, 4, 10)


def test_old_personal_data_goes_and_the_figures_stay(tmp_path: Path) -> None:
    site = HubConfig.model_validate(site_config(tmp_path, 1883))
    moment = [datetime(2026, 1, 5, 8, 0, tzinfo=SITE_TZ)]
    # A synchronised clock driven by hand; the months between the two days are confirmed by an
    # administrator (a jump over many rollovers is never applied blindly).
    service = QueueService(site, tmp_path / "hub.db", clock=lambda: moment[0], synchronised=lambda: True)
    try:
        for day, code in ((OLD, "000.00.01.H12-260105-0001"), (RECENT, "000.00.01.H12-260406-0002")):
            moment[0] = datetime(day.year, day.month, day.day, 8, 0, tzinfo=SITE_TZ)
            if day != OLD:
                service.confirm_day("admin", "vi")
            service.call(
                "ticket.issue", {"service_id": "tra-ket-qua", "dossier_code": code}, caller_id="kiosk-1"
            )
            moment[0] += timedelta(minutes=7)
            service.call("counter.call_next", {"counter_id": "6"}, caller_id="web:canbo5")
            moment[0] += timedelta(minutes=3)
            service.call("counter.complete", {"counter_id": "6"}, caller_id="web:canbo5")
    finally:
        service.close()
    conn = connect(tmp_path / "hub.db")
    conn.execute(CACHE_SCHEMA)
    conn.execute(
        "INSERT INTO central_dossier_cache VALUES (?, 1, ?, ?)",
        (
            "000.00.01.H12-260105-0001",
            json.dumps({"applicant_phone": "0912345678"}),
            "2026-01-05T08:01:00+07:00",
        ),
    )
    # The short rating links printed on the two days' receipts, and the counter's links of the
    # tickets to their dossiers (for the rating device).
    dossier_ratings.ensure_schema(conn)
    for day, code in ((OLD, "000.00.01.H12-260105-0001"), (RECENT, "000.00.01.H12-260406-0002")):
        at = datetime(day.year, day.month, day.day, 8, 5, tzinfo=SITE_TZ)
        rating_links.make(conn, secret=b"k", base_url="http://hub", code=code, now=at)
        dossier_ratings.link(conn, counter_id="6", ticket_id=f"t-{day}", code=code, officer="canbo5", now=at)
    before = build(conn, site, Period(OLD, OLD), "service", today=TODAY).to_json()

    done = purge(conn, site, days=90, today=TODAY)

    assert done.before == date(2026, 1, 10) and done.tickets == 1 and done.other_rows == 3
    codes = dict(conn.execute("SELECT service_day, dossier_code FROM tickets"))
    assert codes == {OLD.isoformat(): None, RECENT.isoformat(): "000.00.01.H12-260406-0002"}
    payloads = "".join(row[0] for row in conn.execute("SELECT payload FROM events"))
    assert "260105-0001" not in payloads and "260406-0002" in payloads
    assert conn.execute("SELECT COUNT(*) FROM central_dossier_cache").fetchone()[0] == 0
    assert [row[0] for row in conn.execute("SELECT dossier_code FROM rating_links")] == [
        "000.00.01.H12-260406-0002"
    ]
    assert [row[0] for row in conn.execute("SELECT dossier_code FROM dossier_links")] == [
        "000.00.01.H12-260406-0002"
    ]
    after = build(conn, site, Period(OLD, OLD), "service", today=TODAY).to_json()
    assert after == before and after["total"]["served"] == 1
    assert purge(conn, site, days=90, today=TODAY).tickets == 0  # idempotent
    conn.close()
