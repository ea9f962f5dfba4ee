"""Containers from Docker: saved captures (``docker ps`` JSON lines, ``docker
inspect`` arrays) and the live engine, which must all read the same."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from decnet_audit.errors import SourceError
from decnet_audit.sources.docker import parse_ps_labels, read_engine, read_snapshot
from kit.fleet import CI, unique

LABELS = "decnet.fleet.decky=web-01,decnet.fleet.service=true,decnet.fleet.service_name=smtp_relay"


def ps_line(**kw) -> str:
    entry = {"Command": '"/entrypoint.sh"', "ID": "abc123", "Image": "decnet/ssh:latest",
             "Labels": "", "Names": "web-01", "State": "running", "Status": "Up 3 hours"}
    entry.update(kw)
    return json.dumps(entry)


def snapshot(tmp_path, text: str):
    path = tmp_path / "snap.json"
    path.write_text(text)
    return read_snapshot(path)


# -- docker ps JSON lines ------------------------------------------------------------


def test_ps_lines(tmp_path):
    got = snapshot(tmp_path, "\n".join([
        ps_line(),
        ps_line(ID="def456", Names="web-01-smtp-relay", Labels=LABELS, State="exited",
                Status="Exited (137) 2 minutes ago"),
        "",  # blank lines (an editor's trailing newline) are not containers
    ]) + "\n")
    assert [(c.id, c.name, c.state, c.running) for c in got] == [
        ("abc123", "web-01", "running", True),
        ("def456", "web-01-smtp-relay", "exited", False),
    ]
    assert got[0].labels == {}
    assert got[1].labels == {"decnet.fleet.decky": "web-01", "decnet.fleet.service": "true",
                             "decnet.fleet.service_name": "smtp_relay"}


def test_label_values_may_hold_commas_and_equals():
    assert parse_ps_labels("a=1,2,b=x=y,c=") == {"a": "1,2", "b": "x=y", "c": ""}
    assert parse_ps_labels("") == {}


def test_first_of_several_names_is_the_container_name(tmp_path):
    # Legacy links make ps print "name,other/alias".
    [c] = snapshot(tmp_path, ps_line(Names="web-01-ssh,proxy/ssh"))
    assert c.name == "web-01-ssh"


def test_state_from_status_on_old_engines(tmp_path):
    got = snapshot(tmp_path, "\n".join([
        ps_line(State="", Status="Up 5 minutes"),
        ps_line(State="", Status="Exited (0) 1 hour ago"),
    ]))
    assert [c.state for c in got] == ["running", "exited"]


def test_bad_line_is_named(tmp_path):
    with pytest.raises(SourceError) as err:
        snapshot(tmp_path, ps_line() + "\n" + ps_line()[:-5] + "\n")
    assert "line 2 column" in str(err.value)
    with pytest.raises(SourceError, match="line 2: not a line of `docker ps"):
        snapshot(tmp_path, ps_line() + '\n{"Id": "x"}\n')


def test_empty_capture_is_no_containers(tmp_path):
    assert snapshot(tmp_path, "") == []


def test_unreadable_capture(tmp_path):
    with pytest.raises(SourceError, match="cannot read docker snapshot"):
        read_snapshot(tmp_path / "absent.json")


# -- docker inspect arrays -------------------------------------------------------------


def test_inspect_array(tmp_path):
    doc = [
        {"Id": "abc", "Name": "/web-01-ssh", "State": {"Status": "running", "Running": True},
         "Config": {"Labels": {"decnet.fleet.decky": "web-01"}}},
        {"Id": "def", "Name": "/web-01-http", "State": {"Status": "exited"},
         "Config": {"Labels": None}},
    ]
    got = snapshot(tmp_path, json.dumps(doc, indent=2))
    assert [(c.id, c.name, c.state, dict(c.labels)) for c in got] == [
        ("abc", "web-01-ssh", "running", {"decnet.fleet.decky": "web-01"}),
        ("def", "web-01-http", "exited", {}),
    ]


def test_inspect_of_something_else(tmp_path):
    with pytest.raises(SourceError, match="not the output of `docker inspect`"):
        snapshot(tmp_path, '[{"Id": "sha256:..", "RepoTags": []}]')
    with pytest.raises(SourceError, match="invalid JSON in docker snapshot"):
        snapshot(tmp_path, '[{"Id": "abc",')


# -- the live engine (real Docker) ----------------------------------------------------------


def test_unreachable_engine_is_a_source_error():
    with pytest.raises(SourceError, match="cannot reach the Docker engine"):
        read_engine("unix:///nonexistent/docker.sock")


@pytest.mark.docker
def test_engine_ps_and_inspect_captures_agree(docker_fleet, tmp_path):
    cli = shutil.which("docker")
    if cli is None:
        if CI:
            pytest.fail("the docker CLI is required under DECNET_AUDIT_CI=1")
        pytest.skip("no docker CLI to make captures with")
    name = unique("snap")
    docker_fleet.decky(name, services=("ssh", "smtp_relay"), running={"ssh": True,
                                                                      "smtp_relay": False})
    docker_fleet.container(f"{name}-legacy", running=True)  # unlabelled, old deploy

    host = ["-H", docker_fleet.base_url]
    ps = subprocess.run([cli, *host, "ps", "-a", "--no-trunc", "--format", "{{json .}}",
                         "--filter", f"name={name}"], capture_output=True, text=True, check=True)
    (tmp_path / "ps.jsonl").write_text(ps.stdout)
    ids = [json.loads(line)["ID"] for line in ps.stdout.splitlines()]
    inspect = subprocess.run([cli, *host, "inspect", *ids], capture_output=True, text=True,
                             check=True)
    (tmp_path / "inspect.json").write_text(inspect.stdout)

    def ours(containers):
        return sorted((c.name, c.state, c.id, dict(c.labels)) for c in containers
                      if c.name.startswith(name))

    live = ours(read_engine(docker_fleet.base_url))
    assert [(n, s) for n, s, _, _ in live] == [
        (name, "running"), (f"{name}-legacy", "running"),
        (f"{name}-smtp-relay", "exited"), (f"{name}-ssh", "running"),
    ]
    assert live[2][3]["decnet.fleet.service_name"] == "smtp_relay"
    assert ours(read_snapshot(tmp_path / "ps.jsonl")) == live
    assert ours(read_snapshot(tmp_path / "inspect.json")) == live
