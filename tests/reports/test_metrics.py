"""``--metrics PATH``: a Prometheus textfile for node_exporter's textfile
collector, read back with prometheus_client's own parser."""

from __future__ import annotations

import os
import time

from prometheus_client.parser import text_string_to_metric_families

from decnet_audit.model import OUTCOMES, AuditResult, Check, Finding, RuleInfo, SourceStatus
from decnet_audit.reports.metrics import render_metrics
from kit.fleet import decky_config, run_cli, unique, write_state


def parse(text: str) -> dict[str, dict[tuple, float]]:
    """metric name -> {sorted label items: value}; fails on any invalid line."""
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def sample(metrics, name, **labels):
    """The one series of ``name`` whose labels include ``labels`` (every
    per-rule series also names the host: host_uuid, hostname)."""
    want = set(labels.items())
    found = [v for key, v in metrics[f"decnet_audit_{name}"].items() if want <= set(key)]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def small_fleet(tmp_path, db):
    a, b, c = unique("a"), unique("b"), unique("c")
    write_state(tmp_path / "state.json", [decky_config(a, ip="10.4.0.1"),
                                          decky_config(b, ip="10.4.0.2")])
    db.insert("local", a, ("ftp",), ip="10.4.0.1", state="torn_down")  # config-drift
    db.insert("local", c, ip="10.4.0.3", state="torn_down")            # db-only
    snap = tmp_path / "ps.jsonl"
    snap.write_text("")
    return snap


def test_metrics_agree_with_the_json_report(tmp_path, sqlite_db):
    snap = small_fleet(tmp_path, sqlite_db)
    prom = tmp_path / "textfile" / "decnet_audit.prom"
    prom.parent.mkdir()
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url,
                  "--docker-snapshot", str(snap), "--metrics", str(prom),
                  json_path=tmp_path / "r.json")
    assert run.rc == 1, run.out + run.err
    m = parse(prom.read_text(encoding="utf-8"))
    report = run.report
    rules = [r["id"] for r in report["rules"]]
    assert "config-drift" in rules and "db-only" in rules
    for rule in rules:
        for outcome in OUTCOMES:  # every pair is there, zeros too
            want = sum(1 for c in report["checks"]
                       if c["rule"] == rule and c["outcome"] == outcome)
            assert sample(m, "checks", rule=rule, outcome=outcome) == want, (rule, outcome)
        open_findings = sum(1 for f in report["findings"] if f["rule"] == rule)
        assert sample(m, "findings", rule=rule, outcome="drift") == open_findings
        assert sample(m, "findings", rule=rule, outcome="waived") == 0
        assert sample(m, "findings", rule=rule, outcome="fixed") == 0
    assert sample(m, "findings", rule="config-drift", outcome="drift") == 1
    assert sample(m, "findings", rule="db-only", outcome="drift") == 1
    assert {sample(m, "source_up", source=s) for s in ("state", "db", "docker")} == {1}
    assert sample(m, "complete") == 1
    duration = sample(m, "duration_seconds")
    assert 0 < duration < 60
    assert abs(duration - report["summary"]["duration_seconds"]) < 0.002
    assert abs(sample(m, "last_run_timestamp_seconds") - time.time()) < 120
    assert sample(m, "info", host_uuid="local", version=_version()) == 1
    # What the textfile collector needs: world-readable, and nothing else
    # (no temporary file) left in its directory.
    assert os.listdir(prom.parent) == ["decnet_audit.prom"]
    assert prom.stat().st_mode & 0o777 == 0o644


def test_metrics_file_is_replaced_not_rewritten_in_place(tmp_path, sqlite_db):
    # A collector reading during the write must see the old file or the new
    # one: so the path gets a new inode, never a truncated old one.
    snap = small_fleet(tmp_path, sqlite_db)
    prom = tmp_path / "decnet_audit.prom"
    prom.write_text("# old\n")
    before = prom.stat().st_ino
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url,
                  "--docker-snapshot", str(snap), "--metrics", str(prom), "-q")
    assert run.rc == 1, run.err
    assert prom.stat().st_ino != before
    assert "decnet_audit_complete 1" in prom.read_text()


def test_sources_down_and_a_hostile_host_uuid(tmp_path):
    host = 'edge"host\\01\nline2'
    prom = tmp_path / "m.prom"
    run = run_cli("--state", str(tmp_path / "missing.json"),
                  "--db", f"sqlite:///{tmp_path}/missing.db",
                  "--docker-host", f"unix://{tmp_path}/no-docker.sock",
                  "--host-uuid", host, "--metrics", str(prom))
    assert run.rc == 2, run.err
    m = parse(prom.read_text(encoding="utf-8"))
    assert sample(m, "source_up", source="state") == 1  # a missing file is "nothing deployed"
    assert sample(m, "source_up", source="db") == 0
    assert sample(m, "source_up", source="docker") == 0
    assert sample(m, "complete") == 0
    assert sample(m, "info", host_uuid=host, version=_version()) == 1
    assert sample(m, "checks", rule="config-drift", outcome="error") == 1
    assert sample(m, "checks", rule="config-drift", outcome="passed") == 0


def test_unwritable_metrics_path_is_one_line(tmp_path, sqlite_db):
    snap = small_fleet(tmp_path, sqlite_db)
    run = run_cli("--state", str(tmp_path / "state.json"), "--db", sqlite_db.url,
                  "--docker-snapshot", str(snap), "-q",
                  "--metrics", str(tmp_path / "state.json" / "m.prom"))  # a file in the way
    assert run.rc == 2
    assert run.err.startswith("decnet-audit: cannot write metrics report ")
    assert "Traceback" not in run.err and run.err.count("\n") == 1


def test_waived_and_fixed_findings_are_counted_apart():
    def finding(**kw):
        return Finding("config-drift", "DA006", "d1", "local", "m", **kw)

    info = RuleInfo("config-drift", "DA006", "s", "d", True, "safe", ("state", "db"))
    result = AuditResult(
        host_uuid="local", started_at="2026-01-02T12:00:00+00:00", duration=0.25,
        sources={"state": SourceStatus("state", True, "x", "")},
        rules=[info],
        checks=[Check("config-drift", "d1", "drift",
                      [finding(), finding(fixed=True), finding(waived=True),
                       finding(waived=True)])],
    )
    m = parse(render_metrics(result).decode())
    assert [sample(m, "findings", rule="config-drift", outcome=o)
            for o in ("drift", "waived", "fixed")] == [1, 2, 1]
    assert sample(m, "last_run_timestamp_seconds") == 1767355200
    assert sample(m, "duration_seconds") == 0.25


def _version() -> str:
    from decnet_audit import __version__

    return __version__
