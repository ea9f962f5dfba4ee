"""Helpers for the ``--fix`` and ``undo`` tests.

* :func:`run_inproc` runs the real command line in this process (no
  interpreter start-up per call), for the property test's many runs;
* :func:`snapshot` captures the listing of a real Docker engine, restricted to
  one test's containers, as ``docker ps --format '{{json .}}'`` lines, so that
  many runs can read the same observation without listing a busy engine;
* :class:`Paused` starts the CLI stopped at a fault point
  (``DECNET_AUDIT_TEST_FAULT``) and lets the test act before it resumes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

from decnet_audit import cli
from decnet_audit import plugins as plugins_module
from decnet_audit.plugins import plugin_manager
from kit.fleet import DockerFleet, Run, decky_config, unique

RULES4 = "json-only,db-only,docker-mismatch,foreign-host-row"


@contextlib.contextmanager
def _environ(extra: dict[str, str]):
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_inproc(*args: str, json_path: Path | None = None, env: dict | None = None,
               plugins: tuple = ()) -> Run:
    """``decnet-audit ARGS`` through :func:`decnet_audit.cli.main`, in process.
    ``plugins`` are registered next to the installed ones (a test plugin)."""
    argv = list(args) + (["--json", str(json_path)] if json_path is not None else [])
    out, err = io.StringIO(), io.StringIO()
    # The CLI looks the plugin manager up when it runs (not at import: --version
    # stays quick), so the plugins module is where a test plugin goes in.
    patch = mock.patch.object(plugins_module, "plugin_manager",
                              lambda: plugin_manager(extra=tuple(plugins)))
    with _environ({"NO_COLOR": "1", **(env or {})}), patch, \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    report = None
    if json_path is not None and json_path.exists():
        report = json.loads(json_path.read_text())
    return Run(rc, out.getvalue(), err.getvalue(), report)


def snapshot(client, name_filter: str, path: Path) -> Path:
    """The real engine's containers whose name contains ``name_filter``."""
    listing = client.api.containers(all=True, filters={"name": name_filter})
    with path.open("w") as fh:
        for c in listing:
            labels = ",".join(f"{k}={v}" for k, v in (c.get("Labels") or {}).items())
            fh.write(json.dumps({"ID": c["Id"], "Names": c["Names"][0].lstrip("/"),
                                 "State": c["State"], "Labels": labels}) + "\n")
    return path


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    """``decnet-audit ARGS`` started in the background (text pipes)."""
    exe = Path(sys.executable).with_name("decnet-audit")
    return subprocess.Popen([str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "NO_COLOR": "1", **(env or {})})


class Paused:
    """``decnet-audit ARGS`` in a subprocess, paused at fault point ``stage``."""

    def __init__(self, stage: str, workdir: Path, *args: str, env: dict | None = None):
        self.stage, self.dir = stage, workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = start_cli(*args, env={
            **(env or {}), "DECNET_AUDIT_TEST_FAULT": f"{stage}=pause:{self.dir}"})

    def wait_paused(self, timeout: float = 120) -> dict:
        """The fault point's info (pid, MariaDB connection id) once it is reached."""
        marker = self.dir / f"{self.stage}.paused"
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"run ended (rc {self.proc.returncode}) before "
                                     f"{self.stage}:\n{out}\n{err}")
            if time.monotonic() > deadline:
                raise AssertionError(f"run never reached {self.stage}")
            time.sleep(0.02)
        return json.loads(marker.read_text())

    def resume(self, timeout: float = 120) -> Run:
        (self.dir / f"{self.stage}.resume").touch()
        out, err = self.proc.communicate(timeout=timeout)
        return Run(self.proc.returncode, out, err, None)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


class Pool:
    """Real containers for four deckies, one per docker aggregate, and a
    capture of them (see :func:`snapshot`). ``running``: ssh up;
    ``degraded``: ssh up, http exited; ``failed``: ssh exited; ``torn_down``:
    no container at all."""

    SERVICES = {"running": ("ssh",), "degraded": ("ssh", "http"), "failed": ("ssh",),
                "torn_down": ("ssh",)}

    def __init__(self, client, workdir: Path):
        self.tag = unique("fxp")
        self.fleet = DockerFleet(client, "")
        self.names = {state: f"{self.tag}-{state[:3]}" for state in self.SERVICES}
        self.fleet.decky(self.names["running"], self.SERVICES["running"], running=True)
        self.fleet.decky(self.names["degraded"], self.SERVICES["degraded"],
                         running={"ssh": True, "http": False})
        self.fleet.decky(self.names["failed"], self.SERVICES["failed"], running=False)
        self.snap = snapshot(client, self.tag, workdir / f"{self.tag}.snap")

    def config(self, state: str, **kw) -> dict:
        return decky_config(self.names[state], services=self.SERVICES[state], **kw)

    def cleanup(self) -> None:
        self.fleet.cleanup()
