"""What DECNET really leaves on a host (issue 14), written by DECNET 1.0.0's
own code through the driver, on SQLite and MariaDB:

* zero configuration: a DECNET virtualenv whose ``decnet`` script is on
  PATH, settings in ``decnet.ini`` and ``<root>/.env.local``; decnet-audit
  with no option finds what DECNET itself resolves;
* ``decnet mutate`` (the mutator's ``mutate_decky``): the state table's copy
  is newer, and the decky whose new containers run is not ``torn_down``;
* ``decnet teardown --id`` (the deployer's ``teardown``): its base container
  is reported and removed, and DECNET's reconciler then has nothing to do;
* two fleets on one engine: the other fleet's containers are reported as
  another deployment's and never removed;
* a swarm worker: its host uuid from ``[agent] host-uuid``, and DECNET's
  reconciler running as ``local`` named.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from oracle import BACKENDS, World

from decnet_audit.sources.locate import locate
from kit.fleet import MYSQL_SERVER_URL, Run

WORKER = "worker-7f3a"
KEEP_ENV = ("DOCKER_HOST", "HOME", "LANG", "TMPDIR", "DECNET_AUDIT_CI")


def clean_env(**extra) -> dict:
    """An environment without any DECNET_* variable of the test run itself."""
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env.update(PATH=os.environ.get("PATH", ""), NO_COLOR="1", **extra)
    return env


def audit(*args: str, env: dict, cwd: Path, report: Path) -> Run:
    """decnet-audit exactly as an operator runs it, in a clean environment."""
    exe = Path(sys.executable).with_name("decnet-audit")
    p = subprocess.run([str(exe), *args, "--json", str(report)], capture_output=True,
                       text=True, env=env, cwd=cwd, timeout=180)
    doc = json.loads(report.read_text()) if report.exists() else None
    return Run(p.returncode, p.stdout, p.stderr, doc)


@pytest.fixture
def decnet_install(decnet_python, tmp_path):
    """A DECNET virtualenv of its own: DECNET's package and dist-info linked
    into a fresh venv's site-packages (its root, writable), the cached
    DECNET venv's packages behind a .pth for its dependencies, and a
    ``decnet`` console script whose shebang names the venv's python."""
    venv = tmp_path / "decnet-venv"
    subprocess.run([str(decnet_python), "-m", "venv", "--without-pip", str(venv)], check=True)
    probe = [str(decnet_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    shared = Path(subprocess.run(probe, capture_output=True, text=True, check=True,
                                 env={"PATH": "/usr/bin:/bin"}).stdout.strip())
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "decnet").symlink_to(shared / "decnet")
    for info in shared.glob("decnet-*.dist-info"):
        (site / info.name).symlink_to(info)
    (site / "zz-decnet-dependencies.pth").write_text(f"{shared}\n")
    # pip's own console script of the cached venv, its shebang naming this venv.
    script = venv / "bin" / "decnet"
    body = (Path(decnet_python).parent / "decnet").read_text().split("\n", 1)[1]
    script.write_text(f"#!{venv}/bin/python\n{body}")
    script.chmod(0o755)
    return venv, site


def root_world(make_world, backend: str, site: Path, host_uuid: str = "local") -> World:
    """A world whose state file and SQLite database are DECNET's own, in its root."""
    world = make_world(backend, host_uuid=host_uuid)
    if backend == "sqlite":
        shutil.copyfile(world.db["path"], site / "decnet.db")
        world.db = {"type": "sqlite", "path": str(site / "decnet.db")}
        world.audit_db = f"sqlite:///{site / 'decnet.db'}"
    world.dir = site  # so its state file is DECNET's STATE_FILE
    return world


def db_settings(world: World) -> tuple[str, str]:
    """(ini [database] text, .env.local text) naming the world's database."""
    if world.backend == "sqlite":
        return "[database]\ntype = sqlite\n", "DECNET_DB_USER=auditor\n"
    name = world.audit_db.rsplit("/", 1)[1]
    host = MYSQL_SERVER_URL.split("@")[-1].split("/")[0]
    server, port = host.split(":") if ":" in host else (host, "3306")
    user = MYSQL_SERVER_URL.split("//")[1].split("@")[0].split(":")[0]
    return (f"[database]\ntype = mysql   # DECNET's inline comment\nhost = {server}\n"
            f"port = {port}\nuser = {user}\n", f"DECNET_DB_NAME={name}\n")


def three(world: World, *services) -> list[dict]:
    services = services or (["ssh"], ["http"], ["ftp"])
    return world.build([{"name": world.name(f"d{i}"), "services": list(s)}
                        for i, s in enumerate(services)])


def by_rule(run: Run) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in run.findings():
        out.setdefault(f["rule"], []).append(f)
    return out


def alive(docker_client, prefix: str) -> set[str]:
    return {c.name for c in docker_client.containers.list(all=True, filters={"name": prefix})}


# -- zero configuration ------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_config_finds_what_decnet_itself_resolves(make_world, decnet_install, backend,
                                                       tmp_path):
    venv, site = decnet_install
    world = root_world(make_world, backend, site)
    world.deploy(three(world))
    ini_text, env_text = db_settings(world)
    ini = tmp_path / "decnet.ini"
    ini.write_text(ini_text)
    (site / ".env.local").write_text(env_text)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = clean_env(DECNET_CONFIG=str(ini))
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"

    # DECNET itself, started on this host as its own virtualenv starts it.
    decnet = world.driver.call("settings", python=str(venv / "bin" / "python"),
                               env=env, cwd=str(cwd))
    assert decnet["root"] == str(site)
    found = locate(env, cwd=cwd)
    assert found.settings.values == decnet["settings"]
    assert found.state_path == Path(decnet["state_file"])
    if backend == "sqlite":
        assert found.db_url == f"sqlite:///{decnet['sqlite_db']}"
    else:
        assert found.db_url == world.audit_db

    run = audit("-k", world.prefix, env=env, cwd=cwd, report=tmp_path / "r.json")
    assert run.rc == 0, run.out + run.err
    header = run.out.split("\n\n")[0]
    print(header)  # the header of the closing note
    assert f"decnet: DECNET 1.0.0, root {site} (`decnet` on PATH: {venv}/bin/decnet)" in header
    assert f"({ini} [database] type)" in header
    assert f"({site / '.env.local'})" in header
    assert "state file from DECNET's root" in header
    assert f"state  ok     {site / 'decnet-state.json'}: 3 deckies" in header
    db_line = next(line for line in header.splitlines() if line.startswith("db "))
    assert db_line.startswith("db     ok     " + (f"sqlite:///{site / 'decnet.db'}"
                                                  if backend == "sqlite" else "mysql+pymysql://"))


