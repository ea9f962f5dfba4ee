"""What the auditor observed, and what it concluded.

The three sources are read once into a `Fleet`; rules only ever look at a
`Fleet`, never at a file, a database or a Docker engine. A source that could
not be read is `None` in the fleet, so a rule cannot mistake "not observed"
for "empty".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .decnet import (
    DECKY_LABEL,
    FLEET_SINGLETONS,
    RUNNING,
    SERVICE_LABEL,
    aggregate_state,
    as_written_name,
    docker_deckies,
    service_container_name,
)
from .swarmrows import MASTER, WORKER, Shard, SwarmHost  # noqa: F401 - WORKER re-exported

STATE, DB, DOCKER = "state", "db", "docker"
SOURCES = (STATE, DB, DOCKER)

# What --fix did to a finding (Finding.fix_status); PLANNED under --dry-run.
FIXED, SKIPPED, CONFLICT, REFUSED, PLANNED = "fixed", "skipped", "conflict", "refused", "planned"
FIX_STATUSES = (FIXED, SKIPPED, CONFLICT, REFUSED, PLANNED)

# Outcomes of one (rule, decky) check, in the order reports list them.
# FIXED only after --fix: the check drifted and the re-audit no longer
# reports any of its findings.
DRIFT, ERROR, WAIVED, PASSED = "drift", "error", "waived", "passed"
OUTCOMES = (DRIFT, ERROR, WAIVED, FIXED, PASSED)
ANY_DECKY = "*"  # the decky of a check that could not run at all


@dataclass(frozen=True, slots=True)
class Decky:
    """One DeckyConfig from the state file."""

    name: str
    ip: str | None
    services: tuple[str, ...]
    host_uuid: str | None
    config: Mapping[str, Any]  # the entry exactly as the file has it


@dataclass(frozen=True, slots=True)
class Row:
    """One `fleet_deckies` row, as stored (JSON columns left as text)."""

    host_uuid: str
    name: str
    services: str
    decky_config: str | None
    decky_ip: str | None
    state: str
    last_error: str | None = None
    compose_hash: str | None = None
    last_seen: Any = None
    updated_at: Any = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.host_uuid, self.name)


@dataclass(frozen=True, slots=True)
class Container:
    """One Docker container, running or not."""

    id: str
    name: str
    state: str  # Docker's word: running, exited, created, paused, ...
    labels: Mapping[str, str] = field(default_factory=dict)
    # Docker's State.FinishedAt (RFC 3339 text) when it was read: only for a
    # container inspected because its decky's row says running (see
    # sources.docker.inspect_dead), or from a `docker inspect` snapshot.
    finished_at: str | None = None

    @property
    def running(self) -> bool:
        return self.state == RUNNING  # Docker's word and DECNET's alike

    @property
    def finished(self) -> bool:
        """It ran and stopped (a created container never ran)."""
        return self.state in ("exited", "dead")


@dataclass(frozen=True)
class SourceStatus:
    """Whether a source was read, from where, and what came of it."""

    name: str
    ok: bool
    where: str  # path, masked URL or engine address: never a password
    detail: str  # "3 deckies" when ok, the error in one line otherwise
    # Read, but not there: a state file DECNET has not written (or removed at
    # teardown) is an empty fleet, which no report may show as a plain "ok".
    missing: bool = False


@dataclass
class Fleet:
    """Everything one run observed. `None` means the source was not read."""

    host_uuid: str
    deckies: list[Decky] | None
    rows: list[Row] | None
    containers: list[Container] | None
    enrolled_hosts: frozenset[str] | None = None  # None: no swarm_hosts table
    sources: dict[str, SourceStatus] = field(default_factory=dict)
    compose_path: str | None = None  # the state file's, as written
    deployment: dict[str, Decky] | None = None  # the state table's copy, by name; None: none
    provenance: tuple[str, ...] = ()  # where each source was found, for the header
    role: str = MASTER
    shards: list[Shard] | None = None  # a master's tables; None: no such table
    swarm_hosts: dict[str, SwarmHost] | None = None
    subnet: str | None = None  # the state file's config.subnet
    hostname: str | None = None  # this machine's name, for reports joined elsewhere

    def observed(self, source: str) -> bool:
        return {STATE: self.deckies, DB: self.rows, DOCKER: self.containers}[source] is not None

    def is_local(self, host_uuid: str | None) -> bool:
        return host_uuid is None or host_uuid == self.host_uuid

    @cached_property
    def local_deckies(self) -> dict[str, Decky]:
        """State-file entries this host runs (host_uuid null or ours)."""
        return {d.name: d for d in self.deckies or () if self.is_local(d.host_uuid)}

    @cached_property
    def local_rows(self) -> dict[str, Row]:
        return {r.name: r for r in self.rows or () if r.host_uuid == self.host_uuid}

    @cached_property
    def foreign_rows(self) -> list[Row]:
        return [r for r in self.rows or () if r.host_uuid != self.host_uuid]

    @cached_property
    def containers_by_name(self) -> dict[str, Container]:
        return {c.name: c for c in self.containers or ()}

    @cached_property
    def _labelled(self) -> dict[tuple[str, str], Container]:
        out: dict[tuple[str, str], Container] = {}
        for c in self.containers or ():
            decky = c.labels.get(DECKY_LABEL)
            service = c.labels.get(SERVICE_LABEL)
            if decky is not None and service is not None:
                out[(decky, service)] = c
        return out

    def service_container(self, decky: str, service: str) -> Container | None:
        """The container of one service: by DECNET's labels, else by name
        (containers from older deploys carry no labels): the name DECNET's
        reconciler looks for, or the service's name as written."""
        found = self._labelled.get((decky, service))
        if found is None:
            by_name = self.containers_by_name
            found = by_name.get(service_container_name(decky, service)) or \
                by_name.get(as_written_name(decky, service))
        return found

    def aggregate(self, decky: str, services: tuple[str, ...] | list[str]) -> str | None:
        """What Docker shows for a decky: its service containers (fleet
        singletons have none) aggregated as DECNET's reconciler aggregates
        them; None if Docker was not read."""
        if self.containers is None:
            return None
        found = [self.service_container(decky, s) for s in services
                 if s not in FLEET_SINGLETONS]
        present = [c for c in found if c is not None]
        return aggregate_state(len(found), len(present), sum(1 for c in present if c.running))

    def decnet_view(self, decky: str, services: tuple[str, ...] | list[str]) -> str | None:
        """What DECNET's reconciler computes, and writes, for a decky: by name
        only, expecting ``<decky>-<service, _ as ->`` for every service
        (singletons too); None if Docker was not read."""
        if self.containers is None:
            return None
        expected = {service_container_name(decky, s) for s in services}
        seen = [self.containers_by_name[n] for n in expected if n in self.containers_by_name]
        return aggregate_state(len(expected), len(seen), sum(1 for c in seen if c.running))

    @cached_property
    def docker_deckies(self) -> dict[str, list[Container]]:
        """Which deckies Docker runs here, with their containers ({} when
        Docker was not read); see :func:`decnet_audit.decnet.docker_deckies`."""
        return docker_deckies(self)

    @cached_property
    def paired(self) -> list[str]:
        """Deckies of this host in both the state file and the rows, sorted."""
        return sorted(set(self.local_deckies) & set(self.local_rows))


