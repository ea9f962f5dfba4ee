"""deployment-copy (DA009) and worker-as-local (DA010) on hand-built fleets.
The same worlds, written by DECNET's own mutator, deployer and reconciler,
are in tests/conformance/test_host.py."""

from __future__ import annotations

import json

from decnet_audit.model import Decky, Fleet, Row
from decnet_audit.rules.deployment_copy import DeploymentCopy
from decnet_audit.rules.worker_as_local import WorkerAsLocal
from kit.fleet import decky_config


def decky(name, services=("ssh",), host=None, **extra):
    cfg = decky_config(name, services, host_uuid=host, **extra)
    return Decky(name, cfg["ip"], tuple(services), host, cfg)


def row(name, host="local"):
    return Row(host, name, json.dumps(["ssh"]), None, None, "running")


def by_name(copy):
    """The state table's copy as a fleet holds it: None, or deckies by name."""
    return None if copy is None else {d.name: d for d in copy}


def fleet(deckies, copy, rows=(), host="local", enrolled=None):
    return Fleet(host, list(deckies), list(rows), [], deployment=by_name(copy),
                 enrolled_hosts=enrolled)


def test_no_copy_no_check():
    assert list(DeploymentCopy().subjects(fleet([decky("a")], None))) == []
    assert list(DeploymentCopy().check(fleet([decky("a")], None))) == []


def test_equal_copies_pass():
    f = fleet([decky("a")], [decky("a")])
    assert list(DeploymentCopy().subjects(f)) == ["a"]
    assert list(DeploymentCopy().check(f)) == []


def test_a_mutation_saved_only_in_the_state_table_is_reported_field_by_field():
    f = fleet([decky("a", ("ssh",))], [decky("a", ("http", "ftp"), last_mutated=1.75e9)])
    found = {x.field: x for x in DeploymentCopy().check(f)}
    assert found.keys() == {"services", "last_mutated"}
    services = found["services"]
    assert (services.expected, services.actual, services.fixable) == (
        ["ssh"], ["http", "ftp"], False)
    assert "the deployment copy is newer (last_mutated 2025-06-15T" in services.message
    assert "`decnet mutate`" in services.message


def test_presence_says_which_path_wrote_which_copy():
    f = fleet([decky("cli")], [decky("api")])
    found = {x.decky: x.message for x in DeploymentCopy().check(f)}
    assert "written by `decnet deploy`" in found["cli"]
    assert "the API deploy" in found["api"]


def test_state_file_newer_and_same_stamp():
    newer = fleet([decky("a", ("ftp",), last_mutated=2e9)], [decky("a", last_mutated=1e9)])
    assert any("the state file is newer" in x.message for x in DeploymentCopy().check(newer))
    same = fleet([decky("a", ("ftp",))], [decky("a")])
    (x,) = DeploymentCopy().check(same)
    assert "both have last_mutated 0 (never mutated)" in x.message


def test_worker_reconciled_as_local_names_decnets_bug():
    mine = [decky("w1", host="w-7"), decky("w2", host="w-7")]
    rows = [row("w1", "w-7"), row("w2", "w-7"), row("w1", "local"), row("other", "local")]
    found = list(WorkerAsLocal().check(fleet(mine, None, rows, host="w-7")))
    assert [(x.decky, x.fixable) for x in found] == [("w1", False)]
    assert "cli/reconciler.py" in found[0].message and "always runs as host 'local'" in \
        found[0].message
    # The same world seen as the master (which enrolled w-7): nothing to say.
    assert list(WorkerAsLocal().check(fleet(mine, None, rows[:2], host="local",
                                            enrolled=frozenset({"w-7"})))) == []


def test_a_worker_audited_as_local_is_told_its_uuid():
    mine = [decky("w1", host="w-7"), decky("w2", host="w-7")]
    found = list(WorkerAsLocal().check(fleet(mine, None, [row("w1", "w-7")])))
    assert [x.decky for x in found] == ["w1", "w2"]
    assert "--host-uuid w-7" in found[0].message and "[agent] host-uuid" in found[0].message
    # A unihost fleet (no host named) is not a worker.
    assert list(WorkerAsLocal().check(fleet([decky("u")], None, [row("u")]))) == []
