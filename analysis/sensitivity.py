"""How much each profile's energy depends on its disputed figures.

The data files keep every figure the sources disagree on (``[[params.<name>.alternatives]]``: Loihi 23.6 pJ
(Davies 2018) vs 35.5 pJ (SANA-FE) per synaptic op, SpiNNaker 2 10 vs 450 pJ, ...). A profile's default
total rests on one choice each; :func:`energy_sensitivity` reports the range its total spans over them, so
a reader sees which figures are contested and by how much.

Method: each disputed parameter is set to each of its alternatives, one at a time, and the pricing rerun;
the low (high) end combines, per parameter, the value that gave the lowest (highest) total. Energy is
linear in each per-action figure, so for energies this combination is the true extreme over all
combinations; parameters with another effect (utilisation, rates) are treated the same way, one
direction each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from neurosim.energy.profile_overrides import as_profile
from neurosim.energy.system import system_records

__all__ = ["energy_sensitivity", "model_energy_sensitivity"]

Pricer = Callable[[Sequence[Any]], Sequence[Mapping[str, Any]]]


def _totals(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in records:
        if r.get("total_j") is None:
            continue
        mode = str(r.get("mode", "snn-event"))
        out[mode] = out.get(mode, 0.0) + float(r["total_j"])
    return out


def energy_sensitivity(price: Pricer, profiles: Sequence[Any]) -> list[dict[str, Any]]:
    """Range of each profile's total energy over the disputed alternatives in its data file.

    Parameters
    ----------
    price : callable
        ``price([profile]) -> records``, each record with ``total_j`` (None when not priced) and optionally
        ``mode``; totals of one mode are summed.
    profiles : sequence of HardwareProfile or str
        Profiles as priced by ``price`` (names, paths or loaded profiles).

    Returns
    -------
    list of dict
        One record per (profile, mode) with ``profile``, ``mode``, ``total_j`` (default figures),
        ``low_j``, ``high_j``, ``spread`` (high / low) and ``disputed`` (the parameters with alternatives and
        their values, e.g. ``"synop_energy: 23.6 pJ (default), 35.5 pJ"``); low = high = default when the
        profile has no disputed figure.
    """
    rows: list[dict[str, Any]] = []
    for spec in profiles:
        prof = as_profile(spec)
        base = _totals(price([prof]))
        disputed = {n: p for n, p in prof.params.items() if p.alternatives}
        # Per mode and parameter: every value tried with its total, the default included.
        tried: dict[str, dict[str, list[tuple[float, float]]]] = {m: {} for m in base}
        for name, param in disputed.items():
            for m in base:
                tried[m].setdefault(name, []).append((param.value, base[m]))
            for alt in param.alternatives:
                if alt.unit != param.unit:
                    continue
                totals = _totals(price([prof.with_params(**{name: alt.value})]))
                for m, t in totals.items():
                    if m in tried:
                        tried[m].setdefault(name, []).append((alt.value, t))
        labels = "; ".join(
            f"{n}: {p.raw_value:g} {p.source_unit} (default), "
            + ", ".join(f"{a.raw_value:g} {a.source_unit}" for a in p.alternatives)
            for n, p in disputed.items())
        for mode, default in base.items():
            ends = []
            for pick in (min, max):
                chosen = {n: pick(vals, key=lambda v: v[1])[0] for n, vals in tried[mode].items()}
                if not chosen:
                    ends.append(default)
                    continue
                ends.append(_totals(price([prof.with_params(**chosen)])).get(mode, default))
            low, high = min(ends[0], default), max(ends[1], default)
            rows.append({"profile": prof.name, "mode": mode, "total_j": default, "low_j": low, "high_j": high,
                         "spread": high / low if low > 0 else float("nan"), "disputed": labels or "none"})
    return rows


def model_energy_sensitivity(model_counts: Any, profiles: Sequence[Any], *, records: Callable[..., Any] | None = None,
                             **options: Any) -> list[dict[str, Any]]:
    """:func:`energy_sensitivity` of a per-token energy model (J per token).

    Parameters
    ----------
    model_counts : ModelCounts, ModelConfig or model name
    profiles : sequence of HardwareProfile or str
    records : callable, optional
        ``records([model], profiles=..., **options) -> {"rows": [...]}``: the energy model whose totals are
        varied, default :func:`neurosim.energy.system.system_records` (the default job's).
    **options
        Passed to ``records`` (``stats``, ``context``, ``scope``, ...).
    """
    records = system_records if records is None else records

    def price(ps: Sequence[Any]) -> Sequence[Mapping[str, Any]]:
        return records([model_counts], profiles=list(ps), **options)["rows"]

    return energy_sensitivity(price, profiles)
