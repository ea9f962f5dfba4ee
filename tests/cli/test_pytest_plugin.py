"""The pytest plugin, run as a nightly job would: pytest in a fresh process,
the plugin loaded from its ``pytest11`` entry point, on the bundled example
fleet; its failures must be the ones ``decnet-audit`` itself reports."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kit.fleet import run_cli

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fleet"


@pytest.fixture
def example(tmp_path):
    """The bundled example fleet, its database built from SQL as ./dev demo does."""
    db = tmp_path / "decnet.db"
    con = sqlite3.connect(db)
    con.executescript((EXAMPLE / "fleet.sql").read_text())
    con.close()
    return {
        "state": str(EXAMPLE / "decnet-state.json"),
        "db": f"sqlite:///{db}",
        "docker-snapshot": str(EXAMPLE / "docker-inspect.json"),
        "host-uuid": "local",
    }


def plugin_args(sources: dict) -> list[str]:
    # --opt=value: pytest looks for its rootdir in bare arguments that are paths.
    return ["--decnet-audit", *(f"--decnet-audit-{k}={v}" for k, v in sources.items())]


def cli_args(sources: dict) -> list[str]:
    return [a for k, v in sources.items() for a in (f"--{k}", v)]


def junit(path: Path) -> dict[tuple[str, str], str]:
    """(rule, decky) -> passed / failure / error / skipped for the audit's testcases;
    ("test", name) for the session's own tests."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        prefix, _, rule = case.get("classname").partition(".")
        result = next(iter(case), None)
        key = (rule, case.get("name")) if prefix == "decnet-audit" else ("test", case.get("name"))
        out[key] = "passed" if result is None else result.tag
    return out


def cli_outcomes(report: dict) -> dict[tuple[str, str], str]:
    word = {"drift": "failure", "error": "error", "waived": "skipped", "passed": "passed"}
    return {(c["rule"], c["decky"]): word[c["outcome"]] for c in report["checks"]}


def test_plugin_reports_the_same_failures_as_the_cli(pytester, example, tmp_path):
    # A waiver, so that skipped items are compared too; both runs find it the same way.
    pytester.makefile(".toml", **{".decnet-audit": """
        [[waivers]]
        rule = "docker-mismatch"
        decky = "decky-02"
        reason = "RDP restarts nightly"
    """})
    pytester.makepyfile(test_existing="def test_nightly_job_already_ran(): pass")
    cli = run_cli(*cli_args(example), json_path=tmp_path / "cli.json", cwd=pytester.path)
    assert cli.rc == 1, cli.out + cli.err

    xml = tmp_path / "nightly.xml"
    result = pytester.runpytest_subprocess(*plugin_args(example), f"--junitxml={xml}")

    cases = junit(xml)
    assert cases.pop(("test", "test_nightly_job_already_ran")) == "passed"
    assert cases == cli_outcomes(cli.report)
    failed = {k for k, v in cases.items() if v == "failure"}
    assert failed == {(f["rule"], f["decky"]) for f in cli.findings() if not f["waived"]}
    assert failed, "the example fleet has planted drift"
    assert cases[("docker-mismatch", "decky-02")] == "skipped"
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == len(failed)
    assert outcomes["skipped"] == 1
    assert result.ret == 1
    # A failure shows the finding's text, as the CLI prints it.
    first = cli.findings("json-only")[0]
    result.stdout.fnmatch_lines([f"*decnet-audit::json-only::{first['decky']}*",
                                 f"DA001 {first['message']}"])
    # pytest's own -k selects audit items like any test.
    xml_k = tmp_path / "k.xml"
    pytester.runpytest_subprocess(*plugin_args(example), "-k", "docker-mismatch",
                                  f"--junitxml={xml_k}")
    assert set(junit(xml_k)) == {k for k in cases if k[0] == "docker-mismatch"}


def test_source_errors_are_test_errors(pytester, example, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"config": ')
    sources = {**example, "state": str(broken), "select": "json-only,docker-mismatch"}
    result = pytester.runpytest_subprocess(*plugin_args(sources), "-rE")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of decnet-audit::json-only::[*]*",
        "*state not read*invalid JSON at line 1*",
    ])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_malformed_config_is_a_usage_error(pytester, example):
    pytester.makefile(".toml", **{".decnet-audit": "[[waivers]]\nrule = 'db-only'\n"})
    result = pytester.runpytest_subprocess(*plugin_args(example))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*decnet-audit: .decnet-audit.toml:1: waiver #1: "
                                 "'decky' is required*"])


def test_inactive_without_the_flag(pytester):
    # Without --decnet-audit the plugin adds options and nothing else: no
    # audit items, and none of the audit's heavy imports.
    pytester.makepyfile(test_light="""
        import sys

        def test_nothing_heavy_was_imported():
            heavy = {"docker", "sqlalchemy", "decnet_audit.engine", "decnet_audit.config.policy"}
            assert heavy.isdisjoint(sys.modules), heavy & set(sys.modules)
    """)
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins:*decnet-audit*"])
    result.stdout.no_fnmatch_line("*decnet-audit::*")
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    assert "--decnet-audit " in help_text and "--decnet-audit-baseline" in help_text
