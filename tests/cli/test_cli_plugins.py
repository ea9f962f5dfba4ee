"""Plugins: the rule list, third-party rules found through the ``decnet_audit``
entry-point group, and plugins that break the contract."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from decnet_audit.hookspecs import hookimpl
from decnet_audit.plugins import PluginError, load_rules, plugin_manager
from decnet_audit.rule import Rule
from kit.fleet import decky_config, run_cli, unique, write_state

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "third-party-rule"
CORE = [("DA001", "json-only"), ("DA002", "db-only"), ("DA003", "docker-mismatch"),
        ("DA004", "foreign-host-row")]


def site_with(tmp_path: Path, dist: str, entry_points: dict[str, str],
              modules: dict[str, str] | None = None) -> Path:
    """A directory that, on PYTHONPATH, is an installed distribution: the
    ``.dist-info`` metadata importlib.metadata reads, as pip writes it."""
    site = tmp_path / "site"
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[decnet_audit]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    for name, source in (modules or {}).items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))
    return site


def with_path(*dirs: Path) -> dict:
    return {"PYTHONPATH": os.pathsep.join(str(d) for d in dirs)}


def listed(out: str) -> list[tuple[str, str]]:
    return [tuple(line.split()[:2]) for line in out.splitlines() if line.strip()]


# -- --list-rules ---------------------------------------------------------------------


def test_python_dash_m_lists_the_rules(tmp_path):
    p = subprocess.run([sys.executable, "-m", "decnet_audit", "--list-rules"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    rows = listed(p.stdout)
    assert set(CORE) <= set(rows)
    assert rows == sorted(rows)  # by code
    assert "DA003  docker-mismatch      safe" in p.stdout
    assert "DA004  foreign-host-row     report" in p.stdout


def test_list_rules_honours_select(tmp_path):
    run = run_cli("--list-rules", "--select", "DA00", "--ignore", "db-only", cwd=tmp_path)
    assert run.rc == 0
    assert [r for r in listed(run.out) if r in CORE] == [CORE[0], CORE[2], CORE[3]]


# -- a third-party rule through its entry point -------------------------------------------


def test_third_party_example_rule_runs_beside_the_built_ins(tmp_path, sqlite_db):
    if not (EXAMPLE / "pyproject.toml").exists():
        pytest.skip("examples/third-party-rule is not in this checkout")
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    # Its own declaration, as `pip install` would record it.
    site = site_with(tmp_path, project["name"], project["entry-points"]["decnet_audit"])
    env = {**with_path(EXAMPLE, site), "DECNET_AUDIT_ALLOWED_SERVICES": "ssh,http"}

    listing = run_cli("--list-rules", env=env, cwd=tmp_path)
    assert listing.rc == 0, listing.err
    assert ("SP001", "service-allow-list") in listed(listing.out)
    assert set(CORE) <= set(listed(listing.out))

    ok, bad = unique("ok"), unique("telnet")
    state = write_state(tmp_path / "s.json", [decky_config(ok, services=("ssh", "http")),
                                              decky_config(bad, services=("ssh", "telnet"))])
    for name, services in ((ok, ("ssh", "http")), (bad, ("ssh", "telnet"))):
        sqlite_db.insert("local", name, services=services, state="torn_down")
    capture = tmp_path / "ps.jsonl"
    capture.write_text("")
    run = run_cli("--state", str(state), "--db", sqlite_db.url, "--docker-snapshot",
                  str(capture), "--select", "SP001,json-only", env=env,
                  json_path=tmp_path / "r.json", cwd=tmp_path)
    assert run.rc == 1, run.out + run.err
    assert [(f["code"], f["decky"], f["actual"]) for f in run.findings()] == [
        ("SP001", bad, "telnet")]
    assert {c["rule"] for c in run.report["checks"]} == {"service-allow-list", "json-only"}
    assert f"service-allow-list::{bad}" in run.out


CRASHING = """
    from decnet_audit.hookspecs import hookimpl
    from decnet_audit.rule import Rule

    class Crashes(Rule):
        '''Always raises.'''
        id, code = "always-crashes", "ZZ001"

        def subjects(self, fleet):
            return ["x"]

        def check(self, fleet):
            raise RuntimeError("boom from a third party")

    @hookimpl
    def decnet_audit_rules():
        return [Crashes]
