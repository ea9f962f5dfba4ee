"""The state table's ``deployment`` copy, read with fleet_deckies in one
connection, on SQLite and MariaDB: absent table, absent key, NULL, a copy."""

from __future__ import annotations

import json

import pytest

from decnet_audit.sources.database import read_database
from decnet_audit.sources.statefile import deployment_copy
from kit.fleet import decky_config

# DECNET's `state` table (web/db/models/logs.py): `key` is a reserved word on MariaDB.
STATE_DDL = {"sqlite": 'CREATE TABLE "state" ("key" VARCHAR NOT NULL PRIMARY KEY, '
                       '"value" TEXT NOT NULL)',
             "mariadb": "CREATE TABLE `state` (`key` VARCHAR(255) NOT NULL PRIMARY KEY, "
                        "`value` MEDIUMTEXT NOT NULL) COLLATE utf8mb4_general_ci"}


def payload(*names):
    return {"config": {"mode": "unihost", "deckies": [decky_config(n) for n in names]},
            "compose_path": "/x/docker-compose.yml"}


def test_no_state_table_is_no_error(db):
    db.insert("local", "a")
    tables, copy = read_database(db.url)
    assert [r.name for r in tables.rows] == ["a"] and copy is None


def test_the_deployment_key_is_read_when_there(db):
    db.execute(STATE_DDL[db.kind])
    assert read_database(db.url)[1] is None  # the table, no key
    db.execute("INSERT INTO state VALUES ('ingest', '{}')")
    db.execute("INSERT INTO state VALUES ('deployment', :v)", v=json.dumps(payload("a", "b")))
    copy = read_database(db.url)[1]
    deckies, said = deployment_copy(copy)
    assert list(deckies) == ["a", "b"] and deckies["b"].services == ("ssh",)
    assert said == "state table's deployment copy: 2 deckies"


@pytest.mark.parametrize("text, said", [
    (None, ""),
    ("null", "the state table's deployment copy is null (torn down by the API)"),
    ("{", "the state table's deployment copy is not JSON"),
    ('{"config": 3}', "the state table's deployment copy is unreadable: config: expected an "
                      "object, got int"),
])
def test_a_copy_that_cannot_be_used_is_said_never_an_error(text, said):
    deckies, told = deployment_copy(text)
    assert deckies is None and told.startswith(said)
