"""Profile a model over a corpus of prompts: shards, exact merge, pricing, bootstrap intervals.

:func:`profile_corpus` is what ``energy-report hf DIR --texts FILE`` and ``energy-report torch
MODULE:FACTORY --texts FILE`` run: the corpus is cut into shards of ``batch_size`` prompts
(:mod:`neurosim.analysis.distributed`), every shard is profiled with padding left out, the shards'
exact statistics are merged (:mod:`neurosim.analysis.mergeable`), the merged projections are priced
(:mod:`neurosim.analysis.pricing`) and every figure gets a per-prompt bootstrap interval
(:mod:`neurosim.analysis.bootstrap`). The result is a :class:`~neurosim.analysis.torch_profile.ModelProfile`
with ``corpus``, ``intervals`` and ``layer_groups`` filled in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from neurosim.energy.modes import mode_energy
from neurosim.energy.profile_overrides import as_profile
from neurosim.energy.workload import SpikeActivity, Workload
from neurosim.exceptions import DistributedError

from neurosim.analysis.bootstrap import DEFAULT_REPLICATES, Replicates, interval, replicates
from neurosim.analysis.corpus import Corpus
from neurosim.analysis.distributed import ProfileJob, ShardResult, plan_shards, run_shards
from neurosim.analysis.mergeable import (
    PROMPT_FIELDS,
    CorpusStats,
    ProjectionStats,
    fidelity,
    figures,
    group_by_layer,
    merge,
)
from neurosim.analysis.pricing import energy_choices, price_layers
from neurosim.analysis.torch_profile import LayerProfile, ModelProfile

__all__ = ["ENERGY_CI_MODE", "ENERGY_CI_REPLICATES", "INTERVAL_FIGURES", "build_profile", "profile_corpus"]

#: Figures that get an interval (ratios of per-prompt sums; see neurosim.analysis.mergeable.figures).
INTERVAL_FIGURES: tuple[str, ...] = (
    "spikes_per_channel", "silent_fraction", "activation_sparsity", "firing_rate", "window_sparsity",
    "window_sparsity_clip", "window_sparsity_full", "within_0_7", "above_16", "mean_abs_count",
)
#: Mode whose energy per token gets an interval (the one that depends on the spike statistics most).
ENERGY_CI_MODE = "w8aspike-event"
#: Replicates (the first ones of the run's bootstrap) used for energy intervals: each replicate prices
#: every projection on every profile, so this bounds the cost.
ENERGY_CI_REPLICATES = 200

_F = {n: i for i, n in enumerate(PROMPT_FIELDS)}


def _value(point: float, lo_hi: tuple[float, float]) -> dict[str, float | None]:
    def clean(v: float) -> float | None:
        return None if v is None or not np.isfinite(v) else float(v)
    return {"value": clean(point), "low": clean(lo_hi[0]), "high": clean(lo_hi[1])}


def _layer_profile(p: ProjectionStats) -> LayerProfile:
    tally = p.to_tally()
    cos, rel = fidelity(p.fidelity_sums())
    rows = p.rows
    return LayerProfile(
        name=p.name, kind=p.kind, in_features=p.in_features, out_features=p.out_features, calls=p.calls,
        tokens=rows, tokens_profiled=int(p.counters.get("tokens", 0)),
        spikes_per_channel=tally.spikes_per_channel, silent_fraction=tally.silent_fraction,
        window_sparsity=p.figures()["window_sparsity"], events=int(tally.spike_events),
        macs=rows * p.in_features * p.out_features, cosine_similarity=float(cos), relative_error=float(rel),
        tally=tally,
    )


def _group_arrays(stats: CorpusStats, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    ints = np.zeros((stats.prompt_ids.size, len(PROMPT_FIELDS)), np.int64)
    peak = np.zeros(stats.prompt_ids.size, np.int64)
    for n in names:
        i, pk, _ = stats.aligned(stats.projections[n])
        ints += i
        peak = np.maximum(peak, pk)
    return ints, peak


def _figure_block(stats: CorpusStats, names: Sequence[str], reps: Replicates, coding: str,
                  window: int) -> dict[str, dict[str, float | None]]:
    ints, peak = _group_arrays(stats, names)
    point = figures(ints.sum(axis=0), peak.max(initial=0), coding=coding, window=window)
    cis = reps.figure_intervals(ints, peak, coding=coding, window=window)
    return {f: _value(float(point[f]), cis[f]) for f in INTERVAL_FIGURES}


def _energy_intervals(stats: CorpusStats, layers: Sequence[LayerProfile], energy: Sequence[dict[str, Any]],
                      reps: Replicates, profiles: Sequence[Any]) -> list[dict[str, Any]]:
    """Energy per token of :data:`ENERGY_CI_MODE` on each priced profile, with its interval.

    Each replicate re-prices every projection with the replicate's spike statistics (spikes per channel,
    silent fraction, active-block fractions) and token counts, as :func:`price_layers` prices the point.
    """
    by_name = {}
    for spec in profiles:
        prof = as_profile(spec)
        by_name[prof.name] = prof
    weights = reps.weights[:ENERGY_CI_REPLICATES]
    tokens_rep = weights @ stats.prompt_tokens
    sums = {lay.name: weights @ stats.aligned(stats.projections[lay.name])[0] for lay in layers}
    acts: dict[str, list[SpikeActivity | None]] = {}
    for lay in layers:
        rows = []
        for s in sums[lay.name]:
            slots = int(s[_F["slots"]])
            if slots <= 0:
                rows.append(None)
                continue
            per_row_blocks = {b: -(-lay.in_features // b) for b in lay.tally.active_blocks}
            fractions = {b: min(1.0, int(s[_F[f"active_blocks_{b}"]]) / (slots / lay.in_features * nb))
                         for b, nb in per_row_blocks.items()}
            rows.append(SpikeActivity(int(s[_F["spikes"]]) / slots, int(s[_F["silent"]]) / slots, fractions))
        acts[lay.name] = rows
    out = []
    for rec in energy:
        if rec["mode"] != ENERGY_CI_MODE or rec.get("total_j") is None or rec["profile"] not in by_name:
            continue
        prof = by_name[rec["profile"]]
        per_rep = np.zeros(weights.shape[0])
        for lay in layers:
            wl = Workload.single(lay.in_features, lay.out_features, name=lay.name)
            reuse = max(1.0, lay.tokens / lay.calls)
            rows_col = sums[lay.name][:, _F["rows"]]
            for r, act in enumerate(acts[lay.name]):
                if act is None:
                    continue
                br = mode_energy(ENERGY_CI_MODE, wl, prof, act, weight_reuse=reuse).breakdown
                if br is not None:
                    per_rep[r] += (br.compute_j + br.memory_j + br.static_j) * int(rows_col[r])
        with np.errstate(invalid="ignore", divide="ignore"):
            per_token = per_rep / tokens_rep
        point = rec["total_j"] / stats.tokens if stats.tokens else float("nan")
        out.append({"profile": rec["profile"], "mode": ENERGY_CI_MODE, "unit": "J/token",
                    **_value(point, interval(per_token, reps.level))})
    return out


def build_profile(stats: CorpusStats, *, label: str, skipped: Sequence[dict[str, str]], settings: dict[str, Any],
                  corpus: dict[str, Any] | None, profiles: Sequence[str] | str = ("paper-45nm",),
                  modes: Sequence[str] | str | None = None, n_boot: int = DEFAULT_REPLICATES,
                  seed: int = 0) -> ModelProfile:
    """A :class:`ModelProfile` from merged statistics: layers, energy, fidelity, intervals, layer table."""
    energy_modes, energy_profiles = energy_choices(modes, profiles)
    layers = tuple(_layer_profile(p) for p in stats.projections.values())
    energy = price_layers(label, layers, energy_modes, energy_profiles)
    out_sums = stats.output_sums()
    fid: dict[str, Any] = {"cosine_similarity": None, "relative_error": None}
    if out_sums is not None:
        cos, rel = fidelity(out_sums)
        fid = {"cosine_similarity": float(cos), "relative_error": float(rel)}
    coding = settings.get("coding", "bidirectional")
    window = 3
    reps = replicates(int(stats.prompt_ids.size), n_boot=n_boot, seed=seed)
    names = list(stats.projections)
    intervals: dict[str, Any] = {
        "method": "per-prompt (cluster) bootstrap, percentile intervals",
        "level": reps.level, "replicates": reps.n_boot, "seed": reps.seed, "prompts": int(stats.prompt_ids.size),
        "totals": _figure_block(stats, names, reps, coding, window) if names else {},
    }
    if stats.output is not None:
        ci = reps.fidelity_intervals(stats.output)
        intervals["fidelity"] = {k: _value(fid[k], ci[k]) for k in ("cosine_similarity", "relative_error")}
    if energy:
        intervals["energy_per_token"] = _energy_intervals(stats, layers, energy, reps, energy_profiles)
        intervals["energy_replicates"] = min(reps.n_boot, ENERGY_CI_REPLICATES)
    groups = []
    for layer, members in group_by_layer(names).items():
        block = _figure_block(stats, members, reps, coding, window)
        row: dict[str, Any] = {"layer": layer, "projections": len(members)}
        for f in ("spikes_per_channel", "silent_fraction", "window_sparsity"):
            row[f] = block[f]["value"]
            row[f"{f}_low"] = block[f]["low"]
            row[f"{f}_high"] = block[f]["high"]
        groups.append(row)
    if corpus is not None:
        corpus = {**corpus, "tokens": stats.tokens}
    return ModelProfile(model=label, layers=layers, energy=energy, fidelity=fid, skipped=tuple(skipped),
                        settings=dict(settings), stats=stats, corpus=corpus, intervals=intervals,
                        layer_groups=tuple(groups))


def profile_corpus(
    job: ProfileJob,
    corpus: Corpus,
    *,
    batch_size: int = 8,
    workers: int = 1,
    scheduler: str | None = None,
    profiles: Sequence[str] | str = ("paper-45nm",),
    modes: Sequence[str] | str | None = None,
    n_boot: int = DEFAULT_REPLICATES,
    progress: bool = False,
    timeout: float = 10.0,
    on_done: Callable[[ShardResult, Any], None] | None = None,
) -> ModelProfile:
    """Profile ``corpus`` with ``job`` on ``workers`` processes (or a cluster) and merge exactly.

    Same job, corpus, batch size and seed give the same result, byte for byte, for any ``workers`` and
    any scheduler.

    Raises
    ------
    DistributedError
        Workers built different models (an unseeded factory), or a shard was lost.
    CorpusError, InputError, DependencyError, ShardFailedError
        See :func:`neurosim.analysis.distributed.run_shards`.
    """
    energy_choices(modes, profiles)  # unknown names fail before any work
    shards = plan_shards(corpus.texts, batch_size=batch_size, lines=corpus.lines)
    results = run_shards(job, shards, workers=workers, scheduler=scheduler, progress=progress,
                         timeout=timeout, on_done=on_done)
    prints = {r.fingerprint for r in results}
    if len(prints) > 1:
        raise DistributedError(f"workers built {len(prints)} different models from {job.source!r}; a factory "
                               "must build the same weights in every process (seed it)")
    stats = merge(r.stats for r in results)
    settings = {"k": job.k, "coding": job.coding, "group_size": job.group_size, "path": job.path,
                "max_tokens": job.max_tokens, "seed": job.seed, "spike_outputs": job.spike_outputs,
                "max_length": job.max_length, "batch_size": batch_size, "shards": len(shards),
                "torch_threads_per_shard": job.torch_threads, "bootstrap_replicates": n_boot}
    return build_profile(stats, label=results[0].label, skipped=results[0].skipped, settings=settings,
                         corpus=corpus.to_dict(), profiles=profiles, modes=modes, n_boot=n_boot, seed=job.seed)
