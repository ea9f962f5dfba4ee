"""Building a large, real benchmark fleet: containers, a state file, databases.

Decky ``i`` of a fleet is always the same decky (same name, services, drift
class), whatever the fleet's size: the fleet of 5,000 contains the fleet of
1,000, so growing one reuses the containers already built. Every container
carries ``decnet-audit.bench=<prefix>``, so the benchmark counts and removes
only its own containers on an engine other people use too.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kit.fleet import IMAGE, MYSQL_SERVER_URL, Database, decky_config, now, write_state  # noqa: E402

MYSQL_URL = MYSQL_SERVER_URL

BENCH_LABEL = "decnet-audit.bench"
LOCAL = "local"
OTHER_HOST = "bench-other-host"
SERVICE_PAIRS = (("ssh", "http"), ("smtp_relay", "ftp"), ("telnet", "mysql"), ("rdp", "smb"))

# Drift classes, by decky index modulo 100 (about 1% each, 8 classes); every
# other decky agrees across the three records.
JSON_ONLY, DB_ONLY, DOCKER_MISMATCH, FOREIGN_ROW = 1, 2, 3, 4
ORPHAN, CONFIG_DRIFT, STALE, DUPLICATE_IP = 6, 7, 8, 9
UNLABELLED = 5  # containers of an older deploy, matched by name: not drift
# Findings each planted decky yields, per rule: an orphan has two containers;
# a duplicated IP is reported for both deckies, in the state file and in the
# rows; a stale decky's row says running behind a dead container, which is a
# docker-mismatch too.
PLANTED = {JSON_ONLY: {"json-only": 1}, DB_ONLY: {"db-only": 1},
           DOCKER_MISMATCH: {"docker-mismatch": 1}, FOREIGN_ROW: {"foreign-host-row": 1},
           ORPHAN: {"orphan-container": 2}, CONFIG_DRIFT: {"config-drift": 1},
           STALE: {"stale-observation": 1, "docker-mismatch": 1},
           DUPLICATE_IP: {"duplicate-ip": 4}}
# stale-observation judges Docker's FinishedAt of a dead container behind a
# running row, which cannot be back-dated: a STALE decky's first service
# container is started and killed when it is created, and the audits run with
# this threshold (written as .decnet-audit.toml in the workdir, their cwd).
STALE_CONFIG = "[rules.stale-observation]\nmax_age_minutes = 0.02\n"  # 1.2 s
# Containers are created, not started: Docker's aggregate of a consistent
# decky is therefore "failed", and a mismatching row claims "running".
CONSISTENT_STATE, MISMATCH_STATE = "failed", "running"
# last_seen is a day ahead, or a day old for STALE rows, as earlier versions
# of stale-observation judged it; STALE rows were also last written a day ago.
FRESH, OLD = timedelta(days=1), timedelta(days=-1)
WORKERS = 8  # dockerd creates ~60 containers/s on one connection, ~120/s on 4-8


@dataclass(frozen=True)
class Decky:
    index: int
    name: str
    services: tuple[str, str]
    kind: int  # index % 100; see the drift classes above

    @property
    def deployed(self) -> bool:
        return self.kind != DB_ONLY  # a db-only row is a decky torn down long ago

    @property
    def in_state(self) -> bool:
        return self.kind not in (DB_ONLY, ORPHAN)

    @property
    def has_row(self) -> bool:
        return self.kind not in (JSON_ONLY, ORPHAN)

    def containers(self, with_base: bool) -> list[tuple[str, dict]]:
        """(name, DECNET labels) of each container this decky has in Docker."""
        if not self.deployed:
            return []
        out = [(self.name, {})] if with_base else []
        for svc in self.services:
            labels = {} if self.kind == UNLABELLED else {
                "decnet.fleet.service": "true",
                "decnet.fleet.decky": self.name,
                "decnet.fleet.service_name": svc,
            }
            out.append((f"{self.name}-{svc.replace('_', '-')}", labels))
        return out


def plan(prefix: str, n: int) -> list[Decky]:
    return [Decky(i, f"{prefix}-{i:05d}", SERVICE_PAIRS[i % len(SERVICE_PAIRS)], i % 100)
            for i in range(n)]


def expected_findings(deckies: list[Decky]) -> Counter:
    """Findings per rule the audit must report for this fleet's deckies."""
    out: Counter = Counter()
    for d in deckies:
        out.update(PLANTED.get(d.kind, {}))
    return out


# -- Docker -------------------------------------------------------------------


def own_containers(api, prefix: str) -> dict[str, str]:
    """name -> id of every container this benchmark prefix created."""
    listing = api.containers(all=True, filters={"label": f"{BENCH_LABEL}={prefix}"})
    return {c["Names"][0].lstrip("/"): c["Id"] for c in listing}


