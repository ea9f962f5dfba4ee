"""The engine: observe the three sources once, then run each rule over them."""

from __future__ import annotations

import socket
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from .decnet import LOCAL_HOST, dead_behind_running_rows
from .model import (
    ANY_DECKY,
    DB,
    DOCKER,
    DRIFT,
    ERROR,
    MASTER,
    PASSED,
    SOURCES,
    STATE,
    WORKER,
    AuditResult,
    Check,
    Fleet,
    SourceStatus,
)
from .rule import Rule
from .sources import docker as dockerengine
from .sources import statefile
from .sources.locate import locate
from .sources.role import resolve_role
from .sources.tables import Tables


@dataclass
class Sources:
    """Where to read from, resolved from options and DECNET's settings
    (:mod:`decnet_audit.sources.locate` says in which order)."""

    state_path: Path
    db_url: str
    docker_host: str | None = None
    docker_snapshot: Path | None = None
    host_uuid: str = LOCAL_HOST
    provenance: tuple[str, ...] = ()  # header lines: where each source came from
    role: str = MASTER  # a worker's database is not read: DECNET keeps none there

    @classmethod
    def resolve(cls, env: Mapping[str, str], *, state=None, db=None, docker_host=None,
                docker_snapshot=None, host_uuid=None, decnet_root=None,
                decnet_ini=None, role=None) -> Sources:
        decided = resolve_role(role, {**env, "DECNET_AUDIT_DECNET_INI": decnet_ini}
                               if decnet_ini else env)
        # A worker has no database to look for; one named by --db is read.
        found = locate(env, state=state, db=db, host_uuid=host_uuid, decnet_root=decnet_root,
                       decnet_ini=decnet_ini)
        return cls(
            state_path=found.state_path,
            db_url=found.db_url if decided.name != WORKER or db else "",
            docker_host=docker_host,
            docker_snapshot=Path(docker_snapshot) if docker_snapshot else None,
            # DECNET seeds DECNET_HOST_UUID from the ini's host-uuid: locate
            # reads it so; the role's section is the fallback.
            host_uuid=found.host_uuid if found.host_uuid != LOCAL_HOST
            else decided.host_uuid or LOCAL_HOST,
            provenance=tuple(found.provenance()),
            role=decided.name,
        )


def observe(src: Sources, *, only: Iterable[str] = SOURCES,
            previous: Fleet | None = None, inspect_dead: bool = True) -> Fleet:
    """Read each source once. A failure is recorded, never raised: the rules
    that need that source become errors, the others still run.

    With ``previous``, only the sources in ``only`` are read again and the
    others are kept as ``previous`` saw them (the re-audit after a fix).

    ``inspect_dead``: also ask a live engine when each service container that
    ran and stopped behind a row saying ``running`` finished (one call each;
    none on a healthy host), for stale-observation."""
    only = set(SOURCES if previous is None else only)
    statuses: dict[str, SourceStatus] = dict(previous.sources) if previous else {}
    deckies = previous.deckies if previous else None
    compose_path = previous.compose_path if previous else None
    tables = None if previous is None else Tables(
        previous.rows, previous.enrolled_hosts, previous.swarm_hosts, previous.shards,
        previous.deployment)
    containers = previous.containers if previous else None
    docker = None
    if DOCKER in only:
        # An engine takes its time over a large listing (over a second for
        # 10,000 containers, mostly its own work): ask it first, and read the
        # state file and the database (importing SQLAlchemy, ~0.1 s of CPU)
        # meanwhile. What the reading needs is imported here, not on the
        # thread: two threads importing at once may see each other's modules
        # half-built. A read through the SDK may import more as it goes, so
        # SQLAlchemy is imported before it starts.
        if src.docker_snapshot is None and not dockerengine.prepare(src.docker_host):
            from .sources import database  # noqa: F401
        docker = _Background(dockerengine.read, src.docker_host, src.docker_snapshot)
    if STATE in only:
        state, statuses[STATE] = statefile.read(src.state_path)
        deckies, compose_path = state or (None, None)
    if DB in only:
        if src.role == WORKER and not src.db_url:
            # A swarm worker keeps no database: its rows are an empty record
            # and it has no db source at all (unless --db names one: a worker
            # that runs `decnet reconcile` keeps rows of its own).
            tables = Tables([], None, None, None)
        else:
            from .sources import database

            tables, statuses[DB] = database.read(src.db_url)
    if docker is not None:
        containers, statuses[DOCKER] = docker.result()
        if previous is not None and containers is not None:
            # Finish times the audit inspected stay known to the re-audit.
            seen = {c.id: c.finished_at for c in previous.containers or () if c.finished_at}
            containers = [replace(c, finished_at=seen[c.id]) if c.id in seen else c
                          for c in containers]
    fleet = Fleet(
        host_uuid=src.host_uuid,
        deckies=deckies,
        rows=tables.rows if tables else None,
        containers=containers,
        enrolled_hosts=tables.enrolled if tables else None,
        sources={s: statuses[s] for s in SOURCES if s in statuses},
        compose_path=compose_path,
        deployment=tables.deployment if tables else None,
        provenance=src.provenance,
        role=src.role,
        shards=tables.shards if tables else None,
        swarm_hosts=tables.hosts if tables else None,
        subnet=getattr(deckies, "subnet", None),
        hostname=socket.gethostname(),
    )
    if inspect_dead and src.docker_snapshot is None and DOCKER in only:
        fleet = _with_finish_times(fleet, src)
    return fleet


