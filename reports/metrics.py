"""``--metrics PATH``: the audit as a Prometheus textfile.

Written for node_exporter's textfile collector: point ``PATH`` at a ``*.prom``
file in its ``--collector.textfile.directory``. The CLI writes reports
atomically (a hidden temporary file renamed into place), which is what the
collector needs so that it never reads half a file.

Every (rule, outcome) pair is written, zeros included, so an alert such as
``decnet_audit_findings{outcome="drift"} > 0`` never depends on a series
appearing, and a rule that stopped drifting drops to 0 rather than vanishing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from decnet_audit import __version__
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DRIFT, FIXED, OUTCOMES, SOURCES, WAIVED, AuditResult, Finding
from decnet_audit.reporter import Reporter
from decnet_audit.text import visible

PREFIX = "decnet_audit"
# What became of a finding: still open (drift), waived, or fixed by --fix.
FINDING_OUTCOMES = (DRIFT, WAIVED, FIXED)
# What --fix could not do: refused by the engine, or lost to a concurrent write.
FIX_FAILURES = ("conflict", "refused")


def finding_outcome(f: Finding) -> str:
    if f.fixed:
        return FIXED
    return WAIVED if f.waived else DRIFT


def escape_label(value: object) -> str:
    """A label value as the text format wants it: ``\\``, ``"`` and line feed
    escaped; control characters and undecodable bytes shown as visible
    escapes first, so the file stays valid UTF-8 on one line per sample."""
    text = visible(value, keep_newlines=True)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: object) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items()) + "}"


def _number(value: float | int) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, help_text: str, samples) -> None:
        full = f"{PREFIX}_{name}"
        self.lines.append(f"# HELP {full} {help_text}")
        self.lines.append(f"# TYPE {full} gauge")
        for labels, value in samples:
            self.lines.append(f"{full}{_labels(**labels)} {_number(value)}")

    def render(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode("utf-8")


def render_metrics(result: AuditResult) -> bytes:
    rules = [r.id for r in result.rules]
    rules += sorted({c.rule for c in result.checks} - set(rules))
    checks = Counter((c.rule, c.outcome) for c in result.checks)
    findings = Counter((f.rule, finding_outcome(f)) for f in result.findings)
    failures = Counter(f.rule for f in result.findings if f.fix_status in FIX_FAILURES)
    sources = dict(result.sources)
    # Each per-rule series says how much its rule matters: an alert can then
    # page on high and mail on the rest (a rule seen only in checks: "").
    severity = {r.id: r.severity for r in result.rules}
    # The host's identity on every per-rule series: a central Prometheus (or
    # an alert's text) then names the host without joining on the info series.
    fleet = result.fleet
    host = dict(host_uuid=result.host_uuid, hostname=(fleet.hostname if fleet else None) or "")

    out = _Text()
    out.family(
        "findings",
        "Findings of the last audit per rule and outcome (drift: open, waived, fixed by --fix).",
        ((dict(host, rule=r, severity=severity.get(r, ""), outcome=o), findings[(r, o)])
         for r in rules for o in FINDING_OUTCOMES),
    )
    out.family(
        "checks",
        "Checks (one rule over one decky) of the last audit per rule and outcome.",
        ((dict(host, rule=r, severity=severity.get(r, ""), outcome=o), checks[(r, o)])
         for r in rules for o in OUTCOMES),
    )
    out.family(
        "fix_failures",
        "Findings whose --fix was refused or lost to a concurrent write (conflict).",
        ((dict(host, rule=r, severity=severity.get(r, "")), failures[r]) for r in rules),
    )
    names = [s for s in SOURCES if s in sources] + sorted(set(sources) - set(SOURCES))
    out.family(
        "source_up",
        "1 if the source (state file, database, docker) was read in the last audit, else 0.",
        ((dict(source=s), sources[s].ok) for s in names),
    )
    out.family("duration_seconds", "Wall-clock duration of the last audit.",
               [({}, result.duration)])
    out.family("complete",
               "1 if the last audit read every source and was not interrupted, else 0.",
               [({}, result.complete)])
    out.family("last_run_timestamp_seconds", "Start of the last audit, in Unix time.",
               [({}, datetime.fromisoformat(result.started_at).timestamp())])
    out.family("info", "The audited host and the auditor's version.",
               [(dict(host, role=(fleet.role if fleet else None) or
                      ("fleet" if result.hosts is not None else ""), version=__version__), 1)])
    if result.hosts is not None:
        _fleet_families(out, result.hosts)
    return out.render()


def _fleet_families(out: _Text, hosts: list[dict]) -> None:
    """``decnet-audit merge --metrics``: one series per host of the fleet."""
    def who(h: dict) -> dict:
        return dict(host_uuid=h["host_uuid"], hostname=h["hostname"] or "", host=h["host"])

    out.family("fleet_report_age_seconds", "Age of each host's last report at the merge.",
               [(who(h), h["age_hours"] * 3600) for h in hosts])
    out.family("fleet_report_fresh", "1 if the host's report is within the merge's --max-age.",
               [(who(h), h["fresh"]) for h in hosts])
    out.family("fleet_host_exit_code", "The exit code of each host's last audit (0 no drift, "
               "1 drift, 2 incomplete, 3 crashed).", [(who(h), h["exit_code"]) for h in hosts])
    out.family("fleet_host_findings", "Open findings of each host's last audit, per rule.",
               [(dict(who(h), rule=r), n) for h in hosts
                for r, n in sorted(h["open_findings_by_rule"].items())])


class MetricsReporter(Reporter):
    name = "metrics"
    option = "--metrics"
    help = ("write a Prometheus textfile (findings and checks per rule and outcome, "
            "source up/down, duration) to PATH, for node_exporter's textfile collector")

    def render(self, result: AuditResult) -> bytes:
        return render_metrics(result)


@hookimpl
def decnet_audit_reporters():
    return [MetricsReporter]
