"""System-level energy per token: time, static power, memory traffic and how many chips.

Public API (stable; the reports, the CLI and the validation call it)
--------------------------------------------------------------------
``system_energy(model, *, mode, profile, batch=1, phase="decode", prompt_tokens=512, context=4096,
stack="eager", stats=None, scope="all", block_size=1, context_length=None) -> SystemEnergy``
    One (model, mode, profile) at a batch size and phase. ``model`` is a model name, ``ModelConfig``,
    ``ModelCounts`` or :class:`~neurosim.energy.workload.Workload`.
``SystemEnergy``
    Fields ``model, mode, profile, kind, batch, phase, stack, scope, context, prompt_tokens,
    tokens_per_step, total_j, compute_j, memory_j, static_j, interchip_j`` (J per token;
    ``total_j = compute_j + memory_j + static_j + interchip_j``), ``seconds_per_token`` (device time per
    token = step time / tokens per step; ``None`` for the idealised profile), ``step_s`` (time of one
    step: per output token of each sequence in decode), ``bound_by`` (``"compute"``, ``"memory"``,
    ``"power"``, ``"host"``, ``"events"``, ``"interchip-latency"`` or ``"none"``), ``times_s`` (per resource, s per
    step), ``chips``, ``chips_limited_by``, ``static_power_w`` (all chips), ``static_charged``,
    ``interchip_messages`` (per token), ``weight_bytes``, ``by_action_j``, ``notes``;
    :meth:`SystemEnergy.to_record` gives the JSON-ready dict.
``system_records(models, *, modes=EXECUTION_MODES, profiles=None, baseline_profile="paper-45nm", **same)``
    ``{"rows": [...], "skipped": [...], "assumptions": {...}}`` like
    :func:`neurosim.energy.model_energy.energy_records`; rows carry :data:`SYSTEM_COLUMNS` plus
    ``ratio_vs_fp16``, ``baseline``, ``by_action_j`` and ``notes``. ``system_frame`` is the DataFrame.
``get_stack(name) -> StackPreset``, ``list_stacks()``
    Software-stack presets (``energy/data/stacks.toml``): achievable fractions of peak rate and bandwidth.
``chip_mapping(workload, profile, *, stats, scope) -> ChipMapping``
    Layers of a spiking workload mapped onto event-driven chips in order.
``break_even_spikes(model, *, profile, batch, ...) -> float | None``
    Spikes per channel at which event-driven execution costs as much as INT8 dense per token.

Model
-----
A *step* processes ``tokens_per_step`` tokens: ``batch`` in decode (one token per sequence) and
``batch x prompt_tokens`` in prefill. Weights are read from DRAM/HBM once per step and shared by the
batch (:func:`neurosim.energy.modes.mode_counts` with ``weight_reuse = tokens_per_step``); attention
state (KV cache, GLA state) is read per sequence. Dynamic energy is the profile's per-action energy
(per op and per byte). Time of a step is the largest of

* compute: ops / (peak rate of their precision x the stack's compute efficiency) (GPU profiles);
* memory: DRAM/HBM bytes / (bandwidth x the stack's bandwidth efficiency) (GPU profiles), and on-chip
  SRAM bytes / ``sram_bandwidth`` where a profile states that parameter (none of the shipped ones does);
* power: dynamic energy / (board power - idle power): the board cannot draw more than its limit;
* host: the stack's host time per decoder layer x layers (GPU profiles; eager stacks that launch every op
  from Python): one forward pass per step, whatever the batch, so the GPU idles between kernels at its
  idle power while the host launches them;
* events: synaptic events / (per-core event rate x cores used) on event-driven chips, summed along the
  layers a token passes (a projection split over ``k`` chips runs on ``k`` chips at once), plus the
  inter-chip latency of each chip boundary; with a batch, sequences are pipelined through the chips and
  the step takes at least ``batch`` x the busiest chip's time.

Static energy = idle/static power x step time x chips, per token divided by tokens per step. A model
that does not fit one chip (GPU HBM capacity; a neuromorphic chip's synaptic memory, neurons or
synapses) is spread over ``chips`` chips: GPUs in tensor parallel (bandwidth and peak add up;
interconnect traffic not priced), neuromorphic chips layer by layer in order; every event whose
projection lives on a chip other than its source is a message priced at ``interchip_energy``.
The idealised ``paper-45nm`` profile has no rates and no static power: it gets no time (``None``)
and no chip count (``None``), as in the report's idealisation.

Profile figures read by name (``[params]`` of the profile file; a missing one raises
:class:`~neurosim.exceptions.MissingFigureError` naming the parameter and file):
GPU: ``peak_fp16``, ``peak_int8`` (op/s), ``hbm_bandwidth`` (byte/s), ``hbm_capacity`` (bytes),
``board_power`` and the ``static_power`` key's parameter (``idle_power``). Event-driven chips:
``synaptic_memory`` (bytes of INT8 weights per chip), optional ``neurons_per_chip`` and
``synapses_per_chip``, ``synop_rate`` (op/s per chip) or ``synop_time`` with ``cores``,
``interchip_energy`` and ``interchip_latency`` (needed only when the model spans more than one chip),
and the ``static_power`` key (absent: static energy not charged, ``static_charged = False``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
import math
from numbers import Integral
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from neurosim.counts import ModelCounts, analytical_counts
from neurosim.energy._datafile import Where, read_toml, sources_of
from neurosim.energy.actions import ActionCounts
from neurosim.energy.modes import BYTES_PER_WEIGHT, EXECUTION_MODES, _STATE_SCALE, mode_energy
from neurosim.energy.profiles import HardwareProfile, get_profile, list_profiles
from neurosim.energy.workload import PAPER_SILENT_FRACTION, PAPER_SPIKES_PER_CHANNEL, SpikeActivity, Workload
from neurosim.exceptions import InputError, MissingFigureError, unknown_name
from neurosim.models import ModelConfig, get_model_config

__all__ = [
    "DEFAULT_CONTEXT",
    "DEFAULT_PROMPT_TOKENS",
    "PHASES",
    "STACKS",
    "SYSTEM_COLUMNS",
    "ChipMapping",
    "StackPreset",
    "SystemEnergy",
    "BATCH_SIZES",
    "ChipPacker",
    "activity_at",
    "batch_sweep",
    "break_even_spikes",
    "break_even_table",
    "chip_mapping",
    "get_stack",
    "list_stacks",
    "system_energy",
    "system_frame",
    "system_records",
    "system_table",
]

PHASES: tuple[str, ...] = ("decode", "prefill")
#: Batch sizes of the energy-vs-batch sweep (1 to 256, powers of two).
BATCH_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Shipped software-stack presets (``energy/data/stacks.toml``).
STACKS: tuple[str, ...] = ("eager", "optimized")
DEFAULT_CONTEXT = 4096
DEFAULT_PROMPT_TOKENS = 512

#: Columns of a system record (J per token, seconds per token).
SYSTEM_COLUMNS: tuple[str, ...] = (
    "model", "mode", "profile", "kind", "batch", "phase", "stack", "scope", "context", "prompt_tokens",
    "tokens_per_step", "compute_j", "memory_j", "static_j", "interchip_j", "total_j",
    "seconds_per_token", "step_s", "bound_by", "chips", "chips_limited_by", "static_power_w",
    "static_charged", "interchip_messages", "weight_bytes",
)

Phase = Literal["decode", "prefill"]
_DATA = Path(__file__).resolve().parent / "data"
_FLOP_PER_MAC = 2.0
_NEURON_UPDATE_OPS = 3.0  # matches the GPU profiles' neuron_updates cost (3 FP16 ops per channel)


# ---------------------------------------------------------------------------------------------
# Software-stack presets
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StackPreset:
    """Achievable fractions of a GPU's peak compute rate and memory bandwidth for a software stack."""

    name: str
    description: str
    compute_efficiency: float
    bandwidth_efficiency: float
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)
    notes: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Host (CPU) time per decoder layer of one forward pass, s: Python, dispatcher and kernel launches that
    #: the GPU waits for when the stack launches every op from Python (0: CUDA graphs / a C++ engine).
    host_overhead_per_layer: float = 0.0