def _with_finish_times(fleet: Fleet, src: Sources) -> Fleet:
    dead = [c for c in dead_behind_running_rows(fleet) if c.finished_at is None]
    if not dead:
        return fleet
    times = dockerengine.finished_times(src.docker_host, sorted({c.id for c in dead}))
    containers = [replace(c, finished_at=times[c.id]) if times.get(c.id) else c
                  for c in fleet.containers]
    status = fleet.sources[DOCKER]
    sources = {**fleet.sources, DOCKER: replace(status, detail=f"{status.detail}, "
                                                 f"{len(times)} inspected")}
    return replace(fleet, containers=containers, sources=sources)


class _Background:
    """``fn(*args)`` on a thread; :meth:`result` waits for it and returns its
    value or raises what it raised (a bug must not pass for an empty source)."""

    def __init__(self, fn, *args):
        self._value = self._error = None
        self._thread = threading.Thread(target=self._run, args=(fn, *args), daemon=True)
        self._thread.start()

    def _run(self, fn, *args) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def run_rule(rule: Rule, fleet: Fleet) -> list[Check]:
    """Every check of one rule: one per decky it examines."""
    missing = [s for s in rule.needs if not fleet.observed(s)]
    if missing:
        why = "; ".join(
            f"{s} not read ({fleet.sources[s].where}): {fleet.sources[s].detail}" for s in missing
        )
        return [Check(rule.id, ANY_DECKY, ERROR, error=why)]
    try:
        subjects = list(rule.subjects(fleet))
        found = defaultdict(list)
        for finding in rule.check(fleet):
            found[finding.decky].append(finding)
    except Exception as exc:  # noqa: BLE001 - a broken rule must not sink the others
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return [Check(rule.id, ANY_DECKY, ERROR, error=f"rule crashed: {tb}", crashed=True)]
    known = set(subjects)  # a list lookup here made 10,000 findings cost seconds
    subjects.extend(name for name in found if name not in known)
    return [
        Check(rule.id, name, DRIFT if found.get(name) else PASSED, findings=found.get(name, []))
        for name in subjects
    ]


def audit(
    fleet: Fleet,
    rules: list[Rule],
    *,
    keep: Callable[[Check], bool] = lambda c: True,
    on_rule: Callable[[Rule, list[Check]], None] | None = None,
    started: float | None = None,
    waive: Callable[[list[Check]], None] | None = None,
) -> AuditResult:
    """Run ``rules`` over an observed fleet. ``keep`` is the ``-k`` filter;
    ``on_rule`` lets the console show progress rule by rule; ``waive`` marks
    waived findings on each rule's checks before anyone sees them."""
    t0 = started if started is not None else time.perf_counter()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    checks: list[Check] = []
    deselected = 0
    interrupted = False
    rule_seconds: dict[str, float] = {}
    not_applicable: dict[str, str] = {}
    ran_rules: list[Rule] = []
    try:
        for rule in rules:
            why = rule.not_applicable(fleet)
            if why is not None:
                # Not run at all: not a pass (nothing was checked) and not an
                # error (nothing failed): e.g. fleet_deckies rules on a worker.
                not_applicable[rule.id] = why
                continue
            ran_rules.append(rule)
            t_rule = time.perf_counter()
            ran = run_rule(rule, fleet)
            rule_seconds[rule.id] = time.perf_counter() - t_rule
            # A rule that could not run is reported whatever -k says: hiding
            # it would turn "not observed" into a clean result.
            mine = [c for c in ran if c.decky == ANY_DECKY or keep(c)]
            deselected += len(ran) - len(mine)
            if waive:
                waive(mine)
            checks.extend(mine)
            if on_rule:
                on_rule(rule, mine)
    except KeyboardInterrupt:
        interrupted = True
    return AuditResult(
        host_uuid=fleet.host_uuid,
        started_at=stamp,
        duration=time.perf_counter() - t0,
        sources=fleet.sources,
        rules=[r.info() for r in ran_rules],
        checks=checks,
        interrupted=interrupted,
        deselected=deselected,
        rule_seconds=rule_seconds,
        not_applicable=not_applicable,
        fleet=fleet,
        # The machine observed: the fleet knows it (a report may be built
        # from a fleet observed elsewhere), else this one.
        **({"hostname": fleet.hostname} if fleet.hostname else {}),
    )

