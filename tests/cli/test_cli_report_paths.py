"""Report paths as pytest's ``--junitxml`` takes them: missing parent
directories are made, and ``--json -`` writes the report to stdout (the
console output then goes to stderr, so stdout stays one JSON document)."""

from __future__ import annotations

import json

from kit.example import example_args
from kit.fleet import run_cli


def test_parent_directories_are_made(tmp_path):
    out = tmp_path / "nightly" / "2026-12-01"
    run = run_cli(*example_args(tmp_path), "-q", "--json", str(out / "a.json"),
                  "--junitxml", str(out / "xml" / "a.xml"), "--html", str(out / "a.html"),
                  cwd=tmp_path)
    assert run.rc == 1, run.err
    assert run.err == ""
    assert json.loads((out / "a.json").read_text())["summary"]["drifted"] == 9
    assert (out / "xml" / "a.xml").read_bytes().startswith(b"<?xml")
    assert (out / "a.html").read_bytes().startswith(b"<!DOCTYPE html>")


def test_json_dash_is_stdout(tmp_path):
    run = run_cli(*example_args(tmp_path), "--json", "-", cwd=tmp_path)
    assert run.rc == 1
    report = json.loads(run.out)  # stdout is the report and nothing else
    assert report["summary"]["drifted"] == 9
    assert "decnet-audit session starts" in run.err  # the console moved to stderr
    assert not (tmp_path / "-").exists()


def test_only_one_report_can_have_stdout(tmp_path):
    run = run_cli(*example_args(tmp_path), "--json", "-", "--junitxml", "-", cwd=tmp_path)
    assert run.rc == 4
    assert run.err == ("decnet-audit: usage error: --json and --junitxml cannot both write "
                       "to stdout ('-')\n")


def test_a_directory_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    run = run_cli(*example_args(tmp_path), "-q", "--json", str(tmp_path / "file" / "x.json"),
                  cwd=tmp_path)
    assert run.rc == 2
    assert run.err.startswith(f"decnet-audit: cannot write JSON report {tmp_path}/file/x.json")
    assert len(run.err.splitlines()) == 1


def test_a_reader_that_leaves_early_is_no_traceback(tmp_path):
    # `decnet-audit | head -1`: the pipe closes before the output is written.
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("decnet-audit"))
    p = subprocess.Popen([exe, *example_args(tmp_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=tmp_path)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 2
    assert "Traceback" not in err, err
