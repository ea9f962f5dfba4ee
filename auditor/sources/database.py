"""Reading ``fleet_deckies`` (and ``swarm_hosts``) from DECNET's database.

DECNET talks to its database through async drivers; the auditor maps those
URLs to their synchronous twins. It never creates, alters or migrates a
table: a database without ``fleet_deckies`` is a source error.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..decnet import COLUMNS
from ..errors import SourceError
from ..model import DB, Row, Shard, SourceStatus, SwarmHost
from .dburl import resolve_db_url  # noqa: F401 - where the tests and callers knew it
from .rowcheck import check_rows
from .statefile import deployment_copy
from .tables import Tables

_SYNC_DRIVERS = {
    "mysql": "mysql+pymysql", "mysql+asyncmy": "mysql+pymysql",
    "mysql+aiomysql": "mysql+pymysql", "mariadb": "mysql+pymysql",
    "mariadb+asyncmy": "mysql+pymysql", "mariadb+aiomysql": "mysql+pymysql",
    "mariadb+pymysql": "mysql+pymysql", "sqlite+aiosqlite": "sqlite",
}
CONNECT_TIMEOUT = 5  # seconds; an unreachable server must not hang a nightly job


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise SourceError(f"not a database URL: {mask(url)}") from exc
    return parsed.set(drivername=_SYNC_DRIVERS.get(parsed.drivername, parsed.drivername))


# Query parameters the MySQL drivers accept as a password (pymysql takes the
# URL's query as connect() arguments): hidden like the URL's own password.
_SECRET_PARAMS = frozenset({"password", "passwd", "pwd"})


def mask(url: str | URL) -> str:
    """The URL with its password hidden, safe to print or write to a report."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"
    hidden = {k: "***" for k in parsed.query if k.lower() in _SECRET_PARAMS}
    text = parsed.update_query_dict(hidden).render_as_string(hide_password=True)
    return text.replace("=%2A%2A%2A", "=***")  # rendering quotes the stars


def _secrets(parsed: URL) -> list[str]:
    values = [parsed.password] if parsed.password else []
    for key, value in parsed.query.items():
        if key.lower() in _SECRET_PARAMS:
            values.extend([value] if isinstance(value, str) else value)
    return [str(v) for v in values if v]


def connect(url: str, *, must_exist: bool = True) -> Engine:
    parsed = parse_url(url)
    args: dict = {}
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if must_exist and path and path != ":memory:" and not Path(path).exists():
            # sqlite would silently create an empty file: never do that to a user.
            raise SourceError("database file not found")
        args = {"timeout": 5}
    elif parsed.get_backend_name() == "mysql":
        if not parsed.database:  # the server would answer, but about no database
            raise SourceError("the database URL names no database (…/DATABASE at its end)")
        args = {"connect_timeout": CONNECT_TIMEOUT, "charset": "utf8mb4"}
        _share_pymysql_default_tls_context()
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=args)
        _check_driver_arguments(engine)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise SourceError(f"unsupported database: {exc}") from exc
    except (ValueError, TypeError) as exc:  # a URL parameter the driver cannot take
        raise SourceError(f"bad database URL parameter: {describe_error(exc, parsed)}") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _tolerant_sqlite_text)
    return engine


def _check_driver_arguments(engine: Engine) -> None:
    """The URL's query becomes keyword arguments of the driver's connect():
    one it does not know would surface as a TypeError at the first connect."""
    if engine.dialect.name != "mysql":
        return
    import inspect as pyinspect

    _args, kwargs = engine.dialect.create_connect_args(engine.url)
    known = pyinspect.signature(engine.dialect.loaded_dbapi.connect).parameters
    if any(p.kind is p.VAR_KEYWORD for p in known.values()):
        return
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise SourceError(f"database URL parameter{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(unknown)} not understood by the MySQL driver (pymysql)")


def _share_pymysql_default_tls_context() -> None:
    """PyMySQL's default is TLS when the server offers it, verifying nothing.
    For that it builds a new SSL context on every connection, loading the
    system's CA store it will not use: 28 ms of CPU per connection, four times
    in a --fix run. Build that one context once, as PyMySQL does but without
    the CA store (1 ms); an SSLContext serves any number of sockets. Contexts
    for explicit ssl options are PyMySQL's own."""
    try:
        from pymysql.connections import Connection
    except ImportError:
        return
    build = getattr(Connection, "_create_ssl_ctx", None)
    if build is None or getattr(build, "shared_default", False):
        return
    made: list = []

    def create_ssl_ctx(self, sslp):
        if isinstance(sslp, dict) and not sslp:
            if not made:
                made.append(_unverified_tls_context())
            return made[0]
        return build(self, sslp)

    create_ssl_ctx.shared_default = True
    Connection._create_ssl_ctx = create_ssl_ctx


