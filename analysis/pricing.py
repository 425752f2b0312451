"""Price profiled projections on hardware profiles and execution modes.

:func:`price_layers` turns the per-layer engine tallies of a profiled forward pass
(:class:`~neurosim.analysis.torch_profile.LayerProfile`) into joules per (mode, profile) with
:func:`neurosim.energy.modes.mode_energy`; :func:`energy_choices` validates the modes and profiles a
caller asked for before any work is done. Imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neurosim.energy.modes import EXECUTION_MODES, mode_energy
from neurosim.energy.workload import SpikeStatistics, Workload
from neurosim.exceptions import unknown_name

from neurosim.analysis._torch_hooks import profile_names

if TYPE_CHECKING:  # only for annotations: torch_profile imports this module
    from neurosim.analysis.torch_profile import LayerProfile

__all__ = ["energy_choices", "price_layers"]


def energy_choices(modes: Any, profiles: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Validated ``(modes, profiles)``: ``modes`` None means every execution mode; no profile means
    nothing is priced (both empty).

    Raises
    ------
    NotFoundError
        Unknown mode or hardware profile.
    """
    names = profile_names(profiles)
    if not names:  # nothing to price: energy is not consulted at all
        return (), ()
    chosen = EXECUTION_MODES if modes is None else ((modes,) if isinstance(modes, str) else tuple(modes))
    for m in chosen:
        if m not in EXECUTION_MODES:
            raise unknown_name("execution mode", str(m), EXECUTION_MODES)
    return tuple(chosen), names


def price_layers(label: str, layers: Sequence[LayerProfile], modes: Sequence[str],
                 profiles: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """Energy of the profiled projections per (mode, profile), summed over layers, in J.

    Each layer is priced by :func:`neurosim.energy.modes.mode_energy` as a one-projection workload with the
    layer's measured :class:`~neurosim.energy.workload.SpikeStatistics` (from its tally), per token, times
    the layer's token count (all rows, sampled or not). Rows of one forward call share one weight
    fetch from DRAM (``weight_reuse`` = rows per call). Only ``nn.Linear`` projections are priced:
    attention score products, norms and skipped layers are not. A mode the profile cannot run, or
    an action it has no figure for, gives None energies and the ``reason``; never 0.
    """
    if not profiles or not modes or not layers:
        return ()
    work = [(lay, Workload.single(lay.in_features, lay.out_features, name=lay.name),
             SpikeStatistics.from_tally(lay.tally), max(1.0, lay.tokens / lay.calls)) for lay in layers]
    records = []
    from neurosim.energy.profile_overrides import as_profile

    for spec in profiles:
        prof = as_profile(spec)  # a shipped name or a user's HardwareProfile
        pname = prof.name
        for mode in modes:
            parts = np.zeros(3)
            reason = ""
            for lay, wl, stats, reuse in work:
                res = mode_energy(mode, wl, prof, stats, weight_reuse=reuse)
                if res.breakdown is None:
                    reason = res.reason
                    break
                br = res.breakdown
                parts += np.array([br.compute_j, br.memory_j, br.static_j]) * lay.tokens
            rec: dict[str, Any] = {"model": label, "mode": mode, "profile": pname}
            if reason:
                rec.update(compute_j=None, memory_j=None, static_j=None, total_j=None, reason=reason)
            else:
                rec.update(compute_j=float(parts[0]), memory_j=float(parts[1]),
                           static_j=float(parts[2]), total_j=float(parts.sum()), reason="")
            records.append(rec)
    return tuple(records)
