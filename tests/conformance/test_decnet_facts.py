"""The facts about DECNET 1.0.0 that decnet-audit spells itself (it never
imports DECNET), checked against DECNET's own registry and models."""

from __future__ import annotations

from decnet_audit.decnet import (
    DECKY_CONFIG_DEFAULTS,
    DECKY_CONFIG_FIELDS,
    FLEET_SINGLETONS,
    as_written_name,
    service_container_name,
)


def test_fleet_singletons_are_decnets(decnet):
    registry = decnet.call("services", decky="x")
    assert {s["name"] for s in registry if s["fleet_singleton"]} == FLEET_SINGLETONS
    assert len(registry) == 29


def test_the_reconciler_looks_for_every_composer_name_but_smtp_relays(decnet):
    registry = decnet.call("services", decky="x")
    missed = {s["name"] for s in registry if not s["fleet_singleton"]
              and s["container_name"] != service_container_name("x", s["name"])}
    assert missed == {"smtp_relay"}
    # ...whose container decnet-audit finds by its name as written.
    relay = next(s for s in registry if s["name"] == "smtp_relay")
    assert relay["container_name"] == as_written_name("x", "smtp_relay")


def test_decky_config_fields_in_decnets_order(decnet):
    assert tuple(decnet.call("decky_fields")) == DECKY_CONFIG_FIELDS


def test_decky_config_defaults_are_decnets(decnet):
    # Every field but the six a DeckyConfig cannot be built without.
    assert decnet.call("decky_defaults") == dict(DECKY_CONFIG_DEFAULTS)


def test_composer_labels_every_service_container_and_not_the_base(decnet, tmp_path):
    deckies = decnet.call("build_fleet", deckies=[
        {"name": "orc-facts", "services": ["ssh", "smtp_relay"]}])
    boxes = {c["name"]: c["labels"] for c in decnet.call(
        "compose", deckies=deckies, compose_path=str(tmp_path / "c.yml"))}
    assert set(boxes) == {"orc-facts", "orc-facts-ssh", "orc-facts-smtp_relay"}
    assert not any(k.startswith("decnet.") for k in boxes["orc-facts"])
    assert boxes["orc-facts-smtp_relay"]["decnet.fleet.service_name"] == "smtp_relay"
    assert boxes["orc-facts"]["com.docker.compose.project.config_files"] == str(
        tmp_path / "c.yml")
