"""How the hub lays a province template over its live site (hub.admin.province, pure): what each
kind sets, what the site's own rules refuse, which fields stay locked, and an overridden field
kept when the next template of its kind comes."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.admin import edits
from hub.admin import province as rules
from hub.site import load_hub_config
from tests.support.hub import SAMPLE

SITE = load_hub_config(SAMPLE)


def _in_force(kind: str, found: dict, overridable: list[str]) -> list[dict]:
    return [
        {
            "kind": kind,
            "name": "Mẫu",
            "fields": [[list(p), v] for p, v in found.items()],
            "overridable": overridable,
        }
    ]


def test_each_kind_sets_what_it_names_and_the_site_rules_refuse_the_rest() -> None:
    holidays = rules.fields("holidays", [{"date": "2026-09-02", "name": "Quốc khánh"}], SITE)
    site = rules.lay_over(SITE, holidays, [], None)
    assert not site.opening_hours.is_open(datetime(2026, 9, 2, 9, 0))
    assert "Quốc khánh" in site.opening_hours.describe(datetime(2026, 9, 2, 9, 0))
    every = rules.fields("priority_rules", {"*": {"priority_rule": "interleave"}}, SITE)
    assert {s.priority_rule for s in rules.lay_over(SITE, every, [], None).services} == {"interleave"}
    with pytest.raises(rules.TemplateRefused) as refused:
        rules.fields("number_formats", {"khong-co": {"prefix": "K"}}, SITE)
    assert refused.value.key == "province_template_no_service"
    clash = rules.fields("number_formats", {"ho-tich": {"first": 1001, "last": 1500}}, SITE)
    with pytest.raises(rules.TemplateRefused) as refused:
        rules.lay_over(SITE, clash, [], None)
    assert (
        refused.value.key == "province_template_conflict" and "overlapping" in refused.value.values["detail"]
    )
    with pytest.raises(rules.TemplateRefused) as refused:
        rules.fields("rating_criteria", [], SITE)
    assert refused.value.key == "province_template_invalid"


def test_locked_fields_stay_and_an_overridden_one_is_the_sites() -> None:
    body = [{"id": "dat-dai", "name": "Đất đai – Nhà ở", "target_wait_minutes": 25}]
    found = rules.fields("service_catalogue", body, SITE)
    site = rules.lay_over(SITE, found, ["target_wait_minutes"], None)
    in_force = _in_force("service_catalogue", found, ["target_wait_minutes"])
    renamed, _, _ = edits.update(site, "services", "dat-dai", {"name": "Đất đai (xã)"})
    with pytest.raises(rules.TemplateRefused) as refused:
        rules.guard(in_force, site, renamed)
    assert refused.value.values == {"field": "services/dat-dai/name", "template": "Mẫu"}
    longer, _, _ = edits.update(site, "services", "dat-dai", {"target_wait_minutes": 40})
    rules.guard(in_force, site, longer)  # allowed
    again = rules.fields(
        "service_catalogue", [{**body[0], "name": "Đất đai", "target_wait_minutes": 15}], SITE
    )
    after = rules.lay_over(
        longer, again, ["target_wait_minutes"], rules.previous_fields(in_force, "service_catalogue")
    )
    dat_dai = next(s for s in after.services if s.id == "dat-dai")
    assert (dat_dai.name, dat_dai.target_wait_minutes) == ("Đất đai", 40)
