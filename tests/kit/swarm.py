"""Host reports of a swarm, as decnet-audit itself writes them: each host's
fleet is built in memory (state-file entries, containers; a master's shards
and enrolled workers), audited by the engine with every built-in rule, and
rendered by the JSON reporter. For the merge's tests and its benchmark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from decnet_audit.engine import audit
from decnet_audit.model import (
    MASTER,
    WORKER,
    Container,
    Decky,
    Fleet,
    Shard,
    SourceStatus,
    SwarmHost,
)
from decnet_audit.plugins import load_rules, plugin_manager
from decnet_audit.reports.json_report import JsonReporter

_RULES = None


def rules():
    global _RULES
    if _RULES is None:
        _RULES = [r for r in load_rules(plugin_manager()) if r.id.count("-") or r.code[:2] == "DA"]
    return _RULES


def entry(name: str, host: str | None, ip: str, services=("ssh", "http")) -> dict:
    return {"name": name, "ip": ip, "services": list(services), "distro": "debian",
            "hostname": f"h-{name}", "host_uuid": host}


def containers_of(name: str, services=("ssh", "http"), running=True) -> list[Container]:
    state = "running" if running else "exited"
    out = [Container(f"id-{name}", name, "running")]
    for s in services:
        out.append(Container(f"id-{name}-{s}", f"{name}-{s}", state, {
            "decnet.fleet.decky": name, "decnet.fleet.service_name": s,
            "decnet.fleet.service": "true"}))
    return out


@dataclass
class Host:
    uuid: str
    hostname: str
    role: str = WORKER
    entries: list[dict] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    shards: list[Shard] | None = None
    swarm_hosts: dict[str, SwarmHost] | None = None
    subnet: str = "192.168.1.0/24"

    def runs(self, name: str, ip: str, services=("ssh", "http"), running=True) -> None:
        self.entries.append(entry(name, self.uuid, ip, services))
        self.containers += containers_of(name, services, running)

    def fleet(self) -> Fleet:
        deckies = [Decky(e["name"], e["ip"], tuple(e["services"]), e["host_uuid"], e)
                   for e in self.entries]
        sources = {"state": SourceStatus("state", True, "state.json", f"{len(deckies)} deckies"),
                   "docker": SourceStatus("docker", True, "engine", "listed")}
        if self.role == MASTER:
            sources["db"] = SourceStatus("db", True, "sqlite:///decnet.db", "read")
        return Fleet(self.uuid, deckies, [] if self.role == WORKER else [], self.containers,
                     enrolled_hosts=frozenset(self.swarm_hosts) if self.swarm_hosts else None,
                     sources=sources, role=self.role, shards=self.shards,
                     swarm_hosts=self.swarm_hosts, subnet=self.subnet, hostname=self.hostname)

    def report(self, path: Path, started: datetime | None = None) -> Path:
        result = audit(self.fleet(), rules())
        if started is not None:
            result.started_at = started.astimezone(UTC).isoformat(timespec="seconds")
        path.write_bytes(JsonReporter().render(result))
        return path


def master_of(workers: list[Host], uuid: str = "master-1") -> Host:
    """A master placing every worker's deckies on it, shards and hosts to match."""
    now = datetime.now(UTC).replace(tzinfo=None)
    m = Host(uuid, "master", role=MASTER, shards=[], swarm_hosts={})
    for w in workers:
        m.swarm_hosts[w.uuid] = SwarmHost(w.uuid, w.hostname, "10.0.0.1", "active", now)
        for e in w.entries:
            m.entries.append(dict(e))
            m.shards.append(Shard(e["name"], w.uuid, json.dumps(e["services"]), None,
                                  e["ip"], "running", last_seen=now))
    return m