@dataclass
class Finding:
    """One disagreement between the sources, as a rule reports it."""

    rule: str
    code: str
    decky: str
    host_uuid: str
    message: str  # what is wrong and what would converge it, one line
    expected: Any = None
    actual: Any = None
    fixable: bool = False
    field: str | None = None  # set by rules that report field by field
    fixed: bool = False
    # One of FIX_STATUSES, set by --fix (only through decnet_audit.fix.plan.mark)
    fix_status: str | None = None
    fix_detail: str | None = None
    waived: bool = False
    waiver_reason: str | None = None


@dataclass(slots=True)
class Check:
    """The outcome of one rule over one decky: one JUnit testcase."""

    rule: str
    decky: str
    outcome: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    crashed: bool = False  # the error is the rule's own exception, not a source's


@dataclass
class RuleInfo:
    id: str
    code: str
    summary: str
    doc: str
    fixable: bool
    fix_safety: str | None  # "safe", "unsafe", or None when not fixable
    needs: tuple[str, ...]
    fix_needs: tuple[str, ...] = ()  # sources the fix needs on top of ``needs``
    severity: str = "medium"  # high, medium or low (decnet_audit.rule.SEVERITIES)


@dataclass
class AuditResult:
    host_uuid: str
    started_at: str  # ISO 8601, UTC
    duration: float
    sources: dict[str, SourceStatus]
    rules: list[RuleInfo]
    checks: list[Check]
    interrupted: bool = False
    deselected: int = 0  # checks that -k left out
    rule_seconds: dict[str, float] = field(default_factory=dict)  # time each rule took
    # What became of each configured waiver (decnet_audit.config.waivers.WaiverStatus)
    waivers: list[Any] = field(default_factory=list)
    # The machine audited: reports of several hosts (all "local" to DECNET)
    # must be told apart.
    hostname: str = field(default_factory=lambda: _hostname())
    not_applicable: dict[str, str] = field(default_factory=dict)  # rule id -> why not run
    fleet: Fleet | None = None  # what the rules looked at (the report's inventory)
    hosts: list[dict] | None = None  # a merged report's table of hosts (decnet_audit.merge)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    @property
    def complete(self) -> bool:
        return not self.interrupted and all(s.ok for s in self.sources.values())

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(OUTCOMES, 0)
        for c in self.checks:
            out[c.outcome] += 1
        return out


def _hostname() -> str:
    import socket  # here, not at start-up: --version never needs it

    return socket.gethostname()
