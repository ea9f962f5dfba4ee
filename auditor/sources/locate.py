"""Where this run reads DECNET's records from, and why there.

Strongest first, for each source:

* state file: ``--state``; ``$DECNET_STATE_FILE``; DECNET's root
  (``<root>/decnet-state.json``); ``./decnet-state.json``, then
  ``/var/lib/decnet/decnet-state.json``, when no DECNET installation is found;
* database: ``--db``; ``DECNET_DB_URL``; ``DECNET_DB_TYPE=mysql`` and the
  ``DECNET_DB_*`` parts; ``$DECNET_DB_PATH``; ``<root>/decnet.db``;
  ``./decnet.db``;
* host uuid: ``--host-uuid``; ``DECNET_HOST_UUID``; ``local``.

DECNET's variables (``DECNET_DB_*``, ``DECNET_HOST_UUID``) are taken from
the environment, ``decnet.ini`` and DECNET's ``.env`` files, as DECNET takes
them (:mod:`.settings`); the auditor's own (``DECNET_STATE_FILE``,
``DECNET_DB_PATH``) only from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..decnet import HOST_UUID_ENV, LOCAL_HOST
from . import statefile
from .dburl import resolve_db_url
from .install import DecnetInstall, find_install
from .settings import Settings, read_settings


@dataclass
class Located:
    state_path: Path
    db_url: str
    host_uuid: str
    install: DecnetInstall | None
    settings: Settings
    origins: dict[str, str] = field(default_factory=dict)  # state/db/host_uuid -> why

    def provenance(self) -> list[str]:
        """Header lines: DECNET's installation, the settings read and from where."""
        lines = [f"decnet: {self.install.describe()}" if self.install else
                 "decnet: no installation found (no `decnet` on PATH, no --decnet-root)"]
        described = self.settings.describe()
        if described:
            lines.append("settings: " + "; ".join(described))
        lines.extend(f"settings: {p}" for p in self.settings.problems)
        names = {"state": "state file", "db": "database", "host_uuid": "host_uuid"}
        lines.append("chosen: " + "; ".join(f"{names[k]} from {v}"
                                            for k, v in self.origins.items()))
        return lines


def locate(env: Mapping[str, str], *, state: str | None = None, db: str | None = None,
           host_uuid: str | None = None, decnet_root: str | None = None,
           decnet_ini: str | None = None, cwd: Path | None = None) -> Located:
    install = find_install(decnet_root or env.get("DECNET_AUDIT_DECNET_ROOT") or None,
                           env.get("PATH"))
    ini = decnet_ini or env.get("DECNET_AUDIT_DECNET_INI") or None
    settings = read_settings(env, install.root if install else None,
                             ini=Path(ini) if ini else None, cwd=cwd)
    origins: dict[str, str] = {}

    if state:
        state_path, origins["state"] = Path(state), "--state"
    elif env.get("DECNET_STATE_FILE"):
        state_path, origins["state"] = Path(env["DECNET_STATE_FILE"]), "$DECNET_STATE_FILE"
    elif install is not None:
        state_path, origins["state"] = install.state_file, "DECNET's root"
    else:
        state_path = statefile.resolve_state_path(None, {})
        origins["state"] = "default path"

    chosen = {k: v for k, v in settings.values.items()}
    if env.get("DECNET_DB_PATH"):
        chosen["DECNET_DB_PATH"] = env["DECNET_DB_PATH"]
    elif install is not None:
        chosen["DECNET_DB_PATH"] = str(install.sqlite_db)
    url = resolve_db_url(db, chosen)
    origins["db"] = _db_origin(db, chosen, settings, env, install)

    if host_uuid:
        uuid, origins["host_uuid"] = host_uuid, "--host-uuid"
    elif settings.get(HOST_UUID_ENV):
        uuid = settings.get(HOST_UUID_ENV)
        origins["host_uuid"] = f"DECNET_HOST_UUID ({settings.origin[HOST_UUID_ENV]})"
    else:
        uuid, origins["host_uuid"] = LOCAL_HOST, "default"
    return Located(state_path, url, uuid, install, settings, origins)


def _db_origin(db, chosen, settings: Settings, env, install) -> str:
    if db:
        return "--db"
    if chosen.get("DECNET_DB_URL"):
        return f"DECNET_DB_URL ({settings.origin['DECNET_DB_URL']})"
    if (chosen.get("DECNET_DB_TYPE") or "").lower() == "mysql":
        return f"DECNET_DB_TYPE=mysql ({settings.origin['DECNET_DB_TYPE']}) and DECNET_DB_* parts"
    if env.get("DECNET_DB_PATH"):
        return "$DECNET_DB_PATH"
    return "DECNET's root" if install is not None else "default path"
