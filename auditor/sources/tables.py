"""What one pass over DECNET's database read.

Apart from :mod:`.database` so that an audit that reads no database (a swarm
worker's) never imports SQLAlchemy.
"""

from __future__ import annotations

from typing import NamedTuple

from ..model import Row, Shard, SwarmHost


class Tables(NamedTuple):
    """What one pass over DECNET's database read."""

    rows: list[Row]
    enrolled: frozenset[str] | None  # None: no swarm_hosts table
    hosts: dict[str, SwarmHost] | None
    shards: list[Shard] | None  # None: no decky_shards table (not a swarm master)
    deployment: dict | None = None  # the state table's copy by decky name; None: none
