"""Event energy of a spiking network on an event-driven chip: synapses, somas, spikes out and messages.

A neuromorphic core (Loihi, TrueNorth, SpiNNaker 2, Speck) spends energy on four kinds of event, each
counted per time step of the network (:class:`SpikeTraffic`):

``synaptic_events``  one weight accumulated into a target neuron (one input spike x its fan-out);
                     priced at the profile's ``add_int8`` cost (its per-synaptic-op energy);
``neuron_updates``   one neuron's state updated in one step (synchronous chips update every neuron
                     every step); priced at ``neuron_updates``;
``spikes_out``       one neuron firing: the soma generates a spike (param ``spike_out_energy``);
``messages``         one spike message leaving a core for a destination core: the output axon
                     looks up the route and the network carries it (param ``message_energy``); a
                     neuron whose targets sit on k cores sends k messages per spike.

The last two are profile parameters, not actions of :mod:`neurosim.energy.actions`: the transformer
modes price a token's events per projection and never see individual neurons fire. A profile that
gives no figure for a term prices it at 0 and says so in :attr:`SpikeTrafficEnergy.notes`; a profile
whose per-event figure already contains it (TrueNorth's all-in 26 pJ) states ``0`` with the reason.

Event definitions follow SANA-FE (Boyle et al., IEEE TCAD 2025; ``arch/loihi.yaml``): synapse energy per
processed spike-synapse pair, soma access and update per neuron per step, spike-out per fired neuron,
axon-out per message. Memory traffic of weights and neuron state is priced separately
(:mod:`neurosim.energy.memory_traffic`).

Examples
--------
>>> from neurosim.energy.profiles import get_profile
>>> t = SpikeTraffic(synaptic_events=2560, neuron_updates=266, spikes_out=30, messages=40, steps=1)
>>> e = price_spike_traffic(t, get_profile("loihi"))
>>> e.total_j > 0
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import math
from types import MappingProxyType
from typing import Any

import numpy as np

from neurosim.exceptions import InputError, ShapeError

__all__ = [
    "SpikeTraffic",
    "SpikeTrafficEnergy",
    "count_spike_traffic",
    "price_spike_traffic",
]

_TERMS = ("synaptic_events", "neuron_updates", "spikes_out", "messages")


@dataclass(frozen=True)
class SpikeTraffic:
    """Event counts of a spiking network run (totals over ``steps`` time steps)."""

    synaptic_events: float
    neuron_updates: float
    spikes_out: float
    messages: float
    steps: int = 1

    def __post_init__(self) -> None:
        for name in _TERMS:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating) \
                    or not math.isfinite(v) or v < 0:
                raise InputError(f"SpikeTraffic.{name} must be a finite number >= 0 (got {v!r})")
            object.__setattr__(self, name, float(v))
        if isinstance(self.steps, bool) or not isinstance(self.steps, int | np.integer) or self.steps <= 0:
            raise InputError(f"SpikeTraffic.steps must be an integer > 0 (got {self.steps!r})")

    def to_dict(self) -> dict[str, float]:
        return {**{n: getattr(self, n) for n in _TERMS}, "steps": self.steps}


@dataclass(frozen=True)
class SpikeTrafficEnergy:
    """Energy of a :class:`SpikeTraffic` on one profile, in J (totals over the run)."""

    profile: str
    by_term: Mapping[str, float]
    per_event: Mapping[str, float]
    steps: int
    notes: tuple[str, ...] = ()
    traffic: SpikeTraffic | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_term", MappingProxyType(dict(self.by_term)))
        object.__setattr__(self, "per_event", MappingProxyType(dict(self.per_event)))

    @property
    def total_j(self) -> float:
        return math.fsum(self.by_term.values())

    @property
    def per_step_j(self) -> float:
        return self.total_j / self.steps

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "total_j": self.total_j, "per_step_j": self.per_step_j,
                "by_term_j": dict(self.by_term), "per_event_j": dict(self.per_event), "steps": self.steps,
                "notes": list(self.notes)}


def count_spike_traffic(spikes: Sequence[np.ndarray], fan_out: Sequence[int], *,
                        dest_cores: Sequence[int] | None = None,
                        input_layer: bool = True) -> SpikeTraffic:
    """Count events from the spike trains of a feed-forward chain of neuron populations.

    Parameters
    ----------
    spikes : sequence of array, each [steps, neurons] (bool or 0/1)
        Spike trains of each population in order: ``spikes[0]`` is the input population (its spikes
        come from outside when ``input_layer``; they cost messages and synaptic events but no soma
        work), the last is the output population.
    fan_out : sequence of int
        Targets of each population's neurons (``fan_out[i]`` for ``spikes[i]``); 0 for the output.
    dest_cores : sequence of int, optional
        Cores each population's targets are spread over (messages per spike); default 1 for every
        population with a fan-out, 0 for the last.
    input_layer : bool
        Whether ``spikes[0]`` is an external input (no neuron updates or spike-out for it).

    Returns
    -------
    SpikeTraffic
        Synaptic events = sum_i spikes_i x fan_out_i; neuron updates = every non-input neuron every
        step; spikes out = spikes of the non-input populations; messages = sum_i spikes_i x dest_cores_i.
    """
    if len(spikes) != len(fan_out) or not spikes:
        raise ShapeError(f"'spikes' and 'fan_out' need one entry per population "
                         f"(got {len(spikes)} and {len(fan_out)})")
    arrays = [np.asarray(s) for s in spikes]
    steps = {a.shape[0] if a.ndim == 2 else -1 for a in arrays}
    if len(steps) != 1 or -1 in steps:
        raise ShapeError("every spike train must be 2-D [steps, neurons] with the same number of steps "
                         f"(got shapes {[a.shape for a in arrays]})")
    cores = list(dest_cores) if dest_cores is not None else [1 if f > 0 else 0 for f in fan_out]
    if len(cores) != len(arrays):
        raise ShapeError(f"'dest_cores' needs one entry per population (got {len(cores)})")
    n_spk = [float(np.count_nonzero(a)) for a in arrays]
    first = 1 if input_layer else 0
    return SpikeTraffic(
        synaptic_events=math.fsum(n * f for n, f in zip(n_spk, fan_out, strict=True)),
        neuron_updates=float(sum(a.shape[0] * a.shape[1] for a in arrays[first:])),
        spikes_out=math.fsum(n_spk[first:]),
        messages=math.fsum(n * c for n, c in zip(n_spk, cores, strict=True)),
        steps=int(steps.pop()),
    )


def _param(profile: Any, name: str) -> float | None:
    p = profile.params.get(name)
    return None if p is None else float(p.value)


def price_spike_traffic(traffic: SpikeTraffic, profile: Any, *,
                        overrides: Mapping[str, float] | None = None) -> SpikeTrafficEnergy:
    """Energy of ``traffic`` on ``profile`` (a :class:`~neurosim.energy.profiles.HardwareProfile`).

    Parameters
    ----------
    traffic : SpikeTraffic
    profile : HardwareProfile
    overrides : mapping, optional
        Per-event energies in J replacing the profile's, keyed by term (``"messages": 111e-12``).

    Raises
    ------
    InputError
        The profile has no synaptic-op figure (``add_int8``) while there are synaptic events.
    """
    overrides = dict(overrides or {})
    bad = sorted(set(overrides) - set(_TERMS))
    if bad:
        raise InputError(f"unknown term {bad[0]!r} in 'overrides'; known: {', '.join(_TERMS)}")
    notes: list[str] = []
    costs = profile.costs
    per_event: dict[str, float] = {}
    per_event["synaptic_events"] = costs.add_int8 if costs.add_int8 is not None else math.nan
    per_event["neuron_updates"] = costs.neuron_updates if costs.neuron_updates is not None else math.nan
    for term, param in (("spikes_out", "spike_out_energy"), ("messages", "message_energy")):
        v = _param(profile, param)
        if v is None:
            notes.append(f"{term} not priced: profile {profile.name!r} gives no {param!r}")
            v = 0.0
        per_event[term] = v
    per_event.update({k: float(v) for k, v in overrides.items()})
    for term in ("synaptic_events", "neuron_updates"):
        if math.isnan(per_event[term]):
            if getattr(traffic, term) > 0:
                raise InputError(f"profile {profile.name!r} has no figure for {term} "
                                 f"({'add_int8' if term == 'synaptic_events' else 'neuron_updates'})")
            per_event[term] = 0.0
    by_term = {t: getattr(traffic, t) * per_event[t] for t in _TERMS}
    return SpikeTrafficEnergy(profile=profile.name, by_term=by_term, per_event=per_event,
                              steps=traffic.steps, notes=tuple(notes), traffic=traffic)
