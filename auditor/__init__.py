"""decnet-audit: a pytest-style drift auditor for DECNET honeypot hosts.

This module is the public plugin API: a third-party rule or report format
imports what it needs from ``decnet_audit`` itself, so that modules can move
inside the package without breaking plugins. Everything else is internal.
"""

__version__ = "0.1.0"

# After __version__: modules that read it (the journal, the reports) import
# this package first.
from .hookspecs import hookimpl
from .model import DB, DOCKER, STATE, AuditResult, Container, Decky, Finding, Fleet, Row
from .reporter import Reporter
from .rule import NOW, Change, Rule

__all__ = [
    "DB", "DOCKER", "NOW", "STATE", "AuditResult", "Change", "Container", "Decky", "Finding",
    "Fleet", "Reporter", "Row", "Rule", "__version__", "hookimpl",
]
