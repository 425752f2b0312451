"""Memory traffic of a spiking network: weight reads and neuron-state reads and writes, priced per level.

A spiking layer does little arithmetic per event, so the bytes it moves decide much of its energy
(SpikingJelly's Simple and Lemaire models put ~99% of a small SNN's energy in memory). This module
counts those bytes and prices them at the memory level where the profile keeps them:

* **weight reads**: one weight per synaptic event (``granularity="synapse"``: an input spike reads the
  row entries of its fan-out), or whole rows (``granularity="row"``: a spike fetches its full weight
  row of ``row_bytes`` even where targets are pruned or blocked), plus one weight per dense-input MAC;
* **neuron state**: one read and one write of each neuron's state (``neuron_state_bytes``) per update.

The level is the profile's on-chip SRAM (``sram_bytes``) for event-driven and idealised profiles and
HBM/DRAM (``dram_bytes``) for GPUs. Where the profile's per-event figure already contains the access
(Loihi's synop energy includes its synaptic SRAM read, its neuron-update energy the compartment state;
the cost file says so with a zero and a reason) the bytes are still reported and priced at 0 with that
reason, so nothing is counted twice.

Comparison with SpikingJelly 2.0 (``activation_based.op_counter``)
------------------------------------------------------------------
* **Simple** (``simple_energy.py`` with ``NeuromorphicMemoryAccessCounter``): weight reads = spike x
  fan-out x the runtime dtype size for binary inputs (dense count for non-binary inputs), bias reads
  once per output element per step, neuron state one read + one write per step of every state tensor
  (runtime dtype, e.g. 4 bytes for float32); every byte at one flat 24.96 pJ/byte (STEP's 3.12 pJ/bit),
  no hierarchy; routing, addressing and spike output are outside it. neurosim's ``synapse`` granularity
  counts the same weight reads, but in the bytes of the precision the profile prices (INT8 synaptic
  ops, FP16 MACs) rather than the framework's float32, prices them at the profile's own memory level,
  and does not count bias reads (biases are folded into neuron updates).
* **Lemaire et al. 2022** (``lemaire_addressing.py`` + analytical energy): arithmetic plus addressing
  operations per synaptic event plus SRAM access energy that grows with the memory size holding the
  layer. neurosim charges no separate addressing term (the per-event energies of measured chips
  include it) and takes the per-byte cost from the profile rather than from a size law.

Examples
--------
>>> from neurosim.energy.profiles import get_profile
>>> m = snn_memory_traffic(synaptic_events=1000, neuron_updates=100, profile=get_profile("paper-45nm"))
>>> m.weight_read_bytes, m.state_read_bytes, m.state_write_bytes
(1000.0, 400.0, 400.0)
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

from neurosim.exceptions import InputError

__all__ = [
    "DEFAULT_STATE_BYTES",
    "GRANULARITIES",
    "MemoryTraffic",
    "memory_level",
    "snn_memory_traffic",
]

#: Weight fetch granularities: per synaptic event, or per fetched weight row.
GRANULARITIES: tuple[str, ...] = ("synapse", "row")

#: Bytes of neuron state per neuron when the profile states none: one float32 membrane potential
#: (snntorch's Leaky and SpikingJelly's LIF keep float32 state).
DEFAULT_STATE_BYTES: float = 4.0


@dataclass(frozen=True)
class MemoryTraffic:
    """Bytes moved and their energy on one profile (J; totals over the run)."""

    profile: str
    level: str
    weight_read_bytes: float
    state_read_bytes: float
    state_write_bytes: float
    cost_per_byte: float
    weight_j: float
    state_j: float
    notes: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> float:
        return self.weight_read_bytes + self.state_read_bytes + self.state_write_bytes

    @property
    def total_j(self) -> float:
        return self.weight_j + self.state_j

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "level": self.level, "weight_read_bytes": self.weight_read_bytes,
                "state_read_bytes": self.state_read_bytes, "state_write_bytes": self.state_write_bytes,
                "total_bytes": self.total_bytes, "cost_per_byte_j": self.cost_per_byte,
                "weight_j": self.weight_j, "state_j": self.state_j, "total_j": self.total_j,
                "notes": list(self.notes)}


def memory_level(profile: Any) -> str:
    """Where ``profile`` keeps a spiking network's weights and state: ``"dram"`` on a GPU, else ``"sram"``."""
    return "dram" if getattr(profile, "kind", "") == "gpu" else "sram"


