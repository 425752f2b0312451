"""Profile an snntorch network the neuromorphic way: its own spikes, the operations they drive, energy.

:func:`profile_snn` answers "what does my snntorch network cost on a neuromorphic chip?". It records
the real spikes of every snntorch neuron layer over time and the operations they drive in the
connection layers (``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d``): NeuroBench-style ``Dense`` /
``Effective_MACs`` / ``Effective_ACs`` beside sinabs-style synaptic operations (events x fan-out),
priced on the hardware profiles of :mod:`neurosim.energy`.

Time dimension of snntorch rates
--------------------------------
``firing_rate`` is spikes per neuron **per time step** (T not included, bounded by 1 for binary
spikes); ``spikes_per_neuron`` is spikes per neuron over the **whole window** of T steps
(= firing_rate x T). Hand-made spreadsheets that multiply a per-window rate by T again are the
x T error discussed in BICLab/SpikeYOLO#31. Operation counts are totals over all T steps and the
whole batch; ``per_sample`` figures divide by the batch size, as NeuroBench does.

The model is left as it was: hooks are removed, training flags and snntorch hidden state restored,
even when the forward pass raises. Torch and snntorch are imported inside the functions; importing
this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from neurosim.analysis._torch_hooks import (
    call_model,
    check_int,
    check_model,
    connection_counts,
    guarded,
    is_spiking_tensor,
    plain_fields,
    profile_names,
    reset_neuron_state,
    skipped_modules,
    spiking_neurons,
)
from neurosim.energy.actions import ActionCounts, evaluate, missing_costs
from neurosim.energy.memory_traffic import snn_memory_traffic
from neurosim.energy.profile_overrides import as_profile
from neurosim.exceptions import InputError, ShapeError

__all__ = [
    "NeuronLayerProfile",
    "SNNProfile",
    "SynapseLayerProfile",
    "contains_spiking_neurons",
    "profile_snn",
]


@dataclass(frozen=True, eq=False)
class NeuronLayerProfile:
    """Recorded spikes of one snntorch neuron layer.

    Attributes
    ----------
    name, kind : str
    neurons : int
        Neurons per sample (elements of one step's spike tensor without the batch axis).
    time_steps, batch : int
    spikes : float
        Sum of |spike| over all steps and samples (the count for binary spikes; graded spikes add
        their magnitude).
    firing_rate : float
        Spikes per neuron **per time step** (T not included).
    spikes_per_neuron : float
        Spikes per neuron over the whole window of ``time_steps`` (``firing_rate x time_steps``).
    silent_fraction : float
        Share of (sample, neuron) pairs that never fire during the window.
    neuron_updates : int
        Membrane updates of a clock-driven chip, ``neurons x time_steps x batch``.
    """

    name: str
    kind: str
    neurons: int
    time_steps: int
    batch: int
    spikes: float
    firing_rate: float
    spikes_per_neuron: float
    silent_fraction: float
    neuron_updates: int


@dataclass(frozen=True, eq=False)
class SynapseLayerProfile:
    """Operations of one connection layer (Linear/Conv) over all time steps and samples.

    Attributes
    ----------
    name, kind : str
    input_kind : {"spikes", "dense", "mixed"}
        NeuroBench's rule per call: spikes iff every input element is -1, 0 or 1.
    calls : int
    input_events : int
        Nonzero input elements (spike events when the input is spikes).
    dense : int
        NeuroBench ``Dense``: connections with all-ones inputs and weights.
    effective_macs, effective_acs : int
        NeuroBench ``Effective_MACs`` (dense-input calls) / ``Effective_ACs`` (spiking calls):
        nonzero input x nonzero weight pairs.
    synops : int
        Spike events x fan-out (sinabs/Norse convention, zero weights included) of spiking calls.
    """

    name: str
    kind: str
    input_kind: str
    calls: int
    input_events: int
    dense: int
    effective_macs: int
    effective_acs: int
    synops: int


@dataclass(frozen=True, eq=False)
class SNNProfile:
    """Result of :func:`profile_snn`; counts are totals over T steps and the batch.

    Attributes
    ----------
    model : str
    time_steps, batch : int
    neurons : tuple of NeuronLayerProfile
    synapses : tuple of SynapseLayerProfile
    neurobench : dict
        ``{"Dense", "Effective_MACs", "Effective_ACs"}`` per sample (NeuroBench averages over the
        batch axis and sums over steps), plus ``"activation_sparsity"`` over all neuron outputs.
    energy : tuple of dict
        ``{model, profile, compute_j, ..., total_j}`` records per profile (whole batch, all steps).
    skipped : tuple of dict
    settings : dict
    """

    model: str
    time_steps: int
    batch: int
    neurons: tuple[NeuronLayerProfile, ...]
    synapses: tuple[SynapseLayerProfile, ...]
    neurobench: dict[str, float]
    energy: tuple[dict[str, Any], ...]
    skipped: tuple[dict[str, str], ...]
    settings: dict[str, Any]

    def layer_frame(self) -> pd.DataFrame:
        """Neuron layers then connection layers, one row each, with a ``layer_type`` column."""
        rows = [{"layer_type": "neuron", **plain_fields(n)} for n in self.neurons]
        rows += [{"layer_type": "synapse", **plain_fields(s)} for s in self.synapses]
        return pd.DataFrame(rows)

    def to_summary(self) -> dict[str, Any]:
        """JSON-ready dict: ``model``, ``time_steps``, ``batch``, ``rate_convention``, ``neurons``,
        ``synapses``, ``neurobench``, ``energy``, ``skipped``, ``settings``."""
        return {
            "model": self.model,
            "time_steps": self.time_steps,
            "batch": self.batch,
            "rate_convention": (
                "firing_rate = spikes per neuron per time step (T not included); "
                "spikes_per_neuron = over the whole window of time_steps (T included)"
            ),
            "neurons": [plain_fields(n) for n in self.neurons],
            "synapses": [plain_fields(s) for s in self.synapses],
            "neurobench": dict(self.neurobench),
            "energy": [dict(r) for r in self.energy],
            "skipped": [dict(s) for s in self.skipped],
            "settings": dict(self.settings),
        }


def contains_spiking_neurons(model: Any) -> bool:
    """True when ``model`` holds at least one snntorch ``SpikingNeuron`` (False without snntorch)."""
    try:
        import snntorch
    except ImportError:
        return False
    return any(isinstance(m, snntorch.SpikingNeuron) for m in model.modules())


#: Dimensions of one sample's tensor for each connection layer type (more dims = a batch axis in front).
_UNBATCHED_DIMS = {"Linear": 1, "Conv1d": 2, "Conv2d": 3}


def _unbatched_out(module: Any) -> tuple[int, int] | None:
    """(dims of one sample's output, features of that output's feature axis) of a connection layer."""
    kind = type(module).__name__
    if kind == "Linear":
        return 1, int(module.out_features)
    if kind in ("Conv1d", "Conv2d"):
        return _UNBATCHED_DIMS[kind], int(module.out_channels)
    return None


class _Recording:
    """What the hooks saw during one run: spikes per neuron layer, counts per connection layer."""

    def __init__(self, names: Sequence[str]) -> None:
        self.spikes: dict[str, list[Any]] = {n: [] for n in names}
        self.conn: dict[str, dict[str, Any]] = {}
        self.feeder: dict[str, Any] = {}
        self.first_input_dims: tuple[Any, int] | None = None  # (first connection layer, dims of its input)
        self.last_conn: Any = None

    def calls_per_model_call(self) -> int:
        return max((len(v) for v in self.spikes.values()), default=0)


def _record(model: Any, inputs: Any, neurons: list[tuple[str, Any]], *, calling: str,
            num_steps: int | None, torch: Any) -> _Recording:
    """Run ``model`` with hooks, in the given calling style; the model is restored afterwards."""
    conn_types = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)
    names = {m: n or "<root>" for n, m in model.named_modules()}
    rec = _Recording([n for n, _ in neurons])

    def neuron_hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
        spk = output[0] if isinstance(output, tuple) else output
        name = names[module]
        rec.spikes[name].append(spk.detach().to("cpu", torch.float64))
        rec.feeder.setdefault(name, rec.last_conn)

    def conn_hook(module: Any, args: tuple[Any, ...]) -> None:
        x = args[0]
        rec.last_conn = module
        if rec.first_input_dims is None:
            rec.first_input_dims = (module, int(x.dim()))
        dense, eff, syn, ev = connection_counts(module, x)
        r = rec.conn.setdefault(names[module], {
            "kind": type(module).__name__, "calls": 0, "spiking_calls": 0, "input_events": 0,
            "dense": 0, "effective_macs": 0, "effective_acs": 0, "synops": 0,
        })
        spiking = is_spiking_tensor(x)
        r["calls"] += 1
        r["spiking_calls"] += int(spiking)
        r["input_events"] += ev
        r["dense"] += dense
        r["effective_acs" if spiking else "effective_macs"] += eff
        r["synops"] += syn if spiking else 0

    saved = {(n, b): m._buffers[b] for n, m in neurons for b in m._non_persistent_buffers_set}
    try:
        with guarded(model) as handles:
            for _, m in neurons:
                handles.append(m.register_forward_hook(neuron_hook))
            for m in model.modules():
                if isinstance(m, conn_types):
                    handles.append(m.register_forward_pre_hook(conn_hook))
            reset_neuron_state(neurons)
            if calling == "sequence":
                call_model(model, inputs)
            else:
                steps = num_steps if num_steps is not None else inputs.shape[0]
                for t in range(steps):
                    model(inputs if num_steps is not None else inputs[t])
    finally:
        mods = dict(neurons)
        for (n, b), v in saved.items():
            mods[n]._buffers[b] = v
    return rec


def _first_layer_unbatched(rec: _Recording, *, per_step_drop: int) -> str | None:
    """Why the first connection layer's per-step input has no batch axis, or None when it has one."""
    if rec.first_input_dims is None:
        return None
    module, dims = rec.first_input_dims
    want = _UNBATCHED_DIMS.get(type(module).__name__)
    if want is None or dims - per_step_drop > want:
        return None
    return f"{type(module).__name__} expects {want}-D samples"


def profile_snn(
    model: Any,
    inputs: Any,
    *,
    profiles: Sequence[Any] | str | Any = ("loihi", "speck", "paper-45nm"),
    num_steps: int | None = None,
    calling: str = "auto",
    name: str | None = None,
) -> SNNProfile:
    """Record an snntorch network's spikes over time and count the operations they drive.

    Supported calling conventions (``calling``):

    ``"auto"`` (default)
        Decided from what the hooks see: ``model(inputs)`` is called once; if a neuron layer fires
        more than once in that call, the time loop is inside ``forward`` ("sequence", and that call
        is the profiled run); if each neuron layer fires once, the model computes one step per call
        ("step"). When that leaves the time axis ambiguous (one step per call, but ``inputs`` has no
        axis left for T in front of the batch, e.g. ``[batch, features]``), :class:`InputError` asks
        for ``num_steps`` or ``calling``. With ``num_steps`` given, "step" is used.
    ``"step"``
        ``model(x_t)`` computes one time step; neurons keep their state between calls (snntorch
        keeps it in the neuron module whether or not ``init_hidden=True``). The state is reset to
        empty before step 0 (per instance, not the process-wide ``snntorch.utils.reset``) and
        restored to what it was afterwards. With ``num_steps=None``, ``inputs`` is ``[T, batch,
        ...]`` and step t gets ``inputs[t]``; with ``num_steps=T``, ``inputs`` is one static
        ``[batch, ...]`` tensor fed at every step (direct/current coding).
    ``"sequence"``
        ``model(inputs)`` runs all steps itself (the snntorch tutorials' loop inside ``forward``,
        input ``[batch, features]``); each neuron call is one step, and ``inputs`` is passed as is
        (``num_steps`` must be None).

    The batch axis of each neuron layer's spikes is found from the layer that feeds it: a neuron
    after ``nn.Linear(784, 256)`` has 256 neurons per sample, whatever the batch size.

    Parameters
    ----------
    model : torch.nn.Module
        Holding at least one snntorch ``SpikingNeuron`` (Leaky, Synaptic, Alpha, RLeaky, ...).
    inputs : torch.Tensor
        See above; the batch axis is the first axis of one step's input.
    profiles : str or sequence of str or HardwareProfile
        Hardware profiles (names or loaded :class:`~neurosim.energy.profiles.HardwareProfile`
        objects, e.g. from ``load_profile``) with per-synop and per-neuron-update energies.
    num_steps : int, optional
        Number of steps for a static input (``calling="step"`` or ``"auto"``).
    calling : {"auto", "step", "sequence"}
    name : str, optional
        Label in the result (default: the class name).

    Returns
    -------
    SNNProfile
        Neuron firing rates per step and per window, connection-layer counts, NeuroBench per-sample
        counts, energy per profile: spiking-input connections as synops x E_synop, dense-input
        connections (the first layer) as Effective_MACs x E_MAC, neuron updates x E_update.
        ``settings["calling"]`` is the style used, ``settings["calling_detected"]`` whether it was
        detected.

    Raises
    ------
    InputError
        No spiking neurons, bad ``calling``/``num_steps``, inputs not a tensor, or an ambiguous time
        axis under ``calling="auto"``.
    NotFoundError
        Unknown profile.
    DependencyError
        torch or snntorch is not installed.
    """
    torch = check_model(model)
    neurons = spiking_neurons(model)
    if not neurons:
        raise InputError("'model' holds no snntorch SpikingNeuron layer; use profile_model for ANNs")
    if calling not in ("auto", "step", "sequence"):
        raise InputError(f"'calling' must be 'auto', 'step' or 'sequence' (got {calling!r})")
    if not isinstance(inputs, torch.Tensor):
        raise InputError(f"'inputs' must be a torch.Tensor (got {type(inputs).__name__})")
    num_steps = check_int(num_steps, "num_steps", minimum=1, allow_none=True)
    if calling == "sequence" and num_steps is not None:
        raise InputError("'num_steps' applies to calling='step' only: a model with its time loop inside "
                         "forward sets its own number of steps (got calling='sequence')")
    if calling in ("step", "auto") and num_steps is None and inputs.dim() < 2:
        raise ShapeError(f"'inputs' must be [T, batch, ...] (one step per call) or [batch, ...] (time loop "
                         f"inside forward) (got shape {tuple(inputs.shape)})")
    energy_profiles = profile_names(profiles)
    detected = calling == "auto"
    rec: _Recording | None = None
    if calling == "auto" and num_steps is not None:
        calling = "step"
    elif calling == "auto":
        try:
            probe = _record(model, inputs, neurons, calling="sequence", num_steps=None, torch=torch)
        except Exception:  # noqa: BLE001 - a step-style model may reject the whole [T, ...] tensor
            probe = None
        if probe is not None and probe.calls_per_model_call() > 1:
            calling, rec = "sequence", probe
        else:
            calling = "step"
            why = None if probe is None else _first_layer_unbatched(probe, per_step_drop=1)
            if why is not None:
                raise InputError(
                    f"cannot tell the time axis: the model computes one time step per call (each neuron "
                    f"layer fired once per forward), but inputs of shape {tuple(inputs.shape)} leave no "
                    f"batch axis after taking T from axis 0 ({why}). Give inputs "
                    "[T, batch, ...], or num_steps=T to feed this input at every step "
                    "(CLI: --num-steps T), or calling='sequence' (CLI: --calling sequence)")
    if rec is None:
        rec = _record(model, inputs, neurons, calling=calling, num_steps=num_steps, torch=torch)
        steps = num_steps if num_steps is not None else int(inputs.shape[0])
        if calling == "step" and rec.calls_per_model_call() > steps:
            raise InputError(
                f"calling='step' but a neuron layer fired {rec.calls_per_model_call()} times in {steps} calls: "
                "the time loop is inside forward; use calling='sequence' (CLI: --calling sequence) or 'auto'")

    neuron_profiles = []
    total_el = nonzero_el = 0
    batch = time_steps = 0
    for n, m in neurons:
        steps = rec.spikes[n]
        if not steps:
            continue
        s = torch.stack(steps)  # [T, (batch,) ...]
        t_steps = int(s.shape[0])
        feeder = _unbatched_out(rec.feeder[n]) if rec.feeder.get(n) is not None else None
        sample_dims = feeder[0] if feeder is not None else 1
        # A batch axis exists only when one step's spikes have more axes than one sample has.
        b = int(s.shape[1]) if s.dim() - 1 > sample_dims else 1
        per_sample = int(s[0].numel() // b)
        if feeder is not None and per_sample % feeder[1]:
            raise ShapeError(f"neuron layer {n!r} holds {per_sample} values per sample, not a multiple of the "
                             f"{feeder[1]} features of the layer feeding it; pass calling= explicitly")
        spikes = float(s.abs().sum().item())
        fired = (s != 0).any(dim=0).reshape(-1)
        total_el += s.numel()
        nonzero_el += int((s != 0).sum().item())
        batch, time_steps = max(batch, b), max(time_steps, t_steps)
        denom = per_sample * t_steps * b
        neuron_profiles.append(NeuronLayerProfile(
            name=n, kind=type(m).__name__, neurons=per_sample, time_steps=t_steps, batch=b,
            spikes=spikes, firing_rate=spikes / denom, spikes_per_neuron=spikes / (per_sample * b),
            silent_fraction=float(1.0 - fired.to(torch.float64).mean().item()),
            neuron_updates=denom,
        ))
    conn_types = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)
    synapses = tuple(
        SynapseLayerProfile(
            name=n, kind=r["kind"],
            input_kind=("spikes" if r["spiking_calls"] == r["calls"]
                        else "dense" if r["spiking_calls"] == 0 else "mixed"),
            calls=r["calls"], input_events=r["input_events"], dense=r["dense"],
            effective_macs=r["effective_macs"], effective_acs=r["effective_acs"], synops=r["synops"],
        )
        for n, r in rec.conn.items()
    )
    b = max(batch, 1)
    neurobench = {
        "Dense": sum(s.dense for s in synapses) / b,
        "Effective_MACs": sum(s.effective_macs for s in synapses) / b,
        "Effective_ACs": sum(s.effective_acs for s in synapses) / b,
        "activation_sparsity": 1.0 - nonzero_el / total_el if total_el else 0.0,
    }
    label = name or type(model).__name__
    energy = _snn_energy(label, tuple(neuron_profiles), synapses, energy_profiles)
    import snntorch

    skipped = tuple({"name": n, "kind": kd, "reason": r}
                    for n, kd, r in skipped_modules(model, (*conn_types, snntorch.SpikingNeuron)))
    return SNNProfile(
        model=label, time_steps=time_steps, batch=batch, neurons=tuple(neuron_profiles),
        synapses=synapses, neurobench=neurobench, energy=energy, skipped=skipped,
        settings={"calling": calling, "calling_detected": detected, "num_steps": num_steps,
                  "input_shape": list(inputs.shape), "profiles": [getattr(p, "name", p) for p in energy_profiles]},
    )


def _snn_energy(label: str, neurons: Sequence[NeuronLayerProfile],
                synapses: Sequence[SynapseLayerProfile],
                profiles: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """Price the recorded SNN workload on each profile (energy.actions calculator).

    Spiking-input connections: ``synops`` x add_int8 (per synaptic op); emitted spikes x spike_events
    (routing; every emitted spike is routed once, output layer included); neuron updates x
    neuron_updates; dense-input connections: ``Effective_MACs`` x mac_fp16. An action without a figure in the profile is never priced as 0: if the synaptic ops
    cannot be priced the record's energies are None with the reason; MACs the profile cannot price
    (neuromorphic chips have no MAC figure: the first layer runs elsewhere) are reported in
    ``unpriced_macs``. Memory: one INT8 weight read per synaptic op, one FP16 weight per priced MAC and
    one read + one write of each neuron's state per update, priced at the profile's memory level
    (:func:`neurosim.energy.memory_traffic.snn_memory_traffic`; zero with the reason where the
    per-event figure already contains the access); the bytes are in ``memory_traffic``.
    """
    spikes = float(sum(n.spikes for n in neurons))
    updates = float(sum(n.neuron_updates for n in neurons))
    synops = float(sum(s.synops for s in synapses))
    macs = float(sum(s.effective_macs for s in synapses))
    records = []
    for spec in profiles:
        prof = as_profile(spec)  # a shipped name or a user's HardwareProfile
        name = prof.name
        counts = ActionCounts(add_int8=synops, spike_events=spikes, neuron_updates=updates)
        priced_macs = macs if prof.costs.mac_fp16 is not None else 0.0
        counts = counts + ActionCounts(mac_fp16=priced_macs)
        rec: dict[str, Any] = {
            "model": label, "profile": name, "synops": synops, "spike_events": spikes,
            "neuron_updates": updates, "macs_priced": priced_macs, "unpriced_macs": macs - priced_macs,
        }
        missing = missing_costs(counts, prof.costs)
        if missing:
            rec.update(compute_j=None, memory_j=None, static_j=None, total_j=None,
                       notes=[f"profile {name!r} has no figure for {', '.join(missing)}; not priced"])
        else:
            br = evaluate(counts, prof.costs)
            # weight reads per synaptic event (and per priced MAC) and neuron state read + write per
            # update, priced at the profile's memory level (neurosim.energy.memory_traffic)
            mem = snn_memory_traffic(synaptic_events=synops, neuron_updates=updates, profile=prof,
                                     dense_macs=priced_macs)
            notes = list(br.notes) + list(mem.notes)
            if macs > priced_macs:
                notes.append(f"{macs - priced_macs:.0f} dense-input MACs not priced: profile {name!r} "
                             "has no FP16 MAC figure (that layer runs off-chip)")
            rec.update(compute_j=br.compute_j, memory_j=br.memory_j + mem.total_j, static_j=br.static_j,
                       total_j=br.total_j + mem.total_j, memory_traffic=mem.to_dict(), notes=notes)
        records.append(rec)
    return tuple(records)
