"""Debian's Prometheus tools for the tests (packages ``prometheus`` for
promtool and ``prometheus-node-exporter``): a test without them skips on a
laptop and fails under ``DECNET_AUDIT_CI=1``, like the other real-service
tests. Test modules using them are marked ``prometheus``."""

from __future__ import annotations

import shutil

import pytest

from kit.fleet import CI


def tool(name: str, package: str, *aliases: str) -> str:
    """The tool's path, or the test skips (fails in CI) saying which package."""
    for candidate in (*aliases, name):
        path = shutil.which(candidate)
        if path is not None:
            return path
    why = f"{name} is not on PATH (Debian package {package})"
    if CI:
        pytest.fail(f"{why}; it is required under DECNET_AUDIT_CI=1")
    pytest.skip(why)


def promtool() -> str:
    return tool("promtool", "prometheus")


def node_exporter() -> str:
    return tool("prometheus-node-exporter", "prometheus-node-exporter", "node_exporter")
