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
import pandas as pd

from neurosim.energy.profile_overrides import as_profile
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

__all__ = [
    "ENERGY_CI_MODE",
    "ENERGY_CI_REPLICATES",
    "INTERVAL_FIGURES",
    "build_profile",
    "corpus_line",
    "interval_frame",
    "layer_group_frame",
    "profile_corpus",
]

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

    Each replicate is priced exactly as the point is (:func:`price_layers`), on layers whose tallies carry
    the replicate's sums (spike events, silent inputs, active blocks, input slots) and token counts.
    """
    by_name = {as_profile(spec).name: spec for spec in profiles}
    weights = reps.weights[:ENERGY_CI_REPLICATES]
    tokens_rep = weights @ stats.prompt_tokens
    sums = {lay.name: weights @ stats.aligned(stats.projections[lay.name])[0] for lay in layers}
    rep_layers: list[list[LayerProfile]] = []
    for r in range(weights.shape[0]):
        row = []
        for lay in layers:
            s = sums[lay.name][r]
            if s[_F["slots"]] <= 0:
                continue
            blocks = {b: int(s[_F[f"active_blocks_{b}"]]) for b in lay.tally.active_blocks}
            tally = replace(lay.tally, input_slots=int(s[_F["slots"]]), spike_events=int(s[_F["spikes"]]),
                            silent_inputs=int(s[_F["silent"]]), nonzero_inputs=int(s[_F["slots"]] - s[_F["silent"]]),
                            tokens=int(s[_F["tokens"]]), active_blocks=blocks)
            row.append(replace(lay, tokens=int(s[_F["rows"]]), tokens_profiled=int(s[_F["tokens"]]), tally=tally))
        rep_layers.append(row)
    out = []
    for rec in energy:
        if rec["mode"] != ENERGY_CI_MODE or rec.get("total_j") is None or rec["profile"] not in by_name:
            continue
        spec = by_name[rec["profile"]]
        per_token = np.full(weights.shape[0], np.nan)
        for r, row in enumerate(rep_layers):
            priced = price_layers(rec.get("model", ""), row, (ENERGY_CI_MODE,), (spec,)) if row else ()
            if priced and priced[0].get("total_j") is not None and tokens_rep[r] > 0:
                per_token[r] = priced[0]["total_j"] / tokens_rep[r]
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


def interval_frame(profile: ModelProfile) -> pd.DataFrame:
    """One row per figure with its 95 % interval: totals, output fidelity, energy per token (corpus runs)."""
    iv = profile.intervals or {}
    rows = [{"figure": f, "value": v["value"], "low": v["low"], "high": v["high"]}
            for f, v in iv.get("totals", {}).items()]
    rows += [{"figure": f"fidelity: {f}", "value": v["value"], "low": v["low"], "high": v["high"]}
             for f, v in iv.get("fidelity", {}).items()]
    rows += [{"figure": f"energy per token [J], {r['mode']}, {r['profile']}", "value": r["value"], "low": r["low"],
              "high": r["high"]} for r in iv.get("energy_per_token", [])]
    return pd.DataFrame(rows, columns=["figure", "value", "low", "high"])


def layer_group_frame(profile: ModelProfile) -> pd.DataFrame:
    """Per decoder layer: spikes per channel, silent fraction, window sparsity, each with its interval."""
    return pd.DataFrame([dict(g) for g in profile.layer_groups])


def corpus_line(profile: ModelProfile) -> str:
    """One line naming the corpus and the bootstrap behind the intervals."""
    c = profile.corpus or {}
    iv = profile.intervals or {}
    return (f"Corpus {c.get('file')} (SHA-256 {str(c.get('sha256', ''))[:16]}..., {c.get('prompts')} prompts, "
            f"{c.get('tokens')} tokens, padding excluded): 95 % per-prompt bootstrap intervals, "
            f"{iv.get('replicates')} replicates, seed {iv.get('seed')}")
