"""``--fix`` and ``undo`` end to end, on SQLite and on a real MariaDB.

Docker is a real engine: the deckies' containers are created on it once per
module and read back as a capture (``--docker-snapshot``), so that a busy
engine does not make each of the many runs slow; ``test_fix_live.py`` fixes
against the live engine itself.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from decnet_audit.fix.lock import FixLock
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE
from decnet_audit.rule import Change, Rule
from kit.fix import RULES4, Paused, Pool, run_inproc, start_cli
from kit.fleet import MYSQL_SERVER_URL, now, run_cli, unique, write_state

pytestmark = pytest.mark.docker
LOCAL = "local"


@pytest.fixture(scope="module")
def pool(docker_client, tmp_path_factory):
    p = Pool(docker_client, tmp_path_factory.mktemp("pool"))
    yield p
    p.cleanup()


class Host:
    """One drifted host: every drift class once, and other hosts' rows.

    * ``running``: row and Docker agree (no drift);
    * ``degraded``: row says running, Docker shows degraded (docker-mismatch);
    * ``failed``: in the state file, no row (json-only: inserted as failed);
    * ``gone``: a row with last_error and compose_hash, no decky (db-only);
    * peer rows, one of them named like ``gone``: never touched.
    """

    def __init__(self, tmp_path: Path, db, pool: Pool):
        self.tmp, self.db, self.pool = tmp_path, db, pool
        self.state = write_state(tmp_path / "decnet-state.json", [
            pool.config("running"), pool.config("degraded"), pool.config("failed")])
        self.gone = unique("fx-gone")
        n = pool.names
        db.insert(LOCAL, n["running"], services=("ssh",), state="running")
        db.insert(LOCAL, n["degraded"], services=("ssh", "http"), state="running")
        db.insert(LOCAL, self.gone, state="running", last_error="boom: exit 137")
        db.execute("UPDATE fleet_deckies SET compose_hash = 'c0ffee' WHERE name = :n", n=self.gone)
        db.insert("peer-1", self.gone, state="failed", last_error="theirs")
        db.insert("peer-2", unique("fx-peer"), state="running")
        self.journals = tmp_path / "journals"
        self.original = db.rows()

    def args(self, *more: str, docker: list[str] | None = None,
             select: str = RULES4) -> list[str]:
        docker = docker or ["--docker-snapshot", str(self.pool.snap)]
        return ["--state", str(self.state), "--db", self.db.url, *docker,
                "--host-uuid", LOCAL, "--select", select, *more]

    @property
    def env(self) -> dict:
        return {"DECNET_AUDIT_JOURNAL_DIR": str(self.journals)}

    def row(self, name: str, host: str = LOCAL) -> dict | None:
        found = [r for r in self.db.rows() if (r["host_uuid"], r["name"]) == (host, name)]
        return found[0] if found else None

    def peers(self, rows=None) -> list[dict]:
        return [r for r in (rows if rows is not None else self.db.rows())
                if r["host_uuid"] != LOCAL]


def statuses(run) -> dict[tuple[str, str], tuple[str, str]]:
    return {(f["rule"], f["decky"]): (f["fix_status"], f["fix_detail"]) for f in run.findings()}


@pytest.fixture
def host(tmp_path, db, pool):
    return Host(tmp_path, db, pool)


def test_fix_converges_safe_then_unsafe_and_undo_restores_every_byte(host, tmp_path):
    n = host.pool.names
    safe = run_cli(*host.args("--fix", "--journal", str(tmp_path / "j1.json")),
                   json_path=tmp_path / "r1.json")
    assert safe.rc == 1, safe.out + safe.err  # db-only is unsafe: still drift
    got = statuses(safe)
    assert got[("json-only", n["failed"])][0] == "fixed"
    assert got[("docker-mismatch", n["degraded"])][0] == "fixed"
    assert got[("db-only", host.gone)] == (
        "skipped", "unsafe fix: pass --unsafe-fixes to apply it (see decnet-audit --list-rules; "
                   "db-only's documentation)")
    assert f"journal: {tmp_path / 'j1.json'}" in safe.out
    inserted = host.row(n["failed"])
    assert inserted["state"] == "failed" and json.loads(inserted["services"]) == ["ssh"]
    assert json.loads(inserted["decky_config"]) == host.pool.config("failed")
    # As DECNET's reconciler inserts: no last_seen (it is set on a state change).
    assert inserted["last_seen"] is None and inserted["updated_at"] is not None
    assert host.row(n["degraded"])["state"] == "degraded"
    assert host.row(host.gone) is not None

    unsafe = run_cli(*host.args("--fix", "--unsafe-fixes", "--journal", str(tmp_path / "j2.json")))
    assert unsafe.rc == 0, unsafe.out + unsafe.err
    assert re.search(r"\nre-audit after the fix: \d+ passed in [0-9.]+s\n", unsafe.out)
    assert host.row(host.gone) is None
    assert host.peers() == host.peers(host.original)  # byte for byte

    converged = host.db.rows()
    again = run_cli(*host.args("--fix", "--unsafe-fixes", "--journal", str(tmp_path / "j3.json")))
    assert again.rc == 0 and "nothing written" in again.out
    assert not (tmp_path / "j3.json").exists()
    assert host.db.rows() == converged

    deleted = json.loads((tmp_path / "j2.json").read_text())["changes"]
    assert [(c["op"], c["name"], c["before"]["last_error"], c["before"]["compose_hash"])
            for c in deleted] == [("delete", host.gone, "boom: exit 137", "c0ffee")]

    for journal in ("j2.json", "j1.json"):
        undo = run_cli("undo", str(tmp_path / journal), "--db", host.db.url,
                       "--journal", str(tmp_path / f"undo-{journal}"))
        assert undo.rc == 0, undo.out + undo.err
    assert host.db.rows() == host.original


def test_dry_run_and_diff_print_each_change_and_write_nothing(host):
    n = host.pool.names
    for flags in (["--fix", "--dry-run", "--unsafe-fixes"], ["--diff", "--unsafe-fixes"]):
        run = run_inproc(*host.args(*flags), env=host.env)
        assert run.rc == 1, run.out + run.err
        assert f"update fleet_deckies (local, {n['degraded']})  [docker-mismatch]" in run.out
        assert "    - state        'running'\n    + state        'degraded'\n" in run.out
        assert f"insert fleet_deckies (local, {n['failed']})  [json-only]" in run.out
        assert f"delete fleet_deckies (local, {host.gone})  [db-only]" in run.out
        assert "    - last_error   'boom: exit 137'\n" in run.out
        assert "3 changes planned (1 delete, 1 insert, 1 update); nothing written" in run.out
        assert host.db.rows() == host.original
        assert not host.journals.exists()


def test_docker_unreachable_skips_fixes_that_need_it(host):
    nowhere = ["--docker-host", f"unix://{host.tmp}/no-such-docker.sock"]
    run = run_inproc(*host.args("--fix", "--unsafe-fixes", docker=nowhere),
                  json_path=host.tmp / "r.json", env=host.env)
    assert run.rc == 2, run.out + run.err  # incomplete: Docker was not read
    st, why = statuses(run)[("json-only", host.pool.names["failed"])]
    assert st == "skipped" and why.startswith("not fixed: Docker was not read (cannot reach")
    assert why.endswith("the fix would write a guess")
    assert host.row(host.pool.names["failed"]) is None
    assert host.row(host.pool.names["degraded"])["state"] == "running"  # not checked, not touched
    assert host.row(host.gone) is None  # db-only needs no Docker observation


def test_unreadable_state_file_fixes_nothing(host):
    host.state.write_text("{not json")
    run = run_inproc(*host.args("--fix", "--unsafe-fixes"), env=host.env)
    assert run.rc == 2
    assert "invalid JSON at line 1" in run.out
    assert host.db.rows() == host.original and not host.journals.exists()


def test_missing_state_file_never_empties_the_host_unless_told(host):
    host.state.unlink()
    run = run_inproc(*host.args("--fix", "--unsafe-fixes"), json_path=host.tmp / "r.json",
                  env=host.env)
    assert run.rc == 1
    st, why = statuses(run)[("db-only", host.gone)]
    assert st == "refused" and "lists no decky for host 'local'" in why
    assert "--allow-empty-state" in why
    assert host.db.rows() == host.original and not host.journals.exists()
    forced = run_inproc(*host.args("--fix", "--unsafe-fixes", "--allow-empty-state"), env=host.env)
    assert forced.rc == 0, forced.out + forced.err
    assert [r for r in host.db.rows() if r["host_uuid"] == LOCAL] == []
    assert host.peers() == host.peers(host.original)


class RoguePlugin:
    """A third-party plugin whose fix tries to write outside this host."""

    class Rogue(Rule):
        """Tries to take over a peer's row and to move a local row to a peer."""

        id, code, needs, fix_safety = "rogue", "ZZ001", (STATE, DB), "safe"

        def subjects(self, fleet):
            return ["peer", "move"]

        def check(self, fleet):
            for name in self.subjects(fleet):
                yield self.finding(fleet, name, f"rogue {name}")

        def fix(self, finding, fleet):
            peer = next(r for r in fleet.foreign_rows if r.host_uuid == "peer-1")
            local = next(iter(fleet.local_rows))
            if finding.decky == "peer":
                return [Change("update", "peer-1", peer.name, {"state": "torn_down"}),
                        Change("update", fleet.host_uuid, local, {"state": "pending"})]
            return [Change("update", fleet.host_uuid, local, {"host_uuid": "peer-1"})]

    @staticmethod
    @hookimpl
    def decnet_audit_rules():
        return [RoguePlugin.Rogue]


