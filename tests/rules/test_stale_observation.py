"""stale-observation (DA007): pass / fail table, the threshold and time
parsing, on hand-built fleets. Its runs on SQLite and MariaDB are in
test_stale_observation_cli.py; with DECNET's own reconciler in
tests/conformance/."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from decnet_audit.model import DB, DOCKER, STATE
from decnet_audit.rules.stale_observation import StaleObservation, parse_utc
from kit.build import decky, fleet, labelled, row
from kit.cases import Case, ids, run_case

NOW = datetime(2026, 1, 2, 12, 0, 0)
LONG_AGO = (NOW - timedelta(minutes=11)).isoformat() + ".5Z"  # Docker's form
RECENT = (NOW - timedelta(minutes=9)).isoformat() + "Z"
OLD_ROW = {"updated_at": NOW - timedelta(hours=5)}


def dead(name, finished, state="exited"):
    return replace(labelled(name, "ssh", state), finished_at=finished)


CASES = [
    Case("died-long-ago-behind-a-running-row",
         fleet([decky("a")], [row("a", **OLD_ROW)], [dead("a", LONG_AGO)]),
         findings=[("a", "state")], fixes=[[]]),
    Case("died-recently", fleet([decky("a")], [row("a", **OLD_ROW)], [dead("a", RECENT)])),
    Case("row-written-since-it-died",
         fleet([decky("a")], [row("a", updated_at=NOW - timedelta(minutes=2))],
               [dead("a", LONG_AGO)])),
    Case("row-already-says-failed",
         fleet([decky("a")], [row("a", "failed", **OLD_ROW)], [dead("a", LONG_AGO)])),
    Case("never-ran", fleet([decky("a")], [row("a", **OLD_ROW)],
                            [dead("a", "0001-01-01T00:00:00Z", "created")])),
    Case("finish-time-unknown", fleet([decky("a")], [row("a", **OLD_ROW)], [dead("a", None)])),
    Case("container-removed", fleet([decky("a")], [row("a", **OLD_ROW)], [])),
    # DECNET writes last_seen only on a state change: NULL or days old on a
    # healthy row is what DECNET leaves there, never a finding.
    Case("healthy-last-seen-null", fleet([decky("a")], [row("a", **OLD_ROW)],
                                         [labelled("a", "ssh")])),
    Case("healthy-last-seen-days-old",
         fleet([decky("a")], [row("a", last_seen=NOW - timedelta(days=3), **OLD_ROW)],
               [labelled("a", "ssh")])),
    Case("not-in-the-state-file", fleet([], [row("a", **OLD_ROW)], [dead("a", LONG_AGO)])),
    Case("another-hosts-row-is-not-checked",
         fleet([decky("a", host="peer")], [row("a", host="peer", **OLD_ROW)],
               [dead("a", LONG_AGO)]), subjects=[]),
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
    # Docker's State.FinishedAt: nanoseconds and Z
    ("2026-01-02T11:00:00.123456789Z", datetime(2026, 1, 2, 11, 0, 0, 123456)),
    ("2026-01-02T11:00:00Z", datetime(2026, 1, 2, 11, 0)),
    ("yesterday", None),
    (17, None),
])
def test_times_are_read_from_what_either_driver_and_docker_return(value, expect):
    assert parse_utc(value) == expect


def test_it_needs_docker_the_rows_and_the_state_file():
    # Without Docker there is no claim to make: the engine reports an error.
    assert set(StaleObservation.needs) == {STATE, DB, DOCKER}


def test_the_message_says_since_when_and_the_threshold_is_configurable():
    f = fleet([decky("a")], [row("a", **OLD_ROW)], [dead("a", LONG_AGO)])
    found = list(StaleObservation(now=lambda: NOW).check(f))
    assert "has been exited since 2026-01-02 11:49:00 UTC (11 min ago" in found[0].message
    assert "ticking every 30 s, would have changed the state by now" in found[0].message
    assert StaleObservation.max_age_minutes == 10
    assert list(StaleObservation(max_age_minutes=12, now=lambda: NOW).check(f)) == []
    with pytest.raises(ValueError, match="positive"):
        StaleObservation(max_age_minutes=0)
