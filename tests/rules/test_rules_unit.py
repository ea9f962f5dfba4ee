"""Fast tests of the pure logic of orphan-container, config-drift,
stale-observation and duplicate-ip, on hand-built fleets. The same rules are
exercised against a real Docker engine, SQLite and MariaDB in the
*_cli.py modules beside this one."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from decnet_audit.model import Container, Decky, Fleet, Row
from decnet_audit.rules.config_drift import ConfigDrift
from decnet_audit.rules.duplicate_ip import DuplicateIp
from decnet_audit.rules.orphan_container import OrphanContainer
from decnet_audit.rules.stale_observation import StaleObservation, parse_utc
from kit.fleet import decky_config

LABELS = "decnet.fleet.decky", "decnet.fleet.service", "decnet.fleet.service_name"


def labelled(decky, service, state="running"):
    name = f"{decky}-{service.replace('_', '-')}"
    return Container(name, name, state, dict(zip(LABELS, (decky, "true", service), strict=True)))


def plain(name, state="running"):
    return Container(name, name, state, {})


def decky(name, services=("ssh",), ip=None, host_uuid=None, **extra):
    cfg = decky_config(name, services, ip=ip, host_uuid=host_uuid, **extra)
    return Decky(name, cfg["ip"], tuple(services), host_uuid, cfg)


def row(name, host="local", services=("ssh",), ip=None, config=None, last_seen=None,
        raw_config=None):
    text = raw_config if raw_config is not None else (
        json.dumps(config) if config is not None else None)
    return Row(host, name, json.dumps(list(services)), text, ip, "running", last_seen=last_seen)


def fleet(deckies=(), rows=(), containers=(), host="local"):
    """A fleet as observed; ``containers=None`` means Docker was not read."""
    return Fleet(host, list(deckies), list(rows),
                 None if containers is None else list(containers))


# -- orphan-container -------------------------------------------------------------


def test_orphan_labelled_containers_of_an_unknown_decky_are_reported_and_only_they_fixable():
    f = fleet(
        deckies=[decky("web1", ("ssh", "smtp_relay"))],
        rows=[row("web1", services=("ssh", "smtp_relay"))],
        containers=[plain("web1"), labelled("web1", "ssh"), labelled("web1", "smtp_relay"),
                    plain("gone"), labelled("gone", "ssh", "exited")],
    )
    rule = OrphanContainer()
    found = list(rule.check(f))
    assert {(x.decky, x.field, x.fixable) for x in found} == {
        ("gone", "gone", False),  # its base container: no label, reported only
        ("gone", "gone-ssh", True),
    }
    changes = [c for x in found for c in rule.fix(x, f)]
    assert [(c.op, c.target, c.name, c.host_uuid) for c in changes] == [
        ("remove", "container", "gone-ssh", "local")]
    assert sorted(rule.subjects(f)) == ["gone", "web1"]


def test_unlabelled_containers_count_only_when_their_names_prove_them_a_deckys():
    f = fleet(
        deckies=[decky("web1", ("ssh", "http"))],
        rows=[row("web1", services=("ssh", "http"))],
        containers=[
            plain("old1"), plain("old1-http"),      # base + known service: an old deploy
            plain("nginx"), plain("nginx-proxy"),   # "proxy" is no service of this fleet
            plain("app-ssh"),                       # known service, but no base "app"
            plain("postgres"),                      # nothing DECNET-like at all
        ],
    )
    assert f.docker_deckies.keys() == {"old1"}
    found = list(OrphanContainer().check(f))
    assert {(x.decky, x.field, x.fixable) for x in found} == {
        ("old1", "old1", False), ("old1", "old1-http", False)}
    assert all(OrphanContainer().fix(x, f) == [] for x in found)


def test_a_decky_recorded_only_for_another_host_is_an_orphan_here():
    f = fleet(
        deckies=[decky("mine")],
        rows=[row("mine"), row("moved", host="peer-1", services=("telnet",)),
              row("mine", host="peer-1")],
        containers=[plain("mine"), labelled("mine", "ssh"),
                    plain("moved-telnet")],  # no base, no label: found by the peer's row
    )
    found = list(OrphanContainer().check(f))
    assert {(x.decky, x.field, x.fixable) for x in found} == {("moved", "moved-telnet", False)}


def test_a_decky_of_this_host_in_only_one_record_is_not_an_orphan():
    f = fleet(deckies=[decky("state-only")], rows=[row("row-only")],
              containers=[labelled("state-only", "ssh"), labelled("row-only", "ssh")])
    assert list(OrphanContainer().check(f)) == []


def test_orphan_fix_refuses_a_container_whose_label_is_not_the_findings_decky():
    f = fleet(containers=[labelled("gone", "ssh")])
    (finding,) = OrphanContainer().check(f)
    relabelled = fleet(containers=[Container("gone-ssh", "gone-ssh", "running", {})])
    assert OrphanContainer().fix(finding, relabelled) == []


# -- config-drift -----------------------------------------------------------------


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


# -- stale-observation ------------------------------------------------------------

NOW = datetime(2026, 1, 2, 12, 0, 0)


@pytest.mark.parametrize("value, expect", [
    (datetime(2026, 1, 2, 11, 0), datetime(2026, 1, 2, 11, 0)),
    ("2026-01-02 11:00:00", datetime(2026, 1, 2, 11, 0)),
    ("2026-01-02 11:00:00.250000", datetime(2026, 1, 2, 11, 0, 0, 250000)),
    ("2026-01-02T13:00:00+02:00", datetime(2026, 1, 2, 11, 0)),
    ("yesterday", None),
    (17, None),
])
def test_last_seen_is_read_from_what_either_driver_returns(value, expect):
    assert parse_utc(value) == expect


def test_stale_threshold_is_configurable_and_validated():
    rows = [row("fresh", last_seen=NOW - timedelta(minutes=9)),
            row("old", last_seen=NOW - timedelta(minutes=11)),
            row("future", last_seen=NOW + timedelta(hours=1)),
            row("peer-old", host="peer-1", last_seen=NOW - timedelta(days=3))]
    f = fleet(rows=rows, containers=None)
    assert [x.decky for x in StaleObservation(now=lambda: NOW).check(f)] == ["old"]
    assert StaleObservation.max_age_minutes == 10
    assert list(StaleObservation(max_age_minutes=12, now=lambda: NOW).check(f)) == []
    with pytest.raises(ValueError, match="positive"):
        StaleObservation(max_age_minutes=0)


def test_null_last_seen_is_stale_only_while_a_container_runs():
    f = fleet(
        rows=[row("runs"), row("exited"), row("absent"), row("base-only")],
        containers=[labelled("runs", "ssh"), labelled("exited", "ssh", "exited"),
                    plain("base-only")],
    )
    found = list(StaleObservation(now=lambda: NOW).check(f))
    assert {x.decky for x in found} == {"runs", "base-only"}
    unobserved = fleet(rows=[row("runs")], containers=None)
    assert list(StaleObservation(now=lambda: NOW).check(unobserved)) == []


# -- duplicate-ip -----------------------------------------------------------------


def test_duplicate_ip_within_each_record_of_this_host_only():
    f = fleet(
        deckies=[decky("a", ip="10.0.0.1"), decky("b", ip="10.0.0.1"),
                 decky("c", ip="2001:db8::1"), decky("d", ip="2001:DB8:0::1"),
                 decky("e", ip="10.0.0.9"), decky("theirs", ip="10.0.0.9", host_uuid="peer-1")],
        rows=[row("a", ip="10.0.0.1"), row("b", ip="10.0.0.2"),
              row("peer", host="peer-1", ip="10.0.0.2")],
    )
    found = list(DuplicateIp().check(f))
    assert sorted((x.decky, x.field) for x in found) == [
        ("a", "ip"), ("b", "ip"), ("c", "ip"), ("d", "ip")]
    assert all("peer" not in x.message and "theirs" not in x.message for x in found)
