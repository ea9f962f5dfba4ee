"""``decnet-audit merge REPORT.json... [--json|--junitxml|--html|--metrics PATH]``.

One fleet report from many hosts' JSON reports: each host's verdict and
freshness, every check that did not pass (named ``<host>/<decky>``) with
its findings, and the cross-host checks (``checks.py``). The result is an
ordinary audit result, so every report format renders it; the JSON report
adds a ``hosts`` table. Exit codes are the audit's: 0 clean, 1 drift on
some host or across hosts, 2 a report unreadable or a host's audit
incomplete, 3 a host's rule crashed, 4 usage.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta

from ..errors import SourceError, UsageError
from ..exitcode import ExitCode
from ..model import AuditResult, Check, SourceStatus
from ..outcome import exit_code, summary_line
from . import checks
from .read import HostReport, read_report

DEFAULT_MAX_AGE_HOURS = 26.0  # a nightly audit, with two hours' slack


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser(reporters) -> argparse.ArgumentParser:
    p = _Parser(prog="decnet-audit merge",
                description="One fleet report from many hosts' decnet-audit JSON reports.")
    p.add_argument("reports", nargs="+", metavar="REPORT.json")
    p.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_HOURS, metavar="HOURS",
                   help=f"a report older than this is stale (default {DEFAULT_MAX_AGE_HOURS:g})")
    p.add_argument("--at", metavar="TIME",
                   help="judge freshness as of this ISO 8601 time (default: now)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    for r in reporters:
        p.add_argument(r.option, metavar="PATH", dest=_dest(r), help=r.help)
    return p


def _dest(reporter) -> str:
    return "report_" + reporter.option.lstrip("-").replace("-", "_")


def main(argv: list[str]) -> int:
    from ..plugins import load_reporters, plugin_manager

    reporters = load_reporters(plugin_manager())
    try:
        args = _parser(reporters).parse_args(argv)
        now = _when(args.at)
        if not args.max_age > 0:
            raise UsageError("--max-age must be a positive number of hours")
    except UsageError as exc:
        sys.stderr.write(f"decnet-audit merge: usage error: {exc}\n")
        return ExitCode.USAGE
    result = merge(args.reports, now=now, max_age=timedelta(hours=args.max_age))
    if not args.quiet:
        for h in result.hosts:
            sys.stdout.write(f"{h['verdict']:<11} {h['host']:<40} {h['role'] or '-':<7} "
                             f"{h['age_hours']:>7.1f} h  {h['open_findings']} findings\n")
        for s in result.sources.values():
            if not s.ok:
                sys.stdout.write(f"{'unreadable':<11} {s.where}: {s.detail}\n")
    sys.stdout.write(summary_line(result) + f" ({len(result.hosts)} hosts)\n")
    ok = True
    for r in reporters:
        path = getattr(args, _dest(r), None)
        if path:
            from ..atomic import write_atomic
            try:
                write_atomic(path, r.render(result))
            except OSError as exc:
                sys.stderr.write(f"decnet-audit merge: cannot write {r.name} report {path}: "
                                 f"{exc.strerror or exc}\n")
                ok = False
    code = exit_code(result)
    return code if ok else max(code, 2)


def _when(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at {text!r}: not an ISO 8601 time") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


VERDICTS = {0: "no drift", 1: "drift", 2: "incomplete", 3: "crashed"}


def merge(paths: list[str], *, now: datetime, max_age: timedelta) -> AuditResult:
    t0 = time.perf_counter()
    hosts: dict[str, HostReport] = {}
    sources: dict[str, SourceStatus] = {}
    for path in paths:
        try:
            rep = read_report(path)
        except SourceError as exc:
            sources[f"report {path}"] = SourceStatus(f"report {path}", False, path, str(exc))
            continue
        old = hosts.get(rep.key)
        if old is not None and old.started_at >= rep.started_at:
            rep, old = old, rep  # two reports of one host: the newer counts
        hosts[rep.key] = rep
        also = f"; older report {old.path} ignored" if old is not None else ""
        sources[f"report {rep.key}"] = SourceStatus(
            f"report {rep.key}", True, rep.path,
            f"{rep.hostname or '?'} ({rep.role or '?'}), started "
            f"{rep.started_at.isoformat(timespec='seconds')}{also}")
    all_checks: list[Check] = checks.host_reports(hosts, now, max_age)
    rules = {r.id: r for r in checks.rule_infos()}
    table = []
    for key in sorted(hosts):
        h = hosts[key]
        for r in h.rules:
            rules.setdefault(r.id, r)
        all_checks += h.checks
        age = now - h.started_at
        table.append({
            "host": key, "host_uuid": h.host_uuid, "hostname": h.hostname, "role": h.role,
            "report": h.path, "schema_version": h.version,
            "started_at": h.started_at.isoformat(timespec="seconds"),
            "age_hours": round(age.total_seconds() / 3600, 2),
            "fresh": age <= max_age, "verdict": VERDICTS.get(h.exit_code, "crashed"),
            "exit_code": h.exit_code, "complete": bool(h.summary.get("complete", True)),
            "checks": dict(h.counts), "open_findings": sum(h.open_findings.values()),
            "open_findings_by_rule": dict(h.open_findings), "inventory": h.has_inventory,
            "running_deckies": len(h.running),
        })
    all_checks += checks.fleet_deckies(hosts)
    return AuditResult(
        host_uuid=checks.FLEET, started_at=now.isoformat(timespec="seconds"),
        duration=time.perf_counter() - t0, sources=sources, rules=list(rules.values()),
        checks=all_checks, hosts=table,
    )
