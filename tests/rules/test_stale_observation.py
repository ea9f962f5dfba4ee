"""stale-observation (DA007): pass / fail table, the threshold and
last_seen parsing, on hand-built fleets. Its runs on SQLite and MariaDB are
in test_stale_observation_cli.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from decnet_audit.rules.stale_observation import StaleObservation, parse_utc
from kit.build import bare, fleet, labelled, row
from kit.cases import Case, ids, run_case

NOW = datetime(2026, 1, 2, 12, 0, 0)

CASES = [
    Case("seen-a-minute-ago-passes", fleet([], [row("a", last_seen=NOW - timedelta(minutes=1))]),
         subjects=["a"]),
    Case("seen-an-hour-ago", fleet([], [row("a", last_seen=NOW - timedelta(hours=1))]),
         findings=[("a", "last_seen")], fixes=[[]]),
    Case("never-seen-while-running", fleet([], [row("a")], [labelled("a", "ssh")]),
         findings=[("a", "last_seen")]),
    Case("never-seen-nothing-runs", fleet([], [row("a")], [])),
    Case("not-a-datetime", fleet([], [row("a", last_seen="yesterday")]),
         findings=[("a", "last_seen")]),
    Case("another-hosts-row-is-not-checked",
         fleet([], [row("a", host="peer", last_seen=NOW - timedelta(days=3))]), subjects=[]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_stale_observation(case):
    found = run_case(StaleObservation(now=lambda: NOW), case)
    assert not any(f.fixable for f in found), "report only"


@pytest.mark.parametrize("value, expect", [
    (datetime(2026, 1, 2, 11, 0), datetime(2026, 1, 2, 11, 0)),
    ("2026-01-02 11:00:00", datetime(2026, 1, 2, 11, 0)),
    ("2026-01-02 11:00:00.250000", datetime(2026, 1, 2, 11, 0, 0, 250000)),
    ("2026-01-02T13:00:00+02:00", datetime(2026, 1, 2, 11, 0)),
    ("yesterday", None),
    (17, None),
])
def test_last_seen_is_read_from_what_either_driver_returns(value, expect):
    assert parse_utc(value) == expect


def test_stale_threshold_is_configurable_and_validated():
    rows = [row("fresh", last_seen=NOW - timedelta(minutes=9)),
            row("old", last_seen=NOW - timedelta(minutes=11)),
            row("future", last_seen=NOW + timedelta(hours=1)),
            row("peer-old", host="peer-1", last_seen=NOW - timedelta(days=3))]
    f = fleet(rows=rows, containers=None)
    assert [x.decky for x in StaleObservation(now=lambda: NOW).check(f)] == ["old"]
    assert StaleObservation.max_age_minutes == 10
    assert list(StaleObservation(max_age_minutes=12, now=lambda: NOW).check(f)) == []
    with pytest.raises(ValueError, match="positive"):
        StaleObservation(max_age_minutes=0)


def test_null_last_seen_is_stale_only_while_a_container_runs():
    f = fleet(
        rows=[row("runs"), row("exited"), row("absent"), row("base-only")],
        containers=[labelled("runs", "ssh"), labelled("exited", "ssh", "exited"),
                    bare("base-only")],
    )
    found = list(StaleObservation(now=lambda: NOW).check(f))
    assert {x.decky for x in found} == {"runs", "base-only"}
    unobserved = fleet(rows=[row("runs")], containers=None)
    assert list(StaleObservation(now=lambda: NOW).check(unobserved)) == []
