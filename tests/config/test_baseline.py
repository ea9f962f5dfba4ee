"""Baselines: record today's drift, re-run clean, fail again on new drift."""

from __future__ import annotations

import tomllib
from datetime import date
from fnmatch import fnmatchcase

from hypothesis import given
from hypothesis import strategies as st

from decnet_audit.cli import main
from decnet_audit.config.baseline import exact_pattern, toml_string
from kit.fleet import run_cli, unique
from kit.report import HOSTILE_NAMES, PsCapture, drifted_fleet

CORE = "json-only,db-only,docker-mismatch,foreign-host-row"


def audit(tmp_path, state, db, *args):
    return run_cli("--state", str(state), "--db", db.url,
                   "--docker-snapshot", str(tmp_path / "ps.jsonl"), "--select", CORE, *args,
                   json_path=tmp_path / "report.json", cwd=tmp_path)


def test_baseline_round_trip(tmp_path, db):
    planted = drifted_fleet(tmp_path, db, PsCapture(tmp_path / "ps.jsonl"))
    baseline = tmp_path / "baseline.toml"
    assert audit(tmp_path, planted.state, db).rc == 1

    wrote = audit(tmp_path, planted.state, db, "--write-baseline", str(baseline))
    assert wrote.rc == 0, wrote.out + wrote.err
    assert f"wrote 4 waivers to baseline {baseline}" in wrote.err
    recorded = tomllib.loads(baseline.read_text())["waivers"]
    assert {(w["rule"], w["decky"]) for w in recorded} == {
        (rule, one) for rule, names in planted.drift.items() for one in names
    }
    assert {w["reason"] for w in recorded} == {"baseline"}
    assert {w["added"] for w in recorded} == {date.today()}
    assert all("expires" not in w for w in recorded)

    rerun = audit(tmp_path, planted.state, db, "--baseline", str(baseline))
    assert rerun.rc == 0, rerun.out
    assert rerun.report["summary"]["waived"] == 4
    assert {f["waiver_reason"] for f in rerun.findings()} == {"baseline"}

    # New drift: a row this host's state file does not know.
    newcomer = unique("new")
    db.insert("local", newcomer)
    again = audit(tmp_path, planted.state, db, "--baseline", str(baseline))
    assert again.rc == 1
    drifted = {(c["rule"], c["decky"]) for c in again.report["checks"]
               if c["outcome"] == "drift"}
    assert drifted == {("db-only", newcomer)}


def test_baseline_named_in_the_config_and_refreshed(tmp_path, sqlite_db):
    planted = drifted_fleet(tmp_path, sqlite_db, PsCapture(tmp_path / "ps.jsonl"))
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / ".decnet-audit.toml").write_text('baseline = "known.toml"\n')
    known = tmp_path / "audit" / "known.toml"
    assert audit(tmp_path, planted.state, sqlite_db, "--write-baseline", str(known)).rc == 0
    # The path is relative to the config file, not to the working directory.
    cfg = ["--config", str(tmp_path / "audit" / ".decnet-audit.toml")]
    assert audit(tmp_path, planted.state, sqlite_db, *cfg).rc == 0

    # Converging one drift and refreshing drops its waiver.
    (db_only,) = planted.drift["db-only"]
    sqlite_db.execute("DELETE FROM fleet_deckies WHERE name = :n", n=db_only)
    stale = audit(tmp_path, planted.state, sqlite_db, *cfg)
    assert stale.rc == 0
    assert [w["decky"] for w in stale.report["waivers"] if w["status"] == "unused"] == [db_only]
    refreshed = audit(tmp_path, planted.state, sqlite_db, *cfg, "--write-baseline", str(known))
    assert refreshed.rc == 0
    assert db_only not in known.read_text()
    assert len(tomllib.loads(known.read_text())["waivers"]) == 3


def test_no_baseline_from_an_incomplete_audit(tmp_path, sqlite_db):
    planted = drifted_fleet(tmp_path, sqlite_db, PsCapture(tmp_path / "ps.jsonl"))
    baseline = tmp_path / "baseline.toml"
    run = run_cli("--state", str(planted.state), "--db", sqlite_db.url,
                  "--docker-snapshot", str(tmp_path / "missing.jsonl"), "--select", CORE,
                  "--write-baseline", str(baseline), cwd=tmp_path)
    assert run.rc == 2
    assert "baseline" in run.err and "incomplete" in run.err
    assert not baseline.exists()


def test_baseline_never_overwrites_the_config_in_use(tmp_path, capsys, monkeypatch):
    cfg = tmp_path / ".decnet-audit.toml"
    cfg.write_text('select = ["db-only"]\n')
    monkeypatch.chdir(tmp_path)
    assert main(["--write-baseline", ".decnet-audit.toml"]) == 4
    assert "would overwrite the config file" in capsys.readouterr().err
    assert cfg.read_text() == 'select = ["db-only"]\n'


def test_a_malformed_baseline_names_its_line(tmp_path, capsys):
    bad = tmp_path / "b.toml"
    bad.write_text('[[waivers]]\nrule = "db-only"\ndecky = "x"\nreason = "baseline"\n'
                   'added = 2026-13-01\n')
    assert main(["--baseline", str(bad)]) == 4
    assert capsys.readouterr().err.startswith(
        f"decnet-audit: usage error: {bad}:5: invalid TOML")
    bad.write_text('select = ["db-only"]\n')
    assert main(["--baseline", str(bad)]) == 4
    assert capsys.readouterr().err == (
        f"decnet-audit: usage error: {bad}:1: a baseline holds only [[waivers]] tables, "
        f"not 'select'\n")


# -- names that are hard to write down ---------------------------------------------------


@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=5, unique=True))
def test_recorded_patterns_match_exactly_their_own_decky(names):
    doc = tomllib.loads("".join(f"d{i} = {toml_string(exact_pattern(n))}\n"
                                for i, n in enumerate(names)))
    for i, name in enumerate(names):
        pattern = doc[f"d{i}"]
        assert fnmatchcase(name, pattern)
        if not any("\ud800" <= ch <= "\udfff" for ch in name):
            # Only a name with undecodable bytes (shown as ?) may match another.
            assert [n for n in names if fnmatchcase(n, pattern)] == [name]


def test_hostile_names_survive_the_baseline_file():
    for name in [*HOSTILE_NAMES, "decky-[01]", "a*b?c", 'q"uote\\back']:
        value = tomllib.loads(f"d = {toml_string(exact_pattern(name))}\n")["d"]
        assert fnmatchcase(name, value) and not fnmatchcase(name + "x", value)