def test_scope_guard_refuses_a_plugin_writing_another_hosts_row(host):
    run = run_inproc(*host.args("--fix", select="rogue"), plugins=(RoguePlugin,),
                     json_path=host.tmp / "r.json", env=host.env)
    assert run.rc == 1, run.out + run.err
    got = statuses(run)
    assert got[("rogue", "peer")][0] == "refused"
    assert "targets host 'peer-1'" in got[("rogue", "peer")][1]
    assert "host 'peer-1' must act itself" in got[("rogue", "peer")][1]
    assert got[("rogue", "move")] == ("refused", "refused: the row's key cannot change "
                                                 "(host_uuid)")
    # Not even the local half of the refused finding was written.
    assert host.db.rows() == host.original and not host.journals.exists()


def test_injected_failure_mid_transaction_writes_nothing(host):
    # The delete has run inside the transaction when the failure strikes.
    run = run_cli(*host.args("--fix", "--unsafe-fixes"),
                  env={**host.env, "DECNET_AUDIT_TEST_FAULT": "after-delete=fail"})
    assert run.rc == 6, run.out + run.err
    assert ("fix aborted: InjectedFault: injected fault at after-delete "
            "(DECNET_AUDIT_TEST_FAULT); the transaction was rolled back: nothing was written"
            in run.out)
    assert host.db.rows() == host.original
    assert not host.journals.exists() or list(host.journals.iterdir()) == []


