"""Execution modes: the same per-token work counted as actions four ways.

================  ===============================================================================
mode              per projection call of an ``in x out`` weight (``D = in x out`` dense MACs)
================  ===============================================================================
fp16-dense        D FP16 MACs; weights 2 bytes each
int8-dense        D INT8 MACs (W8A8); weights 1 byte each
w8aspike-gpu      W8ASpike on a synchronous GPU: the integer spike counts multiply the INT8 weights
                  densely (D INT8 MACs, no skipping), plus one neuron (count) update per input channel
w8aspike-event    event-driven: one INT8 add per spike-triggered weight addition, i.e. per synaptic
                  op = events x out (events = in x spikes per channel); one place-value shift and one
                  routing overhead per event; one neuron update per input channel; weight rows of
                  silent channels are skipped at a block granularity (see :mod:`neurosim.energy.workload`)
================  ===============================================================================

Projections whose input is not spike coded (``spiked=False``, e.g. the lm_head) and the attention
activation x activation MACs run densely at the mode's precision (FP16 in fp16-dense, INT8 otherwise).

Memory: each projection call moves its ``in x out`` weights SRAM -> PE once per token and DRAM -> SRAM
once per ``weight_reuse`` tokens (tokens of a batch sharing one fetch; 1 = batch-1 decoding, the worst
case). Event-driven skipping fetches only active blocks; over a batch of ``r`` tokens a block is
fetched from DRAM when any token needs it, assuming tokens independent: ``1 - (1 - q)**r`` for a block
active with probability ``q``. Attention state (KV cache, GLA state) is read once per token from DRAM
at the mode's activation width (2 bytes in fp16-dense, 1 byte otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import math
from numbers import Real
from typing import Literal

from neurosim.energy.actions import ActionCounts, EnergyBreakdown, evaluate, missing_costs
from neurosim.energy.profiles import _MODES, HardwareProfile
from neurosim.energy.workload import SpikeActivity, Workload
from neurosim.exceptions import InputError, unknown_name

__all__ = [
    "BYTES_PER_WEIGHT",
    "EXECUTION_MODES",
    "MODES",
    "ExecutionMode",
    "ModeResult",
    "Scope",
    "mode_counts",
    "mode_energy",
]

#: The execution modes: how the same per-token work is executed and counted (see the module docstring).
ExecutionMode = Literal["fp16-dense", "int8-dense", "w8aspike-gpu", "w8aspike-event"]
EXECUTION_MODES: tuple[str, ...] = ("fp16-dense", "int8-dense", "w8aspike-gpu", "w8aspike-event")
if EXECUTION_MODES != _MODES:  # pragma: no cover - guards the copy in profiles.py
    raise ImportError("neurosim.energy.modes.EXECUTION_MODES and neurosim.energy.profiles._MODES disagree")
#: Former name of :data:`EXECUTION_MODES`, kept so existing imports keep working.
MODES = EXECUTION_MODES

#: Bytes per stored weight in each mode.
BYTES_PER_WEIGHT: dict[str, int] = {"fp16-dense": 2, "int8-dense": 1, "w8aspike-gpu": 1, "w8aspike-event": 1}
# Attention state is stored bf16 (neurosim.counts); int8 modes are assumed to keep it in 8 bits.
_STATE_SCALE = {"fp16-dense": 1.0, "int8-dense": 0.5, "w8aspike-gpu": 0.5, "w8aspike-event": 0.5}

Scope = Literal["all", "spiked"]


def _check_mode(mode: str) -> str:
    if mode not in EXECUTION_MODES:
        raise unknown_name("execution mode", str(mode), EXECUTION_MODES, hint="energy-report --list-modes")
    return mode


def _check_reuse(weight_reuse: float) -> float:
    if isinstance(weight_reuse, bool) or not isinstance(weight_reuse, Real) \
            or not math.isfinite(weight_reuse) or weight_reuse < 1:
        raise InputError(f"'weight_reuse' must be a number >= 1 (tokens sharing one weight fetch; "
                         f"got {weight_reuse!r})")
    return float(weight_reuse)


def mode_counts(mode: str, workload: Workload, stats: SpikeActivity | None = None, *,
                block_size: int = 1, weight_reuse: float = 1.0, scope: Scope = "all") -> ActionCounts:
    """Per-token action counts of ``workload`` executed in ``mode``.

    Parameters
    ----------
    mode : str
        One of :data:`EXECUTION_MODES`.
    workload : Workload
        Per-token projections, attention MACs and state bytes.
    stats : SpikeActivity, optional
        Spike activity; required by the spike modes (default: :meth:`SpikeActivity.paper`).
    block_size : int, keyword-only
        Weight-fetch granularity in input channels for event-driven skipping (1 = per channel).
    weight_reuse : float, keyword-only
        Tokens sharing one DRAM -> SRAM weight fetch (>= 1).
    scope : {"all", "spiked"}, keyword-only
        ``"all"``: every projection plus attention; ``"spiked"``: only projections with spike-coded
        input (what the report's per-MAC claim covers).

    Returns
    -------
    ActionCounts
        Per token.
    """
    _check_mode(mode)
    if not isinstance(workload, Workload):
        raise InputError(f"'workload' must be a Workload (got {type(workload).__name__})")
    if scope not in ("all", "spiked"):
        raise InputError(f"'scope' must be 'all' or 'spiked' (got {scope!r})")
    reuse = _check_reuse(weight_reuse)
    stats = SpikeActivity.paper() if stats is None else stats
    if not isinstance(stats, SpikeActivity):
        raise InputError(f"'stats' must be a SpikeActivity (got {type(stats).__name__})")
    nbytes = BYTES_PER_WEIGHT[mode]
    c = dict.fromkeys(("mac_fp16", "mac_int8", "add_int8", "shift", "spike_events", "neuron_updates",
                       "dram_bytes", "sram_bytes"), 0.0)
    mac = "mac_fp16" if mode == "fp16-dense" else "mac_int8"
    s = stats.spikes_per_channel
    for p in workload.projections:
        if scope == "spiked" and not p.spiked:
            continue
        dense = p.macs_per_token
        weights = dense * nbytes  # bytes of weights one token's calls touch
        if mode == "w8aspike-event" and p.spiked:
            events = p.calls_per_token * p.in_features * s
            c["add_int8"] += events * p.out_features
            c["shift"] += events
            c["spike_events"] += events
            c["neuron_updates"] += p.calls_per_token * p.in_features
            q = stats.block_active_fraction(block_size, p.in_features)
            c["sram_bytes"] += weights * q
            c["dram_bytes"] += weights * (1.0 - (1.0 - q) ** reuse) / reuse
            continue
        c[mac] += dense
        if mode == "w8aspike-gpu" and p.spiked:
            c["neuron_updates"] += p.calls_per_token * p.in_features
        c["sram_bytes"] += weights
        c["dram_bytes"] += weights / reuse
    if scope == "all":
        c[mac] += workload.attention_macs
        state = workload.state_bytes * _STATE_SCALE[mode]
        c["dram_bytes"] += state
        c["sram_bytes"] += state
    return ActionCounts(**c)


@dataclass(frozen=True)
class ModeResult:
    """Energy of one mode on one profile, or the reason it does not apply.

    ``breakdown`` is None exactly when ``reason`` is non-empty; a mode that cannot run is never
    reported as zero energy.
    """

    mode: str
    profile: str
    counts: ActionCounts
    breakdown: EnergyBreakdown | None
    reason: str = ""

    @property
    def applicable(self) -> bool:
        """Whether the mode runs on the profile."""
        return self.breakdown is not None


def mode_energy(mode: str, workload: Workload, profile: HardwareProfile,
                stats: SpikeActivity | None = None, *, block_size: int = 1, weight_reuse: float = 1.0,
                scope: Scope = "all", shift_energy: float | None = None,
                event_overhead: float | None = None) -> ModeResult:
    """Per-token energy of ``workload`` in ``mode`` on ``profile``.

    Parameters
    ----------
    mode, workload, stats, block_size, weight_reuse, scope
        As in :func:`mode_counts`.
    profile : HardwareProfile
    shift_energy : float, optional, keyword-only
        J per place-value shift, replacing the profile's figure (profiles default to 0 with a note).
    event_overhead : float, optional, keyword-only
        J per spike event for detection and routing, replacing the profile's figure.

    Returns
    -------
    ModeResult
        With ``breakdown`` (J per token) or a ``reason`` when the profile cannot run the mode or has
        no figure for an action the workload needs.
    """
    if not isinstance(profile, HardwareProfile):
        raise InputError(f"'profile' must be a HardwareProfile (got {type(profile).__name__}); "
                         "use get_profile(name)")
    counts = mode_counts(mode, workload, stats, block_size=block_size, weight_reuse=weight_reuse, scope=scope)
    costs = profile.costs
    for name, value in (("shift", shift_energy), ("spike_events", event_overhead)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0:
                arg = "shift_energy" if name == "shift" else "event_overhead"
                raise InputError(f"{arg!r} must be a finite number >= 0 in J (got {value!r})")
            costs = replace(costs, **{name: float(value)},
                            notes={**costs.notes, name: f"set by the caller to {value:g} J"})
    reason = profile.unsupported_reason(mode)
    if reason is None:
        missing = missing_costs(counts, costs)
        if missing:
            reason = (f"profile {profile.name!r} has no energy figure for {', '.join(missing)} "
                      f"(needed by this workload)")
            if scope == "all":
                reason += "; scope='spiked' costs only the spike-coded projections"
    if reason is not None:
        return ModeResult(mode, profile.name, counts, None, reason)
    return ModeResult(mode, profile.name, counts, evaluate(counts, costs))
