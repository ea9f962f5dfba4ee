"""docker-mismatch (DA003): pass / fail / fix table on hand-built fleets.
How a decky's containers aggregate into a state is in tests/test_model.py."""

from __future__ import annotations

import pytest

from decnet_audit.rules.docker_mismatch import DockerMismatch
from kit.build import bare, decky, fleet, labelled, row
from kit.cases import Case, ids, run_case


def paired(state, services=("ssh",), containers=()):
    return fleet([decky("a", services)], [row("a", state, services=services)], containers)


CASES = [
    Case("running-as-docker-shows", paired("running", containers=[labelled("a", "ssh")]),
         subjects=["a"]),
    Case("row-running-container-exited",
         paired("running", containers=[labelled("a", "ssh", "exited")]),
         findings=[("a", "state")], fixes=[[("update", "a", {"state": "failed"})]]),
    Case("one-of-two-services-missing",
         paired("running", ("ssh", "http"), [labelled("a", "ssh")]),
         findings=[("a", "state")], fixes=[[("update", "a", {"state": "degraded"})]]),
    Case("no-container-at-all", paired("running"),
         findings=[("a", "state")], fixes=[[("update", "a", {"state": "torn_down"})]]),
    Case("unlabelled-container-found-by-name",
         paired("failed", ("smtp_relay",), [bare("a-smtp-relay")]),
         findings=[("a", "state")], fixes=[[("update", "a", {"state": "running"})]]),
    Case("torn-down-as-docker-shows", paired("torn_down")),
    Case("only-deckies-in-both-records",
         fleet([decky("a"), decky("b")], [row("a", "torn_down"), row("c", "running")], []),
         subjects=["a"]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_docker_mismatch(case):
    found = run_case(DockerMismatch(), case)
    assert all(f.fixable and f.expected != f.actual for f in found)
