"""json-only (DA001): pass / fail / fix table on hand-built fleets. Its runs
through the CLI are in test_every_rule_cli.py and tests/fix/."""

from __future__ import annotations

import json

import pytest

from decnet_audit.rules.json_only import JsonOnly
from kit.build import decky, fleet, labelled, row
from kit.cases import Case, ids, run_case

CASES = [
    Case("decky-with-its-row-passes", fleet([decky("a")], [row("a")]), subjects=["a"]),
    Case("decky-without-a-row",
         fleet([decky("a")], [], [labelled("a", "ssh")]), findings=[("a", None)],
         fixes=[[("insert", "a", {"services": '["ssh"]', "decky_ip": decky("a").ip,
                                  "state": "running"})]]),
    Case("a-peer-row-is-not-this-hosts",
         fleet([decky("a")], [row("a", host="peer")], [labelled("a", "ssh", "exited")]),
         findings=[("a", None)], fixes=[[("insert", "a", {"state": "failed"})]]),
    Case("state-from-docker-torn-down", fleet([decky("a")], [], []),
         findings=[("a", None)], fixes=[[("insert", "a", {"state": "torn_down"})]]),
    # The engine refuses this one (fix_needs DOCKER); the rule cannot know a state.
    Case("docker-not-read-no-state", fleet([decky("a")], [], None),
         findings=[("a", None)], fixes=[[("insert", "a", {"state": None})]]),
    Case("another-hosts-entry-is-not-checked", fleet([decky("p", host="peer")], []),
         subjects=[]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_json_only(case):
    run_case(JsonOnly(), case)


def test_inserted_row_carries_the_state_file_entry():
    f = fleet([decky("a", ("ssh", "smtp_relay"))], [], [labelled("a", "ssh")])
    (finding,) = JsonOnly().check(f)
    (change,) = JsonOnly().fix(finding, f)
    assert json.loads(change.values["decky_config"]) == f.local_deckies["a"].config
    assert json.loads(change.values["services"]) == ["ssh", "smtp_relay"]
    assert change.values["state"] == "degraded"  # one of two services runs
