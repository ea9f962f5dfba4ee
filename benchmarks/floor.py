"""The least any auditor must do, as a process to time against ``decnet-audit``.

Same interpreter, same libraries (json, SQLAlchemy with the same driver;
http.client on a unix socket, else the docker SDK, as decnet-audit reads an
engine): load the state file, run one SELECT over ``fleet_deckies``, list the
containers once. Nothing is compared and nothing is reported.

``--listing raw`` makes one ``GET /containers/json?all=1`` (the floor);
``--listing sdk`` uses ``DockerClient.containers.list(all=True)``, which
inspects every container after listing them (the N+1 pattern of DECNET's
reconciler).
"""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def raw_listing(base_url: str) -> list:
    if base_url.startswith("unix:///"):
        import http.client
        import socket

        class Unix(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(self.timeout)
                self.sock.connect(base_url.removeprefix("unix://"))

        conn = Unix("localhost", timeout=60)
        conn.request("GET", "/containers/json?all=1")
        body = conn.getresponse().read()
        conn.close()
        return json.loads(body)
    import docker

    api = docker.APIClient(base_url=base_url, timeout=60)
    try:
        return api.containers(all=True)
    finally:
        api.close()

COLUMNS = ("host_uuid, name, services, decky_config, decky_ip, state, last_error, "
           "compose_hash, last_seen, updated_at")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--state", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--docker-host", required=True)
    p.add_argument("--listing", choices=("raw", "sdk"), default="raw")
    args = p.parse_args(argv)

    with open(args.state, "rb") as f:
        deckies = json.load(f)["config"]["deckies"]

    engine = create_engine(args.db, poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {COLUMNS} FROM fleet_deckies")).all()
    engine.dispose()

    if args.listing == "raw":
        containers = raw_listing(args.docker_host)
    else:
        import docker

        client = docker.DockerClient(base_url=args.docker_host, timeout=60)
        # Containers other people remove meanwhile must not abort the run.
        containers = client.containers.list(all=True, ignore_removed=True)
        client.close()

    print(json.dumps({"deckies": len(deckies), "rows": len(rows),
                      "containers": len(containers)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
