"""Price profiled projections on hardware profiles and execution modes.

:func:`price_layers` turns the per-layer engine tallies of a profiled forward pass
(:class:`~neurosim.analysis.torch_profile.LayerProfile`) into joules per (mode, profile) with
:func:`neurosim.energy.system.system_energy`; :func:`energy_choices` validates the modes and profiles a
caller asked for before any work is done. Imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neurosim.energy.memory_traffic import snn_memory_traffic
from neurosim.energy.modes import EXECUTION_MODES
from neurosim.energy.profile_overrides import as_profile
from neurosim.energy.system import system_energy
from neurosim.energy.workload import SpikeActivity, Workload
from neurosim.exceptions import InputError, MissingFigureError, unknown_name

from neurosim.analysis._torch_hooks import profile_names

if TYPE_CHECKING:  # only for annotations: torch_profile imports this module
    from neurosim.analysis.torch_profile import LayerProfile

__all__ = ["energy_choices", "price_layers"]

# Modes whose projection inputs are spiking neurons (one count update per input channel per token).
_SPIKING_MODES = ("w8aspike-event", "w8aspike-gpu")


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

    Each layer is priced by the system model (:func:`neurosim.energy.system.system_energy`) as a
    one-projection workload with the layer's measured spike activity (from its tally), per token, times
    the layer's token count (all rows, sampled or not). Rows of one forward call share one weight fetch
    (they are the batch of a step). Static energy = static power x the summed time of the layers x the
    chips (GPUs: the most any layer needs; event-driven chips: every layer's own). ``seconds`` is the
    device time of the forward pass, ``chips`` the chips assumed. Only ``nn.Linear`` projections are
    priced: attention score products, norms and skipped layers are not. A mode the profile cannot run,
    or a figure it lacks, gives None energies and the ``reason``; never 0. Memory: weight bytes per
    fetched row block come from the mode's counts; spiking modes add one read and one write of each
    input neuron's state per update (``memory_traffic`` in the record; zero with the reason where the
    profile's neuron-update energy already holds it).
    """
    if not profiles or not modes or not layers:
        return ()
    # Rows of one forward call share one weight fetch: they are the batch of a system step.
    work = [(lay, Workload.single(lay.in_features, lay.out_features, name=lay.name),
             SpikeActivity.from_tally(lay.tally), max(1, round(lay.tokens / lay.calls))) for lay in layers]
    records = []
    for spec in profiles:
        prof = as_profile(spec)  # a shipped name or a user's HardwareProfile
        pname = prof.name
        for mode in modes:
            parts = np.zeros(3)  # compute, memory, inter-chip (J)
            seconds, chips, reason, static_w = 0.0, [], "", 0.0
            for lay, wl, stats, batch in work:
                reason = prof.unsupported_reason(mode) or ""
                if reason:
                    break
                try:
                    r = system_energy(wl, mode=mode, profile=prof, stats=stats, batch=batch, scope="all")
                except (InputError, MissingFigureError) as exc:
                    reason = str(exc)
                    break
                parts += np.array([r.compute_j, r.memory_j, r.interchip_j]) * lay.tokens
                if r.seconds_per_token is not None:
                    seconds += r.seconds_per_token * lay.tokens
                if r.chips is not None:
                    chips.append(r.chips)
                    static_w = max(static_w, r.static_power_w / r.chips)
            mem = None
            if not reason and mode in _SPIKING_MODES:
                # weight reads per fetched row block are in the mode's counts; add each spiking neuron's
                # state read + write per update (neurosim.energy.memory_traffic), at the profile's level
                try:
                    mem = snn_memory_traffic(synaptic_events=0.0, neuron_updates=float(
                        sum(lay.tokens * lay.in_features for lay in layers)), profile=prof)
                except InputError as exc:
                    reason = str(exc)
                else:
                    parts[1] += mem.total_j
            rec: dict[str, Any] = {"model": label, "mode": mode, "profile": pname,
                                   "memory_traffic": None if mem is None else mem.to_dict()}
            if reason:
                rec.update(compute_j=None, memory_j=None, static_j=None, interchip_j=None, total_j=None,
                           seconds=None, chips=None, reason=reason)
            else:
                # GPUs hold every layer at once (the largest need); event-driven chips hold each layer on its
                # own chips, all of which draw static power for the whole forward pass.
                n = (max(chips) if prof.kind == "gpu" else sum(chips)) if chips else None
                static = static_w * (n or 0) * seconds
                rec.update(compute_j=float(parts[0]), memory_j=float(parts[1]), static_j=float(static),
                           interchip_j=float(parts[2]), total_j=float(parts.sum() + static),
                           seconds=seconds if chips else None, chips=n, reason="")
            records.append(rec)
    return tuple(records)
