"""A local engine read with the standard library: the same socket the docker
SDK would open, the same containers it would list, failures said in the same
words, and no SDK imported for it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from decnet_audit.errors import SourceError
from decnet_audit.sources import docker_errors, engine_api
from decnet_audit.sources.docker import finished_times, read_engine
from kit.fleet import unique

# -- which addresses are read without the SDK ------------------------------------------


def sdk_socket(base_url: str | None) -> str | None:
    """The socket the SDK itself opens for ``base_url`` (None: from_env),
    or None when it would not open a unix socket without TLS."""
    from docker.errors import DockerException

    try:
        client = engine_api.client_for(base_url, version="1.24")  # no GET /version
    except DockerException:
        return None
    try:
        adapter = client.get_adapter(client.base_url + "/x")
        tls = client.base_url.startswith("https")
        return getattr(adapter, "socket_path", None) if not tls else None
    finally:
        client.close()


ENV_VARS = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT",
            "DOCKER_CONFIG")


@pytest.mark.parametrize("base_url, env, config, want", [
    ("unix:///run/x/docker.sock", {}, None, "/run/x/docker.sock"),
    ("unix://", {}, None, "/var/run/docker.sock"),
    (None, {"DOCKER_HOST": "unix:///run/y.sock"}, None, "/run/y.sock"),
    (None, {}, None, "/var/run/docker.sock"),
    (None, {"DOCKER_HOST": ""}, None, "/var/run/docker.sock"),
    # TLS from the environment applies to from_env only, not to --docker-host.
    ("unix:///run/x.sock", {"DOCKER_TLS_VERIFY": "1"}, None, "/run/x.sock"),
    (None, {"DOCKER_HOST": "unix:///run/y.sock", "DOCKER_TLS_VERIFY": "1"}, None, None),
    (None, {"DOCKER_HOST": "unix:///run/y.sock", "DOCKER_CERT_PATH": "/nowhere"}, None, None),
    (None, {"DOCKER_HOST": "unix:///run/y.sock", "DOCKER_TLS_VERIFY": ""}, None, "/run/y.sock"),
    # No DOCKER_HOST: the SDK falls back to the Docker CLI's current context.
    (None, {"DOCKER_CONTEXT": "default"}, None, "/var/run/docker.sock"),
    (None, {"DOCKER_CONTEXT": "elsewhere"}, None, None),
    (None, {}, {"currentContext": "elsewhere"}, None),
    (None, {}, {"currentContext": "default", "auths": {}}, "/var/run/docker.sock"),
    (None, {}, {"auths": {}}, "/var/run/docker.sock"),
    # Spellings left to the SDK: relative, a query, a trailing slash, other schemes.
    ("unix://run/x.sock", {}, None, None),
    (" unix:///run/x.sock", {}, None, None),
    ("unix:///run/x.sock?x=1", {}, None, None),
    ("unix:///run/x.sock/", {}, None, None),
    ("http+unix:///run/x.sock", {}, None, None),
    ("tcp://127.0.0.1:2375", {}, None, None),
    ("ssh://ops@host", {}, None, None),
])
def test_the_standard_library_opens_the_socket_the_sdk_would(tmp_path, monkeypatch, base_url,
                                                             env, config, want):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    if config is not None:
        (tmp_path / ".docker").mkdir()
        (tmp_path / ".docker" / "config.json").write_text(json.dumps(config))
    got = engine_api.local_socket(base_url, os.environ)
    assert got == want
    if got is not None:  # a claim: the SDK would have opened this very socket
        assert sdk_socket(base_url) == got


# -- a fake engine on a unix socket ----------------------------------------------------


@contextmanager
def fake_engine(answer: bytes | None):
    """A unix socket answering each request with ``answer`` (None: never)."""
    where = Path(tempfile.mkdtemp(prefix="da-eng-"))  # short: sun_path holds 108 bytes
    path = where / "e.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    server.settimeout(0.1)  # a blocked accept() would outlive close()
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with conn:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(4096)
                    if not data:
                        break
                    buf += data
                if answer is None:
                    done.wait(10)
                else:
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}"
    finally:
        done.set()
        server.close()
        path.unlink(missing_ok=True)
        where.rmdir()


def http(status: str, body: bytes, chunked: bool = False) -> bytes:
    if chunked:
        halves = (body[:len(body) // 2], body[len(body) // 2:])
        payload = b"".join(b"%x\r\n%s\r\n" % (len(h), h) for h in halves if h) + b"0\r\n\r\n"
        head = "Transfer-Encoding: chunked"
    else:
        payload, head = body, f"Content-Length: {len(body)}"
    return f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{head}\r\n\r\n".encode() \
        + payload


LISTING = [{"Id": "c1", "Names": ["/web-01-ssh"], "State": "running",
            "Labels": {"decnet.fleet.decky": "web-01"}, "Mounts": [{"Type": "volume"}]},
           {"Id": "c2", "Names": ["/web-01-http"], "State": "exited", "Labels": None}]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_listing_is_read_whole_whether_chunked_or_not(chunked):
    with fake_engine(http("200 OK", json.dumps(LISTING).encode(), chunked)) as url:
        got = read_engine(url)
    assert [(c.id, c.name, c.state, dict(c.labels)) for c in got] == [
        ("c1", "web-01-ssh", "running", {"decnet.fleet.decky": "web-01"}),
        ("c2", "web-01-http", "exited", {})]


@pytest.mark.parametrize("answer, why", [
    (http("500 Internal Server Error", b'{"message": "boom\\nagain"}'),
     'the Docker engine answered HTTP 500 to the container listing: {"message": "boom\\nagain"}'),
    (http("200 OK", b"[{\"Id\": "), "the Docker engine's container listing is not JSON: "),
    (http("200 OK", b'{"Id": "x"}'), "the Docker engine's container listing is not a JSON list"),
    (http("200 OK", b'[{"Id": "caf\xe9", "Names": []}]'),
     "the Docker engine's container listing is not UTF-8: "),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "cannot reach the Docker engine: not an HTTP answer "),
    (b"", "cannot reach the Docker engine: the engine closed the connection without an answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{}",
     "cannot reach the Docker engine: the engine's answer was cut short"),
])
def test_a_bad_answer_is_one_line_in_words(answer, why):
    with fake_engine(answer) as url, pytest.raises(SourceError) as err:
        read_engine(url)
    assert str(err.value).startswith(why)
    assert "\n" not in str(err.value) and "Error(" not in str(err.value)


def test_an_engine_that_never_answers_is_a_timeout(monkeypatch):
    monkeypatch.setattr(engine_api, "API_TIMEOUT", 0.3)
    monkeypatch.setattr(docker_errors, "API_TIMEOUT", 0.3)
    with fake_engine(None) as url, pytest.raises(SourceError) as err:
        read_engine(url)
    assert str(err.value) == "cannot reach the Docker engine: no answer within 0.3 s"


def test_a_socket_nobody_listens_on_is_refused(tmp_path):
    path = Path(tempfile.mkdtemp(prefix="da-eng-")) / "e.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))  # bound, never listening: connect() is refused
        with pytest.raises(SourceError) as err:
            read_engine(f"unix://{path}")
    assert str(err.value) == ("cannot reach the Docker engine: connection refused "
                              "(is the Docker daemon running?)")


def test_finished_times_make_no_claim_from_a_bad_answer():
    with fake_engine(http("200 OK", b"[1, 2]")) as url:
        assert finished_times(url, ["c1", "c2"]) == {"c1": None, "c2": None}
    with fake_engine(b"garbage\r\n") as url:
        assert finished_times(url, ["c1"]) == {"c1": None}


# -- the real engine -----------------------------------------------------------------------


@pytest.mark.docker
def test_the_real_engine_reads_as_through_the_sdk(docker_fleet):
    if engine_api.local_socket(docker_fleet.base_url, os.environ) is None:
        pytest.skip(f"the engine is not on a unix socket ({docker_fleet.base_url})")
    name = unique("local")
    docker_fleet.decky(name, services=("ssh", "smtp_relay"),
                       running={"ssh": True, "smtp_relay": False})

    def listing(api):
        try:
            status, body = api.get("/containers/json?all=1")
        finally:
            api.close()
        assert status == 200
        return sorted((c["Id"], c["Names"], c["State"], c["Labels"]) for c in json.loads(body)
                      if c["Names"][0].startswith(f"/{name}"))

    sdk = listing(engine_api._Sdk(docker_fleet.base_url))
    assert len(sdk) == 3
    assert listing(engine_api.connect(docker_fleet.base_url)) == sdk
    ids = [cid for cid, *_ in sdk]
    times = finished_times(docker_fleet.base_url, [*ids, "no-such-container"])
    assert all(times[cid] for cid in ids) and times["no-such-container"] is None


READ_LOCAL = """
import sys
from decnet_audit.sources import docker
url = sys.argv[1]
docker.prepare(url)
before = set(sys.modules)
containers = docker.read_engine(url)
docker.finished_times(url, [containers[0].id, "no-such-container"])
try:
    docker.read_engine(url + ".absent")