def _count(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise InputError(f"{name!r} must be a finite number >= 0 (got {v!r})")
    return float(v)


def snn_memory_traffic(*, synaptic_events: float, neuron_updates: float, profile: Any,
                       dense_macs: float = 0.0, weight_bytes: float = 1.0, mac_weight_bytes: float = 2.0,
                       state_bytes: float | None = None, granularity: str = "synapse",
                       input_events: float = 0.0, row_bytes: float = 0.0) -> MemoryTraffic:
    """Weight and neuron-state traffic of a spiking run, priced on ``profile``.

    Parameters
    ----------
    synaptic_events : float
        Spike x fan-out pairs (synaptic ops).
    neuron_updates : float
        Neuron state updates (neurons x steps x batch on a clock-driven chip).
    profile : HardwareProfile
    dense_macs : float
        Dense-input MACs (a first layer fed real values); each reads one weight of ``mac_weight_bytes``.
    weight_bytes : float
        Bytes per synaptic weight (1: the INT8 weights the synaptic-op energy assumes).
    mac_weight_bytes : float
        Bytes per weight of a dense-input MAC (2: FP16, as the MAC energy assumes).
    state_bytes : float, optional
        Bytes of state per neuron; default: the profile's ``neuron_state_bytes``, else
        :data:`DEFAULT_STATE_BYTES`.
    granularity : {"synapse", "row"}
        ``"row"``: every input event fetches a whole row of ``row_bytes`` instead of one weight per
        synaptic event.
    input_events, row_bytes : float
        Input spike events and bytes per weight row, for ``granularity="row"``.

    Raises
    ------
    InputError
        Negative counts, unknown granularity, ``row`` without ``row_bytes``, or a profile with no
        per-byte figure for its memory level (the message names the profile file).
    """
    if granularity not in GRANULARITIES:
        raise InputError(f"'granularity' must be one of {', '.join(GRANULARITIES)} (got {granularity!r})")
    syn, upd, macs = (_count("synaptic_events", synaptic_events), _count("neuron_updates", neuron_updates),
                      _count("dense_macs", dense_macs))
    notes: list[str] = []
    if granularity == "row":
        if not row_bytes > 0:
            raise InputError("granularity='row' needs 'row_bytes' > 0 (bytes of one weight row)")
        weight_read = _count("input_events", input_events) * float(row_bytes)
    else:
        weight_read = syn * _count("weight_bytes", weight_bytes)
    weight_read += macs * _count("mac_weight_bytes", mac_weight_bytes)
    if state_bytes is None:
        p = profile.params.get("neuron_state_bytes")
        if p is not None:
            state_bytes = float(p.value)
        else:
            state_bytes = DEFAULT_STATE_BYTES
            notes.append(f"neuron state assumed {DEFAULT_STATE_BYTES:g} bytes per neuron (float32): "
                         f"profile {profile.name!r} states no neuron_state_bytes")
    state = upd * _count("state_bytes", state_bytes)
    level = memory_level(profile)
    cost = getattr(profile.costs, f"{level}_bytes")
    if cost is None:
        raise InputError(f"profile {profile.name!r} gives no {level}_bytes cost for the {level} that holds "
                         f"a spiking network's weights and state; add one under [costs] in {profile.path}")
    if cost == 0.0:
        why = profile.costs.notes.get(f"{level}_bytes", "")
        if why.startswith("0 (") and why.endswith(")"):
            why = why[3:-1]
        notes.append(f"{level} traffic priced at 0 on {profile.name!r}: {why}".rstrip(": "))
    return MemoryTraffic(profile=profile.name, level=level, weight_read_bytes=weight_read,
                         state_read_bytes=state, state_write_bytes=state, cost_per_byte=cost,
                         weight_j=weight_read * cost, state_j=2.0 * state * cost, notes=tuple(notes))
