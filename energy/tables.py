"""Energy reference tables: energy per (component, action), kept apart from the counts.

An :class:`EnergyTable` is the Accelergy "ERT": one :class:`~neurosim.energy.cited.CitedValue` per ``component.action``
(``int8.add``, ``fp16.mac``, ``dram.byte``), each with its value in SI units, the unit the source
used, a citation and a confidence (``measured``, ``datasheet``, ``derived`` or ``estimate``).
Tables ship as TOML files in ``energy/data/`` (``schema = "neurosim-energy-table"``).

Derived entries (``fp16.mac = fp16.mult + fp16.add``) are not typed into the file: they carry a
``derived_from`` list that is summed when the file loads (and divided by ``divide_by_bytes`` for an
energy per byte), and a ``published`` figure from the literature that the computed sum must match.
The counts that multiply these costs live in :mod:`neurosim.energy.actions`.

Examples
--------
>>> table = get_table("horowitz-45nm")
>>> round(table.energy("fp16.mac") * 1e12, 6)   # pJ, only for display
1.5
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
import math
from pathlib import Path
from types import MappingProxyType
from typing import Any

from neurosim.energy._datafile import Where, read_toml, sources_of
from neurosim.energy._units import to_si, unit_dimension
from neurosim.energy.cited import CitedValue
from neurosim.exceptions import unknown_name

__all__ = [
    "EnergyTable",
    "get_table",
    "list_tables",
    "load_table",
]

_TABLE_SCHEMA = "neurosim-energy-table"
_ENTRY_KEYS = {"value", "unit", "source", "confidence", "note", "range", "derived_from",
               "published", "divide_by_bytes"}
# Relative tolerance for a derived sum against its published value: the published figures are
# exact decimal sums (1.1 + 0.4), so only floating-point error is tolerated.
_PUBLISHED_RTOL = 1e-9


@dataclass(frozen=True)
class EnergyTable:
    """A versioned table of per-action energies loaded from a TOML file."""

    name: str
    version: str
    technology: str
    description: str
    path: Path
    entries: Mapping[str, CitedValue] = field(repr=False)
    sources: Mapping[str, str] = field(repr=False)

    def __getitem__(self, key: str) -> CitedValue:
        try:
            return self.entries[key]
        except KeyError:
            raise unknown_name(f"entry of energy table {self.name!r}", key, self.entries) from None

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def energy(self, key: str) -> float:
        """Energy of ``key`` in SI units (J or J/byte)."""
        return self[key].value

    def keys(self) -> tuple[str, ...]:
        """All entry keys, sorted."""
        return tuple(sorted(self.entries))


def _read_entry(where: Where, component: str, action: str, body: Any,
                sources: dict[str, str]) -> tuple[dict[str, Any], Where]:
    w = where.child(component).child(action)
    if not isinstance(body, dict):
        raise w.error(f"expected a table with value/unit/source/confidence (got {body!r})")
    w.check_keys(body, _ENTRY_KEYS)
    w.unit(body)
    w.source(body, sources)
    w.confidence(body)
    return body, w


def load_table(path: str | Path) -> EnergyTable:
    """Load and validate an energy table file.

    Parameters
    ----------
    path : str or Path
        TOML file with ``schema = "neurosim-energy-table"``, ``name``, ``version``, ``[sources]`` and
        ``[entries.<component>.<action>]`` tables.

    Returns
    -------
    EnergyTable

    Raises
    ------
    ConfigError
        Malformed file: missing unit or source, unknown unit, source or referenced entry, negative
        value, bad confidence, a derived sum that disagrees with its ``published`` value, or a
        derivation cycle. The message names the file and the dotted key.
    """
    path = Path(path)
    data = read_toml(path)
    top = Where(path)
    if top.string(data, "schema") != _TABLE_SCHEMA:
        raise top.child("schema").error(f"expected {_TABLE_SCHEMA!r} (got {data['schema']!r})")
    name = top.string(data, "name")
    version = top.string(data, "version")
    sources = sources_of(top, data)
    raw = top.table(data, "entries")
    bodies: dict[str, tuple[dict[str, Any], Where]] = {}
    ew = top.child("entries")
    for component, actions in raw.items():
        if not isinstance(actions, dict):
            raise ew.child(component).error("expected a table of actions")
        for action, body in actions.items():
            bodies[f"{component}.{action}"] = _read_entry(ew, component, action, body, sources)

    resolved: dict[str, CitedValue] = {}

    def resolve(key: str, chain: tuple[str, ...]) -> CitedValue:
        if key in resolved:
            return resolved[key]
        body, w = bodies[key]
        unit = body["unit"]
        derived = body.get("derived_from")
        value_range = None
        if derived is None:
            if "value" not in body:
                raise w.error("missing 'value' (or 'derived_from' for a derived entry)")
            _, _, value = w.quantity(body)
            if "range" in body:
                rng = body["range"]
                ok = (isinstance(rng, list) and len(rng) == 2
                      and all(isinstance(v, int | float) and not isinstance(v, bool) for v in rng))
                if not ok or not 0 <= rng[0] <= rng[1]:
                    raise w.child("range").error(f"expected [low, high] with 0 <= low <= high (got {rng!r})")
                value_range = (to_si(rng[0], unit), to_si(rng[1], unit))
                if not value_range[0] <= value <= value_range[1]:
                    raise w.child("value").error(f"default {body['value']} {unit} lies outside range {rng}")
            derived_keys: tuple[str, ...] = ()
        else:
            if "value" in body:
                raise w.child("value").error("a derived entry must not type in its value; "
                                             "it is computed from 'derived_from'")
            if not isinstance(derived, list) or not derived or not all(isinstance(d, str) for d in derived):
                raise w.child("derived_from").error(f"expected a non-empty list of entry keys (got {derived!r})")
            parts = []
            for ref in derived:
                if ref not in bodies:
                    raise w.child("derived_from").error(
                        f"references unknown entry {ref!r}; known: {', '.join(sorted(bodies))}")
                if ref in chain or ref == key:
                    raise w.child("derived_from").error(f"derivation cycle through {ref!r}")
                parts.append(resolve(ref, (*chain, key)))
            value = math.fsum(p.value for p in parts)
            dims = {p.unit for p in parts}
            per_bytes = w.number(body, "divide_by_bytes", required=False, allow_zero=False)
            want = unit_dimension(unit)
            got = dims.pop() if len(dims) == 1 else None
            if per_bytes is not None:
                value /= per_bytes
                got = "J/byte" if got == "J" else None
            if got != want:
                raise w.child("unit").error(
                    f"derived unit {unit!r} ({want}) does not match its parts ({sorted({p.unit for p in parts})}"
                    f"{' per byte' if per_bytes else ''})")
            if "published" in body:
                pub = to_si(float(w.number(body, "published") or 0.0), unit)
                if not math.isclose(value, pub, rel_tol=_PUBLISHED_RTOL):
                    raise w.child("published").error(
                        f"computed {value / to_si(1, unit):.6g} {unit} from {derived} but the published "
                        f"value is {body['published']} {unit}")
            derived_keys = tuple(derived)
        entry = CitedValue(
            name=key, value=value, unit=unit_dimension(unit), raw_value=value / to_si(1, unit),
            source_unit=unit, source=sources[body["source"]], confidence=body["confidence"],
            note=str(body.get("note", "")), derived_from=derived_keys, value_range=value_range,
        )
        resolved[key] = entry
        return entry

    for key in bodies:
        resolve(key, ())
    return EnergyTable(
        name=name, version=version, technology=top.string(data, "technology", required=False),
        description=top.string(data, "description", required=False), path=path,
        entries=MappingProxyType(dict(sorted(resolved.items()))), sources=MappingProxyType(sources),
    )


# Data files in energy/data/ that are not energy tables: hardware profiles and measured points.
_NOT_TABLES = ("profile-", "measured-", "report-")


def _data_files(schema_prefix: str) -> dict[str, Path]:
    folder = resources.files("neurosim.energy") / "data"
    out = {}
    for item in folder.iterdir():
        if item.name.endswith(".toml") and item.name.startswith(schema_prefix):
            out[item.name[len(schema_prefix):-len(".toml")]] = Path(str(item))
    return out


def list_tables() -> list[str]:
    """Names of the energy tables shipped in ``energy/data/`` (not ``profile-*``, ``measured-*`` or ``report-*`` files)."""
    return sorted(n for n in _data_files("") if not n.startswith(_NOT_TABLES))


@cache
def get_table(name: str) -> EnergyTable:
    """Load a shipped energy table by name (cached; tables are immutable).

    Raises
    ------
    NotFoundError
        Unknown name; the message lists the shipped tables.
    """
    files = {n: p for n, p in _data_files("").items() if not n.startswith(_NOT_TABLES)}
    if name not in files:
        raise unknown_name("energy table", name, files)
    return load_table(files[name])
