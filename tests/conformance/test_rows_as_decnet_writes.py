"""Rows written by ``--fix`` are the rows DECNET's own code writes for the same
decky, byte for byte apart from the moment (``updated_at``, ``last_seen``),
which has DECNET's shape: on SQLite SQLAlchemy's text with microseconds, on
MariaDB a whole-second DATETIME."""

from __future__ import annotations

import json
import re

from decnet_audit.decnet import DECKY_CONFIG_DEFAULTS

SHAPE = {"sqlite": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}",
         "mariadb": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"}
MOMENT = ("updated_at", "last_seen")


def same_but_the_moment(ours: dict, decnets: dict, backend: str) -> None:
    assert {k: v for k, v in ours.items() if k not in MOMENT} == \
        {k: v for k, v in decnets.items() if k not in MOMENT}
    for col in MOMENT:
        assert (ours[col] is None) == (decnets[col] is None), col
        for row in (ours, decnets):
            assert row[col] is None or re.fullmatch(SHAPE[backend], row[col]), (col, row[col])


def by_name(rows):
    return {r["name"]: r for r in rows}


def test_an_inserted_row_is_the_row_decnets_reconciler_inserts(world):
    deckies = world.build([
        {"name": world.name("a"), "services": ["ssh", "smtp_relay"]},
        {"name": world.name("b"), "services": ["http"]}])
    deckies[1]["hostname"] = "hôte-ß"  # non-ASCII: orjson writes it as UTF-8
    world.deploy(deckies, rows=False)  # the deploy's DB mirror failed
    run = world.fix()
    assert run.rc in (0, 1), run.out + run.err
    ours = by_name(world.rows())
    assert set(ours) == {d["name"] for d in deckies}
    assert '"hostname":"hôte-ß"' in ours[world.name("b")]["decky_config"]
    for d in deckies:
        world.call("delete", host_uuid="local", name=d["name"])
    assert world.reconcile()["counts"]["inserted"] == 2
    decnets = by_name(world.rows())
    for name, row in ours.items():
        same_but_the_moment(row, decnets[name], world.backend)
        assert row["last_seen"] is None  # DECNET inserts without one


def test_a_state_change_is_the_write_decnets_reconciler_makes(world):
    deckies = world.build([{"name": world.name("a"), "services": ["ssh", "ftp"]}])
    world.deploy(deckies)
    world.call("docker_stop", name=world.service_boxes(deckies[0])[0])
    run = world.fix()
    assert run.rc in (0, 1), run.out + run.err
    ours = world.rows()[0]
    assert ours["state"] == "degraded" and ours["last_seen"] == ours["updated_at"]
    world.call("update_state", host_uuid="local", name=deckies[0]["name"], state="running")
    assert world.reconcile()["counts"]["state_updated"] == 1
    decnets = world.rows()[0]
    same_but_the_moment(ours, decnets, world.backend)
    assert decnets["last_seen"] == decnets["updated_at"]


def test_a_config_fix_is_the_row_decnets_deploy_writes(world):
    deckies = world.build([{"name": world.name("a"), "services": ["ssh"]}])
    world.deploy(deckies)
    mutated = [{**deckies[0], "services": ["telnet", "ssh"], "nmap_os": "windows",
                "last_mutated": deckies[0]["last_mutated"] + 30.5}]
    world.save_state(mutated)  # a hand edit: the row keeps the old values
    world.up(mutated, skip=[deckies[0]["name"], f"{deckies[0]['name']}-ssh"])
    world.reconcile()  # DECNET's reconciler never rewrites services or decky_config
    run = world.fix()
    assert run.rc in (0, 1), run.out + run.err
    ours = world.rows()[0]
    world.call("deploy_rows", deckies=mutated)  # what `decnet deploy` writes for it
    decnets = world.rows()[0]
    for col in ("services", "decky_config", "decky_ip"):
        assert ours[col] == decnets[col], col
    assert ours["services"] == '["telnet","ssh"]'


def test_an_older_state_file_is_read_as_decnet_reads_it(world):
    """A state file whose entries leave out every field DeckyConfig defaults
    (as a DECNET before swarm mode left out host_uuid), one with NaN in a
    service's config: DECNET reads it and inserts full rows (NaN as null).
    The host it converged is clean, and the rows --fix inserts for it are
    DECNET's byte for byte."""
    deckies = world.build([{"name": world.name("a"), "services": ["ssh"]},
                           {"name": world.name("b"), "services": ["http"]}])
    world.deploy(deckies, rows=False)
    doc = json.loads(world.state_file.read_text())
    for entry in doc["config"]["deckies"]:
        for key in DECKY_CONFIG_DEFAULTS:
            entry.pop(key)
    doc["config"]["deckies"][1]["service_config"] = {"http": {"weight": float("nan")}}
    world.state_file.write_text(json.dumps(doc))  # Python's json writes NaN
    assert world.reconcile()["counts"]["inserted"] == 2
    decnets = by_name(world.rows())
    assert '"service_config":{"http":{"weight":null}}' in decnets[world.name("b")]["decky_config"]
    clean = world.audit()
    assert clean.rc == 0, clean.out + clean.err
    for d in deckies:
        world.call("delete", host_uuid="local", name=d["name"])
    run = world.fix()
    assert run.rc in (0, 1), run.out + run.err
    assert "crashed" not in run.out
    ours = by_name(world.rows())
    assert set(ours) == set(decnets)
    for name, row in ours.items():
        same_but_the_moment(row, decnets[name], world.backend)
    # Final: DECNET's next tick changes nothing, and the host audits clean again.
    assert world.reconcile()["counts"] == {"inserted": 0, "deleted": 0, "state_updated": 0}
    again = world.audit()
    assert again.rc == 0, again.out + again.err
