"""foreign-host-row (DA004): pass / fail / fix table on hand-built fleets."""

from __future__ import annotations

import pytest

from decnet_audit.rules.foreign_host_row import ForeignHostRow
from decnet_audit.rules.orphan_container import OrphanContainer
from kit.build import bare, decky, fleet, labelled, row
from kit.cases import Case, ids, run_case

CASES = [
    Case("only-local-records-pass", fleet([decky("a")], [row("a")], [labelled("a", "ssh")]),
         subjects=[]),
    Case("peer-row-nobody-runs-here-passes", fleet([decky("a")], [row("a"), row("x", host="p")]),
         subjects=["x"]),
    Case("peer-row-for-a-decky-of-the-state-file",
         fleet([decky("a")], [row("a"), row("a", host="peer")]),
         findings=[("a", None)], fixes=[[]]),
    Case("peer-row-for-a-decky-docker-runs-labelled",
         fleet([], [row("x", host="peer")], [labelled("x", "ssh")]),
         findings=[("x", None)]),
    Case("peer-row-for-an-unlabelled-base-container",
         fleet([], [row("web", host="peer")], [bare("web")]),
         findings=[("web", None)]),
    # The disagreement issue 11 named: orphan-container took web-ssh for
    # decky web's container while this rule did not count web as running here.
    Case("peer-row-for-an-unlabelled-service-container",
         fleet([], [row("web", host="peer", services=("ssh",))], [bare("web-ssh")]),
         findings=[("web", None)]),
    Case("an-ordinary-container-is-no-decky",
         fleet([], [row("web", host="peer", services=("ssh",))], [bare("nginx")])),
    Case("row-of-a-host-not-enrolled",
         fleet([], [row("x", host="ghost")], enrolled={"local", "peer"}),
         findings=[("x", None)]),
    Case("enrolled-peer-row-passes", fleet([], [row("x", host="peer")], enrolled={"peer"})),
    Case("state-entry-of-another-host", fleet([decky("p", host="peer")], []),
         findings=[("p", None)], fixes=[[]], subjects=["p"]),
    Case("docker-not-read-counts-the-state-file-only",
         fleet([decky("a")], [row("a", host="peer"), row("b", host="peer")], None),
         findings=[("a", None)]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_foreign_host_row(case):
    found = run_case(ForeignHostRow(), case)
    assert all(not f.fixable for f in found), "another host's records are report only"


def test_a_peer_rows_finding_names_that_host():
    (f,) = ForeignHostRow().check(fleet([decky("a")], [row("a"), row("a", host="peer-7")]))
    assert f.host_uuid == "peer-7" and "'peer-7' must remove its row" in f.message


def test_orphan_container_and_foreign_host_row_agree_on_what_docker_runs():
    # Another host's row `web` and an unlabelled `web-ssh` here: both rules
    # see decky web running on this host, from the one definition.
    f = fleet([], [row("web", host="peer", services=("ssh",))], [bare("web-ssh")])
    orphans = list(OrphanContainer().check(f))
    foreign = list(ForeignHostRow().check(f))
    assert [(o.decky, o.field) for o in orphans] == [("web", "web-ssh")]
    assert [x.decky for x in foreign] == ["web"]
    assert set(f.docker_deckies) == {"web"}
