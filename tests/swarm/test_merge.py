"""``decnet-audit merge``: one fleet report from the hosts' own JSON reports
(written here by decnet-audit's engine and JSON reporter, tests/kit/swarm.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import xmlschema
from prometheus_client.parser import text_string_to_metric_families

from kit.fleet import run_cli
from kit.swarm import Host, master_of

XSD = Path(__file__).resolve().parents[1] / "data" / "junit-10.xsd"
NOW = datetime.now(UTC).replace(microsecond=0)


def _swarm(tmp_path: Path):
    """A master and four workers: w2 also runs w0's d0-0, w3 sends no report,
    w1's report is 30 hours old and has its own drift (a decky down)."""
    workers = []
    for i in range(4):
        w = Host(f"w{i}", f"worker-{i}")
        for j in range(3):
            w.runs(f"d{i}-{j}", f"192.168.1.{10 * i + j + 10}", running=(i, j) != (1, 2))
        workers.append(w)
    master = master_of(workers)
    workers[2].runs("d0-0", "192.168.1.10")
    paths = [master.report(tmp_path / "master.json", NOW)]
    paths += [w.report(tmp_path / f"{w.uuid}.json",
                       NOW - timedelta(hours=30) if w.uuid == "w1" else NOW)
              for w in workers[:3]]
    return [str(p) for p in paths]


def _merge(tmp_path, paths, *extra):
    out = tmp_path / "fleet"
    run = run_cli("merge", *paths, "--json", f"{out}.json", "--junitxml", f"{out}.xml",
                  "--html", f"{out}.html", "--metrics", f"{out}.prom", *extra)
    report = json.loads(Path(f"{out}.json").read_text()) if Path(f"{out}.json").exists() \
        else None
    return run, report, out


def test_fleet_report_joins_hosts_and_checks_across_them(tmp_path):
    run, rep, out = _merge(tmp_path, _swarm(tmp_path), "--at", NOW.isoformat())
    assert run.rc == 1, run.out + run.err
    assert (rep["version"], rep["host_uuid"], rep["role"]) == (2, "fleet", "fleet")
    got = sorted((f["rule"], f["decky"], f["host_uuid"]) for f in rep["findings"])
    assert got == [
        ("decky-down", "w1/d1-2", "w1"),          # w1's own finding, with its host
        ("decky-misplaced", "d0-0", "w0"),        # placed on w0, runs on w2 too
        ("decky-on-two-hosts", "d0-0", "fleet"),
        ("host-report", "w1", "w1"),              # 30 h old (limit 26 h)
        ("host-report", "w3", "w3"),              # enrolled, no report
    ]
    hosts = {h["host"]: h for h in rep["hosts"]}
    assert sorted(hosts) == ["master-1", "w0", "w1", "w2"]
    assert (hosts["w1"]["verdict"], hosts["w1"]["fresh"], hosts["w1"]["age_hours"]) == (
        "drift", False, 30.0)
    assert (hosts["w0"]["verdict"], hosts["w0"]["fresh"], hosts["w0"]["role"]) == (
        "no drift", True, "worker")
    assert hosts["w1"]["open_findings_by_rule"] == {"decky-down": 1}
    # One check per host, decky placed and decky running, each named once.
    checks = [(c["rule"], c["decky"]) for c in rep["checks"]]
    assert len(checks) == len(set(checks))
    assert {d for r, d in checks if r == "host-report"} == {"master-1", "w0", "w1", "w2", "w3"}
    xmlschema.XMLSchema(str(XSD)).validate(f"{out}.xml")
    assert "decky-on-two-hosts" in Path(f"{out}.html").read_text()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(Path(f"{out}.prom").read_text())
               for s in fam.samples}
    w1 = (("host", "w1"), ("host_uuid", "w1"), ("hostname", "worker-1"))
    assert samples[("decnet_audit_fleet_report_fresh", w1)] == 0
    assert samples[("decnet_audit_fleet_report_age_seconds", w1)] == 30 * 3600
    assert samples[("decnet_audit_fleet_host_findings", (*w1, ("rule", "decky-down")))] == 1


def test_a_longer_limit_and_all_reports_make_the_fleet_clean(tmp_path):
    paths = _swarm(tmp_path)
    run, rep, _ = _merge(tmp_path, paths[:2], "--max-age", "48", "--at", NOW.isoformat())
    # master + w0 only: w1..w3 are missing, nothing runs twice, nothing misplaced
    assert run.rc == 1
    assert sorted(f["decky"] for f in rep["findings"]) == ["w1", "w2", "w3"]
    assert {f["rule"] for f in rep["findings"]} == {"host-report"}


def test_an_unreadable_report_makes_the_merge_incomplete(tmp_path):
    paths = _swarm(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"version": 9, "host_uuid": "x"}))
    run, rep, _ = _merge(tmp_path, [*paths, str(bad), str(other), str(tmp_path / "none.json")],
                         "--at", NOW.isoformat())
    assert run.rc == 2, run.out + run.err
    assert "Traceback" not in run.out + run.err
    down = {s["where"]: s["detail"] for s in rep["sources"].values() if s["status"] == "error"}
    assert down[str(bad)].startswith("not a JSON report")
    assert "schema version 9" in down[str(other)]
    assert down[str(tmp_path / "none.json")] == "report not found"
    assert len(rep["hosts"]) == 4  # the readable ones are merged all the same


def test_the_newer_of_two_reports_of_one_host_counts(tmp_path):
    w = Host("w9", "worker-9")
    w.runs("a", "192.168.1.10", running=False)
    old = w.report(tmp_path / "old.json", NOW - timedelta(hours=2))
    w.entries, w.containers = [], []  # two hours later, the decky runs again
    w.runs("a", "192.168.1.10", running=True)
    new = w.report(tmp_path / "new.json", NOW)
    run, rep, _ = _merge(tmp_path, [str(new), str(old)], "--at", NOW.isoformat())
    assert run.rc == 0, run.out + run.err
    assert rep["hosts"][0]["report"] == str(new)
    assert "older report" in next(iter(rep["sources"].values()))["detail"]


def test_usage_errors(tmp_path):
    for args in (["merge"], ["merge", "x.json", "--at", "yesterday"],
                 ["merge", "x.json", "--max-age", "0"]):
        run = run_cli(*args)
        assert run.rc == 4, (args, run.out, run.err)
        assert run.err.startswith("decnet-audit merge: usage error:") and "Traceback" not in run.err


def test_a_report_is_read_line_by_line_or_whole_alike(tmp_path):
    """The merge reads decnet-audit's own layout line by line (a passing
    check only counted); a report re-indented by another tool is parsed
    whole, to the same result."""
    from decnet_audit.merge.read import _reduce, read_report

    w = Host("w5", "worker-5")
    for j in range(20):
        w.runs(f"d{j}", f"192.168.1.{j + 10}", running=j % 7 != 3)
    w.runs("orph", "192.168.1.99")
    w.entries.pop()  # a decky only Docker knows: an orphan
    ours = w.report(tmp_path / "ours.json", NOW)
    doc = json.loads(ours.read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc, indent=4))
    a, b, c = read_report(str(ours)), read_report(str(other)), _reduce(str(ours), doc)
    for x in (b, c):
        assert (x.counts, x.running, x.open_findings, x.exit_code) == (
            a.counts, a.running, a.open_findings, a.exit_code)
        assert [(k.rule, k.decky, k.outcome, len(k.findings)) for k in x.checks] == [
            (k.rule, k.decky, k.outcome, len(k.findings)) for k in a.checks]
    assert a.counts["passed"] > 0 and a.counts["drift"] == 4  # 3 down, 1 orphan
