"""Finding and reading DECNET's database: URLs from DECNET_DB_*, DECNET's
async drivers mapped to sync ones, passwords never shown."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from decnet_audit.errors import SourceError, UsageError
from decnet_audit.sources.database import (
    describe_error,
    mask,
    parse_url,
    read_fleet_table,
    resolve_db_url,
)
from kit.fleet import unique

# -- which URL ------------------------------------------------------------------------


def test_default_is_sqlite_decnet_db_in_the_working_directory():
    assert resolve_db_url(None, {}) == "sqlite:///decnet.db"


def test_sqlite_path_from_environment():
    assert resolve_db_url(None, {"DECNET_DB_PATH": "/var/lib/decnet/decnet.db"}) == \
        "sqlite:////var/lib/decnet/decnet.db"


def test_option_wins_over_every_variable():
    env = {"DECNET_DB_URL": "sqlite:///env.db", "DECNET_DB_TYPE": "mysql"}
    assert resolve_db_url("sqlite:///opt.db", env) == "sqlite:///opt.db"


def test_full_url_variable_wins_over_parts():
    env = {"DECNET_DB_URL": "mysql+asyncmy://u:p@db:3307/x", "DECNET_DB_TYPE": "mysql",
           "DECNET_DB_HOST": "elsewhere"}
    assert resolve_db_url(None, env) == "mysql+asyncmy://u:p@db:3307/x"


def test_mysql_parts_and_their_defaults():
    url = make_url(resolve_db_url(None, {"DECNET_DB_TYPE": "mysql"}))
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == \
        ("mysql+pymysql", "decnet", None, "localhost", 3306, "decnet")
    url = make_url(resolve_db_url(None, {
        "DECNET_DB_TYPE": "MySQL", "DECNET_DB_HOST": "10.0.0.5", "DECNET_DB_PORT": "3307",
        "DECNET_DB_NAME": "fleet", "DECNET_DB_USER": "auditor", "DECNET_DB_PASSWORD": "s3cret",
    }))
    assert (url.username, url.password, url.host, url.port, url.database) == \
        ("auditor", "s3cret", "10.0.0.5", 3307, "fleet")


def test_empty_variables_count_as_unset():
    assert resolve_db_url(None, {"DECNET_DB_PATH": "", "DECNET_DB_URL": ""}) == \
        "sqlite:///decnet.db"
    url = make_url(resolve_db_url(None, {"DECNET_DB_TYPE": "mysql", "DECNET_DB_HOST": "",
                                         "DECNET_DB_PORT": "", "DECNET_DB_USER": ""}))
    assert (url.host, url.port, url.username) == ("localhost", 3306, "decnet")


def test_password_with_url_characters_survives():
    pw = "p@ss:w/rd?#%"
    url = make_url(resolve_db_url(None, {"DECNET_DB_TYPE": "mysql", "DECNET_DB_PASSWORD": pw}))
    assert url.password == pw
    assert url.host == "localhost"


@pytest.mark.parametrize("env, says", [
    ({"DECNET_DB_TYPE": "mysql", "DECNET_DB_PORT": "33o6"}, "DECNET_DB_PORT='33o6'"),
    ({"DECNET_DB_TYPE": "mysql", "DECNET_DB_PORT": "70000"}, "not a port number"),
    ({"DECNET_DB_TYPE": "postgres"}, "DECNET_DB_TYPE='postgres': expected 'sqlite' or 'mysql'"),
])
def test_bad_variables_are_usage_errors(env, says):
    with pytest.raises(UsageError) as err:
        resolve_db_url(None, env)
    assert says in str(err.value)


# -- async drivers become sync ones ----------------------------------------------------


@pytest.mark.parametrize("url, driver", [
    ("mysql+asyncmy://u:p@h/db", "mysql+pymysql"),
    ("mysql+aiomysql://u:p@h/db", "mysql+pymysql"),
    ("mysql://u:p@h/db", "mysql+pymysql"),
    ("mariadb+asyncmy://u:p@h/db", "mysql+pymysql"),
    ("mysql+pymysql://u:p@h/db", "mysql+pymysql"),
    ("sqlite+aiosqlite:///x.db", "sqlite"),
    ("sqlite:///x.db", "sqlite"),
])
def test_async_urls_map_to_sync_drivers(url, driver):
    parsed = parse_url(url)
    assert parsed.drivername == driver
    before = make_url(url)
    assert (parsed.username, parsed.password, parsed.host, parsed.database) == \
        (before.username, before.password, before.host, before.database)


@pytest.mark.parametrize("url", ["not a url", "mysql://u:hunter2@h:notaport/db"])
def test_unparseable_url_is_a_source_error_without_the_password(url):
    with pytest.raises(SourceError) as err:
        parse_url(url)
    assert "not a database URL" in str(err.value)
    assert "hunter2" not in str(err.value)


# -- passwords -------------------------------------------------------------------------


def test_mask_hides_the_password():
    masked = mask("mysql+asyncmy://decnet:hunter2@db.example:3306/decnet")
    assert masked == "mysql+asyncmy://decnet:***@db.example:3306/decnet"
    assert mask("sqlite:///decnet.db") == "sqlite:///decnet.db"
    assert "hunter2" not in mask("mysql://u:hunter2@h:port/db")


def test_mask_hides_a_password_given_as_a_query_parameter():
    # pymysql takes the query as connect() arguments: ?password= is a password.
    masked = mask("mysql+pymysql://root@h/db?charset=utf8mb4&PASSWORD=hunter2&passwd=x2")
    assert "hunter2" not in masked and "x2" not in masked
    assert "charset=utf8mb4" in masked and "PASSWORD=***" in masked and "passwd=***" in masked
    exc = RuntimeError("denied hunter2")
    assert describe_error(exc, "mysql://root@h/db?password=hunter2") == "denied ***"


def test_describe_error_scrubs_the_password():
    url = "mysql+pymysql://u:hunter2@h/db"
    exc = RuntimeError("auth failed for\n  u:hunter2@h")
    assert describe_error(exc, url) == "auth failed for u:***@h"


# -- reading the table (real SQLite / MariaDB) -------------------------------------------


def test_reads_every_hosts_rows_and_no_swarm_table(sqlite_db):
    sqlite_db.insert("local", "a", services=("ssh", "http"), state="degraded", ip="10.0.0.1")
    sqlite_db.insert("swarm-2", "a", state="running")
    rows, hosts = read_fleet_table(sqlite_db.url)
    assert sorted((r.host_uuid, r.name, r.state, r.services, r.decky_ip) for r in rows) == [
        ("local", "a", "degraded", '["ssh", "http"]', "10.0.0.1"),
        ("swarm-2", "a", "running", '["ssh"]', None),
    ]
    assert hosts is None


def test_reads_enrolled_hosts(db):
    db.enroll("swarm-2", "swarm-3")
    db.insert("swarm-2", "x")
    rows, hosts = read_fleet_table(db.url)
    assert hosts == {"swarm-2", "swarm-3"}
    assert [r.key for r in rows] == [("swarm-2", "x")]


def test_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path):
    path = tmp_path / "decnet.db"
    with pytest.raises(SourceError, match="database file not found"):
        read_fleet_table(f"sqlite:///{path}")
    assert not path.exists()


def test_database_without_the_table(tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(SourceError, match="no fleet_deckies table"):
        read_fleet_table(f"sqlite:///{tmp_path / 'other.db'}")


def test_aiosqlite_url_reads_the_real_file(sqlite_db):
    # DECNET's own URL form; aiosqlite is not even installed here.
    name = unique()
    sqlite_db.insert("local", name)
    rows, _ = read_fleet_table(sqlite_db.url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    assert [r.name for r in rows] == [name]


@pytest.mark.mariadb
@pytest.mark.parametrize("driver", ["mysql+asyncmy", "mysql+aiomysql", "mariadb"])
def test_async_mysql_url_reads_the_real_server(mariadb_db, driver):
    name = unique()
    mariadb_db.insert("local", name, state="failed")
    url = make_url(mariadb_db.url).set(drivername=driver)
    rows, _ = read_fleet_table(url.render_as_string(hide_password=False))
    assert [(r.name, r.state) for r in rows] == [(name, "failed")]


@pytest.mark.mariadb
def test_wrong_password_error_does_not_carry_it(mariadb_db):
    url = make_url(mariadb_db.url).set(password="Wr0ng-Pa55word")
    with pytest.raises(SourceError) as err:
        read_fleet_table(url.render_as_string(hide_password=False))
    assert "Access denied" in str(err.value)
    assert "Wr0ng-Pa55word" not in str(err.value)


# -- TLS to MariaDB ------------------------------------------------------------------------


def test_the_shared_tls_context_is_pymysqls_default_without_the_ca_store():
    from pymysql.connections import Connection

    from decnet_audit.sources.database import _unverified_tls_context

    theirs, ours = Connection._create_ssl_ctx(None, {}), _unverified_tls_context()
    for attr in ("protocol", "verify_mode", "check_hostname", "options", "verify_flags",
                 "minimum_version", "maximum_version"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert [c["name"] for c in ours.get_ciphers()] == [c["name"] for c in theirs.get_ciphers()]
    assert ours.get_ca_certs() == []  # the only difference: nothing loaded that is never read
