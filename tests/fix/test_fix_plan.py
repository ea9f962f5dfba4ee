"""The fix planner's guards, on hand-built fleets (pure logic, no database).

The same guards are proven end to end against real databases in
``test_fix_db.py``; these tests pin each rule of the planner down fast.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from decnet_audit.engine import audit
from decnet_audit.fix.journal import decode_image, encode_image
from decnet_audit.fix.plan import CONFLICT, REFUSED, SKIPPED, Options, plan
from decnet_audit.fix.show import row_diff
from decnet_audit.model import DB, DOCKER, STATE
from decnet_audit.rule import NOW, Change, Rule
from decnet_audit.rules.db_only import DbOnly
from decnet_audit.rules.docker_mismatch import DockerMismatch
from decnet_audit.rules.foreign_host_row import ForeignHostRow
from decnet_audit.rules.json_only import JsonOnly
from kit.build import T0, bare, decky, labelled, row
from kit.build import fleet as build_fleet
from kit.fleet import COMPOSE_FILE

BUILTIN = [JsonOnly(), DbOnly(), DockerMismatch(), ForeignHostRow()]


def running(name, service="ssh", compose_file=COMPOSE_FILE):
    return labelled(name, service, compose_file=compose_file)


def fleet(deckies=(), rows=(), containers=(), *, state_ok=True, docker_ok=True):
    return build_fleet(deckies, rows, containers,
                       unread=[s for s, ok in ((STATE, state_ok), (DOCKER, docker_ok)) if not ok])


def planned(f, rules=BUILTIN, **opts):
    result = audit(f, rules)
    return plan(result, f, rules, Options(**opts)), result


def status(result, rule):
    return [(x.fix_status, x.fix_detail) for x in result.findings if x.rule == rule]


def test_each_builtin_plans_its_documented_change():
    f = fleet([decky("a"), decky("b")], [row("b", "failed"), row("c")],
              [running("a"), running("b")])
    p, _ = planned(f, unsafe=True)
    by = {(c.op, c.name): c for c in p.rows}
    assert set(by) == {("insert", "a"), ("update", "b"), ("delete", "c")}
    ins = by[("insert", "a")].after
    assert ins["state"] == "running" and ins["host_uuid"] == "local"
    assert json.loads(ins["services"]) == ["ssh"] and ins["decky_ip"] == f.local_deckies["a"].ip
    assert ins["last_seen"] is None and ins["updated_at"] == p.now  # as DECNET inserts
    assert ins["services"] == '["ssh"]'  # compact, as DECNET's orjson writes it
    upd = by[("update", "b")]
    assert upd.after["state"] == "running" and upd.before["state"] == "failed"
    assert upd.after["last_seen"] == upd.after["updated_at"] == p.now
    assert {c: upd.after[c] for c in ("services", "decky_ip", "last_error")} == \
        {c: upd.before[c] for c in ("services", "decky_ip", "last_error")}
    assert by[("delete", "c")].after is None


def test_unsafe_fix_needs_the_flag():
    f = fleet([decky("a")], [row("a"), row("gone")], [running("a")])
    p, result = planned(f)
    assert p.rows == []
    (st, why), = status(result, "db-only")
    assert st == SKIPPED and "--unsafe-fixes" in why


def test_no_fix_runs_without_the_state_file():
    f = fleet([], [row("a")], [running("a")], state_ok=False)
    # A rule that does not itself need the state file still may not fix.
    p, result = planned(f, rules=[*BUILTIN, Orphans()], unsafe=True)
    assert p.changes == []
    assert result.findings and {x.rule for x in result.findings} == {"orph"}
    (st, why), = status(result, "orph")
    assert st == SKIPPED and "state file was not read (unreadable)" in why


def test_docker_unread_skips_json_only_and_says_why_but_not_db_only():
    f = fleet([decky("a")], [row("gone")], docker_ok=False)
    p, result = planned(f, unsafe=True)
    assert [(c.op, c.name) for c in p.rows] == [("delete", "gone")]
    (st, why), = status(result, "json-only")
    assert st == SKIPPED and "Docker was not read" in why and "guess" in why


def test_waived_findings_are_not_fixed():
    f = fleet([decky("a")], [], [running("a")])
    result = audit(f, BUILTIN)
    for x in result.findings:
        x.waived, x.waiver_reason = True, "ticket 42"
    p = plan(result, f, BUILTIN, Options())
    assert p.changes == []
    assert status(result, "json-only") == [(SKIPPED, "waived (ticket 42): not fixed")]


def test_foreign_host_row_is_report_only():
    f = fleet([decky("a")], [row("a"), row("a", host="peer-7")], [running("a")])
    p, result = planned(f, unsafe=True)
    assert p.changes == []
    (st, why), = status(result, "foreign-host-row")
    assert st == SKIPPED and "report only" in why
    assert "peer-7" in next(x.message for x in result.findings if x.rule == "foreign-host-row")


def test_empty_state_file_never_deletes_every_row_unless_forced():
    f = fleet([], [row("a"), row("b")], [])
    p, result = planned(f, unsafe=True)
    assert all(c.status == REFUSED for c in p.changes)
    assert {s for s, _ in status(result, "db-only")} == {REFUSED}
    assert "--allow-empty-state" in status(result, "db-only")[0][1]
    p, _ = planned(f, unsafe=True, allow_empty_state=True)
    assert sorted(c.name for c in p.rows) == ["a", "b"]


class Rogue(Rule):
    """A rule that tries every write the scope guard must refuse."""

    id, code, needs, fix_safety = "rogue", "ZZ001", (STATE, DB), "safe"

    def subjects(self, fleet):
        return ["peer-row", "key", "column", "nostate"]

    def check(self, fleet):
        for name in self.subjects(fleet):
            yield self.finding(fleet, name, f"rogue {name}")

    def fix(self, finding, fleet):
        return {
            "peer-row": [Change("update", "peer", "a", {"state": "failed"})],
            "key": [Change("update", "local", "a", {"host_uuid": "peer"})],
            "column": [Change("update", "local", "a", {"is_admin": 1})],
            "nostate": [Change("insert", "local", "new", {"services": "[]", "state": None})],
        }[finding.decky]


def test_scope_guard_refuses_what_a_rule_may_not_write():
    f = fleet([decky("a")], [row("a"), row("a", host="peer")], [running("a")])
    p, result = planned(f, rules=[Rogue()])
    assert p.changes == []
    got = {x.decky: (x.fix_status, x.fix_detail) for x in result.findings}
    assert got["peer-row"][0] == REFUSED and "host 'peer'" in got["peer-row"][1]
    assert got["key"][0] == REFUSED and "key cannot change" in got["key"][1]
    assert got["column"][0] == REFUSED and "is_admin" in got["column"][1]
    assert got["nostate"][0] == SKIPPED and "guess" in got["nostate"][1]


class TwoWriters(Rule):
    """Two updates of one row: merged when they agree, refused when not."""

    id, code, needs, fix_safety = "two", "ZZ002", (STATE, DB), "safe"
    values = ({"decky_ip": "10.0.0.9"}, {"state": "failed", "last_seen": NOW})

    def subjects(self, fleet):
        return ["x", "y"]

    def check(self, fleet):
        for name in self.subjects(fleet):
            yield self.finding(fleet, name, name)

    def fix(self, finding, fleet):
        return [Change("update", "local", "a", self.values[finding.decky == "y"])]


def test_updates_of_one_row_merge_into_one_write():
    f = fleet([decky("a")], [row("a")], [running("a")])
    p, _ = planned(f, rules=[TwoWriters()])
    (c,) = p.rows
    assert (c.after["decky_ip"], c.after["state"], c.after["last_seen"]) == \
        ("10.0.0.9", "failed", p.now)
    assert len(c.findings) == 2


def test_disagreeing_updates_are_refused():
    class Disagree(TwoWriters):
        values = ({"state": "running"}, {"state": "failed"})

    f = fleet([decky("a")], [row("a", "pending")], [running("a")])
    p, result = planned(f, rules=[Disagree()])
    assert p.rows == []
    assert {x.fix_status for x in result.findings} == {REFUSED}


class Orphans(Rule):
    """Asks for the removal of every container it is given."""

    id, code, needs, fix_safety = "orph", "ZZ003", (DOCKER,), "unsafe"

    def subjects(self, fleet):
        return sorted(fleet.containers_by_name)

    def check(self, fleet):
        for name in self.subjects(fleet):
            yield self.finding(fleet, name, name)

    def fix(self, finding, fleet):
        return [Change("remove", "local", finding.decky, target="container")]


def test_containers_are_removed_only_when_proven_ours_unsafe_and_live():
    plain = bare("plain")
    f = fleet([decky("b")], [], [running("a"), plain])
    p, result = planned(f, rules=[Orphans()])
    assert p.containers == []  # unsafe, and --unsafe-fixes not given
    p, result = planned(f, rules=[Orphans()], unsafe=True)
    assert [c.name for c in p.containers] == ["a-ssh"]
    assert next(x for x in result.findings if x.decky == "plain").fix_status == REFUSED
    p, result = planned(f, rules=[Orphans()], unsafe=True, live_docker=False)
    assert p.containers == []
    assert "snapshot" in result.findings[0].fix_detail


def test_empty_state_file_never_removes_every_container_unless_forced():
    f = fleet([], [], [running("a"), running("b")])
    p, result = planned(f, rules=[Orphans()], unsafe=True)
    assert p.containers == []
    assert {x.fix_status for x in result.findings} == {REFUSED}
    assert "would remove 2 containers of it" in result.findings[0].fix_detail
    p, _ = planned(f, rules=[Orphans()], unsafe=True, allow_empty_state=True,
                   confirm_removals=True)
    assert [c.name for c in p.containers] == ["a-ssh", "b-ssh"]


def test_a_decnet_label_is_no_proof_only_this_hosts_compose_file_is():
    theirs = running("b", compose_file="/srv/other-decnet/decnet-compose.yml")
    unproven = running("c", compose_file=None)
    f = fleet([decky("a")], [], [running("a"), theirs, unproven])
    p, result = planned(f, rules=[Orphans()], unsafe=True)
    assert [c.name for c in p.containers] == ["a-ssh"]
    why = {x.decky: x.fix_detail for x in result.findings if x.fix_status == REFUSED}
    assert why.keys() == {"b-ssh", "c-ssh"}
    assert "another deployment" in why["b-ssh"] and "/srv/other-decnet" in why["b-ssh"]
    assert "no compose labels" in why["c-ssh"]


def test_a_mass_removal_is_refused_unless_confirmed():
    ours = [running(f"d{i:02}") for i in range(30)]
    f = fleet([decky("keep")], [], ours)
    p, result = planned(f, rules=[Orphans()], unsafe=True)
    assert p.containers == []  # 30 removals of 30 deckies: over --max-removals 10
    detail = result.findings[0].fix_detail
    assert "would remove 30 containers of 30 deckies, more than --max-removals 10" in detail
    assert "--confirm-removals" in detail
    p, _ = planned(f, rules=[Orphans()], unsafe=True, confirm_removals=True)
    assert len(p.containers) == 30
    # Four of 30: within --max-removals but over 10 % of the deployment (3).
    four = fleet([decky("keep")], [], ours[:4] + [running(f"k{i:02}") for i in range(26)])
    p, result = planned(four, rules=[OnlyD()], unsafe=True)
    assert p.containers == []
    assert "more than 10% of this deployment's 30 containers (3)" in \
        result.findings[0].fix_detail
    p, _ = planned(fleet([decky("keep")], [], ours[:3]), rules=[Orphans()], unsafe=True,
                   max_removals=2)
    assert p.containers == []  # 3 > --max-removals 2


def test_one_orphan_deckys_containers_are_no_mass_removal():
    # Base and two services of one decky, all of a small deployment.
    boxes = [running("gone", s) for s in ("base", "ssh", "http")]
    p, _ = planned(fleet([decky("keep")], [], boxes), rules=[OneDecky()], unsafe=True)
    assert len(p.containers) == 3


class OnlyD(Orphans):
    """Asks for the removal of the d* containers only."""

    def check(self, fleet):
        for name in self.subjects(fleet):
            if name.startswith("d"):
                yield self.finding(fleet, name, name)


class OneDecky(Orphans):
    """Every container it is given, as one decky's."""

    def check(self, fleet):
        for name in self.subjects(fleet):
            yield self.finding(fleet, "gone", name, field=name)

    def fix(self, finding, fleet):
        return [Change("remove", "local", finding.field, target="container")]