# -- decnet mutate ----------------------------------------------------------------


def test_mutation_is_judged_by_the_record_docker_runs(world, docker_client):
    deckies = three(world)
    world.call("api_deploy_state", deckies=deckies)  # the API deploy: both copies
    world.deploy(deckies)
    world.reconcile()
    target = deckies[0]["name"]
    done = world.call("mutate", name=target)
    assert done["ok"]
    mutated = next(d for d in done["deployment"]["config"]["deckies"] if d["name"] == target)
    assert mutated["services"] != ["ssh"] and mutated["last_mutated"] > 0
    world.containers += [c["name"] for c in world.compose([mutated])]
    assert {f"{target}-{s}" for s in mutated["services"]} <= alive(docker_client, target)
    assert f"{target}-ssh" not in alive(docker_client, target)
    assert world.decnet_view()[target] == "torn_down"  # DECNET reads the stale state file

    before = world.audit()
    found = by_rule(before)
    copy = [f for f in found.get("deployment-copy", []) if f["field"] == "services"]
    assert [(f["decky"], f["expected"], f["actual"], f["fixable"]) for f in copy] == [
        (target, ["ssh"], mutated["services"], False)]
    assert "the deployment copy is newer" in copy[0]["message"]
    assert not found.get("orphan-container")
    # The row still says running, as Docker does; DECNET will write torn_down.
    (mismatch,) = found["docker-mismatch"]
    assert (mismatch["decky"], mismatch["expected"], mismatch["actual"], mismatch["fixable"]) \
        == (target, "running", "running", False)
    assert "DECNET's reconciler reads the stale state file" in mismatch["message"]

    world.reconcile()  # DECNET writes torn_down; decnet-audit says why it is wrong
    after = world.audit()
    (mismatch,) = by_rule(after)["docker-mismatch"]
    assert (mismatch["decky"], mismatch["expected"], mismatch["actual"], mismatch["fixable"]) \
        == (target, "running", "torn_down", False)
    assert not [f for f in after.findings() if f["fixable"]]


# -- decnet teardown --id -----------------------------------------------------------


def test_teardown_of_one_decky_leaves_its_base_container(world, docker_client):
    deckies = three(world)
    world.deploy(deckies)
    world.reconcile()
    gone = deckies[1]["name"]
    world.call("teardown_one", name=gone)
    assert alive(docker_client, gone) == {gone}  # the base container stays
    assert gone not in {r["name"] for r in world.rows()}
    assert gone in world.state_file.read_text()  # DECNET leaves the state file alone

    run = world.audit()
    (left,) = by_rule(run)["orphan-container"]
    assert (left["decky"], left["field"], left["fixable"]) == (gone, gone, True)
    assert f"teardown --id {gone}" in left["message"]

    fix = world.fix()
    assert fix.rc in (0, 1), fix.out + fix.err
    assert alive(docker_client, gone) == set()
    tick = world.reconcile()
    assert tick["counts"] == {"inserted": 0, "deleted": 0, "state_updated": 0}, tick
    assert not [f for f in world.audit().findings() if f["fixable"]]


