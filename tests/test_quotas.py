"""The RPC quotas themselves (hub.fleet.quotas, pure): bursts, refill, a role's shared bucket, what
counts as flooding, how many refusals are answered, and the `[[fleet.quotas]]` settings."""

from __future__ import annotations

import pytest

from appliance.config import ConfigError
from hub.fleet.quotas import DEFAULT_RULES, QuotaRule, Quotas
from hub.fleet.settings import load_fleet_settings


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_kiosk_issues_its_burst_then_at_a_human_pace() -> None:
    clock = Clock()
    quotas = Quotas(DEFAULT_RULES, clock=clock)
    assert all(quotas.check("kiosk-1", "kiosk", "ticket.issue") is None for _ in range(10))
    refused = quotas.check("kiosk-1", "kiosk", "ticket.issue")
    assert refused is not None and refused.code == "rate_limited" and refused.answer
    assert 9 < refused.retry_after_s <= 10  # 6 a minute
    assert quotas.check("kiosk-1", "kiosk", "procedure.search") is None  # its own bucket
    assert quotas.check("kiosk-2", "kiosk", "ticket.issue") is None  # another kiosk is not punished
    clock.t += 10
    assert quotas.check("kiosk-1", "kiosk", "ticket.issue") is None
    assert quotas.check("kiosk-1", "kiosk", "ticket.issue") is not None


def test_all_kiosks_together_share_a_role_bucket_and_a_refused_one_spends_none_of_it() -> None:
    rules = (
        QuotaRule(role="kiosk", methods=("ticket.issue",), per_minute=60, burst=3),
        QuotaRule(role="kiosk", methods=("ticket.issue",), per_minute=60, burst=4, scope="role"),
    )
    quotas = Quotas(rules, clock=Clock())
    assert [quotas.check("a", "kiosk", "ticket.issue") for _ in range(3)] == [None] * 3
    assert quotas.check("a", "kiosk", "ticket.issue") is not None  # its own bucket is empty...
    assert quotas.check("b", "kiosk", "ticket.issue") is None  # ...and took nothing shared
    assert quotas.check("c", "kiosk", "ticket.issue") is not None  # the role's 4 are gone


def test_a_flood_is_named_answered_twice_a_second_and_forgotten_later() -> None:
    clock = Clock()
    quotas = Quotas(DEFAULT_RULES, clock=clock)
    for _ in range(10):
        quotas.check("kiosk-1", "kiosk", "ticket.issue")
    verdicts = [quotas.check("kiosk-1", "kiosk", "ticket.issue") for _ in range(100)]
    assert all(v is not None for v in verdicts)
    assert sum(v.answer for v in verdicts if v) == 4  # a burst of answers, then silence
    assert [v.started_flooding for v in verdicts if v].count(True) == 1
    [offender] = quotas.flooding()
    assert (offender.device_id, offender.refused, offender.last_method) == ("kiosk-1", 100, "ticket.issue")
    clock.t += 3600
    assert quotas.flooding() == []
    quotas.forget(["kiosk-1"])
    assert quotas.check("kiosk-1", "kiosk", "ticket.issue") is None


def test_a_person_pressing_too_often_is_refused_but_not_called_a_flood() -> None:
    clock = Clock()
    quotas = Quotas(DEFAULT_RULES, clock=clock)
    for _ in range(40):
        quotas.check("kiosk-1", "kiosk", "ticket.issue")
        clock.t += 1.0
    assert quotas.flooding() == []


def test_site_rules_come_first_and_bad_ones_are_named() -> None:
    settings = load_fleet_settings(
        {"quotas": [{"role": "kiosk", "methods": ["ticket.issue"], "per_minute": 20, "burst": 30}]}
    )
    assert settings.quota_rules[0].burst == 30 and settings.quota_rules[1:] == DEFAULT_RULES
    quotas = Quotas(settings.quota_rules, clock=Clock())
    assert all(quotas.check("k", "kiosk", "ticket.issue") is None for _ in range(30))
    with pytest.raises(ConfigError, match="burst"):
        load_fleet_settings({"quotas": [{"role": "kiosk", "per_minute": 6, "burst": 0}]})
