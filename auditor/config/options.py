"""Rule options from the config file: ``[tool.decnet-audit.rules.<rule-id>]``.

A rule declares its options by name in ``options`` (as sqlfluff's rules
declare ``config_keywords``); each is a class attribute whose default is a
bool, an int, a float, a string or a tuple of strings, e.g.
``max_age_minutes: ClassVar[float] = 10``. The default's type (or its
``ClassVar[float]`` annotation) is the option's type. Any other attribute is
the rule's own business, never configurable. In the file,
``max-age-minutes`` and ``max_age_minutes`` name the same option.

When the rule's constructor takes the option as a keyword argument, the rule
is built anew with it, so the rule's own validation runs (its ValueError
becomes the usage error); otherwise the value is set on the instance.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from ..rule import Rule

# The Rule contract, never options.
_CONTRACT = {"id", "code", "needs", "fix_needs", "fix_safety", "options", "severity",
             "roles", "on_worker"}


def options_of(cls: type[Rule]) -> dict[str, Any]:
    """Option name -> default, for one rule class. TypeError when a declared
    option is not an attribute of a supported type (a plugin's mistake)."""
    out: dict[str, Any] = {}
    declared_names = getattr(cls, "options", ())
    if isinstance(declared_names, str) or not all(isinstance(n, str) for n in declared_names):
        raise TypeError(f"options must be a tuple of attribute names, not {declared_names!r}")
    for name in declared_names:
        if name.startswith("_") or name in _CONTRACT or not hasattr(cls, name):
            raise TypeError(f"option {name!r} is not a public attribute of the rule")
        value = getattr(cls, name)
        if not (isinstance(value, bool | int | float | str) or _is_str_tuple(value)):
            raise TypeError(f"option {name!r} has a default of an unsupported type "
                            f"({type(value).__name__}; bool, number, string or tuple of strings)")
        owner = next(k for k in cls.__mro__ if name in vars(k))
        if _declared(owner, name) is float and isinstance(value, int) \
                and not isinstance(value, bool):
            value = float(value)
        out[name] = value
    return out


def _declared(klass: type, name: str) -> Any:
    """The type an attribute is annotated with, ClassVar unwrapped (or None)."""
    try:
        hint = typing.get_type_hints(klass).get(name)
    except Exception:  # noqa: BLE001 - an unresolvable annotation says nothing
        return None
    if typing.get_origin(hint) is typing.ClassVar:
        hint = typing.get_args(hint)[0] if typing.get_args(hint) else None
    return hint


def _is_str_tuple(value: object) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, str) for v in value)


def coerce(default: Any, value: Any) -> Any:
    """``value`` as the type of ``default``; ValueError says what was expected."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ValueError("expected true or false")
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        if isinstance(default, int) and not isinstance(value, int):
            raise ValueError("expected a whole number")
        # Thresholds are counts and durations: a negative one is a typo.
        if value < 0:
            raise ValueError("expected a number >= 0")
        return value if isinstance(default, int) else float(value)
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise ValueError("expected a string")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError("expected a list of strings")


def option_name(key: str) -> str:
    return key.replace("-", "_")


def configure(rule: Rule, values: dict[str, Any]) -> Rule:
    """The rule with ``values`` (already type-checked) applied; ValueError
    carries the rule's own objection."""
    if not values:
        return rule
    try:
        params = inspect.signature(type(rule)).parameters
    except (TypeError, ValueError):
        params = {}
    if all(n in params for n in values):
        try:
            return type(rule)(**values)
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
    for name, value in values.items():
        setattr(rule, name, value)
    return rule
