"""After ``--fix`` everything that sums the run up tells the end state: the
final line, the short summary, the JSON summary and the HTML verdict say
what was fixed, what drift is left and whether a fix could converge it; and
the undo hint works when pasted into a shell."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kit.example import example_args, rows
from kit.fleet import run_cli

BIN = str(Path(sys.executable).parent)


@pytest.fixture
def fixed(tmp_path):
    args = example_args(tmp_path)
    before = rows(tmp_path)
    env = {"DECNET_AUDIT_JOURNAL_DIR": str(tmp_path / "journal")}
    run = run_cli(*args, "--fix", "--html", str(tmp_path / "r.html"), cwd=tmp_path, env=env,
                  json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err  # report-only drift is left
    return run, before, tmp_path


def test_the_final_line_counts_what_is_left(fixed):
    run, _, _ = fixed
    last = run.out.splitlines()[-1].strip("= ")
    assert re.fullmatch(r"6 drifted \(4 not fixable, 2 not fixed\), 21 passed, 3 fixed "
                        r"in \d+\.\d\ds", last), last


def test_the_short_summary_lists_fixed_checks_as_fixed(fixed):
    run, _, _ = fixed
    summary = run.out.split("short audit summary info")[1].splitlines()[1:-1]
    assert "FIXED json-only::decky-04 - inserted row (local, decky-04) with state 'running'" \
        in summary
    assert not any(line.startswith("DRIFT json-only::decky-04") for line in summary)
    assert any(line.startswith("DRIFT db-only::decky-05 - [skipped] ") for line in summary)
    assert any(line.startswith("DRIFT foreign-host-row::decky-01 - [not fixable] ")
               for line in summary)
    assert [line.split()[0] for line in summary].count("DRIFT") == 6


def test_the_json_summary_and_checks_tell_the_end_state(fixed):
    run, _, _ = fixed
    summary = run.report["summary"]
    assert (summary["drifted"], summary["fixed_checks"], summary["not_fixable"],
            summary["passed"], summary["fixed"]) == (6, 3, 4, 21, 3)
    fixed_checks = {(c["rule"], c["decky"]) for c in run.report["checks"]
                    if c["outcome"] == "fixed"}
    assert fixed_checks == {("json-only", "decky-04"), ("docker-mismatch", "decky-02"),
                            ("config-drift", "decky-03")}


def test_the_html_verdict_says_what_remains(fixed):
    _, _, tmp = fixed
    page = (tmp / "r.html").read_text()
    verdict = re.search(r'<p id="verdict"[^>]*>(.*?)</p>', page, re.S).group(1)
    text = re.sub(r"<[^>]+>", "", verdict)
    assert text == ("✗ Drift remains: after --fix: 3 fixed, 6 still drifted "
                    "(4 not fixable, 2 not fixed), 21 passed")


def test_the_undo_hint_works_when_pasted(fixed):
    run, before, tmp = fixed
    (hint,) = [line.removeprefix("undo with: ") for line in run.out.splitlines()
               if line.startswith("undo with: ")]
    assert "--db" in hint
    assert rows(tmp) != before  # the fix wrote
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1",
           "DECNET_AUDIT_JOURNAL_DIR": str(tmp / "journal")}
    pasted = subprocess.run(hint, shell=True, cwd=tmp, env=env, capture_output=True,
                            text=True, timeout=60)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert rows(tmp) == before