def _load_stacks(path: Path) -> dict[str, StackPreset]:
    data = read_toml(path)
    top = Where(path)
    if top.string(data, "schema") != "neurosim-software-stacks":
        raise top.child("schema").error("expected 'neurosim-software-stacks'")
    sources = sources_of(top, data)
    out: dict[str, StackPreset] = {}
    for name, body in top.table(data, "stacks").items():
        w = top.child("stacks").child(name)
        params = w.table(body, "params")
        values: dict[str, float] = {}
        notes: dict[str, str] = {}
        srcs: dict[str, str] = {}
        for key in ("compute_efficiency", "bandwidth_efficiency"):
            pw = w.child("params").child(key)
            if key not in params:
                raise pw.error("missing required parameter")
            raw, unit, si = pw.quantity(params[key])
            if unit != "1" or not 0 < si <= 1:
                raise pw.error(f"expected a fraction in (0, 1] with unit '1' (got {raw!r} {unit!r})")
            pw.confidence(params[key])
            srcs[key] = sources[pw.source(params[key], sources)]
            notes[key] = str(params[key].get("note", ""))
            values[key] = si
        host = 0.0
        if "host_overhead_per_layer" in params:  # optional: a time per decoder layer, >= 0
            pw = w.child("params").child("host_overhead_per_layer")
            raw, unit, host = pw.quantity(params["host_overhead_per_layer"])
            if unit not in ("s", "ms", "us", "ns") or not (math.isfinite(host) and host >= 0):
                raise pw.error(f"expected a time >= 0 in s, ms, us or ns (got {raw!r} {unit!r})")
            pw.confidence(params["host_overhead_per_layer"])
            srcs["host_overhead_per_layer"] = sources[pw.source(params["host_overhead_per_layer"], sources)]
            notes["host_overhead_per_layer"] = str(params["host_overhead_per_layer"].get("note", ""))
        out[name] = StackPreset(name, w.string(body, "description", required=False), values["compute_efficiency"],
                                values["bandwidth_efficiency"], MappingProxyType(srcs), MappingProxyType(notes),
                                host_overhead_per_layer=host)
    return out


@cache
def _stacks() -> dict[str, StackPreset]:
    return _load_stacks(_DATA / "stacks.toml")


def list_stacks() -> list[str]:
    """Names of the software-stack presets."""
    return sorted(_stacks())


def get_stack(name: str | StackPreset) -> StackPreset:
    """A software-stack preset by name (``"eager"``, ``"optimized"``).

    Raises
    ------
    NotFoundError
        Unknown preset; lists the known ones.
    """
    if isinstance(name, StackPreset):
        return name
    stacks = _stacks()
    if not isinstance(name, str) or name not in stacks:
        raise unknown_name("software stack preset", str(name), stacks, hint="energy/data/stacks.toml")
    return stacks[name]


