"""The two ways an audit talks to a Docker engine: the standard library on a
local unix socket, the docker SDK for everything else.

An audit makes two kinds of call, both plain GETs: the listing, and the
inspect of the few dead containers behind running rows. The SDK (requests,
urllib3) costs 35 ms of CPU to import with a bytecode cache, over 0.1 s
without, and a few ms more per call: a tenth of an audit of 1,000 deckies.
On a local socket an HTTP/1.1 GET over ``AF_UNIX`` does the same.
Every other address (tcp://, TLS, ssh://, a Docker CLI context) is the SDK's
to resolve and to reach, as are ``--fix``'s removals.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from .docker_errors import API_TIMEOUT

DEFAULT_SOCKET = "/var/run/docker.sock"  # the SDK's own default on Linux

# The unix addresses the SDK reads as exactly this path; any other spelling
# (unix://relative, a query, a trailing slash) is left to the SDK to read.
_UNIX = re.compile(r"unix://(/[^?#;]*[^/?#;])")
_SCHEMES = ("unix", "tcp", "http", "https", "ssh")


class Unreachable(Exception):
    """A call to the engine failed. Its one argument is the transport's own
    exception, which docker_errors.reason() reads the cause from."""


def local_socket(base_url: str | None, env: Mapping[str, str]) -> str | None:
    """The socket path the SDK would open, without TLS, for ``base_url``
    (None: from the environment as ``docker.from_env`` reads it); None when
    the address is the SDK's to resolve."""
    url = base_url
    if not url:
        # from_env turns TLS on with either variable, even for a unix socket,
        # and then fails on missing certificates: the SDK decides there.
        if env.get("DOCKER_CERT_PATH") or env.get("DOCKER_TLS_VERIFY", "") != "":
            return None
        url = env.get("DOCKER_HOST")
        if not url:
            return DEFAULT_SOCKET if cli_context(env) == "default" else None
    if url == "unix://":
        return DEFAULT_SOCKET
    m = _UNIX.fullmatch(url)
    return m[1] if m else None


def cli_context(env: Mapping[str, str]) -> str:
    """The Docker CLI context the SDK follows when there is no DOCKER_HOST:
    DOCKER_CONTEXT, else ``currentContext`` in the CLI's config file, else
    the built-in ``default`` (the local socket)."""
    name = env.get("DOCKER_CONTEXT")
    if name:
        return name
    path = _config_file(env)
    if path is None:
        return "default"
    try:  # the SDK reads any unreadable file as "default"
        with open(path) as f:
            name = json.load(f).get("currentContext", "default")
    except Exception:  # noqa: BLE001 - as the SDK does
        return "default"
    return name if isinstance(name, str) and name else "default"


def context_host(env: Mapping[str, str], name: str) -> str | None:
    """The engine address of CLI context ``name``, from its ``meta.json`` where
    the SDK looks for it; None when there is none (the SDK then falls back to
    its default socket)."""
    import hashlib

    meta = os.path.join(os.path.dirname(_config_file(env) or ""), "contexts", "meta",
                        hashlib.sha256(name.encode("utf-8")).hexdigest(), "meta.json")
    try:
        with open(meta) as f:
            host = json.load(f)["Endpoints"]["docker"]["Host"]
    except Exception:  # noqa: BLE001 - no such context, or not one the SDK could use
        return None
    return host if isinstance(host, str) and host else None


def _config_file(env: Mapping[str, str]) -> str | None:
    """The Docker CLI's config file, found as the SDK finds it."""
    home = os.path.expanduser("~")
    for path in (os.path.join(env["DOCKER_CONFIG"], "config.json")
                 if env.get("DOCKER_CONFIG") else None,
                 os.path.join(home, ".docker", "config.json"),
                 os.path.join(home, ".dockercfg")):
        if path and os.path.exists(path):
            return path
    return None


def connect(base_url: str | None, env: Mapping[str, str] | None = None):
    """A connection to the engine with ``get(path) -> (status, body bytes)``
    and ``close()``; raises Unreachable."""
    path = local_socket(base_url, os.environ if env is None else env)
    return _Local(path) if path is not None else _Sdk(base_url)


def prepare(base_url: str | None) -> bool:
    """Import now what `connect` will use: two threads importing at once may
    see each other's modules half-built. True when that is all a read on a
    connection imports (the standard library's); the SDK may import more."""
    if local_socket(base_url, os.environ) is not None:
        import http.client  # noqa: F401
        import socket  # noqa: F401

        return True
    import docker  # noqa: F401

    return False


class _Local:
    def __init__(self, path: str):
        import http.client
        import socket

        class Connection(http.client.HTTPConnection):
            def connect(self) -> None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(path)
                except BaseException:
                    sock.close()
                    raise
                self.sock = sock

        self._errors = (OSError, http.client.HTTPException)
        # A kept-alive connection the engine closed meanwhile fails on its
        # next request: asked again once, on a new one (as urllib3 does).
        self._dropped = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
        self._conn = Connection("localhost", timeout=API_TIMEOUT)
        self._used = False

    def get(self, path: str) -> tuple[int, bytes]:
        for again in (self._used, False):
            try:
                self._conn.request("GET", path)
                resp = self._conn.getresponse()
                self._used = True
                return resp.status, resp.read()
            except self._errors as exc:
                self._conn.close()  # the next call, if any, starts afresh
                self._used = False
                if not (again and isinstance(exc, self._dropped)):
                    raise Unreachable(exc) from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._conn.close()


class _Sdk:
    def __init__(self, base_url: str | None):
        from docker.errors import DockerException

        self._errors = (DockerException, OSError)  # requests' errors are OSErrors too
        try:
            # Any valid version keeps the SDK from asking GET /version: the
            # paths asked are unversioned, which the engine answers with its
            # own current API version.
            self._client = client_for(base_url, version=_ANY_VERSION)
        except DockerException as exc:
            raise Unreachable(exc) from exc

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            resp = self._client.get(f"{self._client.base_url}{path}", timeout=API_TIMEOUT)
            return resp.status_code, resp.content
        except self._errors as exc:
            raise Unreachable(exc) from exc

    def close(self) -> None:
        self._client.close()


_ANY_VERSION = "1.24"  # the SDK's minimum; never sent to the engine


def client_for(base_url: str | None, **kw):
    """The SDK's low-level client; an address it cannot parse (``tcp://h:1:``,
    a port that is not a number) is a DockerException, as an unreachable one."""
    import docker
    from docker.errors import DockerException

    scheme = base_url.partition("://")[0].lower() if base_url and "://" in base_url else None
    if scheme is not None and scheme not in _SCHEMES:
        # npipe:// and fd:// exist on Windows only: the SDK fails on them here
        # with an AttributeError of its own, long after accepting them.
        raise DockerException(f"not a Docker engine address here: {scheme}:// (use one of "
                              f"{', '.join(s + '://' for s in _SCHEMES)})")
    try:
        if base_url:
            return docker.APIClient(base_url=base_url, timeout=API_TIMEOUT, **kw)
        return docker.from_env(timeout=API_TIMEOUT, **kw).api
    except (ValueError, TypeError) as exc:
        raise DockerException(f"not a Docker engine address: {exc}") from exc
