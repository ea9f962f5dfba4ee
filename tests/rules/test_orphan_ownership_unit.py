"""orphan-container and ownership by compose's labels, on hand-built fleets:
another deployment's containers, unproven ones, the base container that
``decnet teardown --id`` leaves, and a mutated decky judged by the record
Docker runs. The same cases run with DECNET's own code in
tests/conformance/test_host.py."""

from __future__ import annotations

import json

from decnet_audit.model import Container, Decky, Fleet, Row
from decnet_audit.ownership import FOREIGN, OURS, UNPROVEN, compose_file, deployed, ownership
from decnet_audit.rules.orphan_container import OrphanContainer
from kit.fleet import COMPOSE_FILE, compose_labels, decky_config

OTHER = "/srv/second-checkout/decnet-compose.yml"


def decky(name, services=("ssh",), **extra):
    cfg = decky_config(name, services, **extra)
    return Decky(name, cfg["ip"], tuple(services), None, cfg)


def row(name, services=("ssh",)):
    return Row("local", name, json.dumps(list(services)), None, None, "running")


def labelled(decky, service, compose_file=COMPOSE_FILE):
    name = f"{decky}-{service}"
    labels = {"decnet.fleet.service": "true", "decnet.fleet.decky": decky,
              "decnet.fleet.service_name": service}
    if compose_file:
        labels.update(compose_labels(name, compose_file))
    return Container(f"id-{name}", name, "running", labels)


def base(name, compose=COMPOSE_FILE):
    labels = compose_labels(name, compose) if compose else {}
    return Container(f"id-{name}", name, "running", labels)


def by_name(copy):
    """The state table's copy as a fleet holds it: None, or deckies by name."""
    return None if copy is None else {d.name: d for d in copy}


def fleet(deckies=(), rows=(), containers=(), copy=None):
    return Fleet("local", list(deckies), list(rows), list(containers),
                 compose_path=COMPOSE_FILE, deployment=by_name(copy))


def found(f):
    return {(x.decky, x.field, x.fixable) for x in OrphanContainer().check(f)}


def test_ownership_needs_this_hosts_compose_file():
    assert ownership(labelled("a", "ssh"), COMPOSE_FILE).verdict == OURS
    assert ownership(labelled("a", "ssh", compose_file=OTHER), COMPOSE_FILE).verdict == FOREIGN
    assert ownership(labelled("a", "ssh", compose_file=None), COMPOSE_FILE).verdict == UNPROVEN
    assert ownership(labelled("a", "ssh"), None).verdict == UNPROVEN
    # `decnet deploy` records a relative compose_path; DECNET resolves it
    # against its working directory, and so does the auditor.
    assert compose_file("decnet-compose.yml", cwd="/var/lib/decnet") == COMPOSE_FILE


def test_another_deployments_containers_are_reported_as_such_and_never_fixable():
    f = fleet([decky("mine")], [row("mine")],
              [base("mine"), labelled("mine", "ssh"),
               base("theirs", OTHER), labelled("theirs", "ssh", compose_file=OTHER)])
    findings = list(OrphanContainer().check(f))
    assert {(x.decky, x.field, x.fixable) for x in findings} == {
        ("theirs", "theirs", False), ("theirs", "theirs-ssh", False)}
    for x in findings:
        assert "belongs to another deployment" in x.message and OTHER in x.message
        assert OrphanContainer().fix(x, f) == []


def test_a_decnet_label_without_compose_labels_is_reported_not_fixable():
    f = fleet([decky("mine")], [row("mine")], [labelled("gone", "ssh", compose_file=None)])
    assert found(f) == {("gone", "gone-ssh", False)}


def test_an_orphans_base_container_is_found_by_compose_labels_and_fixable():
    f = fleet([decky("mine")], [row("mine")],
              [base("mine"), labelled("mine", "ssh"), base("gone"), labelled("gone", "ssh")])
    assert found(f) == {("gone", "gone", True), ("gone", "gone-ssh", True)}


def test_the_base_container_left_by_teardown_of_one_decky_is_reported():
    # `decnet teardown --id gone`: service containers removed, the row
    # deleted, the state file unchanged, the base container still running.
    f = fleet([decky("mine"), decky("gone")], [row("mine")],
              [base("mine"), labelled("mine", "ssh"), base("gone")])
    (finding,) = OrphanContainer().check(f)
    assert (finding.decky, finding.field, finding.fixable) == ("gone", "gone", True)
    assert "teardown --id gone" in finding.message
    (change,) = OrphanContainer().fix(finding, f)
    assert (change.op, change.target, change.name) == ("remove", "container", "gone")
    # Not without compose's proof that it is this deployment's base container.
    assert found(fleet([decky("gone")], [], [base("gone", OTHER)])) == set()


def test_a_mutated_decky_is_judged_by_the_record_docker_runs():
    mutated = decky("m", ("http",), last_mutated=1.7e9)
    f = fleet([decky("m", ("ssh",))], [row("m")], [base("m"), labelled("m", "http")],
              copy=[mutated])
    assert deployed(f, "m") == (("http",), "state table's deployment copy")
    assert f.aggregate("m", deployed(f, "m")[0]) == "running"
    assert found(f) == set()  # its base container has a service container beside it
    # Without the copy's services running, the state file stays the record.
    g = fleet([decky("m", ("ssh",))], [row("m")], [base("m"), labelled("m", "ssh")],
              copy=[mutated])
    assert deployed(g, "m") == (("ssh",), "state file")
