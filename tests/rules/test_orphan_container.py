"""orphan-container (DA005): pass / fail / fix table and the ownership rules,
on hand-built fleets (no Docker). Its run against a real engine is in
test_orphan_container_cli.py."""

from __future__ import annotations

import pytest

from decnet_audit.rules.orphan_container import OrphanContainer
from kit.build import bare, decky, fleet, labelled, row
from kit.cases import Case, ids, run_case

CASES = [
    Case("every-container-known-passes",
         fleet([decky("a")], [row("a")], [bare("a"), labelled("a", "ssh")]), subjects=["a"]),
    Case("no-docker-container-no-subject", fleet([decky("a")], [row("a")], []), subjects=[]),
    Case("labelled-container-of-an-unknown-decky",
         fleet([], [], [labelled("gone", "ssh")]), findings=[("gone", "gone-ssh")],
         fixes=[[("remove", "gone-ssh", {"id": "id-gone-ssh"})]]),
    Case("known-by-its-row-alone", fleet([], [row("a")], [labelled("a", "ssh")])),
    Case("known-by-the-state-file-alone", fleet([decky("a")], [], [labelled("a", "ssh")])),
    Case("a-peer-row-does-not-make-it-known",
         fleet([], [row("a", host="peer")], [labelled("a", "ssh")]),
         findings=[("a", "a-ssh")]),
    Case("unlabelled-is-reported-never-removed",
         fleet([], [row("web", host="peer")], [bare("web-ssh")]),
         findings=[("web", "web-ssh")], fixes=[[]]),
    Case("an-ordinary-container-is-no-decky", fleet([decky("a")], [row("a")], [bare("nginx")]),
         subjects=[]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_orphan_container(case):
    found = run_case(OrphanContainer(), case)
    assert all(f.fixable == (f.field in {c.name for c in case.fleet.containers or ()
                                          if "decnet.fleet.decky" in c.labels})
               for f in found), "only labelled containers are fixable"


def test_orphan_labelled_containers_of_an_unknown_decky_are_reported_and_only_they_fixable():
    f = fleet(
        deckies=[decky("web1", ("ssh", "smtp_relay"))],
        rows=[row("web1", services=("ssh", "smtp_relay"))],
        containers=[bare("web1"), labelled("web1", "ssh"), labelled("web1", "smtp_relay"),
                    bare("gone"), labelled("gone", "ssh", "exited")],
    )
    rule = OrphanContainer()
    found = list(rule.check(f))
    assert {(x.decky, x.field, x.fixable) for x in found} == {
        ("gone", "gone", False),  # its base container: no label, reported only
        ("gone", "gone-ssh", True),
    }
    changes = [c for x in found for c in rule.fix(x, f)]
    assert [(c.op, c.target, c.name, c.host_uuid) for c in changes] == [
        ("remove", "container", "gone-ssh", "local")]
    assert sorted(rule.subjects(f)) == ["gone", "web1"]


def test_unlabelled_containers_count_only_when_their_names_prove_them_a_deckys():
    f = fleet(
        deckies=[decky("web1", ("ssh", "http"))],
        rows=[row("web1", services=("ssh", "http"))],
        containers=[
            bare("old1"), bare("old1-http"),      # base + known service: an old deploy
            bare("nginx"), bare("nginx-proxy"),   # "proxy" is no service of this fleet
            bare("app-ssh"),                       # known service, but no base "app"
            bare("postgres"),                      # nothing DECNET-like at all
        ],
    )
    assert f.docker_deckies.keys() == {"old1"}
    found = list(OrphanContainer().check(f))
    assert {(x.decky, x.field, x.fixable) for x in found} == {
        ("old1", "old1", False), ("old1", "old1-http", False)}
    assert all(OrphanContainer().fix(x, f) == [] for x in found)


def test_a_decky_recorded_only_for_another_host_is_an_orphan_here():
    f = fleet(
        deckies=[decky("mine")],
        rows=[row("mine"), row("moved", host="peer-1", services=("telnet",)),
              row("mine", host="peer-1")],
        containers=[bare("mine"), labelled("mine", "ssh"),
                    bare("moved-telnet")],  # no base, no label: found by the peer's row
    )
    found = list(OrphanContainer().check(f))
    assert {(x.decky, x.field, x.fixable) for x in found} == {("moved", "moved-telnet", False)}


def test_a_decky_of_this_host_in_only_one_record_is_not_an_orphan():
    f = fleet(deckies=[decky("state-only")], rows=[row("row-only")],
              containers=[labelled("state-only", "ssh"), labelled("row-only", "ssh")])
    assert list(OrphanContainer().check(f)) == []


def test_orphan_fix_refuses_a_container_whose_label_is_not_the_findings_decky():
    f = fleet(containers=[labelled("gone", "ssh")])
    (finding,) = OrphanContainer().check(f)
    relabelled = fleet(containers=[bare("gone-ssh")])
    assert OrphanContainer().fix(finding, relabelled) == []
