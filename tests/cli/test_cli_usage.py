"""The command line as a ruff or pytest user types it: no option is taken
from a prefix of its name (a typo must never write to the database), a
mistyped option, command or rule gets a suggestion, and ``undo`` and
``rule`` are subcommands the usage line shows."""

from __future__ import annotations

import pytest

from kit.example import example_args, rows
from kit.fleet import run_cli


@pytest.mark.parametrize("typed, meant", [
    ("--fi", "--fix"), ("--di", "--diff"), ("--unsafe", "--unsafe-fixes"),
])
def test_a_prefix_of_an_option_is_refused_and_writes_nothing(tmp_path, typed, meant):
    args = example_args(tmp_path)
    before = rows(tmp_path)
    extra = ["--fix"] if typed == "--unsafe" else []
    run = run_cli(*args, *extra, typed, cwd=tmp_path,
                  env={"DECNET_AUDIT_JOURNAL_DIR": str(tmp_path / "j")})
    assert run.rc == 4, run.out + run.err
    assert run.out == ""
    assert run.err == (f"decnet-audit: usage error: unknown option {typed} "
                       f"(did you mean '{meant}'?)\n")
    assert rows(tmp_path) == before
    assert not (tmp_path / "j").exists()


def test_undo_refuses_a_prefix_too(tmp_path):
    run = run_cli("undo", "journal.json", "--dry", cwd=tmp_path)
    assert run.rc == 4
    assert run.err == ("decnet-audit: usage error: unknown option --dry "
                       "(did you mean '--dry-run'?)\n")


def test_a_mistyped_command_gets_a_suggestion(tmp_path):
    run = run_cli("undoo", "journal.json", cwd=tmp_path)
    assert run.rc == 4
    assert run.err == "decnet-audit: usage error: unexpected argument 'undoo' " \
                      "(did you mean 'undo'?)\n"


@pytest.mark.parametrize("option", ["--select", "--ignore", "--fail-on"])
def test_an_unknown_rule_is_echoed_as_typed_with_a_suggestion(tmp_path, option):
    run = run_cli(*example_args(tmp_path), option, "Json-Onyl", cwd=tmp_path)
    assert run.rc == 4
    assert run.err.startswith("decnet-audit: usage error: unknown rule 'Json-Onyl' "
                              "(did you mean 'json-only'?); known rules: json-only (DA001)")


def test_an_empty_select_is_a_usage_error_not_every_rule(tmp_path):
    run = run_cli(*example_args(tmp_path), "--select", "", cwd=tmp_path)
    assert run.rc == 4
    assert run.out == ""
    assert run.err.startswith("decnet-audit: usage error: --select '' names no rule")


def test_the_usage_line_shows_both_subcommands(tmp_path):
    run = run_cli("--help", cwd=tmp_path)
    assert run.rc == 0
    usage = run.out.split("\n\n")[0]
    assert usage.startswith("usage: decnet-audit [-h]")
    assert "\n       decnet-audit undo JOURNAL [--db URL]" in usage
    assert "\n       decnet-audit rule ID" in usage


def test_rule_prints_one_rules_documentation(tmp_path):
    run = run_cli("rule", "DA007", cwd=tmp_path)
    assert run.rc == 0, run.err
    lines = run.out.splitlines()
    assert lines[:2] == ["stale-observation (DA007)", "========================="]
    assert "severity:  medium" in lines
    assert "fix:       none: report only" in lines
    assert any(line.startswith("options:   max-age-minutes = 10") for line in lines)
    assert "It writes ``last_seen`` only" in run.out  # the docstring


def test_rule_by_id_matches_rule_by_code(tmp_path):
    assert run_cli("rule", "json-only", cwd=tmp_path).out == \
        run_cli("rule", "da001", cwd=tmp_path).out


def test_rule_unknown_suggests(tmp_path):
    run = run_cli("rule", "orphan-containers", cwd=tmp_path)
    assert run.rc == 4
    assert "unknown rule 'orphan-containers' (did you mean 'orphan-container'?)" in run.err


def test_k_matches_the_id_the_console_prints(tmp_path):
    args = example_args(tmp_path)
    full = run_cli(*args, cwd=tmp_path)
    assert "DRIFT json-only::decky-04 - " in full.out  # the id as printed
    run = run_cli(*args, "-k", "json-only::decky-04", cwd=tmp_path)
    assert run.rc == 1, run.out + run.err
    assert run.out.splitlines()[-1].strip("= ").startswith("1 drifted in")
    assert "DRIFT json-only::decky-04 - " in run.out


def test_list_rules_shows_each_rules_severity(tmp_path):
    run = run_cli("--list-rules", cwd=tmp_path)
    table = {line.split()[1]: line.split()[3] for line in run.out.splitlines()}
    assert table["docker-mismatch"] == "high"
    assert table["json-only"] == "medium"
    assert table["config-drift"] == "low"


@pytest.mark.parametrize("level, rc", [("high", 1), ("medium", 1), ("low", 1)])
def test_fail_on_a_severity(tmp_path, level, rc):
    # The example fleet drifts in every rule, so each level finds drift...
    args = example_args(tmp_path)
    assert run_cli(*args, "--fail-on", level, cwd=tmp_path).rc == rc


def test_fail_on_high_ignores_lower_drift(tmp_path):
    # ...but config-drift (low) alone fails only --fail-on low.
    args = [*example_args(tmp_path), "--select", "config-drift"]
    assert run_cli(*args, cwd=tmp_path).rc == 1
    assert run_cli(*args, "--fail-on", "high", cwd=tmp_path).rc == 0
    assert run_cli(*args, "--fail-on", "medium", cwd=tmp_path).rc == 0
    assert run_cli(*args, "--fail-on", "low", cwd=tmp_path).rc == 1