def sync_containers(api, prefix: str, deckies: list[Decky], with_base: bool,
                    log=print) -> int:
    """Make the engine hold exactly this fleet's containers: create what is
    missing, remove what is extra. Returns how many containers the fleet has."""
    wanted = {name: labels for d in deckies for name, labels in d.containers(with_base)}
    have = own_containers(api, prefix)
    extra = [cid for name, cid in have.items() if name not in wanted]
    missing = [(name, labels) for name, labels in wanted.items() if name not in have]
    if extra:
        log(f"  removing {len(extra)} containers of a larger fleet")
        _parallel(lambda cid: api.remove_container(cid, force=True), extra)
    if missing:
        log(f"  creating {len(missing)} containers ({len(have) - len(extra)} reused) ...")
        host_config = api.create_host_config(network_mode="none")

        def create(item):
            name, labels = item
            api.create_container(IMAGE, name=name, host_config=host_config,
                                 labels={**labels, BENCH_LABEL: prefix})

        _parallel(create, missing, progress=log)
    kill_stale(api, prefix, deckies)
    return len(wanted)


def kill_stale(api, prefix: str, deckies: list[Decky]) -> None:
    """Start and kill the first service container of each STALE decky unless
    it has died already (a kept fleet's), then let the threshold pass."""
    dying = {f"{d.name}-{d.services[0].replace('_', '-')}" for d in deckies if d.kind == STALE}
    listing = api.containers(all=True, filters={"label": f"{BENCH_LABEL}={prefix}"})
    todo = [c["Id"] for c in listing
            if c["Names"][0].lstrip("/") in dying and c["State"] != "exited"]

    def die(cid):
        api.start(cid)
        api.kill(cid)
        api.wait(cid, timeout=60)

    _parallel(die, todo)
    if todo:
        time.sleep(1.5)


def remove_containers(api, prefix: str) -> int:
    ids = list(own_containers(api, prefix).values())
    _parallel(lambda cid: api.remove_container(cid, force=True), ids)
    return len(ids)


def _parallel(fn, items, progress=None) -> None:
    step = max(len(items) // 10, 1000)
    with ThreadPoolExecutor(WORKERS) as pool:
        for done, _ in enumerate(pool.map(fn, items), 1):
            if progress and done % step == 0:
                progress(f"    {done}/{len(items)}")


# -- state file and database --------------------------------------------------


def ip_of(index: int) -> str:
    return f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"


def config_of(d: Decky) -> dict:
    # A DUPLICATE_IP decky takes the address of the decky before it.
    ip = ip_of(d.index - 1 if d.kind == DUPLICATE_IP else d.index)
    return decky_config(d.name, services=d.services, ip=ip)


def write_state_file(path: Path, deckies: list[Decky]) -> None:
    write_state(path, [config_of(d) for d in deckies if d.in_state])


def rows_of(deckies: list[Decky]) -> list[dict]:
    stamp = now()
    rows = []
    for d in deckies:
        if not d.has_row:
            continue
        cfg = config_of(d)
        row = {"h": LOCAL, "n": d.name, "s": json.dumps(list(d.services)),
               "c": json.dumps(cfg), "ip": cfg["ip"], "upd": stamp + (OLD if d.kind == STALE
                                                                      else timedelta(0)),
               "seen": stamp + (OLD if d.kind == STALE else FRESH),
               "st": MISMATCH_STATE if d.kind in (DOCKER_MISMATCH, STALE) else CONSISTENT_STATE}
        if d.kind == CONFIG_DRIFT:  # an address no other decky has (ip_of stays in 10.0/15)
            row["ip"] = f"10.255.{d.index // 256 % 256}.{d.index % 256}"
        rows.append(row)
        if d.kind == FOREIGN_ROW:  # another host's row claiming a decky this host runs
            rows.append({**row, "h": OTHER_HOST, "st": "running"})
    return rows


INSERT = (
    "INSERT INTO fleet_deckies (host_uuid, name, services, decky_config, decky_ip, state, "
    "last_error, compose_hash, last_seen, updated_at) "
    "VALUES (:h, :n, :s, :c, :ip, :st, NULL, NULL, :seen, :upd)"
)


def fill_database(db: Database, deckies: list[Decky]) -> None:
    """DECNET's exact DDL, then every row in one transaction (executemany)."""
    from sqlalchemy import text

    db.create_schema()
    with db.engine.begin() as conn:
        conn.execute(text(INSERT), rows_of(deckies))


def sqlite_database(path: Path, deckies: list[Decky]) -> str:
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    db = Database(url, "sqlite")
    try:
        fill_database(db, deckies)
    finally:
        db.dispose()
    return url


def mariadb_database(server_url: str, name: str, deckies: list[Decky] | None) -> str:
    """A fresh database ``name`` on the server; filled when ``deckies`` is given."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    server = create_engine(server_url, poolclass=NullPool)
    try:
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    finally:
        server.dispose()
    url = f"{server_url}/{name}"
    if deckies is not None:
        db = Database(url, "mariadb")
        try:
            fill_database(db, deckies)
        finally:
            db.dispose()
    return url


def copy_mariadb(server_url: str, source: str, target: str) -> str:
    """A fresh copy of ``source``'s fleet_deckies in database ``target``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    url = mariadb_database(server_url, target, None)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE fleet_deckies LIKE {source}.fleet_deckies"))
            conn.execute(text(f"INSERT INTO fleet_deckies SELECT * FROM {source}.fleet_deckies"))
    finally:
        engine.dispose()
    return url


def drop_mariadb(server_url: str, *names: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    server = create_engine(server_url, poolclass=NullPool)
    try:
        with server.begin() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        server.dispose()


def mask(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def copy_sqlite(source: Path, target: Path) -> str:
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"
