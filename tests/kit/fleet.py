"""Building real fleets for tests: state files, DECNET-schema databases, containers.

Everything here creates the real thing (a file, a table with DECNET's exact
DDL, a Docker container with DECNET's names and labels); nothing is faked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

DDL_DIR = Path(__file__).parent.parent / "ddl"
CI = os.environ.get("DECNET_AUDIT_CI") == "1"
IMAGE = os.environ.get("DECNET_AUDIT_TEST_IMAGE", "decnet-audit-busybox:latest")
MYSQL_SERVER_URL = os.environ.get(
    "DECNET_AUDIT_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306"
)
SWARM_HOSTS_DDL = (
    "CREATE TABLE swarm_hosts (uuid VARCHAR(255) NOT NULL PRIMARY KEY, name VARCHAR(255), "
    "address VARCHAR(255), agent_port INTEGER, status VARCHAR(64), last_heartbeat DATETIME, "
    "enrolled_at DATETIME)"
)


def unique(prefix: str = "dk") -> str:
    """A decky name no other test (or concurrent run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


# -- state file -----------------------------------------------------------------


def default_ip(name: str) -> str:
    """A stable IP per decky name, drawn from ~16 million addresses: duplicate-ip
    reports two deckies sharing one, and 200 addresses made that a flake."""
    h = zlib.crc32(name.encode("utf-8", "surrogateescape"))
    return f"10.{h >> 24 & 0xFF}.{h >> 8 & 0xFF}.{h % 250 + 2}"


def decky_config(name: str, services=("ssh",), ip: str | None = None,
                 host_uuid: str | None = None, **extra) -> dict:
    """A DeckyConfig with every field DECNET's model writes."""
    cfg = {
        "name": name,
        "ip": ip or default_ip(name),
        "services": list(services),
        "distro": "debian",
        "base_image": "debian:bookworm-slim",
        "build_base": "debian:bookworm-slim",
        "hostname": f"host-{name}",
        "archetype": None,
        "service_config": {},
        "nmap_os": "linux",
        "mutate_interval": None,
        "last_mutated": 0.0,
        "last_login_attempt": 0.0,
        "host_uuid": host_uuid,
    }
    cfg.update(extra)
    return cfg


COMPOSE_FILE = "/var/lib/decnet/decnet-compose.yml"  # the compose_path write_state records


def compose_labels(service_key: str, compose_file: str = COMPOSE_FILE,
                   project: str = "decnet") -> dict:
    """The labels `docker compose -p decnet -f <compose_file>` puts on a
    container (DECNET's deployer always uses project ``decnet``)."""
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service_key,
        "com.docker.compose.project.config_files": compose_file,
        "com.docker.compose.project.working_dir": str(Path(compose_file).parent),
        "com.docker.compose.oneoff": "False",
    }


def write_state(path: Path, deckies: list[dict], mode: str = "unihost",
                compose_path: str = COMPOSE_FILE) -> Path:
    doc = {
        "config": {
            "mode": mode, "interface": "eth0", "subnet": "192.168.1.0/24",
            "gateway": "192.168.1.1", "deckies": deckies,
            "log_file": "/var/log/decnet/decnet.log", "ipvlan": False, "mutate_interval": 30,
        },
        "compose_path": compose_path,
    }
    path.write_text(json.dumps(doc, indent=2))
    return path


# -- database -------------------------------------------------------------------


