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
    sources = dict(result.sources)

    out = _Text()
    out.family(
        "findings",
        "Findings of the last audit per rule and outcome (drift: open, waived, fixed by --fix).",
        ((dict(rule=r, outcome=o), findings[(r, o)]) for r in rules for o in FINDING_OUTCOMES),
    )
    out.family(
        "checks",
        "Checks (one rule over one decky) of the last audit per rule and outcome.",
        ((dict(rule=r, outcome=o), checks[(r, o)]) for r in rules for o in OUTCOMES),
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
               [(dict(host_uuid=result.host_uuid, version=__version__), 1)])
    return out.render()


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
