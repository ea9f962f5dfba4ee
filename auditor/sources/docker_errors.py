"""Why a call to the Docker engine failed, in the words an operator reads
in a cron mail: the root cause behind the SDK's nest of wrapped exceptions."""

from __future__ import annotations

import errno
import socket

API_TIMEOUT = 15  # seconds


# What an operator is told for the usual failures, instead of the SDK's nest
# of wrapped exceptions ("('Connection aborted.', FileNotFoundError(2, ...))").
_DAEMON = "is the Docker daemon running?"
_ERRNO = {
    errno.ENOENT: f"no such socket ({_DAEMON})",
    errno.ECONNREFUSED: f"connection refused ({_DAEMON})",
    errno.EACCES: "permission denied (is this user in the docker group?)",
    errno.EPERM: "permission denied (is this user in the docker group?)",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}

# An answer that is not HTTP, or no answer: http.client's exceptions, which the
# SDK wraps too ("('Connection aborted.', RemoteDisconnected(...))").
_HTTP = {
    "RemoteDisconnected": "the engine closed the connection without an answer",
    "IncompleteRead": "the engine's answer was cut short",
    "BadStatusLine": "not an HTTP answer ({})",
    "LineTooLong": "not an HTTP answer ({})",
    "UnknownProtocol": "not an HTTP answer ({})",
}


def reason(exc: BaseException) -> str:
    """The root cause of a failed engine call, in a few words."""
    seen: set[int] = set()
    todo: list = [exc]
    while todo:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, TimeoutError) or "Timeout" in type(e).__name__:
            return f"no answer within {API_TIMEOUT} s"
        if isinstance(e, socket.gaierror):
            return f"unknown host ({e.strerror})"
        if isinstance(e, OSError) and e.errno in _ERRNO:
            return _ERRNO[e.errno]
        if type(e).__name__ in _HTTP:  # http.client's, named: not imported for this
            return _HTTP[type(e).__name__].format(one_line(e))
        todo += [*getattr(e, "args", ()), getattr(e, "reason", None), e.__cause__,
                 e.__context__]
    return one_line(exc)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
