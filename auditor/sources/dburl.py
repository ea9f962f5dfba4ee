"""The database URL as DECNET picks it from its environment.

Apart from :mod:`.database` so that locating the sources does not import
SQLAlchemy: a read-only audit imports it while the Docker engine lists its
containers (engine.observe), not before.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import UsageError


def resolve_db_url(arg: str | None, env: Mapping[str, str]) -> str:
    """The URL as DECNET itself would pick it from its environment."""

    def var(name: str, default: str) -> str:
        # Set but empty (``DECNET_DB_PATH=``) is unset, as in a shell: an
        # empty path would otherwise open an in-memory database.
        return env.get(name) or default

    if arg:
        return arg
    if env.get("DECNET_DB_URL"):
        return env["DECNET_DB_URL"]
    kind = var("DECNET_DB_TYPE", "sqlite").lower()
    if kind not in ("sqlite", "mysql"):
        # Falling back to SQLite would audit some other database in silence.
        raise UsageError(f"DECNET_DB_TYPE={kind!r}: expected 'sqlite' or 'mysql'")
    if kind == "mysql":
        port = var("DECNET_DB_PORT", "3306")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"DECNET_DB_PORT={port!r}: not a port number")
        from sqlalchemy.engine import URL  # only here: see the module's docstring

        return URL.create(
            "mysql+pymysql",
            username=var("DECNET_DB_USER", "decnet"),
            password=env.get("DECNET_DB_PASSWORD") or None,
            host=var("DECNET_DB_HOST", "localhost"),
            port=int(port),
            database=var("DECNET_DB_NAME", "decnet"),
        ).render_as_string(hide_password=False)
    return "sqlite:///" + var("DECNET_DB_PATH", "decnet.db")
