"""One host's JSON report, reduced to what a fleet report needs.

Reports are read one at a time and only this survives each: the host's
identity, verdict and freshness, its checks that did not pass (with their
findings), counts of the rest, and from its inventory (schema 2) the deckies
it runs and, on a master, where it places deckies. The merge's memory is so
bounded by the fleet's drift and deckies, not by the reports' size.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import SourceError
from ..model import DRIFT, ERROR, PASSED, Check, Finding, RuleInfo
from . import stream

_FINDING_FIELDS = frozenset(Finding.__dataclass_fields__)
_RULE_FIELDS = ("id", "code", "summary", "fixable", "fix_safety")
DECOMMISSIONED = "decommissioned"


@dataclass
class HostReport:
    path: str
    key: str  # host_uuid, or local@hostname for DECNET's unihost sentinel
    host_uuid: str
    hostname: str | None
    role: str | None
    version: int
    started_at: datetime
    summary: dict
    exit_code: int
    rules: list[RuleInfo]
    checks: list[Check]  # every check that did not pass, decky as "<host>/<decky>"
    counts: Counter  # outcome -> checks, all of them
    open_findings: Counter  # rule -> findings neither waived nor fixed
    has_inventory: bool
    subnet: str | None = None
    running: dict[str, str | None] = field(default_factory=dict)  # decky -> its IP
    placements: dict[str, str] = field(default_factory=dict)  # decky -> host (a master's)
    shards: dict[str, str] = field(default_factory=dict)  # decky -> host (a master's)
    workers: dict[str, str | None] = field(default_factory=dict)  # enrolled uuid -> status


def host_key(host_uuid: str, hostname: str | None, path: str) -> str:
    # Every unihost is "local": only its name tells two apart.
    if host_uuid == "local":
        return f"local@{hostname or Path(path).stem}"
    return host_uuid


def read_report(path: str) -> HostReport:
    try:
        try:
            with open(path, encoding="utf-8") as fh:
                doc = stream.load(fh, _REDUCERS)
        except (stream.Layout, ValueError, TypeError, KeyError, AttributeError):
            # Another layout (or not JSON at all): parsed whole, or said why.
            doc = json.loads(Path(path).read_bytes())
    except FileNotFoundError as exc:
        raise SourceError("report not found") from exc
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"not a JSON report: not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(f"not a JSON report: {exc}") from exc
    try:
        return _reduce(path, doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SourceError(f"not a decnet-audit JSON report ({type(exc).__name__}: {exc})") from exc


def _check(line: str):
    # A passing check is counted by _reduce from what is left: keep a marker.
    return _PASSED if stream.PASSED_CHECK in line else json.loads(line)


def _decky(line: str) -> dict:
    d = json.loads(line)
    entry = d.get("entry") or {}
    return {"name": d["name"], "host_uuid": d.get("host_uuid"), "running": d.get("running"),
            "entry": {"ip": entry.get("ip")}}


def _shard(line: str) -> dict:
    s = json.loads(line)
    return {"decky_name": s["decky_name"], "host_uuid": s["host_uuid"]}


_PASSED = {"rule": None, "decky": None, "outcome": PASSED, "error": None, "crashed": False}
_REDUCERS = {("checks",): _check, ("inventory", "deckies"): _decky,
             ("inventory", "shards"): _shard}


def _reduce(path: str, doc: dict) -> HostReport:
    version = doc["version"]
    if not isinstance(version, int) or version not in (1, 2):
        raise ValueError(f"schema version {version!r} (this merge reads 1 and 2)")
    host_uuid, hostname = str(doc["host_uuid"]), doc.get("hostname")
    inv = doc.get("inventory")
    if isinstance(inv, dict) and hostname is None:
        hostname = inv.get("hostname")
    started = datetime.fromisoformat(doc["started_at"])
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    key = host_key(host_uuid, hostname, path)
    # In the fleet report a host's check and its findings are "<host>/<decky>".
    by_check: dict[tuple[str, str], list[Finding]] = {}
    open_findings: Counter = Counter()
    for f in doc.get("findings") or ():
        finding = Finding(**{k: v for k, v in f.items() if k in _FINDING_FIELDS})
        by_check.setdefault((finding.rule, finding.decky), []).append(finding)
        finding.decky = f"{key}/{finding.decky}"
        if not finding.waived and not finding.fixed:
            open_findings[finding.rule] += 1
    counts: Counter = Counter()
    kept = []
    for c in doc["checks"]:
        outcome = c["outcome"]
        counts[outcome] += 1
        if outcome != PASSED:
            kept.append(Check(c["rule"], f"{key}/{c['decky']}", outcome,
                              findings=by_check.get((c["rule"], c["decky"]), []),
                              error=c.get("error"), crashed=_crashed(c)))
    summary = doc.get("summary") or {}
    rep = HostReport(
        path=path, key=key, host_uuid=host_uuid,
        hostname=hostname, role=doc.get("role"), version=version, started_at=started,
        summary=summary, exit_code=_exit_code(summary, kept, counts),
        rules=[RuleInfo(**{k: r.get(k) for k in _RULE_FIELDS}, doc="", needs=(),
                        severity=r.get("severity") or "medium")
               for r in doc.get("rules") or ()],
        checks=kept, counts=counts, open_findings=open_findings,
        has_inventory=isinstance(inv, dict),
    )
    if isinstance(inv, dict):
        _take_inventory(rep, inv)
    return rep


def _take_inventory(rep: HostReport, inv: dict) -> None:
    rep.subnet = inv.get("subnet")
    if rep.role is None:
        rep.role = inv.get("role")
    shards = inv.get("shards")
    master = shards is not None
    own = {rep.host_uuid, None}
    for d in inv.get("deckies") or ():
        entry = d.get("entry") or {}
        if d.get("running"):
            rep.running[d["name"]] = entry.get("ip")
        if master and d.get("host_uuid") not in own:
            rep.placements[d["name"]] = d["host_uuid"]
    for s in shards or ():
        rep.shards[s["decky_name"]] = s["host_uuid"]
    for h in inv.get("swarm_hosts") or ():
        rep.workers[h["uuid"]] = h.get("status")


def _crashed(check: dict) -> bool:
    # Schema 2 says so; a version 1 report only by the engine's wording.
    if "crashed" in check:
        return bool(check["crashed"])
    return check["outcome"] == ERROR and (check.get("error") or "").startswith("rule crashed")


def _exit_code(summary: dict, kept: list[Check], counts: Counter) -> int:
    if any(c.crashed for c in kept):
        return 3
    if not summary.get("complete", True) or counts[ERROR]:
        return 2
    return 1 if counts[DRIFT] else 0
