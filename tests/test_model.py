"""DECNET's reconciler view of a decky, and which records count as this host's."""

from __future__ import annotations

import pytest

from decnet_audit.decnet import service_container_name
from decnet_audit.model import Decky, Fleet, Row
from kit.build import bare, labelled
from kit.build import fleet as build_fleet


def fleet(*containers, host="local", deckies=(), rows=()):
    return build_fleet(deckies, rows, containers, host=host)


SERVICES = ("ssh", "http")


@pytest.mark.parametrize("states, expected", [
    (("running", "running"), "running"),
    (("running", "exited"), "degraded"),
    (("running", None), "degraded"),          # one service container missing
    (("exited", "exited"), "failed"),
    (("exited", None), "failed"),             # exists, none runs
    (("created", "dead"), "failed"),
    (("paused", "running"), "degraded"),      # paused is not running
    (("restarting", "exited"), "failed"),
    ((None, None), "torn_down"),
])
def test_aggregate_like_decnets_reconciler(states, expected):
    cs = [labelled("dk", svc, st) for svc, st in zip(SERVICES, states, strict=True) if st]
    assert fleet(*cs).aggregate("dk", SERVICES) == expected


def test_base_container_alone_is_torn_down():
    # The base container holds the network identity; it is no service.
    assert fleet(bare("dk")).aggregate("dk", SERVICES) == "torn_down"


def test_underscores_become_dashes_in_container_names():
    assert service_container_name("dk", "smtp_relay") == "dk-smtp-relay"
    f = fleet(bare("dk-smtp-relay"), bare("dk-smtp_relay", "exited"))
    assert f.aggregate("dk", ("smtp_relay",)) == "running"
    assert f.service_container("dk", "smtp_relay").name == "dk-smtp-relay"


def test_unlabelled_containers_match_by_name():
    f = fleet(bare("dk-ssh"), bare("dk-http", "exited"))
    assert f.aggregate("dk", SERVICES) == "degraded"


def test_labels_win_over_names():
    # A renamed but labelled container is the service; a same-named container
    # is only a fallback for unlabelled deploys.
    f = fleet(labelled("dk", "ssh", "running", name="renamed-by-hand"),
              bare("dk-ssh", "exited"))
    assert f.service_container("dk", "ssh").name == "renamed-by-hand"
    assert f.aggregate("dk", ("ssh",)) == "running"


def test_another_deckys_containers_do_not_count():
    f = fleet(labelled("dk2", "ssh"), bare("dk2-http"), bare("dk-ssh-old"))
    assert f.aggregate("dk", SERVICES) == "torn_down"


def test_docker_not_read_is_unknown_never_torn_down():
    f = Fleet(host_uuid="local", deckies=[], rows=[], containers=None)
    assert f.aggregate("dk", SERVICES) is None
    assert not f.observed("docker") and f.observed("db")


def test_an_empty_engine_is_observed():
    f = fleet()
    assert f.observed("docker")
    assert f.aggregate("dk", SERVICES) == "torn_down"


def test_local_and_foreign_records():
    deckies = [
        Decky("mine", None, ("ssh",), None, {}),
        Decky("mine-too", None, ("ssh",), "host-a", {}),
        Decky("theirs", None, ("ssh",), "host-b", {}),
    ]
    rows = [Row("host-a", "mine", "[]", None, None, "running"),
            Row("local", "mine", "[]", None, None, "running"),
            Row("host-b", "theirs", "[]", None, None, "running")]
    f = fleet(host="host-a", deckies=deckies, rows=rows)
    assert sorted(f.local_deckies) == ["mine", "mine-too"]
    assert list(f.local_rows) == ["mine"] and f.local_rows["mine"].host_uuid == "host-a"
    # "local" is just another host_uuid once this host is a swarm member.
    assert sorted(r.key for r in f.foreign_rows) == [("host-b", "theirs"), ("local", "mine")]
