"""Fleets with known drift, and one CLI run writing every report format.

The fleets are real inputs: a state file, a DECNET-schema database and either
real containers (``kit.fleet.DockerFleet``) or a ``docker ps --format
'{{json .}}'`` capture (``PsCapture``), which the CLI reads with
``--docker-snapshot`` exactly as an operator's saved capture.
"""

from __future__ import annotations

import itertools
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from kit.fleet import Database, decky_config, now, run_cli, unique, write_state

XSD = Path(__file__).parent.parent / "data" / "junit-10.xsd"
TIME = re.compile(r"\d+(\.\d{1,6})?")  # plain decimals; suites to the microsecond
FOREIGN_HOST = "elsewhere-0001"


@dataclass
class PsCapture:
    """Containers written as ``docker ps -a --no-trunc --format '{{json .}}'``
    lines; same ``decky()`` as ``kit.fleet.DockerFleet``."""

    path: Path
    lines: list[str] = field(default_factory=list)

    def container(self, name: str, *, running: bool = True, labels: dict | None = None):
        self.lines.append(json.dumps({
            "ID": f"{len(self.lines):064x}", "Names": name, "Image": "decnet/base:latest",
            "State": "running" if running else "exited",
            "Status": "Up 2 hours" if running else "Exited (137) 1 hour ago",
            "Labels": ",".join(f"{k}={v}" for k, v in (labels or {}).items()),
        }))
        self.path.write_text("\n".join(self.lines) + "\n")

    def decky(self, name: str, services=("ssh",), *, running=True) -> None:
        self.container(name)
        for svc in services:
            self.container(f"{name}-{svc.replace('_', '-')}", running=running, labels={
                "decnet.fleet.service": "true", "decnet.fleet.decky": name,
                "decnet.fleet.service_name": svc,
            })

    def args(self) -> list[str]:
        if not self.path.exists():
            self.path.write_text("")
        return ["--docker-snapshot", str(self.path)]


@dataclass
class Planted:
    """What a fleet holds: the state file, and the drift planted per rule."""

    state: Path
    clean: list[str]
    drift: dict[str, set[str]]  # rule id -> decky names drifted


_ips = itertools.count(1)


def deckies(*names: str, services=("ssh",)) -> list[dict]:
    """DeckyConfigs with distinct IPs (a shared IP is drift of its own)."""
    out = []
    for name in names:
        n = next(_ips)
        out.append(decky_config(name, services=services, ip=f"10.77.{n // 250}.{n % 250 + 1}"))
    return out


def mirror(db: Database, cfg: dict, state: str = "running", host_uuid: str = "local") -> None:
    """The row DECNET writes for a DeckyConfig, as its reconciler just saw it."""
    db.insert(host_uuid, cfg["name"], services=cfg["services"], state=state, ip=cfg["ip"],
              decky_config=cfg, last_seen=now())


def drifted_fleet(tmp: Path, db: Database, docker) -> Planted:
    """One decky clean everywhere and one drift of each built-in class."""
    ok, json_only, db_only, dead, claimed = (unique(p) for p in ("ok", "jo", "do", "dm", "fh"))
    cfg = {c["name"]: c for c in [*deckies(ok, services=("ssh", "smtp_relay")),
                                  *deckies(json_only, db_only, dead, claimed)]}
    state = write_state(tmp / "decnet-state.json",
                        [cfg[x] for x in (ok, json_only, dead, claimed)])
    for x in (ok, db_only, dead, claimed):
        mirror(db, cfg[x])
    mirror(db, cfg[claimed], host_uuid=FOREIGN_HOST)
    docker.decky(ok, ("ssh", "smtp_relay"))
    docker.decky(json_only)
    docker.decky(dead, running=False)
    docker.decky(claimed)
    return Planted(state, [ok], {
        "json-only": {json_only},
        "db-only": {db_only},
        "docker-mismatch": {dead},
        "foreign-host-row": {claimed},
    })


def clean_fleet(tmp: Path, db: Database, docker, n: int = 3) -> Planted:
    cfgs = deckies(*(unique("cl") for _ in range(n)))
    state = write_state(tmp / "decnet-state.json", cfgs)
    for cfg in cfgs:
        mirror(db, cfg)
        docker.decky(cfg["name"])
    return Planted(state, [c["name"] for c in cfgs], {})


# Names no renderer may trust: markup, an attribute breakout, a CDATA end,
# control characters, and a character XML 1.0 cannot hold.
HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "a]]>b&c",
    "esc\x1b[31mred\x00nul",
    "nonchar\uffff",
]
NOT_UTF8 = b"\xffA"  # a decky name that is not valid UTF-8, as SQLite may hold it


def hostile_fleet(tmp: Path, db: Database) -> Planted:
    """Every hostile name is in the state file and has a row claiming it runs
    while Docker has none of its containers (docker-mismatch); one more is only
    in the state file (json-only), and a row is named with bytes that are not
    UTF-8 (db-only). SQLite only: MariaDB refuses such bytes."""
    assert db.kind == "sqlite"
    only_in_state = "<b>json</b>'only"
    cfgs = deckies(*HOSTILE_NAMES, only_in_state)
    state = write_state(tmp / "decnet-state.json", cfgs)
    for cfg in cfgs[:-1]:
        mirror(db, cfg)
    db.execute(
        "INSERT INTO fleet_deckies (host_uuid, name, services, decky_ip, state, last_seen, "
        "updated_at) VALUES ('local', CAST(:n AS TEXT), '[\"ssh\"]', '10.78.0.1', 'running', "
        ":t, :t)", n=NOT_UTF8, t=now(),
    )
    return Planted(state, [], {
        "docker-mismatch": set(HOSTILE_NAMES),
        "json-only": {only_in_state},
        "db-only": {"\\xffA"},
    })


def docker_args(docker) -> list[str]:
    """The CLI options that point the audit at ``docker``."""
    if isinstance(docker, PsCapture):
        return docker.args()
    return ["--docker-host", docker.base_url]


@dataclass
class Reports:
    rc: int
    out: str
    err: str
    json: dict
    xml: Path
    html: Path


def audit_all(tmp: Path, state: Path, db_url: str, docker_args: list[str], *extra: str) -> Reports:
    """One CLI run writing JSON, JUnit XML and HTML side by side."""
    out = tmp / "reports"
    out.mkdir(exist_ok=True)
    run = run_cli(
        "--state", str(state), "--db", db_url, *docker_args,
        "--junitxml", str(out / "audit.xml"), "--html", str(out / "audit.html"), *extra,
        json_path=out / "audit.json",
    )
    assert run.report is not None, f"no JSON report: rc={run.rc} {run.err}"
    return Reports(run.rc, run.out, run.err, run.report, out / "audit.xml", out / "audit.html")


def junit_cases(path: Path) -> list[tuple[str, str, str, ET.Element | None]]:
    """(suite, classname, name, result element or None) for every testcase."""
    cases = []
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            cases.append((suite.get("name"), case.get("classname"), case.get("name"),
                          next(iter(case), None)))
    return cases
