"""Which part this host plays in a DECNET swarm, decided as DECNET decides it.

DECNET reads ``[decnet] mode`` (``master`` or ``agent``) from
``/etc/decnet/decnet.ini`` (``config_ini.py``); a ``DECNET_MODE`` in the
environment wins over the file, and ``master`` is the default. An agent is a
swarm worker: it keeps a state file and containers but no database, and
reports to the master by heartbeat. The role section of the file
(``[agent]`` or ``[master]``) carries ``host-uuid``, which DECNET turns into
``DECNET_HOST_UUID``: a worker's state-file entries carry that uuid.

Only the mode and the host uuid are read here; the file never holds a
password (DECNET keeps secrets out of it).
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..model import MASTER, WORKER

ROLES = (MASTER, WORKER)
DEFAULT_INI = Path("/etc/decnet/decnet.ini")
_DECNET_MODES = {"master": MASTER, "agent": WORKER}


@dataclass(frozen=True)
class Role:
    name: str  # "master" or "worker"
    why: str  # where it was decided: "--role", "DECNET_MODE", the ini path, "default"
    host_uuid: str | None = None  # host-uuid from the ini's role section, if any


def ini_path(env: Mapping[str, str]) -> Path:
    # DECNET_AUDIT_DECNET_INI is ours (tests, unusual installs); DECNET_CONFIG
    # is DECNET's own override of the same path.
    for var in ("DECNET_AUDIT_DECNET_INI", "DECNET_CONFIG"):
        if env.get(var):
            return Path(env[var])
    return DEFAULT_INI


def _read_ini(path: Path) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read DECNET's settings {path}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from exc
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"DECNET's settings {path} are not a valid INI file: {first}") from exc
    return parser


def resolve_role(arg: str | None, env: Mapping[str, str]) -> Role:
    """The role from ``--role``, else DECNET's own settings."""
    path = ini_path(env)
    parser = _read_ini(path)
    if arg:
        role = Role(arg, "--role")
    elif env.get("DECNET_MODE"):
        role = Role(_decnet_mode(env["DECNET_MODE"], "DECNET_MODE"), "DECNET_MODE")
    elif parser is not None and parser.has_option("decnet", "mode"):
        role = Role(_decnet_mode(parser.get("decnet", "mode"), f"{path} [decnet] mode"),
                    str(path))
    else:
        role = Role(MASTER, "default (no [decnet] mode)")
    if parser is not None:
        section = "agent" if role.name == WORKER else "master"
        if parser.has_option(section, "host-uuid"):
            uuid = parser.get(section, "host-uuid").strip()
            role = Role(role.name, role.why, uuid or None)
    return role


def _decnet_mode(value: str, where: str) -> str:
    mode = value.strip().lower()
    if mode not in _DECNET_MODES:
        raise UsageError(f"{where} = {value.strip()!r}: DECNET expects 'agent' or 'master'")
    return _DECNET_MODES[mode]