# ---------------------------------------------------------------------------------------------
# Checks and figures
# ---------------------------------------------------------------------------------------------
def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise InputError(f"{name!r} must be an int > 0 (got {value!r})")
    return int(value)


def _figure(profile: HardwareProfile, name: str, why: str, *, unit: str | None = None) -> float:
    """SI value of parameter ``name``; :class:`MissingFigureError` naming the file when absent."""
    p = profile.params.get(name)
    if p is None:
        raise MissingFigureError(
            f"profile {profile.name!r} has no parameter {name!r}, needed for {why} "
            f"(add [params.{name}] to {profile.path})")
    if unit is not None and p.unit != unit:
        raise MissingFigureError(f"profile {profile.name!r}: parameter {name!r} must be in {unit} "
                                 f"for {why} (got {p.unit}; file {profile.path})")
    if not p.value > 0:
        raise MissingFigureError(f"profile {profile.name!r}: parameter {name!r} must be > 0 for {why} "
                                 f"(file {profile.path})")
    return float(p.value)


def _optional(profile: HardwareProfile, name: str) -> float | None:
    p = profile.params.get(name)
    return float(p.value) if p is not None and p.value > 0 else None


def _static_power(profile: HardwareProfile) -> float | None:
    """Static (idle) power per chip in W, or None when the profile states none."""
    return profile.costs.static_power_w if profile.costs.static_power_w > 0 else None


# ---------------------------------------------------------------------------------------------
# Chip mapping (event-driven chips)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChipMapping:
    """Projections of a workload mapped onto event-driven chips in execution order.

    Attributes
    ----------
    chips : int
        Chips needed (>= 1).
    limited_by : str
        The capacity that sets the count: ``"synaptic_memory"``, ``"neurons_per_chip"`` or
        ``"synapses_per_chip"``.
    spans : tuple of (first, last) chip index per projection, in workload order.
    messages_per_token : float
        Spike messages per token that cross a chip boundary.
    crossings_per_token : int
        Chip boundaries one token's activity passes (``chips - 1`` for an in-order mapping).
    event_seconds_per_token : float
        Synaptic-event time of one token along the layers (parallel within a split projection).
    busiest_chip_seconds : float
        Event time per token of the busiest chip (the pipeline's throughput limit).
    weight_bytes, neurons : float
        INT8 weight bytes and neurons placed.
    """

    chips: int
    limited_by: str
    spans: tuple[tuple[int, int], ...]
    messages_per_token: float
    crossings_per_token: int
    event_seconds_per_token: float
    busiest_chip_seconds: float
    weight_bytes: float
    neurons: float


def _chip_rate(profile: HardwareProfile) -> float:
    rate = _optional(profile, "synop_rate")
    if rate is not None:
        return rate
    if "synop_time" in profile.params or "cores" in profile.params:
        t = _figure(profile, "synop_time", "the event time (time of one synaptic op in one core)", unit="s")
        return _figure(profile, "cores", "the event time (cores working in parallel)", unit="1") / t
    raise MissingFigureError(
        f"profile {profile.name!r} has no parameter 'synop_rate' (or 'synop_time' with 'cores'), needed for "
        f"the event time of a token (add [params.synop_rate] to {profile.path})")


class ChipPacker:
    """Places layers on event-driven chips in execution order, the way :func:`chip_mapping` maps a model.

    A layer that needs ``units`` chips' worth of capacity (the largest of its shares of synaptic memory,
    neurons and synapses per chip) goes on the current chip when it fits in what is left there;
    otherwise it starts on a fresh chip and spans ``ceil(units)`` chips, the last one partly filled.
    Used for transformer projections here and for NIR graphs in :mod:`neurosim.analysis.network_profile`.
    """

    def __init__(self) -> None:
        self.chip = 0
        self.fill = 0.0

    def place(self, units: float) -> tuple[int, int]:
        """First and last chip (0-based) of a layer needing ``units`` chips of capacity."""
        if units <= 1.0 - self.fill + 1e-12:
            self.fill += units
            return self.chip, self.chip
        if self.fill > 0:
            self.chip += 1
        n = max(1, math.ceil(units - 1e-12))
        first, last = self.chip, self.chip + n - 1
        self.chip, self.fill = last, units - (n - 1)
        return first, last

    @property
    def chips(self) -> int:
        """Chips used so far."""
        return self.chip + 1