# -- two fleets on one engine ---------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_fleet_on_the_engine_is_never_removed(make_world, backend, docker_client):
    ours, theirs = make_world(backend), make_world(backend)
    mine = three(ours)
    ours.deploy(mine)
    theirs.deploy(three(theirs, ["ssh"], ["http", "ftp"]))
    their_boxes = alive(docker_client, theirs.prefix)
    assert len(their_boxes) == 5
    # Our d0 and d1 are dropped from our records: their containers are our orphans.
    ours.save_state(mine[2:])
    ours.call("teardown_rows", deckies=mine[:2])
    both = ["-k", f"{ours.prefix} or {theirs.prefix}"]

    run = ours.audit(*both)
    found = {f["field"]: f for f in by_rule(run)["orphan-container"]}
    for box in their_boxes:
        assert found[box]["fixable"] is False
        assert "belongs to another deployment" in found[box]["message"]
        assert theirs.compose_path in found[box]["message"]
    orphans = {mine[0]["name"], f"{mine[0]['name']}-ssh", mine[1]["name"],
               f"{mine[1]['name']}-http"}
    assert {b for b, f in found.items() if f["fixable"]} == orphans

    # Four containers of two deckies, of six: over 10 % of this deployment.
    refused = ours.fix(*both)
    assert "a mass removal: this run would remove 4 containers of 2 deckies" in refused.out
    assert len(alive(docker_client, ours.prefix)) == 6
    fixed = ours.fix(*both, "--confirm-removals")
    assert fixed.rc == 1, fixed.out  # their containers stay reported
    assert alive(docker_client, theirs.prefix) == their_boxes
    assert alive(docker_client, ours.prefix) == {mine[2]["name"], f"{mine[2]['name']}-ftp"}


# -- a swarm worker -------------------------------------------------------------------


def test_worker_host_uuid_from_the_ini_and_decnets_local_reconciler(world, tmp_path):
    deckies = three(world, ["ssh"], ["http"])
    enrolled = [{**d, "host_uuid": WORKER} for d in deckies]
    world.deploy(enrolled)  # the master's deploy, through the worker's agent
    # `decnet reconcile` on the worker runs as host 'local': it re-inserts
    # every decky on every tick and never reaches zero work.
    ticks = [world.call("reconcile", host_uuid="local") for _ in range(2)]
    assert [t["counts"]["inserted"] for t in ticks] == [2, 2]
    # Rows of host 'local' from before the enrolment: that reconciler keeps
    # them for ever (their names are in the state file).
    world.call("deploy_rows", deckies=deckies)
    tick = world.call("reconcile", host_uuid="local")
    assert tick["counts"] == {"inserted": 0, "deleted": 0, "state_updated": 0}
    assert {(r["host_uuid"], r["name"]) for r in tick["rows"]} == {
        (h, d["name"]) for h in ("local", WORKER) for d in deckies}

    ini = tmp_path / "decnet.ini"
    ini.write_text(f"[decnet]\nmode = agent\n[agent]\nhost-uuid = {WORKER}\n"
                   f"master-host = 10.0.0.1\n")
    base = ["--state", str(world.state_file), "--db", world.audit_db, "-k", world.prefix]
    run = audit(*base, "--decnet-ini", str(ini), env=clean_env(), cwd=tmp_path,
                report=tmp_path / "w.json")
    assert f"host_uuid: {WORKER}" in run.out
    assert f"DECNET_HOST_UUID={WORKER} ({ini} [agent] host-uuid)" in run.out
    found = by_rule(run)
    assert {f["decky"] for f in found["worker-as-local"]} == {d["name"] for d in deckies}
    assert all("cli/reconciler.py" in f["message"] and not f["fixable"]
               for f in found["worker-as-local"])
    assert not found.get("orphan-container") and not found.get("json-only")

    as_local = audit(*base, env=clean_env(DECNET_CONFIG=str(tmp_path / "none.ini")),
                     cwd=tmp_path, report=tmp_path / "l.json")
    told = by_rule(as_local)["worker-as-local"]
    assert {f["decky"] for f in told} == {d["name"] for d in deckies}
    assert f"--host-uuid {WORKER}" in told[0]["message"]
