"""Fuzzing ``undo`` with journals: a genuine journal of a real ``--fix`` (two
inserts, one delete), then damaged in one place, cut, nested deep, or
re-sealed after the damage (as its owner could), and undone. Every run exits
0, 1, 2, 4 or 6 with no traceback, and never changes another host's row."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.fix import run_inproc
from kit.fleet import decky_config, write_state
from kit.fuzz import clean_exit, deep, fuzz_settings, garbled, make_db, mutated
from kit.harden import reseal

UNDO = {0, 1, 2, 4, 6}
PEERS = [("peer-1", "fz-a", '["ssh"]', None, "10.0.0.9", "failed", "theirs", None, None,
          "2026-01-01 00:00:00"),
         ("LOCAL", "fz-b", '["ssh"]', None, "10.0.0.8", "running", None, None, None,
          "2026-01-01 00:00:00")]


def table(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT * FROM fleet_deckies ORDER BY host_uuid, name").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz-journal")
    state = write_state(d / "state.json", [decky_config("fz-a"), decky_config("fz-b")])
    (d / "empty.jsonl").write_text("")
    url = make_db(d / "decnet.db", PEERS + [("local", "fz-gone", '["ssh"]', None, "10.0.0.7",
                                            "running", "x", "c0ffee", None,
                                            "2026-01-01 00:00:00")])
    fix = run_inproc("--state", str(state), "--db", url, "--docker-snapshot",
                     str(d / "empty.jsonl"), "--host-uuid", "local", "--select",
                     "json-only,db-only", "--fix", "--unsafe-fixes", "--journal",
                     str(d / "j.json"))
    assert fix.rc in (0, 1), fix.out + fix.err
    doc = json.loads((d / "j.json").read_text())
    # fz-a has its row already (make_db); fz-b is inserted, fz-gone deleted.
    assert sorted(c["op"] for c in doc["changes"]) == ["delete", "insert"]
    shutil.copy(d / "decnet.db", d / "fixed.db")
    return {"dir": d, "url": url, "db": d / "decnet.db", "doc": doc,
            "peers": [r for r in table(d / "decnet.db") if r[0] != "local"]}


@st.composite
def journals(draw, doc):
    kind = draw(st.sampled_from(["mutated", "resealed", "garbled", "deep"]))
    if kind == "deep":
        return kind, '{"format": "decnet-audit-journal", "version": 1, "changes": ' + \
            draw(deep()) + "}"
    if kind == "garbled":
        return kind, draw(garbled(json.dumps(doc, indent=1)))
    return kind, draw(mutated({k: v for k, v in doc.items() if k != "mac"} if kind ==
                              "resealed" else doc))


@fuzz_settings()
@given(data=st.data())
def test_fuzz_undo_journal(genuine, data):
    kind, journal = data.draw(journals(genuine["doc"]))
    shutil.copy(genuine["dir"] / "fixed.db", genuine["db"])
    with tempfile.TemporaryDirectory(dir=genuine["dir"]) as work:
        path = Path(work) / "j.json"
        if kind == "resealed" and isinstance(journal, dict):
            reseal(path, journal)
        else:
            text = journal if isinstance(journal, str) else json.dumps(journal)
            path.write_text(text, encoding="utf-8", errors="surrogateescape")
            path.chmod(0o600)
        run = run_inproc("undo", str(path), "--db", genuine["url"], "--journal",
                         str(Path(work) / "u.json"))
    clean_exit(run, UNDO)
    assert [r for r in table(genuine["db"]) if r[0] != "local"] == genuine["peers"]
