"""Fuzzing the TOML the auditor reads: ``--config`` (select, ignore, fail-on,
rule options, waivers) and ``--baseline``. A bad file is exit 4 with one
``file:line: why`` line; a good one audits (0, 1 or 2). Never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.fix import run_inproc
from kit.fuzz import (
    baseline_toml,
    clean_exit,
    config_toml,
    deep,
    fuzz_settings,
    garbled,
    make_db,
    state_doc,
)

ALLOWED = {0, 1, 2, 4, 5}  # 5: the file selected no rule


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    import json

    d = tmp_path_factory.mktemp("fuzz-config")
    (d / "state.json").write_text(json.dumps(state_doc()))
    (d / "empty.jsonl").write_text("")
    return {"dir": d, "db": make_db(d / "decnet.db")}


def toml_texts(kind):
    return st.one_of(
        kind(), kind().flatmap(garbled),
        deep().map(lambda d: f"select = {d}\n"),
        deep("{a = ", "}").map(lambda d: f"x = {d}\n"),
        st.binary(max_size=48).map(lambda b: b.decode("latin-1")),
    )


def run_with(base, flag, text):
    with tempfile.TemporaryDirectory(dir=base["dir"]) as work:
        path = Path(work) / "cfg.toml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        d = base["dir"]
        return run_inproc("--state", str(d / "state.json"), "--db", base["db"],
                          "--docker-snapshot", str(d / "empty.jsonl"), flag, str(path))


@fuzz_settings()
@given(text=toml_texts(config_toml))
def test_fuzz_config_file(base, text):
    run = run_with(base, "--config", text)
    clean_exit(run, ALLOWED)
    if run.rc == 4:
        assert len(run.err.splitlines()) == 1


@fuzz_settings()
@given(text=toml_texts(baseline_toml))
def test_fuzz_baseline_file(base, text):
    run = run_with(base, "--baseline", text)
    clean_exit(run, ALLOWED)
    if run.rc == 4:
        assert len(run.err.splitlines()) == 1
