"""A swarm worker written by DECNET 1.0.0: its state file from ``save_state``
(``mode: swarm``, each decky's ``host_uuid`` the worker's, as the agent's
deploy leaves it) and its containers as DECNET's composer names and labels
them, on the real engine. Audited as a worker: no database, complete."""

from __future__ import annotations

from kit.fleet import run_cli


def _worker(make_world):
    world = make_world("sqlite")  # the world's database is never read on a worker
    uuid = world.name("worker")
    deckies = [dict(d, host_uuid=uuid) for d in world.build(
        [{"name": world.name(f"d{i}"), "services": s}
         for i, s in enumerate((["ssh"], ["http", "ftp"], ["smtp_relay", "ssh"]))])]
    world.call("save_state", deckies=deckies, mode="swarm")
    world.up(deckies)
    return world, uuid, deckies


def _audit(world, uuid, tmp):
    return run_cli("--role", "worker", "--state", str(world.state_file), "--docker-host",
                   world.docker_host, "--host-uuid", uuid, "-k", world.prefix, "-v",
                   json_path=tmp / "worker.json")


def test_healthy_decnet_worker_is_clean_and_complete(make_world, tmp_path):
    world, uuid, deckies = _worker(make_world)
    run = _audit(world, uuid, tmp_path)
    assert run.rc == 0, run.out + run.err
    rep = run.report
    assert rep["role"] == "worker" and set(rep["sources"]) == {"state", "docker"}
    assert {c["rule"] for c in rep["checks"]} == {"orphan-container", "decky-down"}
    # The engine is shared: the inventory holds every decky it shows; ours run.
    inv = {d["name"]: d for d in rep["inventory"]["deckies"]}
    assert {d["name"]: inv[d["name"]]["docker_state"] for d in deckies} == {
        d["name"]: "running" for d in deckies}
    assert all(inv[d["name"]]["entry"] == d for d in deckies)


def test_a_dead_service_and_a_leftover_decky_on_a_decnet_worker(make_world, tmp_path):
    world, uuid, deckies = _worker(make_world)
    world.call("docker_stop", name=world.service_boxes(deckies[1])[0])
    world.call("save_state", deckies=deckies[:2], mode="swarm")  # d2 left the file
    run = _audit(world, uuid, tmp_path)
    assert run.rc == 1, run.out + run.err
    got = {(f["rule"], f["decky"]) for f in run.findings()}
    assert got == {("decky-down", deckies[1]["name"]),
                   ("orphan-container", deckies[2]["name"])}
    down = run.findings("decky-down")[0]
    assert down["actual"] == "degraded" and not down["fixable"]
