"""engine.observe: every source read once, and the re-audit after a fix
reading only what the fix can have changed."""

from __future__ import annotations

import subprocess
import sys

from decnet_audit.engine import Sources, observe
from decnet_audit.model import DB, DOCKER, STATE
from kit.fleet import decky_config, write_state


def test_observe_reads_every_source(tmp_path, sqlite_db):
    state = write_state(tmp_path / "s.json", [decky_config("a")])
    snapshot = tmp_path / "ps.jsonl"
    snapshot.write_text("")
    sqlite_db.insert("local", "a")
    fleet = observe(Sources(state_path=state, db_url=sqlite_db.url, docker_snapshot=snapshot))
    assert [d.name for d in fleet.deckies] == ["a"] and [r.name for r in fleet.rows] == ["a"]
    assert fleet.containers == [] and list(fleet.sources) == [STATE, DB, DOCKER]
    assert all(s.ok for s in fleet.sources.values())


def test_a_re_observation_reads_only_what_it_is_asked(tmp_path, sqlite_db):
    state = write_state(tmp_path / "s.json", [decky_config("a")])
    snapshot = tmp_path / "ps.jsonl"
    snapshot.write_text("")
    src = Sources(state_path=state, db_url=sqlite_db.url, docker_snapshot=snapshot)
    first = observe(src)
    assert first.rows == []
    # Were they read again, the state file would now be empty and Docker unreadable.
    state.write_text("{not json")
    snapshot.unlink()
    sqlite_db.insert("local", "a")
    again = observe(src, only=(DB,), previous=first)
    assert [r.name for r in again.rows] == ["a"] and again.sources[DB].detail == "1 rows"
    assert again.deckies is first.deckies and again.sources[STATE] == first.sources[STATE]
    assert again.containers is first.containers and again.sources[DOCKER].ok
    assert list(again.sources) == [STATE, DB, DOCKER]
    # Without `previous`, `only` does not apply: everything is read.
    fresh = observe(src, only=(DB,))
    assert not fresh.sources[STATE].ok and not fresh.sources[DOCKER].ok


# What a read-only audit has imported when it starts reading: the engine is
# asked first, and SQLAlchemy (~0.1 s of CPU) is imported while it answers.
OBSERVE_FIRST = """
import sys
from decnet_audit import cli, engine

seen = []
real = engine.observe
def observe(*args, **kw):
    seen.append(sorted(m for m in ("sqlalchemy", "docker", "decnet_audit.fix.apply",
                                   "decnet_audit.fix.lock", "decnet_audit.fix.plan")
                       if m in sys.modules))
    return real(*args, **kw)
engine.observe = observe
rc = cli.main(sys.argv[1:])
print(rc, seen, "sqlalchemy" in sys.modules)
"""


def test_a_read_only_audit_imports_sqlalchemy_once_the_engine_is_asked(tmp_path, sqlite_db):
    state = write_state(tmp_path / "s.json", [decky_config("a")])
    snapshot = tmp_path / "ps.jsonl"
    snapshot.write_text("")
    sqlite_db.insert("local", "a")
    args = ["--state", str(state), "--db", sqlite_db.url, "--docker-snapshot", str(snapshot),
            "-q", "--select", "json-only,db-only"]
    out = subprocess.run([sys.executable, "-c", OBSERVE_FIRST, *args], capture_output=True,
                         text=True, cwd=tmp_path, check=True).stdout
    # No drift; nothing heavy before observe(); SQLAlchemy once it read the database.
    assert out.splitlines()[-1] == "0 [[]] True"
