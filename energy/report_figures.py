"""The SpikingBrain report's published figures, read from the one data file that holds them.

``energy/data/report-spikingbrain.toml`` (``schema = "neurosim-report-figures"``) types in every
figure of the report this project compares against, as printed, with where it is printed and the
report's own disagreements. This module reads it into :class:`~neurosim.energy.cited.CitedValue`
objects (SI value, printed value and unit, printed decimals) and :class:`ReportTable` columns. The
claims audit, the activation calibration, the section-5.5 energy recomputation, the stated spike
activity and the report tables of :mod:`neurosim.analysis` all read it from here; none types a
report figure itself.

Examples
--------
>>> fig = report_figure("silent_fraction")
>>> fig.value, fig.raw_value, fig.source_unit
(0.184, 18.4, '%')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    "REPORT_FILE",
    "ReportTable",
    "load_report_figures",
    "report_figure",
    "report_figures",
    "report_table",
]

_SCHEMA = "neurosim-report-figures"
_FIGURE_KEYS = {"value", "unit", "digits", "where", "source", "confidence", "note"}
_TABLE_KEYS = {"where", "source", "note", "columns"}

#: The shipped data file (inside the installed package).
REPORT_FILE = "report-spikingbrain.toml"


@dataclass(frozen=True)
class ReportTable:
    """A table of the report as columns of SI values (NaN where the report has no entry).

    Attributes
    ----------
    name : str
        Key in the data file (``"table_7"``).
    columns : Mapping[str, tuple of float]
        Column name -> values in SI units, all of one length.
    units : Mapping[str, str]
        Column name -> SI unit.
    source : str
        Citation and where in the report.
    note : str
        Disagreements with other figures of the report.
    """

    name: str
    columns: Mapping[str, tuple[float, ...]]
    units: Mapping[str, str]
    source: str
    note: str = ""


def _si(value: float, unit: str) -> float:
    """``value`` in SI; a decimal prefix divides by its exact integer power of ten, so 18.4 % is 0.184
    and 1015 ms is 1.015 s to the last bit, as the report's figures would be typed in SI."""
    factor = to_si(1.0, unit)
    inverse = round(1.0 / factor)
    return value / inverse if factor < 1 and math.isclose(inverse * factor, 1.0, rel_tol=1e-12) else value * factor


def _digits(w: Where, body: dict[str, Any]) -> int:
    d = body.get("digits")
    if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 15:
        raise w.child("digits").error(f"expected the decimals printed, an int in [0, 15] (got {d!r})")
    return d


def load_report_figures(path: str | Path) -> tuple[Mapping[str, CitedValue], Mapping[str, ReportTable]]:
    """Read and check a report-figures file: ``(figures, tables)``, both by name; see the module docstring.

    Raises
    ------
    ConfigError
        Malformed file; the message names the file and the dotted key.
    """
    path = Path(path)
    data = read_toml(path)
    top = Where(path)
    if top.string(data, "schema") != _SCHEMA:
        raise top.child("schema").error(f"expected {_SCHEMA!r} (got {data['schema']!r})")
    sources = sources_of(top, data)
    figures: dict[str, CitedValue] = {}
    fw = top.child("figures")
    for name, body in top.table(data, "figures").items():
        w = fw.child(name)
        if not isinstance(body, dict):
            raise w.error("expected a table with value/unit/digits/where/source/confidence")
        w.check_keys(body, _FIGURE_KEYS)
        raw, unit, _ = w.quantity(body)
        si = _si(raw, unit)
        src = w.source(body, sources)
        figures[name] = CitedValue(
            name=name, value=si, unit=unit_dimension(unit), raw_value=raw, source_unit=unit,
            source=f"{sources[src]}, {w.string(body, 'where')}", confidence=w.confidence(body),
            note=w.string(body, "note", required=False), digits=_digits(w, body),
        )
    tables: dict[str, ReportTable] = {}
    tw = top.child("tables")
    for name, body in top.table(data, "tables", required=False).items():
        w = tw.child(name)
        if not isinstance(body, dict):
            raise w.error("expected a table with where/source/columns")
        w.check_keys(body, _TABLE_KEYS)
        src = w.source(body, sources)
        columns: dict[str, tuple[float, ...]] = {}
        units: dict[str, str] = {}
        for col, spec in w.table(body, "columns").items():
            cw = w.child("columns").child(col)
            values = spec.get("values") if isinstance(spec, dict) else None
            if not isinstance(values, list) or not values or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                raise cw.error(f"expected {{unit = ..., values = [numbers]}} (got {spec!r})")
            unit = cw.unit(spec)
            columns[col] = tuple(_si(float(v), unit) if math.isfinite(v) else math.nan for v in values)
            units[col] = unit_dimension(unit)
        if len({len(v) for v in columns.values()}) > 1:
            raise w.child("columns").error("every column must have the same number of values")
        tables[name] = ReportTable(name, MappingProxyType(columns), MappingProxyType(units),
                                   f"{sources[src]}, {w.string(body, 'where')}",
                                   w.string(body, "note", required=False))
    return MappingProxyType(figures), MappingProxyType(tables)


@cache
def _shipped() -> tuple[Mapping[str, CitedValue], Mapping[str, ReportTable]]:
    return load_report_figures(Path(str(resources.files("neurosim.energy") / "data" / REPORT_FILE)))


def report_figures() -> Mapping[str, CitedValue]:
    """Every published figure of the shipped file, by name (read once, immutable)."""
    return _shipped()[0]


def report_figure(name: str) -> CitedValue:
    """One published figure by name.

    Raises
    ------
    NotFoundError
        Unknown name; the message lists the known ones.
    """
    figures = report_figures()
    if name not in figures:
        raise unknown_name("report figure", name, figures)
    return figures[name]


def report_table(name: str) -> ReportTable:
    """One published table by name (``"table_7"``, ``"table_11"``).

    Raises
    ------
    NotFoundError
        Unknown name.
    """
    tables = _shipped()[1]
    if name not in tables:
        raise unknown_name("report table", name, tables)
    return tables[name]
