"""Interrupted or degraded fixes (issue 12): a fix that committed is always
reported as committed, a lost MariaDB lock stops a fix before it writes, a
container removal is recorded as it happened, and one hostile decky never
sinks the fix of the others."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading

import pytest
from sqlalchemy import text

from kit.fix import Paused, run_inproc
from kit.fleet import decky_config, run_cli, unique, write_state
from kit.harden import LOCAL, World


@pytest.fixture
def jdir(tmp_path, monkeypatch):
    monkeypatch.setenv("DECNET_AUDIT_JOURNAL_DIR", str(tmp_path / "default-journals"))
    return tmp_path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_just_after_commit_still_reports_the_fix(jdir, db, sig):
    world = World(jdir, db, n=5)
    journal, report = jdir / "j.json", jdir / "r.json"
    paused = Paused("committed", jdir / "pause", *world.args(
        "--fix", "--journal", str(journal), "--json", str(report)))
    try:
        info = paused.wait_paused()
        os.kill(info["pid"], sig)
        run = paused.resume()
    finally:
        paused.kill()
    assert run.rc == 2, run.out + run.err
    assert f"applied 5 changes (5 inserts) in one transaction; journal: {journal}" in run.out
    assert f"interrupted ({sig.name}) after the COMMIT" in run.out
    assert "nothing written" not in run.out
    assert f"{sig.name} after the fix committed" in run.err
    assert json.loads(journal.read_text())["status"] == "committed"
    doc = json.loads(report.read_text())
    assert {f["fix_status"] for f in doc["findings"]} == {"fixed"}
    assert {r["name"] for r in world.local_rows()} == set(world.names)
    assert world.peer_rows() == world.peers


def test_a_signal_before_commit_still_writes_nothing(jdir, db):
    world = World(jdir, db, n=2)
    paused = Paused("locked", jdir / "pause", *world.args("--fix", "--journal",
                                                           str(jdir / "j.json")))
    try:
        info = paused.wait_paused()
        os.kill(info["pid"], signal.SIGTERM)
        run = paused.resume()
    finally:
        paused.kill()
    assert run.rc == 2 and "interrupted" in run.err, run.out + run.err
    assert world.local_rows() == [] and not (jdir / "j.json").exists()


@pytest.mark.mariadb
def test_a_lost_mariadb_lock_stops_the_fix_before_it_writes(jdir, mariadb_db, mariadb_server):
    world = World(jdir, mariadb_db, n=3)
    paused = Paused("locked", jdir / "pause", *world.args("--fix", "--journal",
                                                           str(jdir / "j.json")))
    try:
        paused.wait_paused()
        from decnet_audit.fix.lock import lock_name

        name = lock_name(mariadb_db.engine.url.database, LOCAL)
        with mariadb_server.connect() as conn:
            holder = conn.execute(text("SELECT IS_USED_LOCK(:n)"), {"n": name}).scalar()
            assert holder is not None
            conn.execute(text(f"KILL {int(holder)}"))  # the lock's connection ends
            assert conn.execute(text("SELECT IS_USED_LOCK(:n)"), {"n": name}).scalar() is None
        run = paused.resume()
    finally:
        paused.kill()
    assert run.rc == 6, run.out + run.err
    assert "the fix lock was lost" in run.out and "nothing was written" in run.out
    assert world.local_rows() == [] and not (jdir / "j.json").exists()


def test_one_name_that_is_not_utf8_never_aborts_the_others(jdir, db):
    hostile = "\udcff" + unique("bad")
    world = World(jdir, db, names=[unique("a"), hostile, unique("b")])
    run = run_inproc(*world.args("--fix", "--journal", str(jdir / "j.json")),
                     json_path=jdir / "r.json")
    assert run.rc == 1, run.out + run.err
    assert {r["name"] for r in world.local_rows()} == set(world.names) - {hostile}
    fixes = {f["decky"]: (f["fix_status"], f["fix_detail"]) for f in run.findings()}
    assert fixes["\\xff" + hostile[1:]] == (
        "skipped", "not fixed: the decky name is not valid UTF-8 text; fix it by hand")
    assert "\udcff" not in run.out


@pytest.mark.mariadb
def test_a_key_held_case_insensitively_is_a_conflict_that_says_so(jdir, mariadb_db):
    world = World(jdir, mariadb_db, n=2)
    clash, free = world.names
    mariadb_db.insert("LOCAL", clash, state="running")  # another host id, one key for MariaDB
    run = run_inproc(*world.args("--fix", "--journal", str(jdir / "j.json")),
                     json_path=jdir / "r.json")
    assert run.rc == 1, run.out + run.err
    fixes = {f["decky"]: (f["fix_status"], f["fix_detail"]) for f in run.findings()}
    assert fixes[clash][0] == "conflict"
    assert f"the row (LOCAL, {clash}) holds this key for the database" in fixes[clash][1]
    assert "appeared since the audit" not in run.out
    assert {r["name"] for r in world.local_rows()} == {free}


class DroppingProxy:
    """A unix socket in front of the real engine that passes every request
    on, but drops the connection instead of relaying the answer to a DELETE:
    the engine removed the container, the client never hears it."""

    def __init__(self, path, upstream: str):
        self.path, self.upstream, self.dropped = str(path), upstream, 0
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client):
        up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        up.connect(self.upstream)
        deleting = threading.Event()

        def requests():
            try:
                while data := client.recv(65536):
                    if data.startswith(b"DELETE "):
                        deleting.set()
                    up.sendall(data)
            except OSError:
                pass

        threading.Thread(target=requests, daemon=True).start()
        try:
            while data := up.recv(65536):
                if deleting.is_set():
                    self.dropped += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        for s in (client, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        self.server.close()


@pytest.mark.docker
def test_a_removal_whose_answer_is_lost_is_recorded_as_done(tmp_path, sqlite_db, docker_fleet,
                                                            docker_client):
    upstream = docker_fleet.base_url.removeprefix("unix://")
    if not os.path.exists(upstream):
        pytest.skip(f"the engine is not on a unix socket ({docker_fleet.base_url})")
    orphan = unique("hd-orphan")
    docker_fleet.decky(orphan, ("ssh",), base=False)
    state = write_state(tmp_path / "s.json", [decky_config(unique("hd-other"))])
    proxy = DroppingProxy(tmp_path / "d.sock", upstream)
    try:
        run = run_cli("--state", str(state), "--db", sqlite_db.url, "--docker-host",
                      f"unix://{tmp_path / 'd.sock'}", "--host-uuid", "local", "--select",
                      "orphan-container", "-k", orphan, "--fix", "--unsafe-fixes",
                      "--journal", str(tmp_path / "j.json"), json_path=tmp_path / "r.json")
    finally:
        proxy.close()
    assert proxy.dropped == 1
    assert run.rc == 0, run.out + run.err
    [finding] = run.findings()
    assert finding["fix_status"] == "fixed"
    assert "the engine's answer was lost" in finding["fix_detail"]
    assert "checked again: it is gone" in finding["fix_detail"]
    assert not docker_client.containers.list(all=True, filters={"name": orphan})
    [entry] = json.loads((tmp_path / "j.json").read_text())["changes"]
    assert (entry["name"], entry["status"]) == (f"{orphan}-ssh", "fixed")