def _unverified_tls_context():
    """What PyMySQL's ``_create_ssl_ctx({})`` makes: TLS, no hostname check,
    no certificate check, no SSLv2/v3; the CA store is not loaded, for
    nothing would consult it."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.options |= ssl.OP_NO_SSLv2 | ssl.OP_NO_SSLv3
    return ctx


def _tolerant_sqlite_text(dbapi_connection, _record) -> None:
    # A name that is not valid UTF-8 must still be read (and shown escaped),
    # not abort the whole audit; surrogateescape keeps the original bytes.
    dbapi_connection.text_factory = _tolerant_text


def _tolerant_text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _select_all(conn, sql: str) -> list:
    """Every row of ``sql``. On SQLite, text is first decoded by sqlite3 itself
    (in C; a Python call per value costs 40,000 calls at 5,000 rows); only a
    table holding text that is not UTF-8 makes that fail, and is then read
    again with the tolerant decoder."""
    raw = conn.connection.dbapi_connection
    if getattr(raw, "text_factory", None) is not _tolerant_text:
        return conn.execute(text(sql)).all()
    raw.text_factory = str
    try:
        return conn.execute(text(sql)).all()
    except OperationalError:
        conn.rollback()  # "Could not decode to UTF-8": read it again, tolerantly
    finally:
        raw.text_factory = _tolerant_text
    return conn.execute(text(sql)).all()


def describe_error(exc: BaseException, url: str | URL) -> str:
    """One line for an operator, with the password scrubbed."""
    orig = getattr(exc, "orig", None) or exc
    msg = " ".join(str(orig).split()) or type(orig).__name__
    parsed = url if isinstance(url, URL) else None
    if parsed is None:
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            parsed = None
    for secret in _secrets(parsed) if parsed is not None else ():
        msg = msg.replace(secret, "***")
    return msg


def read(url: str) -> tuple[Tables | None, SourceStatus]:
    """The source as the engine reads it: the tables of one pass, or None
    when unreadable; and what came of it."""
    where = mask(url)
    try:
        tables, text = read_database(url)
    except SourceError as exc:
        return None, SourceStatus(DB, False, where, str(exc))
    detail = f"{len(tables.rows)} rows"
    if tables.enrolled is not None:
        detail += f", {len(tables.enrolled)} enrolled hosts"
    if tables.shards is not None:
        detail += f", {len(tables.shards)} shards"
    copy, said = deployment_copy(text)
    detail += f", {said}" if said else ""
    return tables._replace(deployment=copy), SourceStatus(DB, True, where, detail)


def read_fleet_table(url: str) -> tuple[list[Row], frozenset[str] | None]:
    """All rows of ``fleet_deckies`` (every host's) and the enrolled swarm
    hosts, or None when the database has no ``swarm_hosts`` table."""
    tables, _copy = read_database(url)
    return tables.rows, tables.enrolled


def read_database(url: str) -> tuple[Tables, str | None]:
    """``fleet_deckies``, on a swarm master ``swarm_hosts`` and
    ``decky_shards``, and the text of the ``state`` table's ``deployment``
    value (DECNET's other copy of the state file; None when the table or the
    key does not exist), read on one connection one after the other."""
    engine = connect(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if "fleet_deckies" not in tables:
                raise SourceError("no fleet_deckies table (is this DECNET's database?)")
            rows = [Row(*r) for r in _select_all(conn, f"SELECT {', '.join(COLUMNS)} "
                                                      f"FROM fleet_deckies")]
            check_rows(rows)
            hosts = shards = None
            if "swarm_hosts" in tables:
                hosts = {h.uuid: h for h in (SwarmHost(*r) for r in swarm_hosts(conn))}
            if "decky_shards" in tables:
                shards = [Shard(*r) for r in _select_all(
                    conn, f"SELECT {', '.join(SHARD_COLUMNS)} FROM decky_shards")]
            copy = None
            if "state" in tables:
                q = conn.dialect.identifier_preparer.quote_identifier
                copy = conn.execute(text(f"SELECT {q('value')} FROM {q('state')} "
                                         f"WHERE {q('key')} = 'deployment'")).scalar()
    except (SQLAlchemyError, OSError) as exc:  # OSError: e.g. an ssl_ca file that is missing
        raise SourceError(f"{describe_error(exc, engine.url)}") from exc
    finally:
        engine.dispose()
    return Tables(rows, None if hosts is None else frozenset(hosts), hosts, shards), copy


SHARD_COLUMNS = (
    "decky_name", "host_uuid", "services", "decky_config", "decky_ip", "state",
    "last_error", "compose_hash", "last_seen", "updated_at",
)
HOST_COLUMNS = ("uuid", "name", "address", "status", "last_heartbeat")


def swarm_hosts(conn) -> list:
    # A unihost's database may hold an older or trimmed swarm_hosts: only
    # its uuid is required, a missing column reads as NULL.
    have = {c["name"] for c in inspect(conn).get_columns("swarm_hosts")}
    cols = ", ".join(c if c in have else "NULL" for c in HOST_COLUMNS)
    return _select_all(conn, f"SELECT {cols} FROM swarm_hosts")
