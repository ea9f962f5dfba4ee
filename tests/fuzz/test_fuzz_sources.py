"""Fuzzing the three sources' parsers through the CLI: the state file, a
``--docker-snapshot`` (``docker ps`` lines and ``docker inspect`` arrays) and
``fleet_deckies`` rows of any type SQLite can hold; and fixes planned (``--diff``)
from any value a state-file entry can hold. Each run exits 0, 1 or
2, never with a traceback or a crashed rule, and still writes its report."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.fix import run_inproc
from kit.fuzz import (
    clean_exit,
    deep,
    fuzz_settings,
    garbled,
    json_values,
    make_db,
    mutated,
    state_doc,
    texts,
)

AUDIT = {0, 1, 2}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz-sources")
    (d / "state.json").write_text(json.dumps(state_doc()))
    (d / "empty.jsonl").write_text("")
    return {"dir": d, "db": make_db(d / "decnet.db"), "state": str(d / "state.json"),
            "snap": str(d / "empty.jsonl")}


def audit(base, *, state=None, snap=None, db=None, extra=()):
    with tempfile.TemporaryDirectory(dir=base["dir"]) as work:
        report = Path(work) / "r.json"
        run = run_inproc("--state", state or base["state"], "--db", db or base["db"],
                         "--docker-snapshot", snap or base["snap"], "--host-uuid", "local",
                         *extra, json_path=report)
        assert run.report is not None, "the report is written whatever the input"
    return run


@contextmanager
def written(base, text: str):
    """``text`` in a file of its own beside the fleet, for one run."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=base["dir"], delete=False,
                                     encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(text)
    try:
        yield fh.name
    finally:
        Path(fh.name).unlink()


def state_texts():
    valid = json.dumps(state_doc(), indent=1)
    return st.one_of(
        mutated(state_doc()).map(json.dumps),
        garbled(valid),
        deep().map(lambda d: '{"config": {"deckies": [' + d + "]}}"),
        deep("{\"a\": ", "}"),
        json_values.map(json.dumps),
        st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    )


@fuzz_settings()
@given(text=state_texts())
def test_fuzz_state_file(base, text):
    with written(base, text) as state:
        clean_exit(audit(base, state=state), AUDIT)


# Python's json reads NaN, Infinity and 1e999 (DECNET's loader too); DECNET
# writes them as null. Any value, in any field of an entry, or the field gone.
wild = st.recursive(st.one_of(st.floats(), st.sampled_from(["1e999", "-1e999"]).map(float),
                              json_values), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)), max_leaves=6)


@st.composite
def entry_edits(draw) -> str:
    doc = state_doc()
    entry = doc["config"]["deckies"][draw(st.integers(0, 1))]
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.one_of(st.sampled_from(sorted(entry)), texts))
        if key in ("name", "services") or draw(st.booleans()):
            if key not in ("name", "services"):
                entry.pop(key, None)
        else:
            entry[key] = draw(wild)
    return json.dumps(doc)


@fuzz_settings()
@given(text=entry_edits())
def test_fuzz_state_entries_plan_their_fixes(base, text):
    """--diff plans every fix (json-only inserts each decky's row as DECNET
    would write it): no value a state file can hold makes a fix crash."""
    with written(base, text) as state:
        run = audit(base, state=state, extra=("--diff",))
    clean_exit(run, AUDIT)
    assert "crashed" not in run.out + run.err, run.out[-2000:]


ps_line = st.fixed_dictionaries({"Names": st.one_of(texts, json_values)}, optional={
    "ID": json_values, "State": st.one_of(st.sampled_from(["running", "exited"]), json_values),
    "Status": json_values, "Labels": st.one_of(st.just("decnet.fleet.decky=fz-a"), json_values),
})
inspect_entry = st.fixed_dictionaries({"Name": st.one_of(texts, json_values)}, optional={
    "Id": json_values, "State": st.one_of(st.fixed_dictionaries({"Status": json_values}),
                                          json_values),
    "Config": st.one_of(st.fixed_dictionaries({"Labels": json_values}), json_values),
})


def snapshot_texts():
    return st.one_of(
        st.lists(ps_line, max_size=4).map(lambda ls: "\n".join(map(json.dumps, ls))),
        st.lists(inspect_entry, max_size=4).map(json.dumps),
        st.lists(json_values, max_size=3).map(lambda ls: "\n".join(map(json.dumps, ls))),
        deep(), deep('{"Names": "x", "Labels": ', "}"),
        garbled('{"ID": "1", "Names": "fz-a", "State": "running", "Labels": "a=b"}\n'),
        st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    )


@fuzz_settings()
@given(text=snapshot_texts())
def test_fuzz_docker_snapshot(base, text):
    with written(base, text) as snap:
        clean_exit(audit(base, snap=snap), AUDIT)


# Whatever SQLite stores in a column: text (odd or JSON), numbers, BLOBs, NULL.
filled = st.one_of(texts, st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False),
                   st.binary(max_size=8), json_values.map(json.dumps), deep().map(str))
cell = st.one_of(st.none(), filled)
row = st.tuples(st.one_of(st.just("local"), st.just("LOCAL"), texts), st.one_of(st.just("fz-b"),
                texts, st.binary(max_size=4)), cell, cell, cell, cell, cell, cell, cell,
                st.one_of(st.just("2026-01-01 00:00:00"), filled))


@fuzz_settings(25)
@given(rows=st.lists(row, max_size=3, unique_by=lambda r: (r[0], r[1])))
def test_fuzz_fleet_deckies_rows(base, rows):
    # services and state are NOT NULL in DECNET's DDL: SQLite enforces that.
    rows = [r[:2] + (r[2] if r[2] is not None else "[]",) + r[3:5] +
            (r[5] if r[5] is not None else "running",) + r[6:] for r in rows]
    with tempfile.TemporaryDirectory(dir=base["dir"]) as work:
        try:
            url = make_db(Path(work) / "f.db", rows)
        except sqlite3.IntegrityError:
            return  # two keys SQLite itself holds equal
        clean_exit(audit(base, db=url), AUDIT)
