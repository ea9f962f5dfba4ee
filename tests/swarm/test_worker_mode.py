"""A DECNET swarm worker (``[decnet] mode = agent``): no database, state file
vs Docker audited in full, the fleet_deckies rules not applicable."""

from __future__ import annotations

import pytest

from kit.fleet import decky_config, run_cli, unique, write_state
from kit.report import PsCapture

FLEET_RULES = {"json-only", "db-only", "docker-mismatch", "foreign-host-row", "config-drift",
               "stale-observation", "duplicate-ip"}


def _ini(tmp_path, mode="agent", uuid="worker-7"):
    path = tmp_path / "decnet.ini"
    path.write_text(f"[decnet]\nmode = {mode}   # as the enroll bundle writes it\n"
                    f"[agent]\nhost-uuid = {uuid}\n[master]\nhost-uuid = the-master\n")
    return path


def _worker_world(tmp_path, *, healthy: bool):
    up, down, orphan = unique("up"), unique("down"), unique("orph")
    write_state(tmp_path / "state.json", [
        decky_config(up, services=("ssh", "http"), host_uuid="worker-7"),
        decky_config(down, services=("ssh",), host_uuid="worker-7"),
    ], mode="swarm")
    ps = PsCapture(tmp_path / "ps.jsonl")
    ps.decky(up, ("ssh", "http"))
    ps.decky(down, ("ssh",), running=healthy)
    if not healthy:
        ps.decky(orphan, ("ftp",))
    return up, down, orphan, ps


def test_worker_is_audited_without_a_database(tmp_path):
    up, down, orphan, ps = _worker_world(tmp_path, healthy=False)
    run = run_cli("--state", str(tmp_path / "state.json"), *ps.args(),
                  env={"DECNET_AUDIT_DECNET_INI": str(_ini(tmp_path)), "DECNET_DB_URL": ""},
                  json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err
    rep = run.report
    assert (rep["version"], rep["role"], rep["host_uuid"]) == (2, "worker", "worker-7")
    assert set(rep["sources"]) == {"state", "docker"}  # no database was looked for
    assert rep["summary"]["complete"] is True and rep["summary"]["errors"] == 0
    na = {n["rule"]: n["reason"] for n in rep["not_applicable"]}
    assert FLEET_RULES <= set(na)
    assert "keeps no database" in na["json-only"]
    assert not FLEET_RULES & {c["rule"] for c in rep["checks"]}
    assert run.drifted("decky-down") == {down}
    assert run.drifted("orphan-container") == {orphan}
    assert {c["decky"] for c in rep["checks"] if c["rule"] == "decky-down"} == {up, down}
    assert "not applicable: json-only" in run.out


def test_healthy_worker_is_clean(tmp_path):
    _, _, _, ps = _worker_world(tmp_path, healthy=True)
    run = run_cli("--state", str(tmp_path / "state.json"), *ps.args(), "--role", "worker",
                  "--host-uuid", "worker-7", json_path=tmp_path / "r.json")
    assert run.rc == 0, run.out + run.err
    assert run.report["summary"]["passed"] >= 4 and not run.findings()


def test_decnet_mode_in_the_environment_wins_over_the_ini(tmp_path):
    _, down, _, ps = _worker_world(tmp_path, healthy=False)
    ini = _ini(tmp_path, mode="master")
    run = run_cli("--state", str(tmp_path / "state.json"), *ps.args(),
                  env={"DECNET_AUDIT_DECNET_INI": str(ini), "DECNET_MODE": "agent",
                       "DECNET_HOST_UUID": "worker-7"},
                  json_path=tmp_path / "r.json")
    assert run.rc == 1 and run.report["role"] == "worker", run.out + run.err
    assert run.drifted("decky-down") == {down}


def test_master_role_by_default_reads_the_database(tmp_path):
    # No ini, no DECNET_MODE: DECNET's default is master; its missing
    # database is then an incomplete audit, as before.
    _, _, _, ps = _worker_world(tmp_path, healthy=True)
    run = run_cli("--state", str(tmp_path / "state.json"), *ps.args(),
                  "--db", f"sqlite:///{tmp_path / 'none.db'}",
                  env={"DECNET_AUDIT_DECNET_INI": str(tmp_path / "absent.ini")},
                  json_path=tmp_path / "r.json")
    assert run.rc == 2, run.out + run.err
    assert run.report["role"] == "master" and run.report["sources"]["db"]["status"] == "error"
    assert "decky-down" in {n["rule"] for n in run.report["not_applicable"]}


@pytest.mark.parametrize("ini_text, expected", [
    ("[decnet]\nmode = satellite\n", "DECNET expects 'agent' or 'master'"),
    ("mode = agent\n", "not a valid INI file"),
])
def test_bad_decnet_ini_is_a_usage_error(tmp_path, ini_text, expected):
    ini = tmp_path / "decnet.ini"
    ini.write_text(ini_text)
    run = run_cli("--state", str(tmp_path / "none.json"),
                  env={"DECNET_AUDIT_DECNET_INI": str(ini)})
    assert run.rc == 4, run.out + run.err
    assert expected in run.err and "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_fix_is_refused_on_a_worker(tmp_path):
    _, _, _, ps = _worker_world(tmp_path, healthy=False)
    run = run_cli("--state", str(tmp_path / "state.json"), *ps.args(), "--role", "worker",
                  "--fix")
    assert run.rc == 4 and "swarm worker" in run.err, run.out + run.err