"""


def test_a_crashing_rule_is_exit_3_and_the_others_still_run(tmp_path, sqlite_db):
    site = site_with(tmp_path, "crashing-rule", {"always-crashes": "crashing_rule"},
                     {"crashing_rule": CRASHING})
    js = unique("js")
    state = write_state(tmp_path / "s.json", [decky_config(js)])
    capture = tmp_path / "ps.jsonl"
    capture.write_text("")
    run = run_cli("--state", str(state), "--db", sqlite_db.url, "--docker-snapshot",
                  str(capture), "--select", "ZZ001,json-only", env=with_path(site),
                  json_path=tmp_path / "r.json", cwd=tmp_path)
    assert run.rc == 3, run.out + run.err
    assert "Traceback" not in run.out + run.err
    [crash] = [c for c in run.report["checks"] if c["rule"] == "always-crashes"]
    assert crash["outcome"] == "error"
    assert "RuntimeError: boom from a third party" in crash["error"]
    assert run.drifted("json-only") == {js}


@pytest.mark.parametrize("module, says", [
    ("import no_such_module_here\n", "plugin 'broken' (broken_plugin) failed to load: "
                                     "No module named 'no_such_module_here'"),
    ("from decnet_audit.hookspecs import hookimpl\n\n@hookimpl\ndef decnet_audit_rulez():\n"
     "    return []\n", "unknown hook"),
], ids=["import-error", "unknown-hook"])
def test_a_broken_entry_point_is_named_in_one_line(tmp_path, module, says):
    site = site_with(tmp_path, "broken-plugin", {"broken": "broken_plugin"},
                     {"broken_plugin": module})
    run = run_cli("--list-rules", env=with_path(site), cwd=tmp_path)
    assert run.rc == 3
    assert run.out == ""
    assert run.err.startswith("decnet-audit: plugin error: ")
    assert says in run.err
    assert len(run.err.strip().splitlines()) == 1


# -- the contract, in process ---------------------------------------------------------------


class UnknownHook:
    @hookimpl
    def decnet_audit_no_such_hook(self):
        return []


def test_a_plugin_implementing_an_unknown_hook_is_rejected():
    with pytest.raises(PluginError) as err:
        plugin_manager(extra=(UnknownHook(),))
    text = str(err.value)
    assert "implements an unknown hook" in text
    assert "decnet_audit_no_such_hook" in text


def _rules_plugin(*classes):
    class Plugin:
        @hookimpl
        def decnet_audit_rules(self):
            return list(classes)
    return Plugin()


def _rule(rid, code, base=Rule, **attrs):
    return type("R", (base,), {"id": rid, "code": code, "__doc__": "A rule.", **attrs})


@pytest.mark.parametrize("classes, says", [
    ((_rule("Bad_Id", "XX001"),), ["no valid id (kebab-case): 'Bad_Id'"]),
    ((_rule("good-id", "X1"),), ["rule good-id has no valid code (like DA001): 'X1'"]),
    ((_rule("not-a-rule", "XX002", base=object),), ["is not a decnet_audit Rule subclass"]),
    # Clashes name both rules, whichever plugin pluggy happened to call first.
    ((_rule("json-only", "XX001"),), ["'json-only' is already used by", "json-only"]),
    ((_rule("fresh-rule", "DA001"),), ["'DA001' is already used by", "json-only", "fresh-rule"]),
    ((_rule("a-rule", "XX001"), _rule("b-rule", "XX001")),
     ["'XX001' is already used by", "a-rule", "b-rule"]),
    ((_rule("opt-rule", "XX003", options=("limit",)),),
     ["rule opt-rule: option 'limit' is not a public attribute"]),
    ((_rule("opt-rule", "XX003", options=("limit",), limit={"a": 1}),),
     ["rule opt-rule: option 'limit' has a default of an unsupported type (dict"]),
    ((_rule("opt-rule", "XX003", options="limit", limit=1),),
     ["options must be a tuple of attribute names"]),
])
def test_rules_breaking_the_contract_are_rejected(classes, says):
    pm = plugin_manager(extra=(_rules_plugin(*classes),))
    with pytest.raises(PluginError) as err:
        load_rules(pm)
    for part in says:
        assert part in str(err.value)


def test_a_valid_in_process_rule_joins_the_built_ins():
    pm = plugin_manager(extra=(_rules_plugin(_rule("in-process", "IP001")),))
    ids = [r.id for r in load_rules(pm)]
    assert "in-process" in ids and {rid for _, rid in CORE} <= set(ids)
