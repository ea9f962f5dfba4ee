"""decnet-audit: a pytest-style drift auditor for DECNET honeypot hosts.

This module is the public plugin API: a third-party rule or report format
imports what it needs from ``decnet_audit`` itself, so that modules can move
inside the package without breaking plugins. Everything else is internal.

The names are resolved on first use (PEP 562): ``decnet-audit --version``
imports this package, and must not pay for pluggy and the data model.
"""

__version__ = "0.1.0"

# name -> the module (relative to this package) that defines it
_EXPORTS = {
    "hookimpl": "hookspecs",
    **dict.fromkeys(("DB", "DOCKER", "STATE", "AuditResult", "Container", "Decky", "Finding",
                     "Fleet", "Row"), "model"),
    "Reporter": "reporter",
    **dict.fromkeys(("NOW", "Change", "Rule"), "rule"),
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'decnet_audit' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # once resolved, a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
