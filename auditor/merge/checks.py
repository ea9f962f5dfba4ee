"""The checks only a fleet view can make, over every host's reduced report.

Each is one pass over the hosts (dictionaries keyed by decky or host), so a
merge stays linear in the number of reports and deckies.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from ..model import DRIFT, PASSED, Check, Finding, RuleInfo
from .read import DECOMMISSIONED, HostReport

FLEET = "fleet"  # host_uuid of a finding that no single host owns

# id -> (code, summary, severity). A host without a fresh report is a host
# nobody audits, and one decky on two hosts answers from two machines: high.
RULES = {
    "host-report": ("DA201", "A host's report is missing, or older than the freshness limit.",
                    "high"),
    "decky-on-two-hosts": ("DA202", "A decky runs on more than one host.", "high"),
    "decky-misplaced": ("DA203", "A decky the master places on one host runs on another.",
                        "medium"),
}


def rule_infos() -> list[RuleInfo]:
    return [RuleInfo(rid, code, summary, summary, False, None, (), severity=severity)
            for rid, (code, summary, severity) in RULES.items()]


def _finding(rule: str, subject: str, host: str, message: str, expected, actual) -> Finding:
    return Finding(rule=rule, code=RULES[rule][0], decky=subject, host_uuid=host,
                   message=message, expected=expected, actual=actual)


def _checks(rule: str, subjects, found: dict[str, list[Finding]]) -> list[Check]:
    return [Check(rule, s, DRIFT if found.get(s) else PASSED, findings=found.get(s, []))
            for s in sorted(subjects)]


def host_reports(hosts: dict[str, HostReport], now: datetime, max_age: timedelta) -> list[Check]:
    """Every host that reported, and every worker a master enrolled (not
    decommissioned) or places deckies on: its report present and fresh."""
    expected: dict[str, str] = {}  # uuid -> which master expects it
    for h in hosts.values():
        for uuid, status in h.workers.items():
            if (status or "").lower() != DECOMMISSIONED:
                expected.setdefault(uuid, h.key)
        for uuid in set(h.placements.values()) | set(h.shards.values()):
            expected.setdefault(uuid, h.key)
    found: dict[str, list[Finding]] = {}
    for key, h in hosts.items():
        age = now - h.started_at
        if age > max_age:
            found[key] = [_finding(
                "host-report", key, h.host_uuid,
                f"the report of {key} ({h.hostname or 'unnamed'}) is {_hours(age)} old "
                f"(limit {_hours(max_age)}): its audit has not run since "
                f"{h.started_at.isoformat(timespec='seconds')}",
                f"a report younger than {_hours(max_age)}", f"{_hours(age)} old")]
    missing = {u: m for u, m in expected.items() if u not in hosts}
    for uuid, by in missing.items():
        found[uuid] = [_finding(
            "host-report", uuid, uuid,
            f"worker {uuid} is enrolled on master {by} (or has deckies placed on it) "
            f"but no report of it was given: its audit did not run or did not arrive",
            "a report of this worker", "no report")]
    return _checks("host-report", set(hosts) | set(missing), found)


def fleet_deckies(hosts: dict[str, HostReport]) -> list[Check]:
    runs_on: dict[str, list[str]] = defaultdict(list)  # decky -> host keys running it
    for key, h in hosts.items():
        for name in h.running:
            runs_on[name].append(key)
    uuid_of = {h.host_uuid: key for key, h in hosts.items()}
    two: dict[str, list[Finding]] = {}
    for name, keys in runs_on.items():
        if len(keys) > 1:
            keys.sort()
            two[name] = [_finding(
                "decky-on-two-hosts", name, FLEET,
                f"{name} runs on {len(keys)} hosts ({', '.join(keys)}): its address and "
                f"logs are split between them; tear it down on all but one",
                "one host", ", ".join(keys))]
    placed: dict[str, tuple[str, str]] = {}  # decky -> (host it is placed on, by)
    for key, h in hosts.items():
        for name, where in {**h.shards, **h.placements}.items():
            placed.setdefault(name, (where, key))
    wrong: dict[str, list[Finding]] = {}
    for name, (where, by) in placed.items():
        elsewhere = [k for k in runs_on.get(name, ()) if k != uuid_of.get(where, where)]
        if elsewhere:
            wrong[name] = [_finding(
                "decky-misplaced", name, where,
                f"master {by} places {name} on {where} but it runs on "
                f"{', '.join(elsewhere)}; converges by a teardown there and a swarm deploy",
                f"running on {where} only", f"running on {', '.join(elsewhere)}")]
    return (_checks("decky-on-two-hosts", runs_on, two)
            + _checks("decky-misplaced", placed, wrong))


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
