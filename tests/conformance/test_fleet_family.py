"""Properties 1-4 over a generated family of DECNET-written fleets: deckies
with services drawn from DECNET's own registry, built by DECNET's fleet
builder, deployed, then drifted the ways DECNET's reconciler documents
(a deploy whose DB mirror failed, a dead or removed container, a hand edit,
a peer host's row), with reconciler ticks in between.

A handful of examples by default (each builds a real fleet);
``DECNET_AUDIT_CONFORMANCE_EXAMPLES=N`` runs N per backend, at random.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from judging import judge
from oracle import BACKENDS
from scenarios import Scenario

EXAMPLES = int(os.environ.get("DECNET_AUDIT_CONFORMANCE_EXAMPLES") or 0)
DRIFTS = ("db-down", "exited", "removed", "hand-removed", "peer-row", "tick")


@pytest.fixture(scope="module")
def registry(decnet):
    return sorted(s["name"] for s in decnet.call("services") if not s["fleet_singleton"])


def setup_for(plan: list[list[str]], drifts: list[tuple[str, int]]):
    def setup(world):
        deckies = world.build([{"name": world.name(f"d{i}"), "services": s}
                               for i, s in enumerate(plan)])
        world.deploy(deckies)
        listed = list(deckies)
        for kind, i in drifts:
            d = deckies[i % len(deckies)]
            if kind == "db-down":
                world.call("delete", host_uuid="local", name=d["name"])
            elif kind == "exited":
                world.call("docker_stop", name=world.service_boxes(d)[0])
            elif kind == "removed":
                for box in world.service_boxes(d):
                    world.call("docker_remove", name=box)
            elif kind == "hand-removed" and d in listed and len(listed) > 1:
                listed.remove(d)
                world.save_state(listed)
            elif kind == "peer-row":
                peer = {**d, "host_uuid": "peer-host-1", "name": world.name(f"p{i}")}
                world.call("api_deploy_rows", deckies=[peer], replace=False)
            elif kind == "tick":
                world.reconcile()
    return setup


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=EXAMPLES or 2, deadline=None, derandomize=not EXAMPLES,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow], database=None)
@given(data=st.data())
def test_decnet_written_fleets(make_world, registry, backend, data):
    services = st.lists(st.sampled_from(registry), min_size=1, max_size=3, unique=True)
    plan = data.draw(st.lists(services, min_size=1, max_size=3), label="services")
    drifts = data.draw(st.lists(st.tuples(st.sampled_from(DRIFTS), st.integers(0, 2)),
                                max_size=3), label="drifts")
    scenario = Scenario("generated", setup_for(plan, drifts),
                        healthy=not [k for k, _ in drifts if k != "tick"])
    result = judge(make_world, backend, scenario)
    failed = {k: v for k, v in result.items() if v}
    assert not failed, (plan, drifts, failed)
