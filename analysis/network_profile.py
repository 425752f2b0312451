"""Counts and energy of a simulated spiking network (a NIR graph run by :func:`neurosim.network.simulate`).

Per node: synaptic events, neuron updates, output spikes, memory traffic and NeuroBench's ``Dense`` /
``Effective_MACs`` / ``Effective_ACs``; per hardware profile: the energy of the whole run (all steps
and samples) with a system model of the same definitions as :mod:`neurosim.energy.system`.

Pricing
-------
Event-driven profiles (``neuromorphic``, ``ideal-asynchronous``) run the network as simulated:
``add_int8`` = synaptic events of layers fed binary spikes (and of pooling layers), ``mac_int8`` =
synaptic events of layers fed graded values (a profile without a MAC figure cannot run those and is
reported as skipped with the reason), ``spike_events`` = spikes emitted (input spikes included),
``neuron_updates`` = neuron updates; memory: ``sram_bytes`` = weights read per event x
``weight_bytes`` + state values read and written per update x ``state_bytes`` (priced at the
profile's SRAM figure, zero where the per-event figure already holds the access).
System terms (event-driven chips, profile parameters as in :mod:`neurosim.energy.system`): synaptic
layers are placed on chips greedily in order, each needing ``synapses x weight_bytes`` of
``synaptic_memory``, its target neurons of ``neurons_per_chip`` and its synapses of
``synapses_per_chip`` (convolutions are counted unrolled, one synapse per input-output-tap pair, as
on chips without weight sharing); a layer larger than a chip is split over consecutive chips. Every
input event of a layer placed on chips other than its source's is an inter-chip message priced at
``interchip_energy``. Busy time = sum over layers of events / (event rate x chips of the layer);
static energy = static power x chips x busy time.

GPU profiles run the network densely in FP16 (``fp16-dense``): ``mac_fp16`` = NeuroBench Dense
operations (pooling: one add per input), ``neuron_updates``, and HBM traffic = every weight once per
step (the batch shares it) x 2 bytes + state values x 2 bytes. Step time is the largest of compute,
memory and power-limit time with the ``stack`` preset's efficiencies, as in
:mod:`neurosim.energy.system`; static energy = idle power x GPUs x time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
import math
from typing import Any

import numpy as np

from neurosim.energy.actions import ACTIONS, ActionCounts, evaluate, missing_costs
from neurosim.energy.profiles import HardwareProfile, get_profile, list_profiles
from neurosim.energy.system import ChipPacker, get_stack
from neurosim.exceptions import InputError
from neurosim.network import SPIKING_KINDS, Network, SimulationResult

__all__ = ["NetworkProfile", "node_action_counts", "profile_network"]

_FLOP_PER_MAC = 2.0
_NEURON_UPDATE_OPS = 3.0
_CONNECTION = ("linear", "affine", "conv1d", "conv2d")
_POOL = ("sumpool2d", "avgpool2d")


@dataclass(frozen=True)
class NetworkProfile:
    """Counts and energy of one simulated run.

    Attributes
    ----------
    nodes : list of dict
        One row per node (in execution order): ``node``, ``kind``, ``path``, the
        :class:`~neurosim.network.NodeCounts` fields, ``spike_rate`` (output spikes per neuron and
        step), ``weight_bytes_read``, ``state_bytes`` and ``energy_j[profile]`` (dynamic energy of
        the node on each priced profile, J).
    energy : list of dict
        One row per priced profile: ``profile``, ``kind``, ``mode``, ``compute_j``, ``memory_j``,
        ``static_j``, ``interchip_j``, ``total_j``, ``chips``, ``chips_limited_by``,
        ``interchip_messages``, ``busy_s``, ``j_per_sample``, ``notes``.
    skipped : list of dict
        Profiles that cannot run the network: ``profile``, ``reason``.
    steps, batch : int
    dt : float
        Simulation step, s.
    assumptions : dict
        Bytes per weight and state value, stack preset.
    """

    nodes: list[dict[str, Any]]
    energy: list[dict[str, Any]]
    skipped: list[dict[str, str]]
    steps: int
    batch: int
    dt: float
    assumptions: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"steps": self.steps, "batch": self.batch, "dt_s": self.dt, "assumptions": self.assumptions,
                "nodes": self.nodes, "energy": self.energy, "skipped": self.skipped}


def _weights(network: Network, name: str) -> int:
    node = network.nodes[name]
    if node.kind in _CONNECTION:
        return int(np.asarray(node.params["weight"]).size)
    return 0


def node_action_counts(network: Network, result: SimulationResult, name: str, *, kind: str,
                       weight_bytes: float = 1.0, state_bytes: float = 2.0) -> ActionCounts:
    """Actions of node ``name`` over the run on a profile of ``kind`` (``gpu`` or event-driven).

    See the module docstring for the definitions.
    """
    c = result.counts[name]
    k = c.kind
    if kind == "gpu":
        rows = result.steps * result.batch
        macs = c.dense_ops if k in _CONNECTION else (rows * math.prod(network.in_shapes[name])
                                                     if k in _POOL + ("scale",) else 0)
        dram = _weights(network, name) * 2.0 * result.steps + c.state_words * 2.0
        return ActionCounts(mac_fp16=macs, neuron_updates=c.neuron_updates, dram_bytes=dram)
    add = mac = 0
    if k in _CONNECTION + _POOL:
        if c.path == "event" or k in _POOL:
            add = c.synaptic_events
        else:
            mac = c.synaptic_events
    elif k == "scale":
        mac = c.synaptic_events
    spikes = c.output_spikes if k in SPIKING_KINDS + ("threshold", "input") else 0
    sram = c.weights_read * weight_bytes if k in _CONNECTION else 0.0
    sram += c.state_words * state_bytes
    return ActionCounts(add_int8=add, mac_int8=mac, spike_events=spikes, neuron_updates=c.neuron_updates,
                        sram_bytes=sram)


def _param(profile: HardwareProfile, name: str) -> float | None:
    p = profile.params.get(name)
    return float(p.value) if p is not None and p.value > 0 else None


def _event_rate(profile: HardwareProfile) -> float | None:
    rate = _param(profile, "synop_rate")
    if rate is None and _param(profile, "synop_time") and _param(profile, "cores"):
        rate = _param(profile, "cores") / _param(profile, "synop_time")
    return rate


def _chips(network: Network, result: SimulationResult, profile: HardwareProfile, weight_bytes: float,
           notes: list[str]) -> dict[str, Any]:
    mem = _param(profile, "synaptic_memory")
    rate = _event_rate(profile)
    if mem is None or rate is None:
        notes.append("no synaptic_memory or event rate in the profile: one chip, no busy time, no static energy")
        return {"chips": 1, "limited_by": "-", "messages": 0.0, "busy_s": 0.0}
    npc, spc = _param(profile, "neurons_per_chip"), _param(profile, "synapses_per_chip")
    rows = result.steps * result.batch
    packer, busy, messages = ChipPacker(), 0.0, 0.0
    limits = {"synaptic_memory": 0.0, "neurons_per_chip": 0.0, "synapses_per_chip": 0.0}
    last_of: dict[str, int] = {}
    for name in network.order:
        c = result.counts[name]
        preds = network.predecessors[name]
        source = max((last_of.get(p, 0) for p in preds), default=0)
        if c.kind not in _CONNECTION + _POOL:
            last_of[name] = source
            continue
        synapses = c.dense_ops / rows if c.kind in _CONNECTION else float(math.prod(network.in_shapes[name]))
        need = {"synaptic_memory": synapses * weight_bytes / mem if c.kind in _CONNECTION else 0.0,
                "neurons_per_chip": c.neurons / npc if npc else 0.0,
                "synapses_per_chip": synapses / spc if spc else 0.0}
        for key, v in need.items():
            limits[key] += v
        units = max(need.values())
        first, last = packer.place(units)
        k = last - first + 1
        busy += c.synaptic_events / (rate * k)
        messages += c.input_events * sum(1 for ch in range(first, last + 1) if ch != source)
        last_of[name] = last
    return {"chips": packer.chips, "limited_by": max(limits, key=lambda key: limits[key]), "messages": messages,
            "busy_s": busy}


def _gpu_time(profile: HardwareProfile, counts: ActionCounts, dyn_j: float, stack: Any, weights_bytes: float,
              notes: list[str]) -> tuple[float, int]:
    peak = _param(profile, "peak_fp16")
    bw = _param(profile, "hbm_bandwidth")
    board = _param(profile, "board_power")
    idle = profile.costs.static_power_w
    cap = _param(profile, "hbm_capacity")
    if peak is None or bw is None:
        notes.append("no peak_fp16 or hbm_bandwidth in the profile: no time, no static energy")
        return 0.0, 1
    gpus = max(1, math.ceil(weights_bytes / cap)) if cap else 1
    ce, be = stack.compute_efficiency, stack.bandwidth_efficiency
    times = {"compute": (_FLOP_PER_MAC * counts.mac_fp16 + _NEURON_UPDATE_OPS * counts.neuron_updates) / (peak * ce * gpus),
             "memory": counts.dram_bytes / (bw * be * gpus)}
    if board and board > idle:
        times["power"] = dyn_j / ((board - idle) * gpus)
    bound = max(times, key=lambda k: times[k])
    notes.append(f"stack {stack.name}: {ce:g} of peak compute, {be:g} of HBM bandwidth; bound by {bound}")
    return times[bound], gpus


def profile_network(network: Network, result: SimulationResult, *, profiles: Sequence[str | HardwareProfile] | None = None,
                    weight_bytes: float = 1.0, state_bytes: float = 2.0, stack: str = "eager") -> NetworkProfile:
    """Count and price a simulated run on every profile (default: all shipped profiles).

    Parameters
    ----------
    network : Network
    result : SimulationResult
        :func:`neurosim.network.simulate` of ``network``.
    profiles : sequence of str or HardwareProfile, optional
    weight_bytes, state_bytes : float
        Bytes per stored weight on event-driven chips (1: INT8 synapses) and per state value (2).
    stack : str
        Software-stack preset for GPU time (:func:`neurosim.energy.system.get_stack`).

    Returns
    -------
    NetworkProfile
    """
    if not isinstance(result, SimulationResult) or set(result.counts) != set(network.nodes):
        raise InputError("'result' must be the SimulationResult of simulating this network")
    for v, what in ((weight_bytes, "weight_bytes"), (state_bytes, "state_bytes")):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise InputError(f"'{what}' must be a number > 0 (got {v!r})")
    preset = get_stack(stack)
    profs = [p if isinstance(p, HardwareProfile) else get_profile(p) for p in (profiles or list_profiles())]
    rows_nodes: list[dict[str, Any]] = []
    per_node: dict[str, dict[str, ActionCounts]] = {}
    for name in network.order:
        c = result.counts[name]
        row: dict[str, Any] = {"node": name, **c.to_dict()}
        spikes_possible = c.kind in SPIKING_KINDS + ("threshold",)
        row["spike_rate"] = (c.output_spikes / (c.neurons * result.steps * result.batch)) if spikes_possible else None
        row["weight_bytes_read"] = c.weights_read * weight_bytes if c.kind in _CONNECTION else 0.0
        row["state_bytes"] = c.state_words * state_bytes
        row["energy_j"] = {}
        rows_nodes.append(row)
        per_node[name] = {}
    energy: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    total_weights = sum(_weights(network, n) for n in network.order)
    for prof in profs:
        kind = "gpu" if prof.kind == "gpu" else "event"
        costs = replace(prof.costs, seconds={}, static_power_w=0.0)  # static power: charged below, once
        counts = {n: node_action_counts(network, result, n, kind=kind, weight_bytes=weight_bytes,
                                        state_bytes=state_bytes) for n in network.order}
        total = ActionCounts()
        for a in counts.values():
            total = total + a
        missing = missing_costs(total, costs)
        if missing:
            culprits = [n for n in network.order if missing_costs(counts[n], costs)]
            skipped.append({"profile": prof.name, "reason": f"no cost figure for {', '.join(missing)} "
                            f"(nodes {', '.join(culprits)}: graded, non-spike input needs multiplies)"})
            continue
        dyn = evaluate(total, costs)
        notes: list[str] = []
        if kind == "gpu":
            busy, chips = _gpu_time(prof, total, dyn.total_j, preset, total_weights * 2.0, notes)
            static = prof.costs.static_power_w * chips * busy
            sysinfo = {"chips": chips, "limited_by": "hbm_capacity", "messages": 0.0, "busy_s": busy}
            mode = "fp16-dense"
        else:
            sysinfo = _chips(network, result, prof, weight_bytes, notes)
            static = prof.costs.static_power_w * sysinfo["chips"] * sysinfo["busy_s"]
            mode = "event-driven"
            if prof.costs.static_power_w == 0:
                notes.append("the profile states no static power")
        inter_e = _param(prof, "interchip_energy") or 0.0
        interchip = sysinfo["messages"] * inter_e
        if sysinfo["messages"] and not inter_e:
            notes.append("inter-chip messages not priced: the profile has no interchip_energy")
        for row in rows_nodes:
            row["energy_j"][prof.name] = evaluate(counts[row["node"]], costs).total_j
        total_j = dyn.compute_j + dyn.memory_j + static + interchip
        energy.append({"profile": prof.name, "kind": prof.kind, "mode": mode, "compute_j": dyn.compute_j,
                       "memory_j": dyn.memory_j, "static_j": static, "interchip_j": interchip, "total_j": total_j,
                       "chips": sysinfo["chips"], "chips_limited_by": sysinfo["limited_by"],
                       "interchip_messages": sysinfo["messages"], "busy_s": sysinfo["busy_s"],
                       "j_per_sample": total_j / result.batch, "by_action_j": dict(dyn.by_action),
                       "notes": notes})
    assumptions = {"weight_bytes_event_driven": weight_bytes, "state_bytes": state_bytes, "gpu_bytes_per_value": 2,
                   "stack": preset.name, "actions": list(ACTIONS)}
    return NetworkProfile(rows_nodes, energy, skipped, result.steps, result.batch, result.dt, assumptions)