@pytest.mark.mariadb
def test_mariadb_connection_killed_mid_transaction_writes_nothing(tmp_path, mariadb_db, pool):
    host = Host(tmp_path, mariadb_db, pool)
    paused = Paused("after-delete", tmp_path / "fault", *host.args("--fix", "--unsafe-fixes"),
                    env=host.env)
    try:
        info = paused.wait_paused()
        assert info["connection_id"]
        killer = create_engine(MYSQL_SERVER_URL, poolclass=NullPool)
        with killer.connect() as conn:
            conn.execute(text(f"KILL {int(info['connection_id'])}"))
        killer.dispose()
        run = paused.resume()
    finally:
        paused.kill()
    assert run.rc == 6, run.out + run.err
    assert "fix aborted: the database connection was lost during the transaction (" in run.out
    assert "the transaction was rolled back: nothing was written" in run.out
    assert host.db.rows() == host.original
    assert not host.journals.exists() or list(host.journals.iterdir()) == []


def test_reconciler_write_between_audit_and_fix_is_a_conflict_not_clobbered(host):
    n = host.pool.names
    paused = Paused("audited", host.tmp / "fault", *host.args("--fix", "--unsafe-fixes",
                                                               "--json", str(host.tmp / "r.json")),
                    env=host.env)
    try:
        paused.wait_paused()
        # DECNET's reconciler, committing row by row, as it does. Its
        # updated_at is later than the setup's: timestamps have one-second
        # resolution, and an equal one would make the conflict text flaky.
        host.db.execute("UPDATE fleet_deckies SET state = 'pending', updated_at = :t "
                        "WHERE host_uuid = 'local' AND name = :n",
                        t=now() + timedelta(seconds=5), n=n["degraded"])
        reconciled = host.row(n["degraded"])
        run = paused.resume()
    finally:
        paused.kill()
    assert run.rc == 1, run.out + run.err
    report = json.loads((host.tmp / "r.json").read_text())
    got = {(f["rule"], f["decky"]): f for f in report["findings"]}
    conflict = got[("docker-mismatch", n["degraded"])]
    assert conflict["fix_status"] == "conflict" and not conflict["fixed"]
    assert conflict["fix_detail"].startswith("the row changed since the audit (state 'running' "
                                             "-> 'pending', updated_at ")
    assert host.row(n["degraded"]) == reconciled  # DECNET's write survives
    assert got[("json-only", n["failed"])]["fix_status"] == "fixed"
    assert got[("db-only", host.gone)]["fix_status"] == "fixed"
    assert f"conflict: update row (local, {n['degraded']})" in run.out
    (journal,) = host.journals.iterdir()
    assert n["degraded"] not in {c["name"] for c in json.loads(journal.read_text())["changes"]}


