"""Users' own hardware: profile files given by path, one-parameter overrides, and sensitivity ranges.

* :func:`as_profile` turns what a user passes (a shipped name, a path to a profile TOML, or a
  :class:`~neurosim.energy.profiles.HardwareProfile` from :func:`~neurosim.energy.profiles.load_profile`)
  into a validated profile. A path is loaded and validated exactly like the shipped files.
* :func:`parse_override` / :func:`apply_overrides` read ``PROFILE.PARAM=VALUE UNIT`` (the CLI's
  ``--set loihi.synop_energy=35.5pJ``): the unit is required (except for plain numbers) and must have the
  parameter's dimension; the costs are re-derived with :meth:`HardwareProfile.with_params`.
* :func:`sensitivity_variants` lists, per parameter with disputed alternatives in the data file, the profile
  re-derived with each alternative, so a report can show the range a total spans (Loihi 23.6 vs 35.5 pJ per
  synaptic op, SpiNNaker 2 10 vs 450 pJ).

The profile file format is documented in ``docs/custom-profile.md`` (a complete example is
``docs/examples/my-asic.toml``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurosim.energy._units import UNITS, unit_dimension
from neurosim.energy.actions import ACTIONS, MEMORY_ACTIONS
from neurosim.energy.profiles import HardwareProfile, get_profile, list_profiles, load_profile
from neurosim.energy.tables import get_table
from neurosim.exceptions import InputError, NotFoundError, unknown_name

__all__ = [
    "Override",
    "apply_overrides",
    "as_profile",
    "cost_constants",
    "is_profile_path",
    "parse_override",
    "resolve_profiles",
    "sensitivity_variants",
]

ProfileSpec = str | os.PathLike[str] | HardwareProfile


def is_profile_path(spec: Any) -> bool:
    """True when ``spec`` names a file rather than a shipped profile (a path object, a ``.toml`` name or a
    name with a path separator)."""
    if isinstance(spec, os.PathLike):
        return True
    if not isinstance(spec, str):
        return False
    return spec.lower().endswith(".toml") or "/" in spec or os.sep in spec


def as_profile(spec: ProfileSpec) -> HardwareProfile:
    """The validated :class:`HardwareProfile` for a shipped name, a profile file path or a loaded profile.

    Raises
    ------
    NotFoundError
        Unknown name (the message suggests near matches, case-insensitively: ``H100`` -> ``nvidia-h100``)
        or a path that does not exist.
    ConfigError
        A profile file that does not validate (the message names the file and the key).
    InputError
        ``spec`` of another type.
    """
    if isinstance(spec, HardwareProfile):
        return spec
    if is_profile_path(spec):
        path = Path(spec)
        if not path.is_file():
            raise NotFoundError(f"hardware profile file {str(path)!r} does not exist; a profile is a shipped "
                                f"name ({', '.join(list_profiles())}) or a path to a profile TOML "
                                "(see docs/custom-profile.md)")
        return load_profile(path)
    if isinstance(spec, str):
        return get_profile(spec)
    raise InputError(f"a hardware profile must be a name, a path or a HardwareProfile (got {type(spec).__name__})")


@dataclass(frozen=True)
class Override:
    """One parameter override, ``PROFILE.PARAM=VALUE UNIT``.

    Attributes
    ----------
    profile, param : str
    value : float
        As written, in :attr:`unit`.
    unit : str
    si_value : float
        In SI units (the parameter's dimension).
    text : str
        The override as given (recorded in reports).
    """

    profile: str
    param: str
    value: float
    unit: str
    si_value: float
    text: str


_OVERRIDE = re.compile(r"^\s*([^.=\s]+)\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([-+0-9.eE]+)\s*([^\s]*)\s*$")


def parse_override(text: str, profiles: Iterable[HardwareProfile] = ()) -> Override:
    """Parse ``"loihi.synop_energy=35.5pJ"`` and check it against the profile it names.

    Parameters
    ----------
    text : str
        ``PROFILE.PARAM=VALUE[UNIT]``; the unit is one of the data files' units (pJ, nJ, mW, ns, %, ...),
        required unless the parameter is a plain number.
    profiles : iterable of HardwareProfile
        Profiles in use, searched by name before the shipped ones (so a user's own profile can be overridden).

    Raises
    ------
    InputError
        Malformed text, a missing or unknown unit, a unit of another dimension than the parameter's, or a
        negative value.
    NotFoundError
        Unknown profile or parameter (near matches listed).
    """
    if not isinstance(text, str):
        raise InputError(f"an override must be a string PROFILE.PARAM=VALUE (got {type(text).__name__})")
    m = _OVERRIDE.match(text)
    if m is None:
        raise InputError(f"override {text!r} must read PROFILE.PARAM=VALUE UNIT, e.g. loihi.synop_energy=35.5pJ")
    pname, param, raw, unit = m.groups()
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"override {text!r}: {raw!r} is not a number") from None
    known = {p.name: p for p in profiles}
    prof = known[pname] if pname in known else get_profile(pname)
    if param not in prof.params:
        raise unknown_name(f"parameter of profile {pname!r}", param, prof.params)
    current = prof.params[param]
    if not unit:
        if current.unit != "1":
            raise InputError(f"override {text!r} needs a unit: {pname}.{param} is in {current.source_unit} "
                             f"(e.g. {pname}.{param}={value:g}{current.source_unit})")
        unit = "1"
    if unit not in UNITS:
        raise InputError(f"override {text!r}: unknown unit {unit!r}; known: {', '.join(sorted(UNITS))}")
    if unit_dimension(unit) != current.unit:
        raise InputError(f"override {text!r}: {unit} is not a unit of {pname}.{param}, which is in "
                         f"{current.source_unit} ({current.unit})")
    if not value >= 0:
        raise InputError(f"override {text!r}: the value must be >= 0")
    si = value * UNITS[unit][0]
    return Override(profile=pname, param=param, value=value, unit=unit, si_value=si, text=text.strip())


def apply_overrides(profiles: Sequence[HardwareProfile], overrides: Sequence[str | Override]
                    ) -> tuple[tuple[HardwareProfile, ...], tuple[Override, ...]]:
    """Apply ``PROFILE.PARAM=VALUE`` overrides to the profiles in use.

    Returns
    -------
    profiles : tuple of HardwareProfile
        Same order; an overridden profile is re-derived (its costs follow the new value, the parameter's
        note records the old one and its confidence becomes "estimate").
    overrides : tuple of Override
        The parsed overrides.

    Raises
    ------
    InputError
        An override names a profile that is not in use, or is malformed (see :func:`parse_override`).
    """
    plist = list(profiles)
    parsed = tuple(o if isinstance(o, Override) else parse_override(o, plist) for o in overrides)
    for o in parsed:
        idx = [i for i, p in enumerate(plist) if p.name == o.profile]
        if not idx:
            raise InputError(f"override {o.text!r} names profile {o.profile!r}, which is not among the profiles "
                             f"in use ({', '.join(p.name for p in plist)}); add it to --profiles")
        for i in idx:
            plist[i] = plist[i].with_params(**{o.param: o.si_value})
    return tuple(plist), parsed


def resolve_profiles(specs: Sequence[ProfileSpec] | None, overrides: Sequence[str | Override] = ()
                     ) -> tuple[HardwareProfile, ...]:
    """Validated profiles for names, paths or loaded profiles (``None`` or ``["all"]``: every shipped one),
    with ``overrides`` applied.

    Raises
    ------
    NotFoundError, ConfigError, InputError
        See :func:`as_profile` and :func:`parse_override`; also two profiles with one name.
    """
    if specs is None or (len(specs) == 1 and specs[0] == "all"):
        specs = list_profiles()
    plist = [as_profile(s) for s in specs]
    names = [p.name for p in plist]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"two profiles are named {', '.join(map(repr, dup))}: a profile file's 'name' must differ "
                         "from the other profiles in use (shipped names included)")
    return apply_overrides(plist, overrides)[0] if overrides else tuple(plist)


def sensitivity_variants(profile: HardwareProfile) -> list[tuple[str, HardwareProfile]]:
    """The profile re-derived with each disputed alternative of each parameter, one at a time.

    Returns
    -------
    list of (label, HardwareProfile)
        ``label`` reads ``"synop_energy = 35.5 pJ (SLAM-Lab/SANA-FE ...)"``; parameters without alternatives
        give nothing, so a profile without disputed figures returns an empty list.
    """
    out = []
    for name, param in profile.params.items():
        for alt in param.alternatives:
            if alt.unit != param.unit:
                continue
            try:
                variant = profile.with_params(**{name: alt.value})
            except InputError:
                continue
            out.append((f"{name} = {alt.raw_value:g} {alt.source_unit} ({alt.source})", variant))
    return out


_REF_KEYS = ("param", "divide_by", "power", "minus", "rate", "utilisation")


def cost_constants(profile: HardwareProfile) -> list[dict[str, Any]]:
    """The per-action constants a profile prices with, each with its derivation and citations.

    Returns
    -------
    list of dict
        One record per action with a figure (and one for static power): ``profile``, ``version``, ``action``,
        ``value`` (SI: J per action, J/byte for memory, W for static power), ``unit``, ``derivation``
        (how the value follows from the parameters, e.g. ``"synop_energy = 23.6 pJ"``), ``confidence``,
        ``sources`` (the citations of every parameter or table entry used, ``" | "``-joined).
    """
    specs = getattr(profile, "_specs", {}) or {}
    cost_specs = specs.get("costs", {}) if isinstance(specs, dict) or hasattr(specs, "get") else {}
    rows: list[dict[str, Any]] = []
    for action in ACTIONS:
        value = getattr(profile.costs, action)
        if value is None:
            continue
        spec = cost_specs.get(action, {}) if hasattr(cost_specs, "get") else {}
        cites: list[str] = []
        if isinstance(spec, dict):
            for key in _REF_KEYS:
                name = spec.get(key)
                if isinstance(name, str) and name in profile.params:
                    param = profile.params[name]
                    # with_params() marks an overridden parameter in its note; its source is no longer the citation.
                    cites.append(f"user override of {name} ({param.note})" if param.note.startswith("overridden")
                                 else param.source)
            if isinstance(spec.get("table"), str):
                tname, _, key = spec["table"].partition(":")
                try:
                    cites.append(get_table(tname)[key].source)
                except NotFoundError:
                    pass
            if "zero" in spec:
                cites.append("zero by the profile's own statement")
        rows.append({"profile": profile.name, "version": profile.version, "action": action, "value": float(value),
                     "unit": "J/byte" if action in MEMORY_ACTIONS else "J",
                     "derivation": profile.costs.notes.get(action, ""),
                     "confidence": profile.cost_confidence.get(action, ""),
                     "sources": " | ".join(dict.fromkeys(cites))})
    if profile.costs.static_power_w > 0:
        name = specs.get("static_power") if hasattr(specs, "get") else None
        src = profile.params[name].source if isinstance(name, str) and name in profile.params else ""
        rows.append({"profile": profile.name, "version": profile.version, "action": "static_power",
                     "value": float(profile.costs.static_power_w), "unit": "W",
                     "derivation": profile.costs.notes.get("static_power", ""),
                     "confidence": profile.cost_confidence.get("static_power", ""), "sources": src})
    return rows