@dataclass
class Database:
    """A database holding DECNET's exact ``fleet_deckies`` table."""

    url: str
    kind: str  # "sqlite" or "mariadb"

    def __post_init__(self):
        self.engine = create_engine(self.url, poolclass=NullPool)

    def execute(self, sql: str, **params):
        with self.engine.begin() as conn:
            return conn.execute(text(sql), params)

    def create_schema(self) -> None:
        dialect = "sqlite" if self.kind == "sqlite" else "mysql"
        ddl = (DDL_DIR / f"fleet_deckies.{dialect}.sql").read_text()
        with self.engine.begin() as conn:
            for stmt in ddl.split(";"):
                if stmt.strip():
                    conn.execute(text(stmt))

    def insert(self, host_uuid: str, name: str, services=("ssh",), state: str = "running",
               ip: str | None = None, decky_config: dict | None = None,
               updated_at: datetime | None = None, last_seen: datetime | None = None,
               last_error: str | None = None) -> None:
        self.execute(
            "INSERT INTO fleet_deckies (host_uuid, name, services, decky_config, decky_ip, "
            "state, last_error, compose_hash, last_seen, updated_at) VALUES (:h, :n, :s, :c, "
            ":ip, :st, :err, NULL, :seen, :upd)",
            h=host_uuid, n=name, s=json.dumps(list(services)),
            c=json.dumps(decky_config) if decky_config is not None else None,
            ip=ip, st=state, err=last_error, seen=last_seen, upd=updated_at or now(),
        )

    def enroll(self, *uuids: str) -> None:
        """Create ``swarm_hosts`` (as a swarm master has it) listing ``uuids``."""
        self.execute(SWARM_HOSTS_DDL)
        for u in uuids:
            self.execute("INSERT INTO swarm_hosts (uuid, name, status) VALUES (:u, :u, 'active')",
                         u=u)

    def rows(self) -> list[dict]:
        """Every row, every column, in a stable order: what a byte-for-byte
        comparison of the table needs."""
        with self.engine.connect() as conn:
            res = conn.execute(text("SELECT * FROM fleet_deckies ORDER BY host_uuid, name"))
            return [dict(r._mapping) for r in res]

    def dispose(self) -> None:
        self.engine.dispose()


# -- docker ---------------------------------------------------------------------


@dataclass
class DockerFleet:
    """Creates containers exactly as DECNET names and labels them, and removes
    only what it created."""

    client: object  # docker.DockerClient
    base_url: str
    created: list = field(default_factory=list)
    # Deckies get compose's labels for this file, as DECNET's deploy leaves
    # them; None for containers that no compose project started.
    compose_file: str | None = COMPOSE_FILE

    def container(self, name: str, *, running: bool = True, labels: dict | None = None):
        c = self.client.containers.create(
            IMAGE, name=name, labels=labels or {}, network_mode="none",
        )
        self.created.append(c)
        if running:
            c.start()
        return c

    def decky(self, name: str, services=("ssh",), *, running=True, labelled: bool = True,
              base: bool = True) -> None:
        """The base container ``<name>`` and one ``<name>-<service>`` per
        service. ``running`` is a bool for all services or a dict per service;
        a service mapped to None gets no container at all."""
        compose = (lambda key: compose_labels(key, self.compose_file)) if self.compose_file \
            else (lambda key: {})
        if base:
            self.container(name, running=True, labels=compose(name))
        for svc in services:
            state = running.get(svc, True) if isinstance(running, dict) else running
            if state is None:
                continue
            labels = {
                "decnet.fleet.service": "true",
                "decnet.fleet.decky": name,
                "decnet.fleet.service_name": svc,
            } if labelled else {}
            if labelled:
                labels.update(compose(f"{name}-{svc}"))
            c = self.container(f"{name}-{svc.replace('_', '-')}", running=bool(state),
                               labels=labels)
            if not state:
                # "created" is not what a dead service looks like; make it exited.
                c.start()
                c.kill()
                c.wait(timeout=30)

    def cleanup(self) -> None:
        for c in self.created:
            try:
                c.remove(force=True)
            except Exception:  # noqa: BLE001 - already gone is fine
                pass
        self.created.clear()


# -- the CLI --------------------------------------------------------------------


@dataclass
class Run:
    rc: int
    out: str
    err: str
    report: dict | None

    def findings(self, rule: str | None = None) -> list[dict]:
        found = (self.report or {}).get("findings", [])
        return [f for f in found if rule is None or f["rule"] == rule]

    def drifted(self, rule: str) -> set[str]:
        """Decky names ``rule`` reported drift for."""
        return {f["decky"] for f in self.findings(rule)}


def run_cli(*args: str, json_path: Path | None = None, env: dict | None = None,
            cwd: Path | None = None, timeout: int = 120) -> Run:
    """Run the installed ``decnet-audit`` exactly as an operator would."""
    exe = Path(sys.executable).with_name("decnet-audit")
    cmd = [str(exe), *args]
    if json_path is not None:
        cmd += ["--json", str(json_path)]
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    p = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd,
                       timeout=timeout)
    report = None
    if json_path is not None and json_path.exists():
        report = json.loads(json_path.read_text())
    return Run(p.returncode, p.stdout, p.stderr, report)
