"""What this host deployed: which deployment a container belongs to, by
docker compose's own labels, and which of DECNET's records Docker runs.

DECNET starts its fleet with ``docker compose -p decnet -f <compose_path>``
(``engine/deployer.py``), so every container of a deployment, the base
container too, carries compose's labels: the project, the service key (the
decky's name for its base container, ``<decky>-<service>`` for a service),
and ``com.docker.compose.project.config_files``, the compose file, which
the state file records as ``compose_path``. DECNET's labels
(``decnet.fleet.decky``) name a decky, not a deployment: two DECNET
checkouts on one engine label their containers alike, and both use the
project name ``decnet``. Only the compose file tells them apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Container, Fleet

from .decnet import COMPOSE_FILES_LABEL as CONFIG_FILES
from .decnet import COMPOSE_PROJECT_LABEL as PROJECT
from .decnet import COMPOSE_SERVICE_LABEL as SERVICE
from .decnet import DECKY_LABEL

OURS, FOREIGN, UNPROVEN = "ours", "foreign", "unproven"


@lru_cache(maxsize=16)
def compose_file(compose_path: str | None, cwd: Path | None = None) -> str | None:
    """The state file's ``compose_path`` as compose records it (absolute).

    ``decnet deploy`` records the relative ``decnet-compose.yml``; DECNET
    itself resolves it against its working directory (its own ``teardown``
    only works from there), and so does the auditor, against its own."""
    if not compose_path:
        return None
    path = Path(compose_path)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    return os.path.normpath(path)


@dataclass(frozen=True)
class Ownership:
    verdict: str  # OURS, FOREIGN or UNPROVEN
    why: str  # one clause, for a finding or a refusal

    @property
    def ours(self) -> bool:
        return self.verdict == OURS


def ownership(c: Container, ours: str | None) -> Ownership:
    """Whether ``c`` is proven to be of the deployment whose compose file is
    ``ours``, proven to be of another one, or neither."""
    files = c.labels.get(CONFIG_FILES)
    project = c.labels.get(PROJECT)
    if not files or not project:
        return Ownership(UNPROVEN, f"container {c.name} carries no compose labels, so nothing "
                                   f"proves which deployment started it")
    theirs = [os.path.normpath(f) for f in files.split(",") if f]
    if ours is not None and ours in theirs:
        return Ownership(OURS, f"compose project {project!r} of this host's compose file {ours}")
    if ours is None:
        return Ownership(UNPROVEN, f"the state file records no compose_path, so compose project "
                                   f"{project!r} ({files}) cannot be matched to it")
    return Ownership(FOREIGN, f"compose project {project!r} of {files}, another deployment "
                              f"than this host's ({ours})")


def base_of(c: Container) -> str | None:
    """The decky whose base container ``c`` is, by compose's labels: DECNET's
    composer gives a base container the decky's name as both compose service
    key and container name, and none of its own labels."""
    service = c.labels.get(SERVICE)
    if service and service == c.name and DECKY_LABEL not in c.labels:
        return service
    return None


def deployed(fleet: Fleet, name: str) -> tuple[tuple[str, ...], str]:
    """The services a local decky was deployed with, and which record says
    so: the state file, or the state table's deployment copy when that copy's
    services are the ones Docker runs (``decnet mutate`` saves a mutation only
    there). Unknown decky: ``((), "state file")``."""
    mine = fleet.local_deckies.get(name)
    copy = (fleet.deployment or {}).get(name)
    if mine is None or copy is None or copy.services == mine.services \
            or fleet.containers is None:
        return (mine.services if mine else ()), "state file"

    def present(services: tuple[str, ...]) -> int:
        return sum(1 for s in services if fleet.service_container(name, s) is not None)

    if present(copy.services) > present(mine.services):
        return copy.services, "state table's deployment copy"
    return mine.services, "state file"


def owner(fleet: Fleet, c: Container) -> Ownership:
    """Whether ``c`` is proven to be of the deployment ``fleet`` observed."""
    return ownership(c, compose_file(fleet.compose_path))
