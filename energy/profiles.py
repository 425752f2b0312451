"""Hardware profiles: versioned TOML files that turn cited figures into per-action costs.

A profile file (``energy/data/profile-<name>.toml``, ``schema = "neurosim-hardware-profile"``) holds

* ``name``, ``version``, ``kind`` (``ideal-asynchronous``, ``gpu`` or ``neuromorphic``), ``description``;
* ``modes``: the execution modes (:data:`neurosim.energy.modes.EXECUTION_MODES`) it can run, and ``[not_applicable]``:
  for every other mode, the reason it cannot (reported with the result, never priced as 0);
* ``[sources.<id>]``: citations; ``[params.<name>]``: every number, with ``value``, ``unit``, ``source``,
  ``confidence`` and optional ``note`` and ``[[params.<name>.alternatives]]`` (where sources disagree
  both values are kept; the top-level one is the default and its note says why);
* ``[costs]``: per action of :mod:`neurosim.energy.actions`, how its energy is obtained, one of
  ``{param = "x"}`` (optionally ``scale = s``, ``divide_by = "y"``), ``{table = "horowitz-45nm:int8.add"}``,
  ``{power = "p", rate = "r", utilisation = "u", ops_per_action = n}`` (``n x P / (R x u)``: board energy
  per action at a utilisation of the peak rate; with ``minus = "idle"`` the power is ``P - P_idle``, the
  dynamic energy per action when the idle power is charged separately over time; a rate in byte/s gives
  J/byte for the memory actions) or
  ``{zero = "why it is zero"}``;
* ``[seconds]``: per action, the time it occupies the device, ``{param = ...}`` or ``{rate = "r", ...}``
  (``n / (R x u)``), and ``static_power = "param"``: static energy = static power x busy time.

Numbers are converted to SI when the file loads; :meth:`HardwareProfile.with_params` re-derives the
costs after overriding parameters (e.g. another utilisation or a disputed per-synop energy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from numbers import Real
from pathlib import Path
from types import MappingProxyType
from typing import Any

from neurosim.energy._datafile import CONFIDENCES, Where, read_toml, sources_of
from neurosim.energy._units import unit_dimension
from neurosim.energy.actions import ACTIONS, MEMORY_ACTIONS, ActionCosts
from neurosim.energy.cited import CitedValue
from neurosim.energy.tables import _data_files, get_table
from neurosim.exceptions import ConfigError, InputError, NotFoundError, unknown_name

__all__ = [
    "PROFILE_KINDS",
    "HardwareProfile",
    "get_profile",
    "list_profiles",
    "load_profile",
]

_SCHEMA = "neurosim-hardware-profile"
PROFILE_KINDS: tuple[str, ...] = ("ideal-asynchronous", "gpu", "neuromorphic")
# The modes are defined in neurosim.energy.modes (EXECUTION_MODES); repeated here (and checked there) to avoid an import cycle.
_MODES = ("fp16-dense", "int8-dense", "w8aspike-gpu", "w8aspike-event")
_PARAM_KEYS = {"value", "unit", "source", "confidence", "note", "alternatives", "range"}
_COST_KEYS = {"param", "scale", "divide_by", "table", "power", "minus", "rate", "utilisation", "ops_per_action",
              "zero", "note"}
_TOP_KEYS = {"schema", "name", "version", "kind", "description", "modes", "not_applicable", "sources",
             "params", "costs", "seconds", "static_power"}


@dataclass(frozen=True)
class HardwareProfile:
    """A loaded, validated hardware profile; :attr:`costs` are the per-action costs in SI units."""

    name: str
    version: str
    kind: str
    description: str
    path: Path
    modes: tuple[str, ...]
    not_applicable: Mapping[str, str]
    params: Mapping[str, CitedValue] = field(repr=False)
    sources: Mapping[str, str] = field(repr=False)
    costs: ActionCosts = field(repr=False)
    cost_confidence: Mapping[str, str] = field(repr=False)
    _specs: Mapping[str, Any] = field(repr=False, compare=False)

    def unsupported_reason(self, mode: str) -> str | None:
        """Why ``mode`` cannot run on this profile, or None when it can."""
        if mode in self.modes:
            return None
        return self.not_applicable.get(mode, f"profile {self.name!r} does not list mode {mode!r}")

    def with_params(self, **values: float) -> HardwareProfile:
        """A copy with parameters overridden (SI values) and every cost re-derived.

        Examples
        --------
        >>> loihi = get_profile("loihi")
        >>> sana = loihi.with_params(synop_energy=35.5e-12)   # SANA-FE calibrated figure
        """
        params = dict(self.params)
        for name, value in values.items():
            if name not in params:
                raise unknown_name(f"parameter of profile {self.name!r}", name, params)
            if not isinstance(value, Real) or isinstance(value, bool) or not value >= 0:
                raise InputError(f"parameter {name!r} must be a number >= 0 in SI units (got {value!r})")
            params[name] = replace(params[name], value=float(value), raw_value=float(value),
                                   source_unit=params[name].unit, confidence="estimate",
                                   note=f"overridden by the caller (was {params[name]!r})")
        costs, conf = _resolve_costs(Where(self.path), params, self._specs)
        return replace(self, params=MappingProxyType(params), costs=costs,
                       cost_confidence=MappingProxyType(conf))


# ---------------------------------------------------------------------------------------------
def _read_param(w: Where, name: str, body: Any, sources: dict[str, str]) -> CitedValue:
    if not isinstance(body, dict):
        raise w.error(f"expected a table with value/unit/source/confidence (got {body!r})")
    w.check_keys(body, _PARAM_KEYS)
    raw, unit, si = w.quantity(body)
    src = w.source(body, sources)
    conf = w.confidence(body)
    alts = []
    raw_alts = body.get("alternatives", [])
    if not isinstance(raw_alts, list):
        raise w.child("alternatives").error("expected an array of tables")
    for i, alt in enumerate(raw_alts):
        alts.append(_read_param(w.child(f"alternatives[{i}]"), name, alt, sources))
    return CitedValue(name=name, value=si, unit=unit_dimension(unit), raw_value=raw, source_unit=unit,
                 source=sources[src], confidence=conf, note=str(body.get("note", "")),
                 alternatives=tuple(alts))


def _worst(*confs: str) -> str:
    return max(confs, key=CONFIDENCES.index)


def _param_ref(w: Where, params: Mapping[str, CitedValue], name: Any, key: str) -> CitedValue:
    if not isinstance(name, str) or name not in params:
        raise w.child(key).error(f"references unknown parameter {name!r}; known: {', '.join(sorted(params))}")
    return params[name]


def _resolve_one(w: Where, spec: Any, params: Mapping[str, CitedValue], want: str) -> tuple[float, str, str]:
    """Resolve one cost/time spec to (SI value, how, confidence); ``want`` is the SI dimension."""
    if not isinstance(spec, dict):
        raise w.error(f"expected an inline table such as {{param = \"x\"}} (got {spec!r})")
    w.check_keys(spec, _COST_KEYS)
    forms = [k for k in ("param", "table", "rate", "zero") if k in spec]
    if len(forms) != 1:
        raise w.error("give exactly one of 'param', 'table', 'power'/'rate' or 'zero'")
    form = forms[0]
    if form == "zero":
        reason = w.string(spec, "zero")
        return 0.0, f"0 ({reason})", "estimate"
    scale = float(w.number(spec, "scale", required=False, default=1.0) or 0.0)
    if form == "param":
        p = _param_ref(w, params, spec["param"], "param")
        value, dim, conf = p.value * scale, p.unit, p.confidence
        how = f"{p.name} = {p.raw_value:g} {p.source_unit}"
        if "divide_by" in spec:
            d = _param_ref(w, params, spec["divide_by"], "divide_by")
            if d.unit != "1" or d.value <= 0:
                raise w.child("divide_by").error(f"divisor {d.name!r} must be a plain number > 0")
            value /= d.value
            conf = _worst(conf, d.confidence)
            how += f" / {d.name} ({d.value:g})"
    elif form == "table":
        ref = w.string(spec, "table")
        tname, _, key = ref.partition(":")
        try:
            entry = get_table(tname)[key]
        except NotFoundError as exc:
            raise w.child("table").error(str(exc)) from None
        value, dim, conf = entry.value * scale, entry.unit, entry.confidence
        how = f"{ref}"
    else:  # rate form: n x P / (R x u) for energy, n / (R x u) for time
        rate = _param_ref(w, params, spec["rate"], "rate")
        if rate.unit not in ("op/s", "byte/s") or rate.value <= 0:
            raise w.child("rate").error(f"{rate.name!r} must be a throughput > 0 in op/s or byte/s")
        per = "J/byte" if rate.unit == "byte/s" else "J"  # energy per byte moved at a bandwidth
        n = float(w.number(spec, "ops_per_action", required=False, default=1.0, allow_zero=False) or 1.0)
        util, uconf, uhow = 1.0, rate.confidence, ""
        if "utilisation" in spec:
            u = _param_ref(w, params, spec["utilisation"], "utilisation")
            if u.unit != "1" or not 0 < u.value <= 1:
                raise w.child("utilisation").error(f"{u.name!r} must be a fraction in (0, 1] (got {u.value})")
            util, uconf, uhow = u.value, _worst(rate.confidence, u.confidence), f" x {u.name} {u.value:g}"
        seconds = n / (rate.value * util)
        if "power" in spec:
            pw = _param_ref(w, params, spec["power"], "power")
            if pw.unit != "W":
                raise w.child("power").error(f"{pw.name!r} must be a power in W")
            watts, pname, conf = pw.value, pw.name, _worst(uconf, pw.confidence)
            if "minus" in spec:  # dynamic power only: the idle part is charged over time by the system model
                idle = _param_ref(w, params, spec["minus"], "minus")
                if idle.unit != "W" or idle.value >= pw.value:
                    raise w.child("minus").error(f"{idle.name!r} must be a power in W below {pw.name!r}")
                watts, pname, conf = pw.value - idle.value, f"({pw.name} - {idle.name})", _worst(conf, idle.confidence)
            value, dim = watts * seconds * scale, per
            how = f"{n:g} x {pname} / ({rate.name}{uhow})"
        else:
            value, dim, conf = seconds * scale, "s", uconf
            how = f"{n:g} / ({rate.name}{uhow})"
        conf = _worst(conf, "derived")
    if dim != want:
        raise w.error(f"resolves to a quantity in {dim}, expected {want}")
    if scale != 1.0:
        how += f" x {scale:g}"
    return value, how, conf


def _resolve_costs(top: Where, params: Mapping[str, CitedValue],
                   specs: Mapping[str, Any]) -> tuple[ActionCosts, dict[str, str]]:
    costs: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    conf: dict[str, str] = {}
    cw = top.child("costs")
    for action, spec in specs["costs"].items():
        if action not in ACTIONS:
            raise cw.child(action).error(f"unknown action; known: {', '.join(ACTIONS)}")
        want = "J/byte" if action in MEMORY_ACTIONS else "J"
        value, how, c = _resolve_one(cw.child(action), spec, params, want)
        costs[action] = value
        note = spec.get("note", "") if isinstance(spec, dict) else ""
        notes[action] = how + (f"; {note}" if note else "")
        conf[action] = c
    seconds: dict[str, float] = {}
    sw = top.child("seconds")
    for action, spec in specs["seconds"].items():
        if action not in ACTIONS:
            raise sw.child(action).error(f"unknown action; known: {', '.join(ACTIONS)}")
        seconds[action], how, _ = _resolve_one(sw.child(action), spec, params, "s")
        notes[f"seconds.{action}"] = how
    static = 0.0
    if specs["static_power"]:
        p = _param_ref(top, params, specs["static_power"], "static_power")
        if p.unit != "W":
            raise top.child("static_power").error(f"{p.name!r} must be a power in W")
        static = p.value
        notes["static_power"] = f"{p.name} = {p.raw_value:g} {p.source_unit}"
        conf["static_power"] = p.confidence
    return ActionCosts(**costs, static_power_w=static, seconds=seconds, notes=notes), conf


def load_profile(path: str | Path) -> HardwareProfile:
    """Load and validate a hardware profile file (see the module docstring for the format).

    Raises
    ------
    ConfigError
        Malformed file; the message names the file and the dotted key (missing unit or source, unknown
        unit, negative value, bad confidence, unknown parameter, action, mode or table entry).
    """
    path = Path(path)
    data = read_toml(path)
    top = Where(path)
    top.check_keys(data, _TOP_KEYS)
    if top.string(data, "schema") != _SCHEMA:
        raise top.child("schema").error(f"expected {_SCHEMA!r} (got {data['schema']!r})")
    name = top.string(data, "name")
    version = top.string(data, "version")
    kind = top.string(data, "kind")
    if kind not in PROFILE_KINDS:
        raise top.child("kind").error(f"expected one of {', '.join(PROFILE_KINDS)} (got {kind!r})")
    modes = data.get("modes")
    if not isinstance(modes, list) or not all(m in _MODES for m in modes):
        raise top.child("modes").error(f"expected a list drawn from {', '.join(_MODES)} (got {modes!r})")
    na = top.table(data, "not_applicable", required=False)
    for mode in _MODES:
        if mode not in modes and not isinstance(na.get(mode), str):
            raise top.child("not_applicable").child(mode).error(
                "every mode the profile does not run needs a reason string")
    sources = sources_of(top, data)
    params = {n: _read_param(top.child("params").child(n), n, body, sources)
              for n, body in top.table(data, "params").items()}
    specs = {
        "costs": top.table(data, "costs"),
        "seconds": top.table(data, "seconds", required=False),
        "static_power": top.string(data, "static_power", required=False),
    }
    costs, conf = _resolve_costs(top, params, specs)
    return HardwareProfile(
        name=name, version=version, kind=kind, description=top.string(data, "description", required=False),
        path=path, modes=tuple(modes), not_applicable=MappingProxyType({m: na[m] for m in _MODES if m not in modes}),
        params=MappingProxyType(params), sources=MappingProxyType(sources), costs=costs,
        cost_confidence=MappingProxyType(conf), _specs=MappingProxyType(specs),
    )


def list_profiles() -> list[str]:
    """Names of the shipped hardware profiles."""
    return sorted(_data_files("profile-"))


@cache
def _shipped(name: str) -> HardwareProfile:
    return load_profile(_data_files("profile-")[name])


def get_profile(name: str) -> HardwareProfile:
    """A shipped hardware profile by name.

    Raises
    ------
    NotFoundError
        Unknown name; the message lists the known profiles and near matches.
    """
    if not isinstance(name, str) or name not in _data_files("profile-"):
        raise unknown_name("hardware profile", str(name), list_profiles(), hint="energy-report --list-profiles")
    try:
        return _shipped(name)
    except ConfigError:
        _shipped.cache_clear()
        raise
