"""The province ingest's inbox (province/inbox.py): a site that comes back after an hour offline
sends its whole backlog at once; the other sites' live events go into the next batch anyway instead
of waiting behind it, and each site's events keep their order."""

from __future__ import annotations

from province.inbox import FairInbox


def test_live_events_of_other_sites_are_not_held_up_by_one_sites_backlog() -> None:
    inbox: FairInbox[tuple[str, int]] = FairInbox()
    for seq in range(1, 4321):  # an hour of s000's events, all at once
        inbox.put("s000", ("s000", seq))
    for site in ("s001", "s002", "s003"):  # then a live event from each of three other sites
        inbox.put(site, (site, 1))
    first = inbox.take(500, 0)
    assert first is not None and len(first) == 500
    assert {("s001", 1), ("s002", 1), ("s003", 1)} <= set(first)
    drained: list[tuple[str, int]] = list(first)
    while len(inbox):
        batch = inbox.take(500, 0)
        assert batch is not None
        drained += batch
    assert [seq for site, seq in drained if site == "s000"] == list(range(1, 4321))
    inbox.close()
    assert inbox.take(500, 0) is None
