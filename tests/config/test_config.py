"""The config file: where it is found, what the command line overrides, rule
options, and every malformed file as a one-line usage error naming its line.
"""

from __future__ import annotations

import json
import textwrap
from datetime import timedelta

import pytest

from decnet_audit.cli import main
from kit.fleet import decky_config, now, run_cli, write_state
from kit.report import PsCapture, mirror


@pytest.fixture
def fleet(tmp_path, sqlite_db):
    """An empty, consistent fleet: every rule runs and finds nothing."""
    state = write_state(tmp_path / "decnet-state.json", [])
    ps = PsCapture(tmp_path / "ps.jsonl")
    return ["--state", str(state), "--db", sqlite_db.url, *ps.args()]


def run(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def rules_run(capsys, tmp_path, fleet, *args):
    """The rule ids a run selected, from its JSON report."""
    import json

    rc, out, err = run(capsys, *fleet, "--json", str(tmp_path / "r.json"), *args)
    assert rc == 0, out + err
    return [r["id"] for r in json.loads((tmp_path / "r.json").read_text())["rules"]]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


# -- finding the file -------------------------------------------------------------------


def test_config_is_found_from_the_working_directory_upwards(tmp_path, fleet, capsys,
                                                            monkeypatch):
    write(tmp_path / "site" / ".decnet-audit.toml", 'select = ["db-only"]\n')
    deep = tmp_path / "site" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert rules_run(capsys, tmp_path, fleet) == ["db-only"]


def test_dotfile_wins_over_pyproject_and_unrelated_pyprojects_are_passed_over(
        tmp_path, fleet, capsys, monkeypatch):
    write(tmp_path / "pyproject.toml", """
        [tool.decnet-audit]
        select = ["json-only"]
    """)
    inner = tmp_path / "inner"
    write(inner / "pyproject.toml", '[project]\nname = "unrelated"\n')
    monkeypatch.chdir(inner)
    assert rules_run(capsys, tmp_path, fleet) == ["json-only"]
    write(inner / ".decnet-audit.toml", 'select = ["db-only"]\n')
    assert rules_run(capsys, tmp_path, fleet) == ["db-only"]


def test_explicit_config_and_command_line_win(tmp_path, fleet, capsys, monkeypatch):
    write(tmp_path / ".decnet-audit.toml", 'select = ["json-only"]\n')
    other = write(tmp_path / "ci.toml", 'select = ["db-only", "json-only"]\n'
                                        'ignore = ["json-only"]\n')
    monkeypatch.chdir(tmp_path)
    assert rules_run(capsys, tmp_path, fleet, "--config", str(other)) == ["db-only"]
    assert rules_run(capsys, tmp_path, fleet, "--select", "DA003") == ["docker-mismatch"]
    # --ignore on the command line replaces the file's ignore list.
    assert rules_run(capsys, tmp_path, fleet, "--config", str(other),
                     "--ignore", "db-only") == ["json-only"]


# -- rule options -----------------------------------------------------------------------


def test_rule_option_from_config_changes_the_threshold(tmp_path, sqlite_db):
    cfg = decky_config("so-01", ip="10.66.0.1")
    state = write_state(tmp_path / "decnet-state.json", [cfg])
    mirror(sqlite_db, cfg)  # the row says running...
    sqlite_db.execute("UPDATE fleet_deckies SET updated_at = :t", t=now() - timedelta(hours=1))
    # ...while its container died 30 minutes ago (`docker inspect` has the time).
    died = (now() - timedelta(minutes=30)).isoformat() + ".123456789Z"
    inspect = tmp_path / "inspect.json"
    inspect.write_text(json.dumps([{
        "Id": "a" * 64, "Name": "/so-01-ssh", "State": {"Status": "exited", "FinishedAt": died},
        "Config": {"Labels": {"decnet.fleet.service": "true", "decnet.fleet.decky": "so-01",
                              "decnet.fleet.service_name": "ssh"}}}]))
    args = ["--state", str(state), "--db", sqlite_db.url, "--select", "stale-observation",
            "--docker-snapshot", str(inspect)]

    write(tmp_path / ".decnet-audit.toml", """
        [rules.stale-observation]
        max-age-minutes = 45
    """)
    assert run_cli(*args, cwd=tmp_path).rc == 0
    write(tmp_path / ".decnet-audit.toml", """
        [rules.DA007]
        max_age_minutes = 12.5
    """)
    drifted = run_cli(*args, cwd=tmp_path, json_path=tmp_path / "r.json")
    assert drifted.rc == 1
    assert drifted.drifted("stale-observation") == {"so-01"}


# -- malformed files --------------------------------------------------------------------

MALFORMED = {
    "toml-syntax": ("""
        select = ["db-only"]
        [[waivers]]
        rule = "db-only
    """, 3, "invalid TOML"),
    "impossible-date": ("""
        [[waivers]]
        rule = "db-only"
        decky = "x"
        reason = "r"
        expires = 2027-02-30
    """, 5, "invalid TOML"),
    "unknown-top-key": ("""
        select = ["db-only"]

        exclude = ["x"]
    """, 3, "unknown key 'exclude'"),
    "missing-reason": ("""
        [[waivers]]
        rule = "db-only"
        decky = "a"
        reason = "fine"

        [[waivers]]
        rule = "db-only"
        decky = "b"
    """, 6, "waiver #2: 'reason' is required"),
    "empty-reason": ("""
        [[waivers]]
        rule = "db-only"
        decky = "b"
        reason = "  "
    """, 4, "'reason' must be a non-empty string"),
    "bad-date": ("""
        [[waivers]]
        rule = "db-only"
        decky = "b"
        reason = "r"
        expires = "next tuesday"
    """, 5, "'expires' must be a date like 2027-01-31"),
    "unknown-waiver-key": ("""
        [[waivers]]
        rule = "db-only"
        decky = "b"
        reasn = "r"
    """, 4, "unknown key 'reasn'"),
    "unknown-waiver-rule": ("""
        [[waivers]]
        rule = "db-only"
        decky = "a"
        reason = "r"

        [[waivers]]
        rule = "no-such-rule"
        decky = "b"
        reason = "r"
    """, 6, "unknown rule 'no-such-rule'"),
    "waivers-not-an-array": ("""
        [waivers]
        rule = "db-only"
    """, 1, "waivers must be an array of tables"),
    "unknown-select": ("""
        ignore = ["db-only"]
        select = ["json-only", "nope"]
    """, 2, "select: unknown rule 'nope'"),
    "unknown-rule-table": ("""
        [rules.nope]
        x = 1
    """, 1, "unknown rule 'nope'"),
    "unknown-option": ("""
        [rules.stale-observation]
        max-age-minutes = 5
        max-age-hours = 5
    """, 3, "rule stale-observation has no option 'max-age-hours'"),
    "option-type": ("""
        [rules.stale-observation]

        max-age-minutes = "ten"
    """, 3, "expected a number"),
    "option-refused-by-rule": ("""
        [rules.stale-observation]
        max-age-minutes = 0
    """, 1, "must be positive"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_config_is_a_usage_error_naming_file_and_line(case, tmp_path, fleet,
                                                                 capsys):
    text, line, why = MALFORMED[case]
    path = write(tmp_path / "audit.toml", text)
    rc, out, err = run(capsys, *fleet, "--config", str(path))
    assert rc == 4
    assert err.startswith(f"decnet-audit: usage error: {path}:{line}: "), err
    assert why in err
    assert err.count("\n") == 1 and out == ""


def test_malformed_pyproject_section_names_its_line(tmp_path, fleet, capsys, monkeypatch):
    write(tmp_path / "pyproject.toml", """
        [project]
        name = "site"

        [tool.decnet-audit]
        select = ["db-only"]

        [[tool.decnet-audit.waivers]]
        rule = "db-only"
        decky = "a"
        reason = "r"
        expires = 2027-01-31T10:00:00
    """)
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(capsys, *fleet)
    assert rc == 4
    assert err.startswith("decnet-audit: usage error: pyproject.toml:11: waiver #1: 'expires'")


def test_missing_explicit_config_and_the_real_command(tmp_path, fleet):
    run = run_cli(*fleet, "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert run.rc == 4
    assert run.err == f"decnet-audit: usage error: {tmp_path / 'nope.toml'}: " \
                      f"config file not found\n"
    write(tmp_path / ".decnet-audit.toml", "[[waivers]]\nrule = 'db-only'\n")
    run = run_cli(*fleet, cwd=tmp_path)
    assert (run.rc, run.err) == (4, "decnet-audit: usage error: .decnet-audit.toml:1: "
                                    "waiver #1: 'decky' is required\n")