def test_journal_images_round_trip_exactly():
    img = {"host_uuid": "local", "name": "caf\udcff", "services": "[]", "decky_config": None,
           "decky_ip": "10.0.0.1", "state": "running", "last_error": "x\ny",
           "compose_hash": b"\x00\xff", "last_seen": datetime(2026, 1, 2, 3, 4, 5),
           "updated_at": "2026-01-02 03:04:05.000000"}
    back = decode_image(json.loads(json.dumps(encode_image(img))))
    assert back == img and type(back["last_seen"]) is datetime


def test_preview_marks_only_changed_columns():
    before = {c: None for c in ("host_uuid", "name", "services", "decky_config", "decky_ip",
                                "state", "last_error", "compose_hash", "last_seen",
                                "updated_at")}
    before.update(host_uuid="local", name="a", services="[]", state="running", updated_at=T0)
    after = {**before, "state": "failed", "updated_at": datetime(2026, 2, 1)}
    lines = row_diff(before, after)
    assert "- state        'running'" in lines and "+ state        'failed'" in lines
    assert "+ updated_at   2026-02-01 00:00:00" in lines
    assert "  host_uuid    'local'" in lines
    assert all(line.startswith("+ ") for line in row_diff(None, after))
    assert all(line.startswith("- ") for line in row_diff(before, None))


@pytest.mark.parametrize("status", [CONFLICT, REFUSED])
def test_worse_status_wins(status):
    from decnet_audit.fix.plan import FIXED, mark
    from decnet_audit.model import Finding

    f = Finding("r", "ZZ001", "d", "local", "m")
    mark(f, FIXED, "ok")
    assert f.fixed
    mark(f, status, "bad")
    assert (f.fix_status, f.fixed) == (status, False)
    mark(f, FIXED, "ok again")
    assert f.fix_status == status


def test_a_journal_names_its_database_without_the_password():
    from decnet_audit.fix.apply import database_label

    label = database_label("mysql+asyncmy://decnet:s3kr1t-pw@db.example:3306/decnet")
    assert "s3kr1t-pw" not in label
    assert label == "mysql+pymysql://decnet:***@db.example:3306/decnet"