except Exception as exc:
    print(exc)
print(sorted(set(sys.modules) - before))
print("docker" in sys.modules, "requests" in sys.modules)
"""


@pytest.mark.docker
def test_a_local_read_imports_no_sdk_and_nothing_on_its_thread(docker_fleet):
    # observe() reads the engine on a thread while the main thread imports:
    # everything the read needs is imported by prepare(), beforehand.
    if engine_api.local_socket(docker_fleet.base_url, os.environ) is None:
        pytest.skip(f"the engine is not on a unix socket ({docker_fleet.base_url})")
    docker_fleet.container(unique("local"), running=False)
    out = subprocess.run([sys.executable, "-c", READ_LOCAL, docker_fleet.base_url],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["cannot reach the Docker engine: no such socket (is the Docker daemon "
                   "running?)", "[]", "False False"]


def test_a_kept_alive_connection_the_engine_closed_is_opened_again():
    # The fake engine closes each connection after one answer, as an engine
    # may close an idle one: each inspect after the first meets a closed one.
    inspect = http("200 OK", b'{"State": {"FinishedAt": "2026-12-01T00:00:00Z"}}')
    with fake_engine(inspect) as url:
        assert finished_times(url, ["c1", "c2", "c3"]) == dict.fromkeys(
            ["c1", "c2", "c3"], "2026-12-01T00:00:00Z")
