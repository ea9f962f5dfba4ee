"""Journals are never lost and never trusted blindly (issue 12).

An existing journal is never deleted or replaced (refused up front; the
kernel refuses a file that appears later); ``undo`` reads only a journal
this user owns, nobody else can write, and whose HMAC seal holds; a journal
left ``prepared`` by a failed final write is a warning and exit 2.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from decnet_audit.atomic import write_atomic
from kit.fix import Paused, run_inproc
from kit.fleet import run_cli
from kit.harden import World, reseal

NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")


@pytest.fixture
def world(tmp_path, db, monkeypatch):
    monkeypatch.setenv("DECNET_AUDIT_JOURNAL_DIR", str(tmp_path / "default-journals"))
    return World(tmp_path, db)


def fixed(world, name="j.json"):
    path = world.tmp / name
    run = run_inproc(*world.args("--fix", "--journal", str(path)))
    assert run.rc == 0, run.out + run.err
    return path


def test_an_edited_journal_is_refused_before_anything_is_written(world):
    journal = fixed(world)
    after_fix = world.db.rows()
    doc = json.loads(journal.read_text())
    doc["changes"][0]["name"] += "-edited"  # the row guard would catch it; the seal first
    journal.write_text(json.dumps(doc))
    run = run_inproc("undo", str(journal), "--db", world.db.url)
    assert run.rc == 4, run.out + run.err
    assert run.err.count("\n") == 1 and "fails its integrity check" in run.err
    assert world.db.rows() == after_fix


@pytest.mark.parametrize("damage", [
    lambda c: c["before"].__setitem__("state", {"$decimal": "x"}) if c["before"] else
    c["after"].__setitem__("state", {"$decimal": "x"}),
    lambda c: c["after"].__setitem__("name", "someone-else"),
    lambda c: c.__setitem__("after", [1, 2]),
    lambda c: c["after"].pop("services"),
], ids=["decimal-x", "image-of-another-row", "image-not-object", "image-not-whole"])
def test_a_resealed_but_damaged_journal_is_one_line_exit_4(world, damage):
    journal = fixed(world)
    after_fix = world.db.rows()
    doc = json.loads(journal.read_text())
    damage(doc["changes"][0])
    reseal(journal, doc)
    run = run_inproc("undo", str(journal), "--db", world.db.url)
    assert run.rc == 4, run.out + run.err
    assert run.err.count("\n") == 1 and "damaged journal" in run.err
    assert "Traceback" not in run.out + run.err
    assert world.db.rows() == after_fix


def test_a_journal_nested_3000_deep_is_one_line_exit_4(world):
    deep = world.tmp / "deep.json"
    deep.write_text('{"format": "decnet-audit-journal", "x": ' + "[" * 3000 + "]" * 3000 + "}")
    run = run_inproc("undo", str(deep), "--db", world.db.url)
    assert run.rc == 4 and run.err.count("\n") == 1 and "nested" in run.err, run.err


@root_only
def test_a_journal_swapped_by_another_local_user_is_refused(world):
    # The journal directory is reachable by another user (pytest's own
    # temporary directories are not), who replaces root's journal with one
    # that would write their text into this host's rows.
    jdir = Path(tempfile.mkdtemp(prefix="decnet-audit-swap-"))
    try:
        jdir.chmod(0o777)
        journal = jdir / "j.json"
        run = run_inproc(*world.args("--fix", "--journal", str(journal)))
        assert run.rc == 0, run.out + run.err
        after_fix = world.db.rows()
        doc = json.loads(journal.read_text())
        for change in doc["changes"]:
            change["before"] = dict(change["after"], last_error="planted-by-nobody")
            change["op"] = "update"
        subprocess.run(["/bin/sh", "-c", 'cat > "$1.new" && mv -f "$1.new" "$1"', "sh",
                        str(journal)], input=json.dumps(doc), text=True, user=NOBODY,
                       check=True)
        assert journal.stat().st_uid == NOBODY
        run = run_inproc("undo", str(journal), "--db", world.db.url)
        assert run.rc == 4, run.out + run.err
        assert f"owned by uid {NOBODY}, not by this user" in run.err
        assert world.db.rows() == after_fix
        assert "planted-by-nobody" not in json.dumps(world.db.rows(), default=str)

        # Even a file root owns is refused when others could have written it.
        mine = world.tmp / "mine.json"
        shutil.copy(journal, mine)
        os.chown(mine, 0, 0)
        mine.chmod(0o666)
        run = run_inproc("undo", str(mine), "--db", world.db.url)
        assert run.rc == 4 and "writable by group or others" in run.err, run.err
    finally:
        shutil.rmtree(jdir)


def test_journal_sealed_with_another_key_is_refused(world, tmp_path):
    journal = fixed(world)
    after_fix = world.db.rows()
    other_key = {"DECNET_AUDIT_JOURNAL_KEY": str(tmp_path / "other.key")}
    run = run_inproc("undo", str(journal), "--db", world.db.url, env=other_key)
    assert run.rc == 4 and "cannot be checked: no journal key" in run.err, run.err
    (tmp_path / "other.key").write_bytes(os.urandom(32))
    (tmp_path / "other.key").chmod(0o600)
    run = run_inproc("undo", str(journal), "--db", world.db.url, env=other_key)
    assert run.rc == 4 and "fails its integrity check" in run.err, run.err
    assert world.db.rows() == after_fix


def test_a_journal_whose_key_was_lost_is_undone_only_with_accept_unsealed(world, tmp_path):
    before_fix = world.db.rows()
    journal = fixed(world)
    after_fix = world.db.rows()
    assert after_fix != before_fix
    lost = {"DECNET_AUDIT_JOURNAL_KEY": str(tmp_path / "lost.key")}  # no such file: key gone
    refused = run_inproc("undo", str(journal), "--db", world.db.url, env=lost)
    assert refused.rc == 4 and refused.err.count("\n") == 1, refused.err
    assert "no journal key" in refused.err and "--accept-unsealed" in refused.err
    assert world.db.rows() == after_fix
    run = run_inproc("undo", str(journal), "--db", world.db.url, "--accept-unsealed",
                     "--journal", str(tmp_path / "u.json"), env=lost)
    assert run.rc == 0, run.out + run.err
    assert run.err.startswith("decnet-audit: warning: --accept-unsealed: journal ")
    assert "no journal key" in run.err
    assert world.db.rows() == before_fix
    # The undo's own journal is sealed (with a new key), and undoes the undo.
    again = run_inproc("undo", str(tmp_path / "u.json"), "--db", world.db.url, env=lost)
    assert again.rc == 0, again.out + again.err
    assert world.db.rows() == after_fix


def test_accept_unsealed_still_refuses_a_journal_others_could_write(world, tmp_path):
    journal = fixed(world)
    after_fix = world.db.rows()
    journal.chmod(0o666)
    run = run_inproc("undo", str(journal), "--db", world.db.url, "--accept-unsealed")
    assert run.rc == 4 and "writable by group or others" in run.err, run.err
    assert world.db.rows() == after_fix


def test_an_existing_journal_is_never_replaced_nor_deleted(world, tmp_path):
    keep = tmp_path / "keep.json"
    keep.write_text("an earlier run's before-images\n")
    before = world.db.rows()
    # The database is locked by another writer: the run used to time out,
    # exit 6 and delete keep.json.
    other = sqlite3.connect(world.db.url.removeprefix("sqlite:///")) if world.db.kind == \
        "sqlite" else None
    if other is not None:
        other.execute("BEGIN IMMEDIATE")
    try:
        run = run_inproc(*world.args("--fix", "--journal", str(keep), "--lock-timeout", "1"))
        assert run.rc == 4, run.out + run.err
        assert "the file exists; a journal is never overwritten" in run.err
        fresh = tmp_path / "fresh.json"
        if other is not None:
            run = run_inproc(*world.args("--fix", "--journal", str(fresh), "--lock-timeout",
                                         "1"))
            assert run.rc == 6, run.out + run.err
            assert not fresh.exists()  # its own, never-committed journal is gone
    finally:
        if other is not None:
            other.rollback()
            other.close()
    assert keep.read_text() == "an earlier run's before-images\n"
    assert world.db.rows() == before

    journal = fixed(world)
    run = run_inproc("undo", str(journal), "--db", world.db.url, "--journal", str(keep))
    assert run.rc == 4 and "never overwritten" in run.err, run.err
    assert keep.read_text() == "an earlier run's before-images\n"


def test_a_journal_that_appears_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "j.json"
    target.write_text("theirs")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"ours", mode=0o600, exclusive=True)
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["j.json"]  # no temporary left


def test_final_journal_write_failing_is_a_warning_and_exit_2(tmp_path, db, monkeypatch):
    monkeypatch.setenv("DECNET_AUDIT_JOURNAL_DIR", str(tmp_path / "default-journals"))
    # Enough rows that the journal outgrows SQLite's own files, which the
    # file-size limit below must leave alone.
    world = World(tmp_path, db, n=300)
    journal = tmp_path / "j.json"
    paused = Paused("journaled", tmp_path / "pause", *world.args("--fix", "--journal",
                                                                  str(journal)))
    try:
        info = paused.wait_paused()
        # From now on the run cannot grow a file past the prepared journal's
        # size: the kernel refuses its final rewrite (EFBIG), like a full disk.
        size = journal.stat().st_size
        if db.kind == "sqlite":
            assert (tmp_path / "decnet.db").stat().st_size * 2 < size
        resource.prlimit(info["pid"], resource.RLIMIT_FSIZE, (size, size))
        run = paused.resume()
    finally:
        paused.kill()
    assert run.rc == 2, run.out + run.err
    assert "could not be marked committed" in run.out and "stays 'prepared'" in run.out
    doc = json.loads(journal.read_text())
    assert doc["status"] == "prepared"
    assert {r["name"] for r in world.local_rows()} == set(world.names)  # committed
    undo = run_inproc("undo", str(journal), "--db", world.db.url, "--journal",
                      str(tmp_path / "u.json"))
    assert undo.rc == 0, undo.out + undo.err
    assert world.local_rows() == [] and world.peer_rows() == world.peers


def test_reports_follow_the_umask(world, tmp_path):
    for umask, mode in ((0o077, 0o600), (0o022, 0o644)):
        report = tmp_path / f"r{umask:o}.json"
        p = subprocess.run(
            [sys.executable, "-c", "import os, sys; os.umask(int(sys.argv[1], 8)); "
             "from decnet_audit.cli import main; sys.exit(main(sys.argv[2:]))", f"{umask:o}",
             *world.args("--json", str(report), "--junitxml", str(report) + ".xml")],
            capture_output=True, text=True)
        assert p.returncode == 1, p.stdout + p.stderr
        assert report.stat().st_mode & 0o777 == mode
        assert (tmp_path / (report.name + ".xml")).stat().st_mode & 0o777 == mode


def test_a_fifo_named_as_the_journal_is_refused_at_once(world):
    fifo = world.tmp / "j.json"
    os.mkfifo(fifo)
    run = run_cli("undo", str(fifo), "--db", world.db.url, timeout=20)  # used to block
    assert run.rc == 4 and "is not a regular file" in run.err, run.err
