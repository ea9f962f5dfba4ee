"""Removing DECNET containers for unsafe fixes (``orphan-container``).

Runs only after the database transaction committed. Each removal is
conditional like a row write: the container must still be the one the audit
saw (same id, same name, the same ``decnet.fleet.decky`` label and the same
compose project and file, the proof that it is this deployment's); otherwise
it is a conflict and left alone. A removed container cannot be brought back by
``undo``: its journal entry says so.
"""

from __future__ import annotations

from collections.abc import Callable

from ..decnet import COMPOSE_FILES_LABEL, COMPOSE_PROJECT_LABEL, DECKY_LABEL
from ..model import CONFLICT, FIXED, SKIPPED
from ..sources.docker import scrub
from ..sources.engine_api import client_for
from .plan import Planned

_PROOF = (DECKY_LABEL, COMPOSE_PROJECT_LABEL, COMPOSE_FILES_LABEL)


def remove(planned: list[Planned], base_url: str | None,
           stop: Callable[[], str | None] = lambda: None) -> None:
    """Remove each planned container, setting its status and detail. ``stop``
    names a reason to remove no more (an interrupt), or None."""
    if not planned:
        return
    from docker.errors import DockerException

    try:
        client = _client(base_url)
    except DockerException as exc:
        for p in planned:
            p.status, p.detail = SKIPPED, scrub(f"not removed: cannot reach the Docker "
                                                f"engine: {exc}", base_url)
        return
    try:
        for p in planned:
            why = stop()
            if why is not None:
                p.status, p.detail = SKIPPED, f"not removed: the run was interrupted ({why})"
                continue
            try:
                _remove_one(client, p)
            except (DockerException, OSError) as exc:
                _after_error(p, base_url, exc)
    finally:
        client.close()


def _client(base_url: str | None):
    return client_for(base_url)


def _remove_one(client, p: Planned) -> None:
    from docker.errors import NotFound

    seen = p.container
    try:
        now = client.inspect_container(seen.id)
    except NotFound:
        p.status, p.detail = SKIPPED, f"container {p.name} is already gone"
        return
    labels = (now.get("Config") or {}).get("Labels") or {}
    if now.get("Name", "").lstrip("/") != seen.name or \
            any(labels.get(k) != seen.labels.get(k) for k in _PROOF):
        p.status, p.detail = CONFLICT, (f"container {p.name} changed since the audit "
                                        f"(name or labels); left alone")
        return
    try:
        client.remove_container(seen.id, force=True)
    except NotFound:
        # 404 to the DELETE: gone before we asked, not by this run.
        p.status, p.detail = SKIPPED, f"container {p.name} is already gone"
        return
    p.status, p.detail = FIXED, f"removed container {p.name} ({seen.id[:12]}); not undoable"


def _after_error(p: Planned, base_url: str | None, exc: BaseException) -> None:
    """The engine failed mid-request: the DELETE may have happened. Ask again,
    on a new connection, whether the container still exists, and record that."""
    from docker.errors import DockerException, NotFound

    seen = p.container
    error = scrub(" ".join(str(exc).split())[:200], base_url)
    try:
        client = _client(base_url)
        try:
            client.inspect_container(seen.id)
        finally:
            client.close()
    except NotFound:
        p.status, p.detail = FIXED, (f"removed container {p.name} ({seen.id[:12]}); not "
                                     f"undoable (the engine's answer was lost: {error}; "
                                     f"checked again: it is gone)")
        return
    except (DockerException, OSError) as again:
        p.status, p.detail = CONFLICT, (f"container {p.name}: outcome unknown: Docker error "
                                        f"({error}) and it cannot be checked again "
                                        f"({scrub(' '.join(str(again).split())[:120], base_url)}); "
                                        f"look with `docker ps -a`")
        return
    p.status, p.detail = SKIPPED, f"not removed: Docker error: {error} (it is still there)"
