"""The example package end to end: installed beside decnet-audit, its rule is
found through the entry point and runs in the real ``decnet-audit`` CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

DIST = "decnet-audit-service-policy"
# DECNET's own DDL for the table (SQLite dialect).
DDL = """CREATE TABLE fleet_deckies (
    host_uuid VARCHAR NOT NULL, name VARCHAR NOT NULL, services TEXT NOT NULL,
    decky_config TEXT, decky_ip VARCHAR, state VARCHAR NOT NULL, last_error TEXT,
    compose_hash VARCHAR, last_seen DATETIME, updated_at DATETIME NOT NULL,
    PRIMARY KEY (host_uuid, name))"""


@pytest.fixture(scope="module", autouse=True)
def installed():
    try:
        metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        msg = f"{DIST} is not installed: pip install -e examples/third-party-rule"
        if os.environ.get("DECNET_AUDIT_CI") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


def decnet_audit(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("decnet-audit")
    full_env = {k: v for k, v in os.environ.items() if k != "DECNET_AUDIT_ALLOWED_SERVICES"}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120,
                          env={**full_env, "NO_COLOR": "1", **(env or {})})


def fleet(tmp: Path) -> list[str]:
    """A host with two deckies, one exposing telnet; the database and Docker
    agree with the state file."""
    deckies = [
        {"name": "web-01", "ip": "10.3.0.1", "services": ["ssh", "http"], "host_uuid": None},
        {"name": "legacy-02", "ip": "10.3.0.2", "services": ["ssh", "telnet"],
         "host_uuid": None},
    ]
    (tmp / "state.json").write_text(json.dumps(
        {"config": {"mode": "unihost", "deckies": deckies}, "compose_path": "x.yml"}))
    con = sqlite3.connect(tmp / "decnet.db")
    con.execute(DDL)
    for d in deckies:
        con.execute("INSERT INTO fleet_deckies (host_uuid, name, services, decky_config, "
                    "decky_ip, state, last_seen, updated_at) VALUES ('local', ?, ?, ?, ?, "
                    "'running', datetime('now'), datetime('now'))",
                    (d["name"], json.dumps(d["services"]), json.dumps(d), d["ip"]))
    con.commit()
    con.close()
    (tmp / "ps.jsonl").write_text("".join(
        json.dumps({"ID": f"{d['name']}-{s}", "Names": f"{d['name']}-{s}", "State": "running",
                    "Labels": f"decnet.fleet.decky={d['name']},decnet.fleet.service=true,"
                              f"decnet.fleet.service_name={s}"}) + "\n"
        for d in deckies for s in d["services"]))
    return ["--state", str(tmp / "state.json"), "--db", f"sqlite:///{tmp / 'decnet.db'}",
            "--docker-snapshot", str(tmp / "ps.jsonl")]


def test_listed_with_the_builtin_rules():
    p = decnet_audit("--list-rules")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert any(line.startswith("SP001  service-allow-list") for line in lines)
    assert any(line.startswith("DA001  json-only") for line in lines)


def test_reports_a_service_outside_the_allow_list(tmp_path):
    args = fleet(tmp_path)
    p = decnet_audit(*args, "--json", str(tmp_path / "r.json"), "-v",
                     env={"DECNET_AUDIT_ALLOWED_SERVICES": "ssh,http"})
    assert p.returncode == 1, p.stdout + p.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    mine = [f for f in report["findings"] if f["rule"] == "service-allow-list"]
    assert [(f["code"], f["decky"], f["actual"]) for f in mine] == [
        ("SP001", "legacy-02", "telnet")]
    # The built-in rules ran too and found this fleet in agreement.
    assert {f["rule"] for f in report["findings"]} == {"service-allow-list"}
    assert "service-allow-list::web-01 PASSED" in p.stdout
    assert "legacy-02 exposes 'telnet', which is not on the allow-list" in p.stdout


def test_no_allow_list_no_policy(tmp_path):
    p = decnet_audit(*fleet(tmp_path), "--select", "SP001", "--json", str(tmp_path / "r.json"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads((tmp_path / "r.json").read_text())["checks"] == []