def chip_mapping(workload: Workload, profile: HardwareProfile, *, stats: SpikeActivity | None = None,
                 scope: str = "spiked") -> ChipMapping:
    """Map the spike-coded projections of ``workload`` onto chips of ``profile`` in order.

    Each projection needs INT8 weight bytes (``in x out x instances``), ``out_features`` neurons and
    ``in x out x instances`` synapses. Projections are packed greedily in execution order; one that does
    not fit the rest of the current chip starts a new chip; one larger than a chip is split by output
    columns over consecutive chips, so each of its input events is sent to every chip holding a part.
    The input of a projection is taken to live on the last chip of the projection before it (the first
    projection's input arrives from off-chip and is not counted). Messages = events of the input x
    chips of the projection other than the source chip.

    Raises
    ------
    MissingFigureError
        The profile lacks ``synaptic_memory`` or an event rate.
    """
    stats = SpikeActivity.paper() if stats is None else stats
    mem = _figure(profile, "synaptic_memory", "the chips a model needs (INT8 weight bytes per chip)", unit="byte")
    npc = _optional(profile, "neurons_per_chip")
    spc = _optional(profile, "synapses_per_chip")
    rate = _chip_rate(profile)
    projs = [p for p in workload.projections if p.spiked or scope == "all"]
    if not projs:
        raise InputError(f"workload {workload.name!r} has no projection to map (scope={scope!r})")
    spans: list[tuple[int, int]] = []
    packer = ChipPacker()
    busy: dict[int, float] = {}
    limits = {"synaptic_memory": 0.0, "neurons_per_chip": 0.0, "synapses_per_chip": 0.0}
    messages = 0.0
    event_s = 0.0
    total_bytes = total_neurons = 0.0
    s = stats.spikes_per_channel
    for i, p in enumerate(projs):
        inst = int(getattr(p, "instances", 1))
        wbytes = float(p.in_features * p.out_features * inst)  # INT8: one byte per weight
        neurons = float(p.out_features * inst)
        need = {"synaptic_memory": wbytes / mem,
                "neurons_per_chip": neurons / npc if npc else 0.0,
                "synapses_per_chip": wbytes / spc if spc else 0.0}
        for k, v in need.items():
            limits[k] += v
        units = max(need.values())
        total_bytes += wbytes
        total_neurons += neurons
        first, last = packer.place(units)
        spans.append((first, last))
        k = last - first + 1
        synops = p.calls_per_token * p.in_features * s * p.out_features
        for c in range(first, last + 1):
            busy[c] = busy.get(c, 0.0) + synops / k / rate
        event_s += synops / (rate * k)
        source = spans[i - 1][1] if i > 0 else first
        events = p.calls_per_token * p.in_features * s
        messages += events * sum(1 for c in range(first, last + 1) if c != source)
    chips = packer.chips
    limited_by = max(limits, key=lambda key: limits[key])
    return ChipMapping(chips=chips, limited_by=limited_by, spans=tuple(spans), messages_per_token=messages,
                       crossings_per_token=chips - 1, event_seconds_per_token=event_s,
                       busiest_chip_seconds=max(busy.values()), weight_bytes=total_bytes, neurons=total_neurons)


