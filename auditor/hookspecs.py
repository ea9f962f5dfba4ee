"""Every hook a decnet-audit plugin can implement.

A plugin is any module or object registered under the entry-point group
``decnet_audit``. The built-in rules and report formats are registered that
way too (see ``pyproject.toml``), so a third-party plugin has exactly the
powers of a built-in one.

Hooks hand the engine *classes* rather than being called once per check:
the engine must run each rule on its own (to select it, time it, and report a
crash as that rule's error without losing the others), which a fan-out call
over all plugins cannot do. A rule's own "check" and "fix" hooks are the
methods of :class:`decnet_audit.rule.Rule`.
"""

from __future__ import annotations

import pluggy

PROJECT = "decnet_audit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def decnet_audit_rules():
    """Return the :class:`~decnet_audit.rule.Rule` subclasses this plugin provides.

    Each rule needs a unique ``id`` (kebab-case, e.g. ``json-only``) and a
    unique ``code`` (e.g. ``DA001``). Ids and codes are stable: reports,
    ``--select``, ``-k`` and waivers refer to them.
    """


@hookspec
def decnet_audit_reporters():
    """Return the :class:`~decnet_audit.reporter.Reporter` subclasses this plugin provides.

    Each reporter adds one ``--<option> PATH`` to the command line and renders
    a finished :class:`~decnet_audit.model.AuditResult` to bytes; the engine
    writes the file atomically.
    """