def test_two_fix_runs_at_once_are_serialized(host):
    first = Paused("audited", host.tmp / "fault", *host.args("--fix", "--unsafe-fixes"),
                   env=host.env)
    try:
        first.wait_paused()
        busy = run_cli(*host.args("--fix", "--lock-timeout", "0.5"), env=host.env)
        assert busy.rc == 6, busy.out + busy.err
        assert "another decnet-audit --fix or undo (" in busy.err
        assert "holds the fix lock for host 'local'" in busy.err
        assert busy.err.rstrip().endswith("nothing was written")
        assert host.db.rows() == host.original
        second = start_cli(*host.args("--fix", "--unsafe-fixes"), env=host.env)
        waiting = second.stderr.readline()  # blocks until it waits for the lock
        done = first.resume()
        out, err = second.communicate(timeout=120)
    finally:
        first.kill()
    assert done.rc == 0, done.out + done.err
    assert second.returncode == 0, out + err
    assert waiting.startswith("decnet-audit: waiting up to 30s: another decnet-audit --fix "
                              "or undo (")
    assert "nothing written" in out  # it audited after the first had fixed everything
    assert len(list(host.journals.iterdir())) == 1


def test_undo_guards_host_database_and_conflicts(host, tmp_path, sqlite_db):
    n = host.pool.names
    fix = run_inproc(*host.args("--fix", "--unsafe-fixes", "--journal", str(tmp_path / "j.json")))
    assert fix.rc == 0
    journal = str(tmp_path / "j.json")

    other_host = run_inproc("undo", journal, "--db", host.db.url, "--host-uuid", "peer-1")
    assert other_host.rc == 4 and other_host.err.count("\n") == 1
    assert "written by host 'local'; this host is 'peer-1'" in other_host.err
    other_db = run_inproc("undo", journal, "--db", sqlite_db.url if host.db.kind != "sqlite"
                       else f"sqlite:///{tmp_path / 'other.db'}")
    assert other_db.rc == 4 and "pass --db with the journal's database" in other_db.err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2")
    bad = run_inproc("undo", str(garbage), "--db", host.db.url)
    assert bad.rc == 4 and "is not a decnet-audit journal (not JSON" in bad.err
    assert "Traceback" not in other_host.err + other_db.err + bad.err
    fixed = host.db.rows()
    with FixLock(host.db.url, "local", 1.0):  # another --fix or undo is running
        busy = run_inproc("undo", journal, "--db", host.db.url, "--lock-timeout", "0")
    assert busy.rc == 6 and "Traceback" not in busy.err, busy.err
    assert "holds the fix lock for host 'local'" in busy.err
    assert busy.err.rstrip().endswith("nothing was written")
    assert "waiting" not in busy.err  # --lock-timeout 0 waits for nothing
    assert host.db.rows() == fixed

    # DECNET touches one fixed row after the fix: undo must not clobber it.
    host.db.execute("UPDATE fleet_deckies SET state = 'running', updated_at = :t "
                    "WHERE host_uuid = 'local' AND name = :n", t=now(), n=n["degraded"])
    touched = host.row(n["degraded"])
    undo = run_inproc("undo", journal, "--db", host.db.url, "--journal", str(tmp_path / "u1.json"))
    assert undo.rc == 1, undo.out + undo.err
    assert f"conflict: fleet_deckies (local, {n['degraded']}): changed since the fix" in undo.out
    assert host.row(n["degraded"]) == touched
    expect = [r for r in host.original if r["name"] != n["degraded"]]
    assert [r for r in host.db.rows() if r["name"] != n["degraded"]] == expect

    twice = run_inproc("undo", journal, "--db", host.db.url, "--journal", str(tmp_path / "u2.json"))
    assert twice.rc == 1 and "already: fleet_deckies" in twice.out
    assert not (tmp_path / "u2.json").exists()  # nothing restored, nothing journaled


