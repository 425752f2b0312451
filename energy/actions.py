"""Action counts, per-action costs and the energy they give (the Accelergy calculator).

Counts and costs are two records with the same fields, kept apart (style rule 10):

* :class:`ActionCounts` - how many times each action happens (per token in this package),
* :class:`ActionCosts` - energy of one action in J (J/byte for the byte counts) and, optionally, the
  seconds one action occupies the chip (for the static-power term),

and :func:`evaluate` multiplies them: ``energy = sum(cost[a] * count[a])`` split into compute,
memory and static parts. Energy is therefore linear in the counts by construction.

Actions
-------
``mac_fp16``        one FP16 multiply-accumulate
``mac_int8``        one INT8 multiply-accumulate (W8A8, and W8ASpike on a synchronous GPU)
``add_int8``        one spike-triggered INT8 weight accumulate (a synaptic op)
``shift``           one place-value shift (2**t) applied per spike event of a bitwise code
``spike_events``    per-event overhead: spike detection and routing of one event
``neuron_updates``  one spiking-neuron (count) update per input channel per token
``dram_bytes``      one byte of weights moved DRAM (HBM) -> on-chip SRAM
``sram_bytes``      one byte of weights moved SRAM -> processing element
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
import math
from numbers import Real
from types import MappingProxyType

from neurosim.exceptions import InputError

__all__ = [
    "ACTIONS",
    "COMPUTE_ACTIONS",
    "MEMORY_ACTIONS",
    "ActionCosts",
    "ActionCounts",
    "EnergyBreakdown",
    "evaluate",
    "missing_costs",
]

COMPUTE_ACTIONS: tuple[str, ...] = ("mac_fp16", "mac_int8", "add_int8", "shift", "spike_events",
                                    "neuron_updates")
MEMORY_ACTIONS: tuple[str, ...] = ("dram_bytes", "sram_bytes")
ACTIONS: tuple[str, ...] = COMPUTE_ACTIONS + MEMORY_ACTIONS


@dataclass(frozen=True)
class ActionCounts:
    """How often each action happens (floats: per-token averages need not be whole numbers)."""

    mac_fp16: float = 0.0
    mac_int8: float = 0.0
    add_int8: float = 0.0
    shift: float = 0.0
    spike_events: float = 0.0
    neuron_updates: float = 0.0
    dram_bytes: float = 0.0
    sram_bytes: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v) or v < 0:
                raise InputError(f"ActionCounts.{f.name} must be a finite number >= 0 (got {v!r})")
            object.__setattr__(self, f.name, float(v))

    def __add__(self, other: ActionCounts) -> ActionCounts:
        if not isinstance(other, ActionCounts):
            return NotImplemented
        return ActionCounts(**{a: getattr(self, a) + getattr(other, a) for a in ACTIONS})

    def scaled(self, factor: float) -> ActionCounts:
        """Every count multiplied by ``factor`` (>= 0)."""
        if not math.isfinite(factor) or factor < 0:
            raise InputError(f"'factor' must be a finite number >= 0 (got {factor!r})")
        return ActionCounts(**{a: getattr(self, a) * factor for a in ACTIONS})

    def to_dict(self) -> dict[str, float]:
        """Plain dict, action -> count."""
        return {a: getattr(self, a) for a in ACTIONS}


@dataclass(frozen=True)
class ActionCosts:
    """Energy per action in J (J/byte for ``dram_bytes``/``sram_bytes``); ``None`` = no figure.

    Attributes
    ----------
    static_power_w : float
        Static power in W charged over the busy time.
    seconds : Mapping[str, float]
        Seconds one action occupies the device (the throughput assumption); actions not listed take no
        time. Busy time = sum(count x seconds); static energy = static_power_w x busy time.
    notes : Mapping[str, str]
        Per action, how the figure was obtained or why it is zero.
    """

    mac_fp16: float | None = None
    mac_int8: float | None = None
    add_int8: float | None = None
    shift: float | None = None
    spike_events: float | None = None
    neuron_updates: float | None = None
    dram_bytes: float | None = None
    sram_bytes: float | None = None
    static_power_w: float = 0.0
    seconds: Mapping[str, float] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for a in ACTIONS:
            v = getattr(self, a)
            if v is not None and (isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v) or v < 0):
                raise InputError(f"ActionCosts.{a} must be a finite number >= 0 or None (got {v!r})")
            if v is not None:
                object.__setattr__(self, a, float(v))
        if not math.isfinite(self.static_power_w) or self.static_power_w < 0:
            raise InputError(f"ActionCosts.static_power_w must be >= 0 (got {self.static_power_w!r})")
        bad = sorted(set(self.seconds) - set(ACTIONS))
        if bad:
            raise InputError(f"ActionCosts.seconds has unknown action {bad[0]!r}; known: {', '.join(ACTIONS)}")
        object.__setattr__(self, "seconds", MappingProxyType(dict(self.seconds)))
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy split into compute, memory and static parts, in J.

    ``by_action`` holds each action's energy (J); ``static_j`` is static power x busy time.
    ``notes`` list what the figure leaves out (e.g. static power without a throughput figure).
    """

    compute_j: float
    memory_j: float
    static_j: float
    by_action: Mapping[str, float] = field(default_factory=dict, repr=False)
    busy_s: float = 0.0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_action", MappingProxyType(dict(self.by_action)))

    @property
    def total_j(self) -> float:
        """compute + memory + static, J."""
        return self.compute_j + self.memory_j + self.static_j

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (energies in J)."""
        return {
            "compute_j": self.compute_j, "memory_j": self.memory_j, "static_j": self.static_j,
            "total_j": self.total_j, "busy_s": self.busy_s,
            "by_action_j": dict(self.by_action), "notes": list(self.notes),
        }


def missing_costs(counts: ActionCounts, costs: ActionCosts) -> tuple[str, ...]:
    """Actions with a nonzero count but no cost figure."""
    return tuple(a for a in ACTIONS if getattr(counts, a) > 0 and getattr(costs, a) is None)


def evaluate(counts: ActionCounts, costs: ActionCosts) -> EnergyBreakdown:
    """Energy of ``counts`` at ``costs``: sum over actions of cost x count, plus static power x time.

    Raises
    ------
    InputError
        An action has a nonzero count but the costs give no figure for it (never priced as 0).
    """
    missing = missing_costs(counts, costs)
    if missing:
        raise InputError(f"no cost figure for action(s) {', '.join(missing)} with nonzero counts; "
                         "the profile does not support this workload")
    by_action = {a: getattr(counts, a) * (getattr(costs, a) or 0.0) for a in ACTIONS}
    busy = math.fsum(getattr(counts, a) * s for a, s in costs.seconds.items())
    notes: list[str] = []
    if costs.static_power_w > 0 and not costs.seconds:
        notes.append("static power not charged: the profile gives no time per action")
    return EnergyBreakdown(
        compute_j=math.fsum(by_action[a] for a in COMPUTE_ACTIONS),
        memory_j=math.fsum(by_action[a] for a in MEMORY_ACTIONS),
        static_j=costs.static_power_w * busy,
        by_action=by_action, busy_s=busy, notes=tuple(notes),
    )
