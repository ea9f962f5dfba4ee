"""The test side of the conformance suite: a DECNET world, written and judged
by DECNET 1.0.0's own code through the driver (``driver.py``, run under
DECNET's interpreter), and audited by decnet-audit as an operator runs it.

Nothing here imports DECNET: every DECNET action is one JSON command to the
long-lived driver process.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kit.fleet import Run, run_cli

DRIVER = Path(__file__).with_name("driver.py")
BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
HOUR = 3600.0


class DriverError(RuntimeError):
    pass


class Driver:
    """One ``driver.py --serve`` process; ``call`` is thread-safe."""

    def __init__(self, python: Path, workdir: Path):
        self.workdir = workdir
        self.log = (workdir / "driver.stderr").open("w")
        env = {**os.environ, "DECNET_SYSTEM_LOGS": str(workdir / "decnet.system.log")}
        self.proc = subprocess.Popen(
            [str(python), str(DRIVER), "--serve"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=workdir, env=env)
        self.lock = threading.Lock()

    def name(self, tag: str) -> str:
        return f"{self.prefix}-{tag}"

    def call(self, op: str, **args):
        with self.lock:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise DriverError(f"the driver exited during {op!r}; see {self.log.name}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise DriverError(f"{op}: {answer['error']}\n{answer.get('trace', '')}")
        return answer["result"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@dataclass
class World:
    """One DECNET host: its state file, its database, its containers."""

    driver: Driver
    backend: str  # "sqlite" or "mariadb"
    db: dict  # the driver's description (DECNET's own URL)
    audit_db: str  # the URL decnet-audit is given
    dir: Path
    docker_host: str
    host_uuid: str = "local"
    # Every decky of this world is named "<prefix>-...": its audits are
    # ``-k <prefix>`` and its reconciler lists only these names, because the
    # engine is shared with other fleets.
    prefix: str = field(default_factory=lambda: f"orc-{uuid.uuid4().hex[:6]}")
    containers: list[str] = field(default_factory=list)
    deckies: list[dict] = field(default_factory=list)  # the deployed DeckyConfigs
    runs: int = 0

    @property
    def state_file(self) -> Path:
        return self.dir / "decnet-state.json"

    @property
    def compose_path(self) -> str:
        return str(self.dir / "docker-compose.yml")

    def name(self, tag: str) -> str:
        return f"{self.prefix}-{tag}"

    def call(self, op: str, **args):
        args.setdefault("db", self.db)
        args.setdefault("state_file", str(self.state_file))
        args.setdefault("docker_host", self.docker_host)
        args.setdefault("compose_path", self.compose_path)
        args.setdefault("only_names", self.prefix)
        return self.driver.call(op, **args)

    # -- building the world as DECNET does ----------------------------------

    def build(self, specs: list[dict]) -> list[dict]:
        """DeckyConfigs from DECNET's INI fleet builder."""
        return self.call("build_fleet", deckies=specs)

    def deploy(self, deckies: list[dict], *, rows: bool = True, containers: bool = True,
               clock_offset: float = 0.0) -> None:
        """``decnet deploy``: the state file, the DB mirror (unless the DB was
        down: ``rows=False``) and the composer's containers."""
        self.save_state(deckies)
        if rows:
            self.call("deploy_rows", deckies=deckies, clock_offset=clock_offset)
        if containers:
            self.up(deckies)

    def save_state(self, deckies: list[dict]) -> None:
        self.deckies = list(deckies)
        self.call("save_state", deckies=deckies)

    def up(self, deckies: list[dict], skip=()) -> list[str]:
        # Recorded before they exist, so that a failed start still cleans up.
        self.containers += [c["name"] for c in self.compose(deckies) if c["name"] not in skip]
        return self.call("up", deckies=deckies, skip=list(skip))

    def compose(self, deckies: list[dict]) -> list[dict]:
        return self.call("compose", deckies=deckies)

    def service_boxes(self, decky: dict) -> list[str]:
        """The composer's service container names of one decky (no base)."""
        return [c["name"] for c in self.compose([decky]) if c["name"] != decky["name"]]

    def reconcile(self, clock_offset: float = 0.0) -> dict:
        """One tick of DECNET's reconciler: ``{"counts", "rows"}``."""
        return self.call("reconcile", host_uuid=self.host_uuid, clock_offset=clock_offset)

    def rows(self) -> list[dict]:
        return self.call("rows")

    def snapshot(self) -> None:
        """Keep the rows (as stored) and the state file, for ``restore``."""
        self.call("snapshot")
        self._state_copy = self.state_file.read_bytes() if self.state_file.exists() else None

    def restore(self) -> None:
        self.call("restore")
        if self._state_copy is None:
            self.state_file.unlink(missing_ok=True)
        else:
            self.state_file.write_bytes(self._state_copy)

    def decnet_view(self) -> dict | None:
        return self.call("aggregate")

    # -- decnet-audit ---------------------------------------------------------

    def audit(self, *args: str, env: dict | None = None) -> Run:
        """decnet-audit on this world's checks only (``-k`` its prefix)."""
        self.runs += 1
        report = self.dir / f"report-{self.runs}.json"
        return run_cli("--state", str(self.state_file), "--db", self.audit_db,
                       "--docker-host", self.docker_host, "--host-uuid", self.host_uuid,
                       "-k", self.prefix, *args, json_path=report, env=env)

    def fix(self, *args: str) -> Run:
        return self.audit("--fix", "--unsafe-fixes", "--allow-empty-state", "--journal",
                          str(self.dir / f"journal-{self.runs + 1}.json"), *args)


def fixable(run: Run, rules=None) -> list[dict]:
    return [f for f in run.findings() if f.get("fixable") and not f.get("waived")
            and (rules is None or f["rule"] in rules)]


def keys(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["host_uuid"], r["name"]): r for r in rows}


def changed_keys(before: list[dict], after: list[dict], ignore=("updated_at", "last_seen")):
    """Rows the reconciler inserted, deleted or changed (timestamps aside)."""
    b, a = keys(before), keys(after)
    out = set(b) ^ set(a)
    for k in set(b) & set(a):
        if any(b[k][c] != a[k][c] for c in b[k] if c not in ignore):
            out.add(k)
    return out
