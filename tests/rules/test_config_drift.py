"""config-drift (DA006): pass / fail / fix table and the comparison rules, on
hand-built fleets. Its runs on SQLite and MariaDB are in test_config_drift_cli.py."""

from __future__ import annotations

import json

import pytest

from decnet_audit.rules.config_drift import ConfigDrift
from kit.build import decky, fleet, row
from kit.cases import Case, ids, run_case

CASES = [
    Case("mirrored-row-passes", fleet([decky("a")], [row("a")]), subjects=["a"]),
    Case("mirrored-config-passes", fleet([decky("a")], [row("a", config=decky("a").config)])),
    Case("services-differ", fleet([decky("a", ("ssh", "http"))], [row("a")]),
         findings=[("a", "services")],
         fixes=[[("update", "a", {"services": '["ssh","http"]'})]]),  # as DECNET writes it
    Case("ip-differs", fleet([decky("a", ip="10.0.0.5")], [row("a", ip="10.0.0.6")]),
         findings=[("a", "decky_ip")], fixes=[[("update", "a", {"decky_ip": "10.0.0.5"})]]),
    Case("config-key-differs",
         fleet([decky("a")], [row("a", config={**decky("a").config, "nmap_os": "windows"})]),
         findings=[("a", "decky_config.nmap_os")]),
    Case("only-deckies-in-both-records", fleet([decky("a")], [row("b"), row("a", host="p")]),
         subjects=[]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_config_drift(case):
    found = run_case(ConfigDrift(), case)
    assert all(f.fixable for f in found)


def test_config_drift_ignores_key_order_service_order_and_missing_vs_null():
    d = decky("d1", ("ssh", "http"), ip="10.0.0.5")
    cfg = {k: v for k, v in reversed(list(d.config.items())) if k != "archetype"}
    cfg["services"] = ["http", "ssh"]
    r = row("d1", services=("http", "ssh"), ip="10.0.0.5", config=cfg)
    assert list(ConfigDrift().differences(d, r)) == []


def test_config_drift_reports_field_by_field():
    d = decky("d1", ("ssh",), ip="10.0.0.5")
    cfg = dict(d.config, hostname="other", extra_key=1, service_config={"ssh": {"port": 22}})
    r = row("d1", services=("ssh", "ftp"), ip="10.0.0.6", config=cfg)
    diffs = {f: (e, a) for f, e, a in ConfigDrift().differences(d, r)}
    assert diffs == {
        "services": (["ssh"], ["ssh", "ftp"]),
        "decky_ip": ("10.0.0.5", "10.0.0.6"),
        "decky_config.hostname": ("host-d1", "other"),
        "decky_config.extra_key": (None, 1),
        "decky_config.service_config": ({}, {"ssh": {"port": 22}}),
    }


@pytest.mark.parametrize("raw, expect", [
    (None, set()),                        # NULL is allowed by DECNET's schema
    ("not json", {"decky_config"}),
    ("[1, 2]", {"decky_config"}),
])
def test_config_drift_on_null_or_unreadable_config(raw, expect):
    d = decky("d1", ip="10.0.0.5")
    r = row("d1", ip="10.0.0.5", raw_config=raw)
    assert {f for f, _, _ in ConfigDrift().differences(d, r)} == expect


def test_config_drift_keeps_json_types_apart_and_honours_ignored_keys():
    d = decky("d1", ip="10.0.0.5", mutate_interval=1, last_login_attempt=5.0)
    cfg = dict(d.config, mutate_interval=True, last_login_attempt=99.0)
    r = row("d1", ip="10.0.0.5", config=cfg)
    assert {f for f, _, _ in ConfigDrift().differences(d, r)} == {
        "decky_config.mutate_interval", "decky_config.last_login_attempt"}
    rule = ConfigDrift(ignored_config_keys=["last_login_attempt"])
    assert {f for f, _, _ in rule.differences(d, r)} == {"decky_config.mutate_interval"}


def test_config_drift_compares_ips_as_addresses():
    d = decky("d1", ip="fe80::1")
    assert list(ConfigDrift().differences(d, row("d1", ip="FE80:0:0::1"))) == []
    assert [f for f, _, _ in ConfigDrift().differences(d, row("d1", ip=None))] == ["decky_ip"]


def test_config_drift_fix_writes_the_state_file_value():
    d = decky("d1", ("ssh",), ip="10.0.0.5")
    f = fleet(deckies=[d], rows=[row("d1", services=("ftp",), ip="10.0.0.9", config={})])
    rule = ConfigDrift()
    changes = {x.field: rule.fix(x, f) for x in rule.check(f)}
    assert changes["services"][0].values == {"services": '["ssh"]'}
    assert changes["decky_ip"][0].values == {"decky_ip": "10.0.0.5"}
    cfg_change = changes["decky_config.hostname"][0]
    assert (cfg_change.op, cfg_change.host_uuid, cfg_change.name) == ("update", "local", "d1")
    assert json.loads(cfg_change.values["decky_config"]) == d.config


def test_a_key_missing_from_the_row_is_decnets_default():
    """A row an older DECNET wrote without nmap_os agrees with a state file
    saying linux, DeckyConfig's default, and not with one saying windows."""
    linux, windows = decky("d1", ip="10.0.0.5"), decky("d1", ip="10.0.0.5", nmap_os="windows")
    assert linux.config["nmap_os"] == "linux"
    cfg = {k: v for k, v in linux.config.items() if k not in ("nmap_os", "last_mutated")}
    r = row("d1", ip="10.0.0.5", config=cfg)
    assert list(ConfigDrift().differences(linux, r)) == []
    assert [f for f, _, _ in ConfigDrift().differences(windows, r)] == ["decky_config.nmap_os"]
