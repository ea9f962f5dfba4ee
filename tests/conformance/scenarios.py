"""Fixed scenarios: DECNET's own ways of reaching a state, each written by its code.

A scenario builds a world (``setup(world)``) the way DECNET leaves a host;
``judge`` then checks the issue's properties on it:

1. healthy means clean: exit 0, or only DECNET's own misjudgements reported,
   once per decky and never fixable;
2. every row ``reconcile_once`` changes is named by a finding beforehand;
3. after ``--fix --unsafe-fixes``, ``reconcile_once`` changes nothing, and
   three more ticks bring no new fixable finding;
4. once DECNET converged, no fixable json-only/db-only/docker-mismatch.

Each decky's name starts with the world's prefix and every audit is ``-k``
that prefix: the engine is shared with other fleets, whose containers are
theirs to judge.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from oracle import HOUR, World

CONVERGENCE = ("json-only", "db-only", "docker-mismatch")
# What DECNET 1.0.0 itself misjudges: the one finding allowed on a healthy host.
MISJUDGED = ("smtp_relay", "sniffer")


@dataclass
class Scenario:
    name: str
    setup: Callable[[World], None]
    healthy: bool = False
    checkpoints: tuple[int, ...] = (0,)  # reconciler ticks before each audit
    age: float = 0.0  # seconds DECNET's writes lie in the past
    config: str | None = None  # decnet-audit config file text
    must_report: Callable[[World], set[tuple[str, str]]] | None = None  # (rule, decky)
    must_not_report: tuple[str, ...] = ()  # rules that must find nothing
    extra: dict = field(default_factory=dict)


def n(world: World, tag: str) -> str:
    return world.name(tag)


def fleet(world: World, *services_per_decky) -> list[dict]:
    specs = [{"name": n(world, f"d{i}"), "services": list(s)}
             for i, s in enumerate(services_per_decky)]
    return world.build(specs)


def _three(world: World, age: float = 0.0) -> list[dict]:
    deckies = fleet(world, ["ssh"], ["http", "ftp"], ["smb", "rdp", "mysql"])
    world.deploy(deckies, clock_offset=-age)
    return deckies


def every_service(world: World) -> list[list[str]]:
    """Every per-decky service of DECNET's registry, spread over deckies of
    at most eight (sniffer, the fleet singleton, is its own scenario)."""
    names = [s["name"] for s in world.driver.call("services")
             if not s["fleet_singleton"]]
    return [names[i:i + 8] for i in range(0, len(names), 8)]


def _all_services(world: World, age: float = 0.0) -> None:
    world.deploy(fleet(world, *every_service(world)), clock_offset=-age)


def _sniffer(world: World) -> None:
    # DECNET's builders refuse sniffer on a decky; a hand-written state file
    # (DeckyConfig accepts it) still can, and the deploy mirror writes its row.
    cfg = fleet(world, ["ssh"])[0]
    cfg["services"] = ["ssh", "sniffer"]
    world.deploy([cfg])


def _api_deploy(world: World) -> None:
    deckies = fleet(world, ["ssh"], ["imap", "pop3"])
    world.save_state(deckies)
    world.call("api_deploy_rows", deckies=deckies, replace=False)
    world.up(deckies)


def _db_down_deploy(world: World) -> None:
    # The decky whose row is missing runs smtp_relay: DECNET inserts it as
    # it misjudges it (degraded); any other state would be overwritten.
    deckies = fleet(world, ["ssh"], ["http", "smtp_relay"])
    world.deploy(deckies[:1])
    world.deploy(deckies, rows=False, containers=False)  # the DB mirror failed
    world.up(deckies[1:])


def _teardown_all_db_down(world: World) -> None:
    _three(world)
    world.call("clear_state")  # decnet teardown: state cleared, rows left (DB down)
    world.deckies = []
    _remove(world, world.containers)


def _teardown_one_db_down(world: World) -> None:
    deckies = _three(world)
    world.save_state(deckies[1:])  # the API teardown of d0: its row stays (DB down)
    _remove(world, [c["name"] for c in world.compose(deckies[:1])])


def _hand_add(world: World) -> None:
    deckies = _three(world)
    extra = world.build([{"name": n(world, "hand"), "ip": "10.77.0.200",
                          "services": ["telnet"]}])
    world.save_state(deckies + extra)


def _hand_remove(world: World) -> None:
    deckies = _three(world)
    world.save_state(deckies[1:])


def _exited(world: World, which: str) -> None:
    deckies = _three(world)
    world.reconcile()
    boxes = world.service_boxes(deckies[2])
    targets = {"one": boxes[:1], "all": boxes}[which]
    for name in targets:
        world.driver.call("docker_stop", docker_host=world.docker_host, name=name)


def _removed(world: World) -> None:
    deckies = _three(world)
    world.reconcile()
    _remove(world, world.service_boxes(deckies[1]))


def _peer_entry(world: World) -> None:
    deckies = _three(world)
    peer = world.build([{"name": n(world, "peer"), "ip": "10.77.0.201", "services": ["ssh"]}])
    peer[0]["host_uuid"] = "peer-host-1"
    world.save_state(deckies + peer)


def _peer_row(world: World) -> None:
    _three(world)
    peer = world.build([{"name": n(world, "prow"), "ip": "10.77.0.202", "services": ["ssh"]}])
    peer[0]["host_uuid"] = "peer-host-1"
    world.call("api_deploy_rows", deckies=peer, replace=False)


def _mutation(world: World) -> None:
    deckies = _three(world)
    world.reconcile()
    # decnet mutate: new services and last_mutated, new containers; the row
    # keeps the old ones (the mutator does not touch fleet_deckies).
    old = deckies[0]
    new = {**old, "services": ["telnet"], "last_mutated": old["last_mutated"] + 60}
    _remove(world, world.service_boxes(old))
    world.save_state([new, *deckies[1:]])
    world.up([new], skip=[old["name"]])


def _api_replace(world: World) -> None:
    _three(world)
    peer = world.build([{"name": n(world, "prow"), "ip": "10.77.0.202", "services": ["ssh"]}])
    peer[0]["host_uuid"] = "peer-host-1"
    world.call("api_deploy_rows", deckies=peer, replace=False)
    fresh = world.build([{"name": n(world, "new0"), "ip": "10.77.0.50", "services": ["vnc"]}])
    # replace mode deletes every row not deployed, of any host (the peer's too)
    world.call("api_deploy_rows", deckies=fresh, replace=True)
    _remove(world, list(world.containers))
    world.save_state(fresh)
    world.up(fresh)


def _stopped_reconciler(world: World) -> None:
    deckies = _three(world)
    world.reconcile()
    victim = f"{deckies[0]['name']}-ssh"
    world.driver.call("docker_stop", docker_host=world.docker_host, name=victim)
    time.sleep(4)  # several "intervals" of the configured threshold below


def _reconciler_running(world: World) -> None:
    _stopped_reconciler(world)
    world.reconcile()  # a running reconciler saw the death and wrote degraded


def _remove(world: World, names) -> None:
    for name in list(names):
        world.driver.call("docker_remove", docker_host=world.docker_host, name=name)


STALE_CONFIG = "[rules.stale-observation]\nmax_age_minutes = 0.05\n"

SCENARIOS = [
    Scenario("healthy-3", _three, healthy=True, checkpoints=(0, 1, 3)),
    Scenario("healthy-3-1h", lambda w: _three(w, HOUR), healthy=True,
             checkpoints=(0, 3), age=HOUR),
    Scenario("healthy-3-24h", lambda w: _three(w, 24 * HOUR), healthy=True,
             checkpoints=(0, 3), age=24 * HOUR),
    Scenario("every-service", _all_services, healthy=True, checkpoints=(0, 1, 3)),
    Scenario("every-service-24h", lambda w: _all_services(w, 24 * HOUR),
             healthy=True, checkpoints=(0, 3), age=24 * HOUR),
    Scenario("sniffer", _sniffer, healthy=True, checkpoints=(0, 1)),
    Scenario("api-deploy", _api_deploy, healthy=True, checkpoints=(0, 1)),
    Scenario("deploy-db-down", _db_down_deploy),
    Scenario("teardown-all-db-down", _teardown_all_db_down),
    Scenario("teardown-one-db-down", _teardown_one_db_down),
    Scenario("hand-edit-added", _hand_add),
    Scenario("hand-edit-removed", _hand_remove),
    Scenario("one-exited", lambda w: _exited(w, "one")),
    Scenario("all-exited", lambda w: _exited(w, "all")),
    Scenario("containers-removed", _removed),
    Scenario("peer-state-entry", _peer_entry),
    Scenario("peer-row", _peer_row),
    Scenario("mutation", _mutation),
    Scenario("api-deploy-replace", _api_replace),
    Scenario("stopped-reconciler", _stopped_reconciler, config=STALE_CONFIG,
             must_report=lambda w: {("stale-observation", n(w, "d0"))}),
    Scenario("reconciler-running", _reconciler_running, config=STALE_CONFIG,
             must_not_report=("stale-observation",)),
]
BY_NAME = {s.name: s for s in SCENARIOS}
