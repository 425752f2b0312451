"""The default job: simulate a representative sample spike by spike, scale it to the whole model.

Steps (each a function, so tests and the CLI share them):

1. :func:`resolve_model` — a built-in configuration or a HuggingFace-format checkpoint.
2. :func:`load_activations` — seeded calibrated synthetic activations (see
   :mod:`neurosim.analysis.calibration`) or a user's ``.npy`` of real ones, shape ``[tokens, hidden]``.
3. :func:`simulate_layers` — the chosen decoder layers (default: the first GLA and the first
   sliding-window layer) run on the spiking path with every projection input spike coded; one
   :class:`~neurosim.tally.ProjectionTally` and the integer counts per projection.
4. :func:`run_job` — statistics of the sample (every sparsity definition), measured spike statistics
   applied to the analytical counts of all layers, energy per token per mode and profile (measured and
   the report's stated statistics side by side), k sweep, claims audit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurosim.analysis.bootstrap import replicates
from neurosim.analysis.calibration import calibrated_activations
from neurosim.analysis.claims import audit_claims
from neurosim.analysis.distributed import connect
from neurosim.analysis.mergeable import PROMPT_FIELDS, StatsBuilder, figures
from neurosim.analysis.sparsity import summarize
from neurosim.analysis.sweep import k_sweep
from neurosim.budget import check_layer_memory, check_memory
from neurosim.checkpoint import load_checkpoint
from neurosim.coding import check_coding
from neurosim.counts import analytical_counts
from neurosim.energy import profile_overrides
from neurosim.energy.system import system_records
from neurosim.energy.workload import SpikeActivity
from neurosim.exceptions import CheckpointError, InputError, ShapeError, ShardFailedError
from neurosim.init import init_layer_weights
from neurosim.layers.block import decoder_block
from neurosim.layers.model import block_weights_from_params
from neurosim.layers.projection import Projector
from neurosim.models import ModelConfig, get_model_config
from neurosim.tally import ProjectionTally, sum_tallies, tally_frame
from neurosim.validation import load_npy_rows

__all__ = [
    "JobResult",
    "JobSettings",
    "SimulatedLayer",
    "check_simulable",
    "default_layers",
    "layer_interval_table",
    "load_activations",
    "resolve_layers",
    "resolve_model",
    "resolve_profiles",
    "run_job",
    "simulate_layer",
    "simulate_layers",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class JobSettings:
    """Everything that determines a report; same settings and seed give the same JSON."""

    model: str = "spikingbrain-7b"
    checkpoint: str | None = None
    tokens: int = 32
    activations: str | None = None
    k: float = 3.0
    coding: str = "bidirectional"
    layers: tuple[int, ...] | str | None = None  # None: first layer of each type; "all": every layer
    seed: int = 0
    profiles: tuple[str, ...] | None = None  # None: every shipped profile; names or profile-file paths
    overrides: tuple[str, ...] = ()  # PROFILE.PARAM=VALUE UNIT, applied to the profiles (--set)
    context_length: int = 4096
    group_size: int | None = 128
    ks: tuple[float, ...] = (2.0, 2.5, 3.0, 3.5, 4.0)
    # Where layers run (not part of the result: any worker count gives the same bytes, so not in to_dict).
    workers: int = 1
    scheduler: str | None = None
    bootstrap: int = 1000

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "checkpoint": self.checkpoint, "tokens": self.tokens,
            "activations": self.activations, "k": self.k, "coding": self.coding,
            "layers": (list(self.layers) if isinstance(self.layers, tuple) else self.layers), "seed": self.seed,
            "profiles": list(self.profiles) if self.profiles is not None else "all",
            "overrides": list(self.overrides),
            "context_length": self.context_length, "group_size": self.group_size, "ks": list(self.ks),
        }


@dataclass(frozen=True, eq=False)
class SimulatedLayer:
    """One decoder layer run spike by spike."""

    layer: int
    layer_type: str
    tallies: tuple[ProjectionTally, ...]
    counts: dict[str, np.ndarray] = field(repr=False)  # projection name -> int64 [tokens, in]
    attention_macs: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, eq=False)
class JobResult:
    """Everything a report shows."""

    settings: JobSettings
    config: ModelConfig
    source: str  # "built-in configuration, seeded random INT8 weights" or the checkpoint path
    activation_source: str
    simulated: tuple[SimulatedLayer, ...]
    sample_tally: ProjectionTally
    statistics: dict[str, Any]  # neurosim.analysis.sparsity.summarize(...).to_dict() over all sampled counts
    measured_stats: Any  # neurosim.energy.workload.SpikeActivity
    energy: dict[str, Any]  # system_records, measured statistics, spiked projections (every profile)
    energy_paper: dict[str, Any]  # the same with the report's stated statistics
    energy_all: dict[str, Any]  # measured statistics, whole model incl. attention and lm_head
    sweep: pd.DataFrame
    claims: list[Any]
    model_counts: Any  # neurosim.counts.ModelCounts
    timings: dict[str, float]
    profile_names: tuple[str, ...]
    layer_table: pd.DataFrame | None = None  # per simulated layer, with 95 % token-bootstrap intervals
    profiles: tuple[Any, ...] = ()  # the HardwareProfile objects priced (overrides applied)

    @property
    def all_counts(self) -> np.ndarray:
        """Every sampled projection input count, flattened (int64)."""
        return np.concatenate([c.ravel() for s in self.simulated for c in s.counts.values()])

    def projection_frame(self) -> pd.DataFrame:
        """One row per simulated projection: its tally as a DataFrame row."""
        return tally_frame([t for s in self.simulated for t in s.tallies])


def _noop(_: str) -> None:
    pass


def resolve_model(settings: JobSettings) -> tuple[ModelConfig, Any, str]:
    """The configuration, the checkpoint (or None) and a one-line description of the weights."""
    if settings.checkpoint is not None:
        if not str(settings.checkpoint).strip():  # Path("") would be the current directory
            raise CheckpointError("--checkpoint is empty; pass a folder with config.json and safetensors")
        path = Path(settings.checkpoint)
        if not path.exists():
            raise CheckpointError(f"checkpoint directory {str(path)!r} does not exist")
        ckpt = load_checkpoint(path)
        return ckpt.config, ckpt, f"checkpoint {path}"
    return get_model_config(settings.model), None, "built-in configuration with seeded random weights"


def resolve_profiles(names: Sequence[Any] | None, overrides: Sequence[str] = ()) -> tuple[Any, ...]:
    """Validated hardware profiles (``None`` or ``["all"]``: every shipped profile): shipped names, paths
    to users' profile files or loaded profiles, with ``PROFILE.PARAM=VALUE`` ``overrides`` applied
    (see :mod:`neurosim.energy.profile_overrides`). Returns HardwareProfile objects."""
    return profile_overrides.resolve_profiles(None if names is None else list(names), overrides)


def resolve_layers(layers: Sequence[int] | str | None, config: ModelConfig) -> tuple[int, ...]:
    """``None``: :func:`default_layers`; ``"all"``: every decoder layer; else the given indices."""
    if layers is None:
        return default_layers(config)
    if isinstance(layers, str):
        if layers != "all":
            raise InputError(f"'layers' must be layer indices or 'all' (got {layers!r})")
        return tuple(range(config.n_layers))
    return tuple(layers)


def default_layers(config: ModelConfig) -> tuple[int, ...]:
    """First layer of each distinct layer type (e.g. one GLA and one SWA layer of SpikingBrain-7B)."""
    seen: dict[str, int] = {}
    for i, t in enumerate(config.layer_types):
        seen.setdefault(t, i)
    return tuple(sorted(seen.values()))


def load_activations(settings: JobSettings, config: ModelConfig) -> tuple[np.ndarray, str]:
    """Hidden states fed to the simulated layers, shape ``[tokens, hidden]``, and their description."""
    if settings.activations is None:
        # The draw holds a few float64 copies of [tokens, hidden]; refuse before allocating.
        check_memory(4 * 8 * settings.tokens * config.hidden,
                     f"calibrated activations of {settings.tokens} tokens x {config.hidden}",
                     hint="use fewer --tokens")
        x = calibrated_activations(settings.tokens, config.hidden, seed=settings.seed)
        return x, (f"calibrated synthetic activations ({settings.tokens} tokens x {config.hidden}, "
                   f"seed {settings.seed}; see neurosim.analysis.calibration)")
    path = Path(settings.activations)
    # Reads the header first and only the first --tokens rows (bounded memory; regular files only).
    x = load_npy_rows(path, max_rows=settings.tokens, what="activations file", ndims=(2, 3))
    if x.shape[1] != config.hidden:
        raise ShapeError(f"activations file {str(path)!r} must have shape [tokens, {config.hidden}] "
                         f"(or [batch, tokens, {config.hidden}]) for model {config.name!r}; got rows of {x.shape[1]}")
    if x.dtype.kind != "f":
        raise InputError(f"activations file {str(path)!r} must hold floats (got dtype {x.dtype})")
    if not np.isfinite(x).all():
        raise InputError(f"activations file {str(path)!r} holds NaN or inf values")
    x = x[: settings.tokens].astype(np.float64)
    return x, f"{x.shape[0]} tokens from {path.name}"


def _layer_weights(config: ModelConfig, layer: int, checkpoint: Any, rng: np.random.Generator,
                   group_size: int | None) -> Any:
    """INT8 weights of one layer: from the checkpoint, or drawn tensor by tensor (see neurosim.init)."""
    if checkpoint is not None:
        return block_weights_from_params(checkpoint.params, config, layer, group_size=group_size, keep_float=False)
    return init_layer_weights(config, layer, rng=rng, group_size=group_size)


def check_simulable(config: ModelConfig) -> None:
    """Raise :class:`InputError` with what to do instead when ``config`` cannot run spike by spike.

    SpikingBrain-76B ties its GLA gate to the key (g = 1 - k) and prepends 128 learnable sink tokens;
    the report gives neither in a form that can be executed, so only its analytical counts exist.
    """
    missing = []
    if config.gla_gate != "lowrank" and any("gla" in t for t in config.layer_types):
        missing.append(f"a GLA gate tied to the key ({config.gla_gate!r})")
    if config.n_sink_tokens:
        missing.append(f"{config.n_sink_tokens} learnable sink tokens")
    if missing:
        raise InputError(
            f"model {config.name!r} cannot be simulated spike by spike: the report does not publish "
            f"{' and '.join(missing)} in executable form. Its analytical per-token energy is available: "
            f"`energy-report energy --model {config.name}`"
        )


def simulate_layer(x: np.ndarray, config: ModelConfig, layer: int, *, k: float, coding: str, seed: int,
                   checkpoint: Any = None, group_size: int | None = 128,
                   progress: Progress = _noop) -> SimulatedLayer:
    """Run decoder layer ``layer`` of ``config`` on ``x`` spike by spike; weights drawn with ``[seed, layer]``."""
    check_layer_memory(config, int(layer), x.shape[0], k=k, coding=coding)  # before any weight is drawn
    rng = np.random.default_rng([seed, int(layer)])
    progress(f"layer {layer} ({config.layer_types[layer]}): weights")
    weights = _layer_weights(config, int(layer), checkpoint, rng, group_size)
    progress(f"layer {layer} ({config.layer_types[layer]}): spiking forward")
    proj = Projector(mode="spiking", k=k, coding=coding, path="event", keep_counts=True)
    t0 = time.perf_counter()
    run = decoder_block(x, weights, config, int(layer), proj)
    return SimulatedLayer(layer=int(layer), layer_type=config.layer_types[layer], tallies=tuple(proj.tallies),
                          counts=dict(proj.counts), attention_macs=int(run.attention_macs),
                          seconds=time.perf_counter() - t0)


# Checkpoints loaded by this (worker) process, by path: a worker loads one once, not once per layer.
_CHECKPOINTS: dict[str, Any] = {}


def _layer_task(x: np.ndarray, config: ModelConfig, layer: int, k: float, coding: str, seed: int,
                checkpoint_path: str | None, group_size: int | None) -> SimulatedLayer:
    """One layer on a Dask worker (module-level, so workers import it by name)."""
    checkpoint = None
    if checkpoint_path is not None:
        checkpoint = _CHECKPOINTS.get(checkpoint_path)
        if checkpoint is None:
            checkpoint = _CHECKPOINTS[checkpoint_path] = load_checkpoint(Path(checkpoint_path))
    return simulate_layer(x, config, layer, k=k, coding=coding, seed=seed, checkpoint=checkpoint,
                          group_size=group_size)


def simulate_layers(x: np.ndarray, config: ModelConfig, layers: Sequence[int], *, k: float, coding: str,
                    seed: int, checkpoint: Any = None, group_size: int | None = 128,
                    progress: Progress = _noop, workers: int = 1, scheduler: str | None = None,
                    checkpoint_path: str | None = None) -> tuple[SimulatedLayer, ...]:
    """Run ``layers`` of ``config`` on ``x`` with every projection input spike coded (event path).

    Layers are independent (each sees ``x``; weights drawn with ``[seed, layer]``), so with ``workers`` > 1
    (or a Dask ``scheduler``) they run in parallel on Dask worker processes, one layer per task, with the
    same result as in this process. ``checkpoint_path`` is what workers load when ``checkpoint`` is set.
    """
    check_simulable(config)
    for layer in layers:
        if isinstance(layer, bool) or not 0 <= int(layer) < config.n_layers:
            raise InputError(f"'layers' must be indices in 0..{config.n_layers - 1} for model "
                             f"{config.name!r} (got {layer!r})")
        # Every layer before the first runs: a refusal costs seconds, not a simulated layer.
        check_layer_memory(config, int(layer), x.shape[0], k=k, coding=coding)
    if workers == 1 and scheduler is None:
        return tuple(simulate_layer(x, config, int(layer), k=k, coding=coding, seed=seed, checkpoint=checkpoint,
                                    group_size=group_size, progress=progress) for layer in layers)
    if checkpoint is not None and checkpoint_path is None:
        raise InputError("simulating a checkpoint on Dask workers needs 'checkpoint_path' (workers load it)")
    import distributed

    client, cluster = connect(workers=workers, scheduler=scheduler)
    done: dict[int, SimulatedLayer] = {}
    try:
        xf = client.scatter(x, broadcast=True)
        futures = {client.submit(_layer_task, xf, config, int(layer), k, coding, seed, checkpoint_path, group_size,
                                 pure=False): int(layer) for layer in layers}
        for fut in distributed.as_completed(list(futures), loop=client.loop):
            layer = futures[fut]
            try:
                done[layer] = fut.result()
            except distributed.KilledWorker:
                raise ShardFailedError(f"layer {layer} failed: the worker simulating it died repeatedly "
                                       "(out of memory?); nothing was written") from None
            progress(f"layer {layer} done on a worker ({len(done)}/{len(futures)})")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return tuple(done[int(layer)] for layer in layers)


def layer_interval_table(simulated: Sequence[SimulatedLayer], *, coding: str, n_boot: int = 1000,
                         seed: int = 0) -> pd.DataFrame:
    """Per layer: spikes per channel, silent fraction and window sparsity with 95 % bootstrap intervals.

    The sample is a sequence of tokens, so the resampled unit is the token (all of a token's projection
    inputs in the layer move together): :mod:`neurosim.analysis.bootstrap` over per-token sums.
    """
    rows = []
    reps = None
    for s in simulated:
        by_name = {t.name: t for t in s.tallies}
        ints = None
        peak = None
        for name, counts in s.counts.items():
            tally = by_name.get(name)
            if tally is None:
                continue
            b = StatsBuilder(name, "projection", counts.shape[1], max(1, tally.out_features), coding=coding)
            owners = np.arange(counts.shape[0], dtype=np.int64)
            b.add(counts, owners, tally, real_owners=owners)
            res = b.result()
            ints = res.per_prompt if ints is None else ints + res.per_prompt
            peak = res.peak if peak is None else np.maximum(peak, res.peak)
        if ints is None or peak is None:
            continue
        if reps is None or reps.weights.shape[1] != ints.shape[0]:
            reps = replicates(int(ints.shape[0]), n_boot=n_boot, seed=seed)
        point = figures(ints.sum(axis=0), peak.max(initial=0), coding=coding, window=3)
        cis = reps.figure_intervals(ints, peak, coding=coding, window=3)
        row: dict[str, Any] = {"layer": s.layer, "layer_type": s.layer_type}
        for f in ("spikes_per_channel", "silent_fraction", "window_sparsity"):
            row[f] = float(point[f])
            row[f"{f}_low"], row[f"{f}_high"] = cis[f]
        rows.append(row)
    assert len(PROMPT_FIELDS) > 0
    return pd.DataFrame(rows)


def run_job(settings: JobSettings, *, progress: Progress = _noop) -> JobResult:
    """Run the whole default job (see module docstring) and return what the report shows."""
    check_coding(settings.coding)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    config, checkpoint, source = resolve_model(settings)
    check_simulable(config)
    profiles = resolve_profiles(settings.profiles, settings.overrides)
    layers = resolve_layers(settings.layers, config)
    x, act_source = load_activations(settings, config)
    # The k sweep needs only the activations: run it first, so activations the coders cannot count (e.g.
    # 1e38, beyond int64 at the clamped threshold) fail in seconds, not after the whole simulation.
    sweep = k_sweep(x, ks=settings.ks, coding=settings.coding)
    timings["setup_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    simulated = simulate_layers(x, config, layers, k=settings.k, coding=settings.coding, seed=settings.seed,
                                checkpoint=checkpoint, group_size=settings.group_size, progress=progress,
                                workers=settings.workers, scheduler=settings.scheduler,
                                checkpoint_path=settings.checkpoint)
    timings["simulation_s"] = time.perf_counter() - t0
    layer_table = layer_interval_table(simulated, coding=settings.coding, n_boot=settings.bootstrap,
                                       seed=settings.seed)

    t0 = time.perf_counter()
    progress("statistics, energy, k sweep and claims")
    sample = sum_tallies(t for s in simulated for t in s.tallies)
    all_counts = np.concatenate([c.ravel() for s in simulated for c in s.counts.values()])
    stats = summarize(all_counts, coding=settings.coding).to_dict()
    measured = SpikeActivity.from_tally(sample)
    counts = analytical_counts(config, context_length=settings.context_length)
    # System energy per token (neurosim.energy.system): dynamic energy + static power x time, chips
    # needed; batch-1 decode at the job's context on the eager GPU stack.
    common = dict(profiles=list(profiles), context=settings.context_length)
    # "spiked" prices the projections W8ASpike spikes (what the report's claim covers, and all a
    # neuromorphic profile can run); "all" adds attention and lm_head MACs where a profile can run them.
    energy = system_records([counts], stats=measured, scope="spiked", **common)
    energy_paper = system_records([counts], stats=SpikeActivity.paper(), scope="spiked", **common)
    energy_all = system_records([counts], stats=measured, scope="all", **common)
    claims = audit_claims(counts=all_counts, k=settings.k, seed=settings.seed)
    timings["analysis_s"] = time.perf_counter() - t0
    return JobResult(settings=settings, config=config, source=source, activation_source=act_source,
                     simulated=simulated, sample_tally=sample, statistics=stats, measured_stats=measured,
                     energy=energy, energy_paper=energy_paper, energy_all=energy_all, sweep=sweep, claims=claims,
                     model_counts=counts, timings=timings,
                     profile_names=tuple(p.name for p in profiles), profiles=profiles, layer_table=layer_table)
