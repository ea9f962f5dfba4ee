"""The plugin host: one pluggy manager, loaded from the ``decnet_audit``
entry-point group for built-ins and third parties alike."""

from __future__ import annotations

import re

import pluggy

from . import hookspecs
from .config.options import options_of
from .entrypoints import entry_points
from .reporter import Reporter
from .rule import SEVERITIES, Rule

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_CODE = re.compile(r"^[A-Z]{1,4}[0-9]{3}$")


class PluginError(Exception):
    """A plugin could not be loaded or breaks the contract; the text says which."""


def plugin_manager(extra: tuple[object, ...] = ()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    # Our own loop rather than load_setuptools_entrypoints: a broken plugin is
    # then named in the error instead of surfacing as a bare ImportError.
    for ep in entry_points(hookspecs.PROJECT):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - any failure in foreign code
            raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        _register(pm, plugin, ep.name)
    for plugin in extra:
        _register(pm, plugin, None)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None) -> None:
    try:
        pm.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        raise PluginError(f"plugin {name or plugin!r} cannot be registered: {exc}") from exc


def load_rules(pm: pluggy.PluginManager) -> list[Rule]:
    classes = [cls for batch in pm.hook.decnet_audit_rules() for cls in batch or ()]
    seen: dict[str, str] = {}
    rules = []
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Rule)):
            raise PluginError(f"{cls!r} is not a decnet_audit Rule subclass")
        rid, code = getattr(cls, "id", None), getattr(cls, "code", None)
        if not isinstance(rid, str) or not _ID.match(rid):
            raise PluginError(f"rule {cls.__qualname__} has no valid id (kebab-case): {rid!r}")
        if not isinstance(code, str) or not _CODE.match(code):
            raise PluginError(f"rule {rid} has no valid code (like DA001): {code!r}")
        try:
            options_of(cls)
        except TypeError as exc:
            raise PluginError(f"rule {rid}: {exc}") from None
        if getattr(cls, "severity", None) not in SEVERITIES:
            raise PluginError(f"rule {rid} has no valid severity ({', '.join(SEVERITIES)}): "
                              f"{getattr(cls, 'severity', None)!r}")
        for key in (rid, code):
            if key in seen:
                raise PluginError(f"rule {rid}: {key!r} is already used by {seen[key]}")
            seen[key] = rid
        rules.append(cls())
    return sorted(rules, key=lambda r: r.code)


def load_reporters(pm: pluggy.PluginManager) -> list[Reporter]:
    reporters: dict[str, Reporter] = {}
    for batch in pm.hook.decnet_audit_reporters():
        for cls in batch or ():
            if not (isinstance(cls, type) and issubclass(cls, Reporter)):
                raise PluginError(f"{cls!r} is not a decnet_audit Reporter subclass")
            if cls.option in reporters:
                raise PluginError(f"report option {cls.option} is claimed twice")
            reporters[cls.option] = cls()
    return sorted(reporters.values(), key=lambda r: r.option)
