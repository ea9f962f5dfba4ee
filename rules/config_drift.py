"""config-drift (DA006): a row's services, IP or config differ from the state file."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from decnet_audit.decnet import DECKY_CONFIG_DEFAULTS, config_text, services_text
from decnet_audit.decnet import UNPARSEABLE as _UNPARSEABLE
from decnet_audit.decnet import parse_services as _json_services
from decnet_audit.hookspecs import hookimpl
from decnet_audit.model import DB, STATE, Decky, Row
from decnet_audit.rule import Change, Rule

_MISSING = object()  # a key absent from one side
_SHOW = 80  # characters of a value shown in a message; the report keeps it whole


class ConfigDrift(Rule):
    """Row of a decky differs from the state file in services, decky_ip or decky_config.

    For a decky in both the state file and this host's ``fleet_deckies``
    rows, each mirrored field is compared with the state file, the canonical
    record, and every difference is one finding (expected: the state file;
    actual: the row):

    * ``services``: as a set of names (order and repeats do not matter);
    * ``decky_ip``: as an address when both parse (``fe80::1`` equals
      ``FE80:0::1``), otherwise as text; NULL in the row differs from an IP;
    * ``decky_config``: parsed JSON, key by key (``decky_config.<key>``), so
      key order and formatting never count (its ``services`` as a set too).
      A key missing on either side is read as DECNET's model reads it: its
      DeckyConfig default (``nmap_os`` ``linux``, ``last_mutated`` ``0.0``,
      ``host_uuid`` ``null``…; an older DECNET's state file has no
      ``host_uuid``), or ``null`` for a key DeckyConfig does not have; and
      ``NaN`` or ``Infinity`` in the state file is ``null``, as DECNET writes it.
      Keys listed in ``ignored_config_keys`` are not compared. A NULL
      ``decky_config`` is allowed by DECNET's schema and is not compared; text
      that is not a JSON object is one finding.

    The dashboard, REST API and orchestrator read the row, so they show and
    act on a decky that is not the one deployed.

    Converges by updating the row's field from the state file. Safe: it writes
    what the canonical record already says.
    """

    id = "config-drift"
    code = "DA006"
    severity = "low"  # the decky runs; only the row's copy of its config is old
    needs = (STATE, DB)
    fix_safety = "safe"

    #: ``decky_config`` keys never compared (e.g. ``("last_login_attempt",)``
    #: if a DECNET version updates one record of it and not the other).
    ignored_config_keys: ClassVar[tuple[str, ...]] = ()
    options = ("ignored_config_keys",)

    def __init__(self, ignored_config_keys: tuple[str, ...] | list[str] | None = None):
        if ignored_config_keys is not None:
            self.ignored_config_keys = tuple(ignored_config_keys)

    def subjects(self, fleet):
        return fleet.paired

    def check(self, fleet):
        for name in self.subjects(fleet):
            decky, row = fleet.local_deckies[name], fleet.local_rows[name]
            for fld, expected, actual in self.differences(decky, row):
                yield self.finding(
                    fleet, name,
                    f"{fld}: row has {_short(actual)}, state file has {_short(expected)}; "
                    f"converge: update the row from the state file",
                    field=fld, expected=expected, actual=actual,
                )

    def differences(self, decky: Decky, row: Row) -> Iterator[tuple[str, Any, Any]]:
        """(field, state-file value, row value) for every field that differs."""
        services = _json_services(row.services)
        if not _same_services(list(decky.services), services):
            yield "services", list(decky.services), _shown(services, row.services)
        if not _same_ip(decky.ip, row.decky_ip):
            yield "decky_ip", decky.ip, row.decky_ip
        if row.decky_config is None:
            return
        config = _json(row.decky_config)
        if not (type(config) is dict or isinstance(config, Mapping)):  # ABC checks are slow
            yield "decky_config", dict(decky.config), _shown(config, row.decky_config)
            return
        if config == decky.config and _same_types(config, decky.config):
            # The usual case, decided at C speed: every key compares equal
            # below, except perhaps services, compared as a set of names.
            keys = ["services"] if "services" in config else []
        else:
            keys = sorted(set(decky.config) | set(config))
        for key in keys:
            if key in self.ignored_config_keys:
                continue
            # The state side is already read as DECNET reads it (statefile).
            want = decky.config.get(key, _MISSING)
            have = config.get(key, DECKY_CONFIG_DEFAULTS.get(key, _MISSING))
            same = _same_services(want, have) if key == "services" else _same_value(want, have)
            if not same:
                yield (f"decky_config.{key}", None if want is _MISSING else want,
                       None if have is _MISSING else have)

    def fix(self, finding, fleet):
        decky = fleet.local_deckies[finding.decky]
        fld = finding.field or ""
        # Serialised as DECNET's repository writes the columns (and as
        # json-only inserts them), so a fixed row is byte for byte DECNET's.
        if fld == "services":
            values = {"services": services_text(decky.services)}
        elif fld == "decky_ip":
            values = {"decky_ip": decky.ip}
        else:
            values = {"decky_config": config_text(decky.config)}
        return [Change("update", fleet.host_uuid, decky.name, values)]


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except (ValueError, TypeError):
        return _UNPARSEABLE


def _shown(parsed: Any, raw: str | None) -> Any:
    # What the report shows as the row's value: the parsed JSON, or the raw
    # text when it is not JSON at all.
    return raw if parsed is _UNPARSEABLE else parsed


def _same_services(want: Any, have: Any) -> bool:
    # A decky's services are a set: DECNET starts one container per name,
    # whatever the order it lists them in.
    if not (isinstance(want, list) and isinstance(have, list)):
        return _same_value(want, have)
    if want == have and set(map(type, want)) <= {str}:
        return True  # the usual case: the same names in the same order
    return {_hashable(s) for s in want} == {_hashable(s) for s in have}


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _same_ip(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    if a == b:  # same text is the same address (or the same non-address)
        return True
    try:
        return ipaddress.ip_address(a.strip()) == ipaddress.ip_address(b.strip())
    except ValueError:
        return a.strip() == b.strip()


def _same_value(a: Any, b: Any) -> bool:
    a = None if a is _MISSING else a
    b = None if b is _MISSING else b
    # bool is an int in Python; JSON keeps them apart, and so must we.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _same_types(a: dict | list, b: dict | list) -> bool:
    """For two objects or lists already equal by ``==``: whether every pair
    of values in them also has one type. Then :func:`_same_value` agrees with
    ``==`` on them (it differs only on JSON true/false against 1/0). A loop,
    not recursion: it runs over every value of every row."""
    pairs = [(a, b)]
    while pairs:
        x, y = pairs.pop()
        for v, w in (zip(x.values(), map(y.__getitem__, x), strict=True) if type(x) is dict
                     else zip(x, y, strict=True)):
            if type(v) is not type(w):
                return False
            if type(v) is dict or type(v) is list:
                pairs.append((v, w))
    return True


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) \
        else repr(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


@hookimpl
def decnet_audit_rules():
    return [ConfigDrift]