def test_journal_that_cannot_be_written_means_nothing_written(host):
    blocker = host.tmp / "a-file"
    blocker.write_text("")
    run = run_inproc(*host.args("--fix", "--unsafe-fixes", "--journal", str(blocker / "j.json")))
    assert run.rc == 6, run.out + run.err
    assert "nothing was written" in run.out
    assert host.db.rows() == host.original


def test_list_rules_shows_which_fixes_are_safe():
    run = run_inproc("--list-rules")
    assert run.rc == 0
    lines = {line.split()[1]: line.split()[2] for line in run.out.splitlines() if line.strip()}
    assert (lines["json-only"], lines["docker-mismatch"], lines["db-only"],
            lines["foreign-host-row"]) == ("safe", "safe", "unsafe", "report")


def test_undo_without_its_database_says_so_in_one_line(tmp_path, sqlite_db, pool):
    host = Host(tmp_path, sqlite_db, pool)
    fix = run_inproc(*host.args("--fix", "--journal", str(tmp_path / "j.json")))
    assert fix.rc == 1  # db-only left: unsafe
    db_file = Path(sqlite_db.url.removeprefix("sqlite:///"))
    db_file.rename(tmp_path / "moved.db")
    try:
        undo = run_inproc("undo", str(tmp_path / "j.json"), "--db", sqlite_db.url)
        created = db_file.exists()  # SQLite creates a missing file unless told not to
    finally:
        (tmp_path / "moved.db").rename(db_file)
    assert undo.rc == 6
    assert undo.err == (f"decnet-audit: undo: cannot use the database {sqlite_db.url}: "
                        f"database file not found; nothing was written\n")
    assert not created