# ---------------------------------------------------------------------------------------------
# The system figure
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SystemEnergy:
    """System energy per token of one (model, mode, profile) at a batch size and phase (see module doc)."""

    model: str
    mode: str
    profile: str
    kind: str
    batch: int
    phase: str
    stack: str
    scope: str
    context: int
    prompt_tokens: int | None
    tokens_per_step: int
    compute_j: float
    memory_j: float
    static_j: float
    interchip_j: float
    seconds_per_token: float | None
    step_s: float | None
    bound_by: str
    times_s: Mapping[str, float]
    chips: int | None
    chips_limited_by: str
    static_power_w: float
    static_charged: bool
    interchip_messages: float
    weight_bytes: float
    by_action_j: Mapping[str, float] = field(default_factory=dict, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def total_j(self) -> float:
        """compute + memory + static + inter-chip, J per token."""
        return self.compute_j + self.memory_j + self.static_j + self.interchip_j

    def to_record(self) -> dict[str, Any]:
        """JSON-ready dict with :data:`SYSTEM_COLUMNS`, ``times_s``, ``by_action_j`` and ``notes``."""
        rec = {k: getattr(self, k) for k in SYSTEM_COLUMNS}
        rec["times_s"] = dict(self.times_s)
        rec["by_action_j"] = dict(self.by_action_j)
        rec["notes"] = list(self.notes)
        return rec


def _model_and_workload(model: Any, *, phase: str, context: int, prompt_tokens: int) -> tuple[str, Workload]:
    """Workload per token of the phase; prefill averages attention over the prompt and writes its KV."""
    if isinstance(model, Workload):
        return model.name, model
    if isinstance(model, str):
        model = get_model_config(model)
    if isinstance(model, ModelCounts):
        cfg = model.config
        if phase == "decode":
            return cfg.name, Workload.from_model_counts(model)
        model = cfg
    if not isinstance(model, ModelConfig):
        raise InputError(f"'model' must be a model name, ModelConfig, ModelCounts or Workload "
                         f"(got {type(model).__name__}); see neurosim.models.list_models()")
    if phase == "decode":
        return model.name, Workload.from_model_counts(analytical_counts(model, context_length=context))
    mc = analytical_counts(model, context_length=prompt_tokens, batch_prefill=True)
    # Prefill writes each prompt token's KV once (attention reads it from on-chip tiles) and reads/writes
    # the context-independent state (GLA state, sinks) once per sequence.
    state = float(sum(mc.state_bytes_per_token.values())) + float(sum(mc.fixed_state_bytes.values())) / prompt_tokens
    return model.name, Workload(model.name, mc.projections, mc.attention_macs_per_token, state)


def _stored_state_bytes(workload: Workload, mode: str, scope: str) -> float:
    return workload.state_bytes * _STATE_SCALE[mode] if scope == "all" else 0.0


def _weight_bytes(workload: Workload, mode: str, scope: str) -> float:
    return float(sum(p.in_features * p.out_features * int(getattr(p, "instances", 1))
                     for p in workload.projections if scope == "all" or p.spiked)) * BYTES_PER_WEIGHT[mode]


def system_energy(model: Any, *, mode: str, profile: str | HardwareProfile, batch: int = 1,
                  phase: Phase = "decode", prompt_tokens: int = DEFAULT_PROMPT_TOKENS,
                  context: int = DEFAULT_CONTEXT, stack: str | StackPreset = "eager",
                  stats: SpikeActivity | None = None, scope: str = "all", block_size: int = 1,
                  context_length: int | None = None) -> SystemEnergy:
    """System energy and time per token of ``model`` in ``mode`` on ``profile``.

    Parameters
    ----------
    model : str, ModelConfig, ModelCounts or Workload
    mode : str
        One of :data:`neurosim.energy.modes.EXECUTION_MODES`.
    profile : str or HardwareProfile
    batch : int, keyword-only
        Sequences per step (> 0). Weights are read once per step and shared by the batch.
    phase : {"decode", "prefill"}, keyword-only
        Decode: one token per sequence per step at ``context`` tokens of context. Prefill: a prompt of
        ``prompt_tokens`` per sequence in one step.
    prompt_tokens : int, keyword-only
        Prompt length of the prefill phase (> 0).
    context : int, keyword-only
        Context length of the decode phase (> 0).
    stack : str or StackPreset, keyword-only
        Software-stack preset for GPU profiles (``"eager"``, ``"optimized"``); other kinds run ``native``.
    stats : SpikeActivity, optional
        Spike activity (default: the report's stated figures).
    scope : {"all", "spiked"}, keyword-only
        As in :func:`neurosim.energy.modes.mode_counts`.
    block_size : int, keyword-only
        Weight-fetch granularity of event-driven skipping.
    context_length : int, optional, keyword-only
        Same as ``context`` (the name :func:`neurosim.energy.model_energy.model_energy` uses); wins when given.

    Returns
    -------
    SystemEnergy

    Raises
    ------
    InputError
        ``batch``, ``prompt_tokens`` or ``context`` not an int > 0, unknown phase or scope, or the mode
        cannot run on the profile (the message gives the profile's reason).
    NotFoundError
        Unknown profile, mode or stack preset.
    MissingFigureError
        The profile lacks a figure the time or chip model needs (names the parameter and the file).
    """
    batch = _positive_int(batch, "batch")
    prompt_tokens = _positive_int(prompt_tokens, "prompt_tokens")
    context = _positive_int(context if context_length is None else context_length, "context")
    if phase not in PHASES:
        raise InputError(f"'phase' must be one of {', '.join(PHASES)} (got {phase!r})")
    if scope not in ("all", "spiked"):
        raise InputError(f"'scope' must be 'all' or 'spiked' (got {scope!r})")
    preset = get_stack(stack)
    prof = profile if isinstance(profile, HardwareProfile) else get_profile(profile)
    name, workload = _model_and_workload(model, phase=phase, context=context, prompt_tokens=prompt_tokens)
    stats = SpikeActivity.paper() if stats is None else stats
    tokens = batch * (prompt_tokens if phase == "prefill" else 1)
    res = mode_energy(mode, workload, prof, stats, block_size=block_size, weight_reuse=float(tokens), scope=scope)
    if res.breakdown is None:
        raise InputError(f"{mode} cannot run on {prof.name!r}: {res.reason}")
    per_token = res.counts
    dyn = res.breakdown
    notes = [n for n in dyn.notes if not n.startswith("static power not charged")]
    wbytes = _weight_bytes(workload, mode, scope)
    common = dict(model=name, mode=mode, profile=prof.name, kind=prof.kind, batch=batch, phase=phase,
                  scope=scope, context=context, prompt_tokens=prompt_tokens if phase == "prefill" else None,
                  tokens_per_step=tokens, compute_j=dyn.compute_j, memory_j=dyn.memory_j,
                  weight_bytes=wbytes, by_action_j=MappingProxyType(dict(dyn.by_action)))
    if prof.kind == "gpu":
        return _gpu(prof, preset, per_token, dyn.compute_j + dyn.memory_j, workload, common, notes)
    if prof.kind == "neuromorphic":
        return _chips(prof, workload, stats, common, notes, per_token.sram_bytes)
    notes.append("idealised profile: no rates, no static power and no capacity (the report's assumption); "
                 "time and chips are not modelled")
    return SystemEnergy(**common, stack="native", static_j=0.0, interchip_j=0.0, seconds_per_token=None,
                        step_s=None, bound_by="none", times_s=MappingProxyType({}), chips=None,
                        chips_limited_by="", static_power_w=0.0, static_charged=False,
                        interchip_messages=0.0, notes=tuple(notes))


def _decoder_layers(workload: Workload) -> int:
    """Decoder layers one forward pass runs (distinct ``layer`` indices >= 0; 1 for a hand-built workload)."""
    layers = {int(p.layer) for p in workload.projections if int(getattr(p, "layer", -1)) >= 0}
    return max(1, len(layers))


def _gpu(prof: HardwareProfile, preset: StackPreset, per_token: ActionCounts, dyn_j_per_token: float,
         workload: Workload, common: dict[str, Any], notes: list[str]) -> SystemEnergy:
    mode, scope, batch, tokens = common["mode"], common["scope"], common["batch"], common["tokens_per_step"]
    step = per_token.scaled(tokens)
    why = f"the time of {mode} on a GPU"
    bw = _figure(prof, "hbm_bandwidth", why, unit="byte/s")
    cap = _figure(prof, "hbm_capacity", "the GPUs a model needs", unit="byte")
    board = _figure(prof, "board_power", "the power-limit time", unit="W")
    idle = _static_power(prof)
    if idle is None:
        raise MissingFigureError(f"profile {prof.name!r} has no static (idle) power, needed for {why} "
                                 f"(set static_power = \"idle_power\" and add [params.idle_power] to {prof.path})")
    fp16_ops = _FLOP_PER_MAC * step.mac_fp16 + _NEURON_UPDATE_OPS * step.neuron_updates
    int8_ops = _FLOP_PER_MAC * step.mac_int8 + step.add_int8
    peak16 = _figure(prof, "peak_fp16", why, unit="op/s") if fp16_ops > 0 else 1.0
    peak8 = _figure(prof, "peak_int8", why, unit="op/s") if int8_ops > 0 else 1.0
    stored = common["weight_bytes"] + batch * _stored_state_bytes(workload, mode, scope)
    gpus = max(1, math.ceil(stored / cap))
    ce, be = preset.compute_efficiency, preset.bandwidth_efficiency
    times = {
        "compute": (fp16_ops / peak16 + int8_ops / peak8) / (ce * gpus),
        "memory": step.dram_bytes / (bw * be * gpus),
        "power": dyn_j_per_token * tokens / ((board - idle) * gpus),
    }
    sram_bw = _optional(prof, "sram_bandwidth")
    if sram_bw is not None:  # on-chip memory time, where the profile states an on-chip bandwidth
        times["on-chip memory"] = step.sram_bytes / (sram_bw * be * gpus)
    if preset.host_overhead_per_layer > 0:
        # A stack that launches every op from Python issues one forward pass per step, layer by layer; the
        # GPU cannot finish the step before the host has launched it, whatever the batch or the bytes
        # (kernels run asynchronously, so the step takes the larger of host and device time, not the sum).
        layers = _decoder_layers(workload)
        times["host"] = preset.host_overhead_per_layer * layers
    bound = max(times, key=lambda k: times[k])
    step_s = times[bound]
    if gpus > 1:
        notes.append(f"{gpus} GPUs in tensor parallel: weights and state ({stored / 1e9:.1f} GB) exceed one "
                     f"GPU's {cap / 1e9:.0f} GB; interconnect traffic is not priced")
    host = (f", {preset.host_overhead_per_layer * 1e3:.3g} ms host time per decoder layer"
            if preset.host_overhead_per_layer > 0 else "")
    notes.append(f"stack {preset.name}: {ce:g} of peak compute, {be:g} of HBM bandwidth{host}")
    static_w = idle * gpus
    return SystemEnergy(**common, stack=preset.name, static_j=static_w * step_s / tokens, interchip_j=0.0,
                        seconds_per_token=step_s / tokens, step_s=step_s, bound_by=bound,
                        times_s=MappingProxyType(times), chips=gpus, chips_limited_by="hbm_capacity",
                        static_power_w=static_w, static_charged=True, interchip_messages=0.0,
                        notes=tuple(notes))


def _chips(prof: HardwareProfile, workload: Workload, stats: SpikeActivity, common: dict[str, Any],
           notes: list[str], per_token_sram: float = 0.0) -> SystemEnergy:
    batch, tokens = common["batch"], common["tokens_per_step"]
    m = chip_mapping(workload, prof, stats=stats, scope=common["scope"])
    link_j = link_s = 0.0
    if m.chips > 1:
        link_j = _figure(prof, "interchip_energy", f"the {m.chips}-chip mapping (energy per inter-chip message)",
                         unit="J")
        link_s = _figure(prof, "interchip_latency", f"the {m.chips}-chip mapping (latency per chip boundary)",
                         unit="s")
    # A token passes the layers in order; sequences of a batch (and prompt tokens) are pipelined through
    # the chips, so a step takes at least tokens x the busiest chip's time.
    latency = m.event_seconds_per_token + m.crossings_per_token * link_s
    times = {"events": m.event_seconds_per_token, "interchip-latency": m.crossings_per_token * link_s,
             "pipeline": tokens * m.busiest_chip_seconds}
    step_s = max(latency, times["pipeline"])
    sram_bw = _optional(prof, "sram_bandwidth")
    if sram_bw is not None:  # on-chip memory time (all chips' SRAM in parallel), where the profile states one
        times["on-chip memory"] = per_token_sram * tokens / (sram_bw * m.chips)
        step_s = max(step_s, times["on-chip memory"])
    bound = "events" if times["events"] >= times["interchip-latency"] else "interchip-latency"
    if times.get("on-chip memory", 0.0) >= step_s > 0:
        bound = "on-chip memory"
    static = _static_power(prof)
    static_w = (static or 0.0) * m.chips
    if static is None:
        notes.append(f"static power NOT charged: profile {prof.name!r} states no static power "
                     f"(add static_power to {prof.path})")
    notes.append(f"{m.chips} chips (limited by {m.limited_by}); layers mapped in order, "
                 f"{m.messages_per_token:.3g} inter-chip messages per token")
    return SystemEnergy(**common, stack="native", static_j=static_w * step_s / tokens,
                        interchip_j=m.messages_per_token * link_j, seconds_per_token=step_s / tokens,
                        step_s=step_s, bound_by=bound, times_s=MappingProxyType(times), chips=m.chips,
                        chips_limited_by=m.limited_by, static_power_w=static_w, static_charged=static is not None,
                        interchip_messages=m.messages_per_token, notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# Records for many (model, mode, profile)
# ---------------------------------------------------------------------------------------------
def system_records(models: Any = "spikingbrain-7b", *, modes: Sequence[str] = EXECUTION_MODES,
                   profiles: Sequence[str | HardwareProfile] | None = None, batch: int = 1,
                   phase: Phase = "decode", prompt_tokens: int = DEFAULT_PROMPT_TOKENS,
                   context: int = DEFAULT_CONTEXT, stack: str = "eager", stats: SpikeActivity | None = None,
                   scope: str = "all", block_size: int = 1, baseline_profile: str = "paper-45nm") -> dict[str, Any]:
    """JSON-ready system records for every (model, mode, profile); see the module docstring.

    Pairs that cannot run (mode not on the profile, no figure for an action) are listed in ``skipped``
    with the reason; a profile lacking a time or chip figure raises :class:`MissingFigureError`.
    ``ratio_vs_fp16`` divides by FP16 dense on the same profile when it runs it, else on
    ``baseline_profile`` at the same batch and phase.
    """
    if isinstance(models, (str, Workload)) or not isinstance(models, Iterable):
        models = [models]
    stats = SpikeActivity.paper() if stats is None else stats
    preset = get_stack(stack)
    plist = [p if isinstance(p, HardwareProfile) else get_profile(p)
             for p in (list_profiles() if profiles is None else profiles)]
    kw = dict(batch=batch, phase=phase, prompt_tokens=prompt_tokens, context=context, stack=preset,
              stats=stats, scope=scope, block_size=block_size)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    base_prof = get_profile(baseline_profile)
    for m in models:
        base = system_energy(m, mode="fp16-dense", profile=base_prof, **kw)
        for prof in plist:
            own = None
            if prof.unsupported_reason("fp16-dense") is None:
                own = system_energy(m, mode="fp16-dense", profile=prof, **kw)
            ref = own if own is not None else base
            for mode in modes:
                reason = prof.unsupported_reason(mode)
                try:
                    res = own if (mode == "fp16-dense" and own is not None) else \
                        system_energy(m, mode=mode, profile=prof, **kw)
                except InputError as exc:
                    if reason is None and "cannot run on" not in str(exc):
                        raise
                    skipped.append({"model": base.model, "mode": mode, "profile": prof.name,
                                    "reason": str(exc).split(": ", 1)[-1]})
                    continue
                rec = res.to_record()
                rec["ratio_vs_fp16"] = res.total_j / ref.total_j if ref.total_j > 0 else None
                rec["baseline"] = f"fp16-dense@{ref.profile}"
                rows.append(rec)
    return {
        "rows": rows, "skipped": skipped,
        "assumptions": {"stats": stats.to_dict(), "batch": batch, "phase": phase, "prompt_tokens": prompt_tokens,
                        "context": context, "stack": preset.name, "scope": scope, "block_size": block_size,
                        "baseline_profile": base_prof.name,
                        "profile_versions": {p.name: p.version for p in plist}},
    }


def system_frame(models: Any = "spikingbrain-7b", **options: Any) -> Any:
    """:func:`system_records` rows as a DataFrame with :data:`SYSTEM_COLUMNS` (+ ratio and baseline)."""
    import pandas as pd

    rec = system_records(models, **options)
    cols = list(SYSTEM_COLUMNS) + ["ratio_vs_fp16", "baseline"]
    frame = pd.DataFrame([{k: r[k] for k in cols} for r in rec["rows"]], columns=cols)
    frame.attrs["skipped"] = rec["skipped"]
    frame.attrs["assumptions"] = rec["assumptions"]
    return frame


def system_table(records: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, unit: str = "mJ") -> Any:
    """Display table of system records: one row per (model, profile, mode), energies per token in ``unit``
    (``"J"``, ``"mJ"`` or ``"uJ"``), time per token and per step in ms, the bound and the chips assumed."""
    import pandas as pd

    scale = {"J": 1.0, "mJ": 1e3, "uJ": 1e6}.get(unit)
    if scale is None:
        raise InputError(f"'unit' must be J, mJ or uJ (got {unit!r})")
    rows = records["rows"] if isinstance(records, Mapping) else records
    out = []
    for r in rows:
        def ms(v: Any) -> Any:
            return None if v is None else v * 1e3
        out.append({
            "model": r["model"], "profile": r["profile"], "mode": r["mode"], "batch": r["batch"],
            "stack": r["stack"], f"total [{unit}/tok]": r["total_j"] * scale,
            f"compute [{unit}]": r["compute_j"] * scale, f"memory [{unit}]": r["memory_j"] * scale,
            f"static [{unit}]": r["static_j"] * scale, f"inter-chip [{unit}]": r["interchip_j"] * scale,
            "ms/token": ms(r["seconds_per_token"]), "ms/step": ms(r["step_s"]), "bound by": r["bound_by"],
            "chips": r["chips"] if r["chips"] is not None else "n/a",
            "static charged": "yes" if r["static_charged"] else ("n/a" if r["kind"] != "neuromorphic" and
                                                                  r["chips"] is None else "NO"),
            "vs fp16": r.get("ratio_vs_fp16"),
        })
    return pd.DataFrame(out)


def activity_at(spikes_per_channel: float) -> SpikeActivity:
    """Spike activity at a given mean spike count, with the silent share scaled from the report's figures.

    The silent fraction follows ``p = 0.184 ** (s / 1.13)``: the report's 18.4% silent channels at its
    1.13 spikes per channel, fewer silent channels as activity rises (every channel silent at 0). An
    ASSUMPTION used for sweeps over the spike rate (break-even), not a measured law.
    """
    s = float(spikes_per_channel)
    if not math.isfinite(s) or s < 0:
        raise InputError(f"'spikes_per_channel' must be a finite number >= 0 (got {spikes_per_channel!r})")
    silent = PAPER_SILENT_FRACTION ** (s / PAPER_SPIKES_PER_CHANNEL) if s > 0 else 1.0
    return SpikeActivity(s, silent, source=f"{s:g} spikes per channel, silent share scaled from the report")


def break_even_spikes(model: Any, *, profile: str | HardwareProfile, batch: int = 1,
                      dense_profile: str | HardwareProfile | None = None, scope: str = "spiked",
                      stack: str = "eager", context: int = DEFAULT_CONTEXT, hi: float = 64.0) -> float | None:
    """Spikes per channel at which event-driven (``w8aspike-event`` on ``profile``) costs as much per
    token as INT8 dense (``int8-dense`` on ``dense_profile``, default the same profile).

    Event-driven energy grows with the spike rate (synaptic ops, messages, event time, fewer skipped weight
    rows); dense does not. Solved by bisection on the spike rate in ``[0, hi]`` with the activity of
    :func:`activity_at`. Returns None when event-driven is dearer even near 0 spikes, ``hi`` when it is
    still cheaper at ``hi``.

    Raises
    ------
    InputError
        The dense mode cannot run on ``dense_profile`` (e.g. a neuromorphic chip: pass a GPU or
        ``paper-45nm`` as ``dense_profile``).
    """
    prof = profile if isinstance(profile, HardwareProfile) else get_profile(profile)
    dprof = prof if dense_profile is None else (
        dense_profile if isinstance(dense_profile, HardwareProfile) else get_profile(dense_profile))
    kw = dict(batch=batch, stack=stack, context=context, scope=scope)
    dense = system_energy(model, mode="int8-dense", profile=dprof, **kw).total_j

    def event(s: float) -> float:
        return system_energy(model, mode="w8aspike-event", profile=prof, stats=activity_at(s), **kw).total_j

    if event(1e-9) >= dense:
        return None
    if event(hi) <= dense:
        return hi
    lo, up = 1e-9, hi
    for _ in range(60):
        mid = 0.5 * (lo + up)
        if event(mid) <= dense:
            lo = mid
        else:
            up = mid
    return 0.5 * (lo + up)



def batch_sweep(model: Any = "spikingbrain-7b", *, profiles: Sequence[str | HardwareProfile] | None = None,
                modes: Sequence[str] = EXECUTION_MODES, batches: Sequence[int] = BATCH_SIZES,
                stacks: Sequence[str] = STACKS, context: int = DEFAULT_CONTEXT, scope: str = "spiked",
                stats: SpikeActivity | None = None) -> Any:
    """Decode energy per token against batch size for every (profile, mode) that runs, as a DataFrame.

    Columns: ``model, profile, kind, mode, stack, batch, total_j, static_j, seconds_per_token, chips,
    bound_by``. GPU profiles get one line per stack preset; other kinds one ``native`` line.
    """
    import pandas as pd

    name, wl = _model_and_workload(model, phase="decode", context=_positive_int(context, "context"), prompt_tokens=1)
    plist = [p if isinstance(p, HardwareProfile) else get_profile(p)
             for p in (list_profiles() if profiles is None else profiles)]
    rows = []
    for prof in plist:
        for mode in modes:
            if prof.unsupported_reason(mode) is not None:
                continue
            for stack in (stacks if prof.kind == "gpu" else stacks[:1]):
                for b in batches:
                    try:
                        r = system_energy(wl, mode=mode, profile=prof, batch=b, stack=stack, scope=scope,
                                          stats=stats, context=context)
                    except InputError:
                        break  # the pair cannot run (no figure for an action of this scope)
                    rows.append({"model": name, "profile": prof.name, "kind": prof.kind, "mode": mode,
                                 "stack": r.stack, "batch": b, "total_j": r.total_j, "static_j": r.static_j,
                                 "seconds_per_token": r.seconds_per_token, "chips": r.chips,
                                 "bound_by": r.bound_by})
    return pd.DataFrame(rows, columns=["model", "profile", "kind", "mode", "stack", "batch", "total_j", "static_j",
                                       "seconds_per_token", "chips", "bound_by"])


def break_even_table(model: Any = "spikingbrain-7b", *, profiles: Sequence[str | HardwareProfile] | None = None,
                     batches: Sequence[int] = (1, 64), dense_for_chips: str = "nvidia-a100",
                     stack: str = "optimized", scope: str = "spiked", hi: float = 64.0) -> Any:
    """Break-even spikes per channel (:func:`break_even_spikes`) per profile and batch, as a DataFrame.

    Profiles that run INT8 dense are compared with INT8 dense on themselves; event-driven chips, which
    have no dense datapath, with INT8 dense on ``dense_for_chips`` at the same batch. Columns:
    ``profile, batch, dense_on, spikes_per_channel`` (None: event-driven never wins; ``hi``: wins up to
    ``hi``), ``report_spikes`` (1.13, for reference).
    """
    import pandas as pd

    name, wl = _model_and_workload(model, phase="decode", context=DEFAULT_CONTEXT, prompt_tokens=1)
    plist = [p if isinstance(p, HardwareProfile) else get_profile(p)
             for p in (list_profiles() if profiles is None else profiles)]
    rows = []
    for prof in plist:
        if prof.unsupported_reason("w8aspike-event") is not None:
            continue
        dense = prof if prof.unsupported_reason("int8-dense") is None else get_profile(dense_for_chips)
        for b in batches:
            s = break_even_spikes(wl, profile=prof, dense_profile=dense, batch=b, stack=stack, scope=scope, hi=hi)
            rows.append({"model": name, "profile": prof.name, "batch": b, "dense_on": dense.name,
                         "spikes_per_channel": s, "report_spikes": PAPER_SPIKES_PER_CHANNEL})
    return pd.DataFrame(rows, columns=["model", "profile", "batch", "dense_on", "spikes_per_channel", "report_spikes"])
