"""Exact, mergeable spike statistics of a profiled corpus, per projection, per prompt.

A run over a corpus is split into shards of prompts; each shard yields a :class:`CorpusStats`, and
:func:`merge` adds them. Everything that is summed is an integer (int64 histograms and counters), and
the only floating-point figures (output fidelity sums) are kept per prompt and added up in prompt order
when a figure is asked for. So merging is exact and order-independent: shards give the same numbers as
one run, bit for bit, and a prompt seen twice is an error rather than a silent double count.

Per projection (one ``nn.Linear`` or one simulated projection) a :class:`ProjectionStats` holds

* ``pos_hist`` / ``neg_hist``: int64 bincounts of the spike counts ``c`` (``pos_hist[m]`` = #(c == m),
  ``neg_hist[m]`` = #(c == -m)): the exact distribution behind every definition of
  :mod:`neurosim.analysis.sparsity`;
* ``events_by_step`` (aligned on the least significant step, as :class:`neurosim.tally.ProjectionTally`
  adds them), engine counters (spike events, silent inputs, rows fetched per token and per batch, active
  blocks per block size, ...);
* per prompt, the integer sums each sparsity definition is a ratio of (:data:`PROMPT_FIELDS`), the largest
  ``|c|``, and the layer output fidelity sums: what the cluster bootstrap of
  :mod:`neurosim.analysis.bootstrap` resamples.

Figures are computed from sums by :func:`figures`, one code path for the point estimate and for every
bootstrap replicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
import re
from typing import Any

import numpy as np

from neurosim.coding import check_coding, popcount, spikes_per_count
from neurosim.exceptions import InputError
from neurosim.tally import BLOCK_SIZES, ProjectionTally

__all__ = [
    "FIGURES",
    "PROMPT_FIELDS",
    "CorpusStats",
    "ProjectionStats",
    "StatsBuilder",
    "figures",
    "group_by_layer",
    "layer_of",
    "merge",
    "stats_record",
]

#: Integer sums kept per prompt (columns of ``ProjectionStats.per_prompt``).
PROMPT_FIELDS: tuple[str, ...] = (
    "rows",          # real (non-padding) input rows of the prompt, profiled or not
    "tokens",        # rows run through the event engine (profiled)
    "slots",         # profiled rows x in_features
    "spikes",        # spike events under the run's coder (what the engine fired)
    "silent",        # slots with count 0
    "win_spikes",    # 1-bits of |c| over values with |c| <= 2^window - 1 ("exclude")
    "win_values",    # values with |c| <= 2^window - 1
    "clip_spikes",   # 1-bits of min(|c|, 2^window - 1) ("clip")
    "pop_spikes",    # 1-bits of |c| over all values ("full", bidirectional spikes)
    "within_0_7",    # values with |c| <= 7
    "above_16",      # values with |c| > 16
    "sum_abs",       # sum of |c|
    *(f"active_blocks_{b}" for b in BLOCK_SIZES),
)
_F = {name: i for i, name in enumerate(PROMPT_FIELDS)}
#: Per-prompt float sums of the layer output against its floating-point output.
FLOAT_FIELDS: tuple[str, ...] = ("dot", "ref_sq", "new_sq", "diff_sq")

#: Figures :func:`figures` returns (each a ratio of per-prompt sums).
FIGURES: tuple[str, ...] = (
    "spikes_per_channel", "silent_fraction", "activation_sparsity", "firing_rate", "window_sparsity",
    "window_coverage", "window_sparsity_clip", "window_sparsity_full", "within_0_7", "above_16",
    "mean_abs_count",
)

# Engine counters summed over calls (ProjectionTally scalar fields).
_TALLY_FIELDS = ("tokens", "input_slots", "dense_macs", "spike_events", "synaptic_ops", "nonzero_inputs",
                 "sum_abs_counts", "silent_inputs", "rows_fetched_token", "rows_fetched_batch",
                 "weight_bytes_touched")

_LAYER_RE = re.compile(r"(?:^|\.)(?:layers?|h|blocks?|block)\.(\d+)(?:\.|$)")


def _add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(max(a.size, b.size), dtype=np.int64)
    out[: a.size] += a
    out[: b.size] += b
    return out


def _steps(peak: Any, coding: str) -> np.ndarray:
    """Time steps of ``coding`` for peak magnitudes (vectorised :func:`neurosim.coding.time_steps_needed`)."""
    peak = np.asarray(peak, dtype=np.int64)
    if coding in ("binary", "ternary"):
        return np.maximum(1, peak)
    values, inverse = np.unique(peak, return_inverse=True)
    bits = np.array([int(v).bit_length() for v in values], dtype=np.int64)[inverse].reshape(peak.shape)
    return np.maximum(2, bits + 1) if coding == "twos-complement" else np.maximum(1, bits)


def figures(sums: np.ndarray, peak: np.ndarray, *, coding: str, window: int) -> dict[str, np.ndarray]:
    """Every figure of :data:`FIGURES` from per-prompt sums (``[..., len(PROMPT_FIELDS)]``).

    ``peak`` is the largest ``|c|`` of the sample (same leading shape); it sets the firing rate's code
    length and the "full" window. Ratios with a zero denominator are NaN.
    """
    s = np.asarray(sums, dtype=np.float64)
    slots = s[..., _F["slots"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        spc = s[..., _F["spikes"]] / slots
        silent = s[..., _F["silent"]] / slots
        bits_full = np.maximum(window, _steps(peak, "bitwise"))
        out = {
            "spikes_per_channel": spc,
            "silent_fraction": silent,
            "activation_sparsity": silent,
            "firing_rate": spc / _steps(peak, coding),
            "window_sparsity": 1.0 - s[..., _F["win_spikes"]] / (window * s[..., _F["win_values"]]),
            "window_coverage": s[..., _F["win_values"]] / slots,
            "window_sparsity_clip": 1.0 - s[..., _F["clip_spikes"]] / (window * slots),
            "window_sparsity_full": 1.0 - s[..., _F["pop_spikes"]] / (bits_full * slots),
            "within_0_7": s[..., _F["within_0_7"]] / slots,
            "above_16": s[..., _F["above_16"]] / slots,
            "mean_abs_count": s[..., _F["sum_abs"]] / slots,
        }
    return out


def fidelity(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity and relative error from ``[..., 4]`` sums (dot, |ref|^2, |new|^2, |diff|^2)."""
    s = np.asarray(sums, dtype=np.float64)
    dot, ref, new, diff = s[..., 0], s[..., 1], s[..., 2], s[..., 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt(ref * new)
        cos = np.where(denom > 0, dot / np.where(denom > 0, denom, 1.0), np.where(diff == 0, 1.0, 0.0))
        rel = np.where(ref > 0, np.sqrt(diff / np.where(ref > 0, ref, 1.0)), np.where(diff == 0, 0.0, np.inf))
    return cos, rel


@dataclass(frozen=True, eq=False)
class ProjectionStats:
    """Mergeable statistics of one projection (see module docstring)."""

    name: str
    kind: str
    in_features: int
    out_features: int
    coding: str
    window: int
    calls: int
    pos_hist: np.ndarray = field(repr=False)
    neg_hist: np.ndarray = field(repr=False)
    events_by_step: np.ndarray = field(repr=False)
    counters: Mapping[str, int] = field(default_factory=dict)
    active_blocks: Mapping[int, int] = field(default_factory=dict)
    prompt_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    per_prompt: np.ndarray = field(default_factory=lambda: np.zeros((0, len(PROMPT_FIELDS)), np.int64),
                                   repr=False)
    peak: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    per_prompt_float: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)), repr=False)

    @property
    def rows(self) -> int:
        """Real input rows (profiled or not) over all calls."""
        return int(self.per_prompt[:, _F["rows"]].sum())

    def totals(self) -> np.ndarray:
        """Per-prompt sums added up (int64, exact)."""
        return self.per_prompt.sum(axis=0, dtype=np.int64)

    def figures(self) -> dict[str, float]:
        """Point figures of :data:`FIGURES` over every prompt."""
        peak = np.int64(self.peak.max(initial=0))
        return {k: float(v) for k, v in figures(self.totals(), peak, coding=self.coding,
                                                  window=self.window).items()}

    def fidelity_sums(self) -> np.ndarray:
        """Layer output fidelity sums, added in prompt order (deterministic)."""
        total = np.zeros(4)
        for row in self.per_prompt_float:
            total += row
        return total

    def to_tally(self) -> ProjectionTally:
        """The engine counters as one :class:`~neurosim.tally.ProjectionTally` (profiled rows)."""
        c = dict(self.counters)
        return ProjectionTally(
            name=self.name, in_features=self.in_features, out_features=self.out_features,
            time_steps=int(self.events_by_step.shape[0]), events_by_step=self.events_by_step,
            active_blocks=dict(self.active_blocks), coding=self.coding, projections=self.calls,
            **{f: int(c.get(f, 0)) for f in _TALLY_FIELDS},
        )

    def histogram(self) -> dict[str, list[int]]:
        """``{"value": [-M..M], "count": [...]}`` of the signed counts (JSON-ready)."""
        top = max(self.pos_hist.size, self.neg_hist.size) - 1
        neg = np.zeros(top + 1, np.int64)
        neg[: self.neg_hist.size] = self.neg_hist
        pos = np.zeros(top + 1, np.int64)
        pos[: self.pos_hist.size] = self.pos_hist
        counts = np.concatenate([neg[:0:-1], pos])
        return {"value": list(range(-top, top + 1)), "count": [int(v) for v in counts]}


def _merge_projection(a: ProjectionStats, b: ProjectionStats) -> ProjectionStats:
    if (a.in_features, a.out_features, a.coding, a.window) != (b.in_features, b.out_features, b.coding, b.window):
        raise InputError(f"cannot merge statistics of projection {a.name!r}: shapes or coders differ "
                         f"({a.in_features}x{a.out_features} {a.coding} vs {b.in_features}x{b.out_features} {b.coding})")
    steps = max(a.events_by_step.shape[0], b.events_by_step.shape[0])
    ebs = np.zeros((steps, 2), dtype=np.int64)
    ebs[steps - a.events_by_step.shape[0]:] += a.events_by_step
    ebs[steps - b.events_by_step.shape[0]:] += b.events_by_step
    ids = np.concatenate([a.prompt_ids, b.prompt_ids])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    if ids.size > 1 and np.any(ids[1:] == ids[:-1]):
        dup = int(ids[1:][ids[1:] == ids[:-1]][0])
        raise InputError(f"prompt {dup} is in two shards of projection {a.name!r}; a shard was counted twice")
    return replace(
        a,
        calls=a.calls + b.calls,
        pos_hist=_add_padded(a.pos_hist, b.pos_hist),
        neg_hist=_add_padded(a.neg_hist, b.neg_hist),
        events_by_step=ebs,
        counters={f: int(a.counters.get(f, 0)) + int(b.counters.get(f, 0)) for f in _TALLY_FIELDS},
        active_blocks={k: int(a.active_blocks.get(k, 0)) + int(b.active_blocks.get(k, 0))
                       for k in sorted(set(a.active_blocks) | set(b.active_blocks))},
        prompt_ids=ids,
        per_prompt=np.concatenate([a.per_prompt, b.per_prompt])[order],
        peak=np.concatenate([a.peak, b.peak])[order],
        per_prompt_float=np.concatenate([a.per_prompt_float, b.per_prompt_float])[order],
    )


@dataclass(frozen=True, eq=False)
class CorpusStats:
    """Mergeable statistics of a profiled corpus (or a shard of it).

    Attributes
    ----------
    projections : dict of str to ProjectionStats
        In order of first call.
    prompt_ids : numpy.ndarray of int64
        Global indices of the prompts covered, sorted.
    prompt_tokens : numpy.ndarray of int64
        Real (non-padding) tokens of each prompt.
    output : numpy.ndarray of float64, shape (prompts, 4), or None
        Final output fidelity sums per prompt (None when outputs were not spiked).
    """

    projections: dict[str, ProjectionStats]
    prompt_ids: np.ndarray
    prompt_tokens: np.ndarray
    output: np.ndarray | None = None

    @property
    def tokens(self) -> int:
        return int(self.prompt_tokens.sum())

    def aligned(self, proj: ProjectionStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``proj``'s per-prompt ints, peaks and floats on this corpus's prompt list (zeros where absent)."""
        idx = np.searchsorted(self.prompt_ids, proj.prompt_ids)
        ints = np.zeros((self.prompt_ids.size, len(PROMPT_FIELDS)), np.int64)
        peak = np.zeros(self.prompt_ids.size, np.int64)
        flo = np.zeros((self.prompt_ids.size, 4))
        ints[idx] = proj.per_prompt
        peak[idx] = proj.peak
        flo[idx] = proj.per_prompt_float
        return ints, peak, flo

    def output_sums(self) -> np.ndarray | None:
        """Final output fidelity sums added in prompt order."""
        if self.output is None:
            return None
        total = np.zeros(4)
        for row in self.output:
            total += row
        return total


def merge(parts: Iterable[CorpusStats]) -> CorpusStats:
    """Exact, order-independent sum of shard statistics (prompt sets must be disjoint).

    Raises
    ------
    InputError
        No parts, a prompt present in two parts, or projections that disagree in shape or coder.
    """
    items = list(parts)
    if not items:
        raise InputError("'parts' must hold at least one CorpusStats (got none)")
    # Projection order: first-call order of the part holding the smallest prompt id (independent of the
    # order the parts arrive in).
    items.sort(key=lambda p: int(p.prompt_ids.min(initial=np.iinfo(np.int64).max)))
    projections: dict[str, ProjectionStats] = {}
    for part in items:
        for name, proj in part.projections.items():
            projections[name] = proj if name not in projections else _merge_projection(projections[name], proj)
    ids = np.concatenate([p.prompt_ids for p in items])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    if ids.size > 1 and np.any(ids[1:] == ids[:-1]):
        dup = int(ids[1:][ids[1:] == ids[:-1]][0])
        raise InputError(f"prompt {dup} is in two shards; a shard was counted twice")
    tokens = np.concatenate([p.prompt_tokens for p in items])[order]
    outputs = [p.output for p in items]
    output = None if any(o is None for o in outputs) else np.concatenate(outputs)[order]
    return CorpusStats(projections=projections, prompt_ids=ids, prompt_tokens=tokens, output=output)


class StatsBuilder:
    """Accumulates one projection's calls within one shard (used by the profiling hooks)."""

    def __init__(self, name: str, kind: str, in_features: int, out_features: int, *, coding: str,
                 window: int = 3) -> None:
        check_coding(coding)
        self.name, self.kind = name, kind
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.coding, self.window = coding, int(window)
        self.calls = 0
        self.pos = np.zeros(1, np.int64)
        self.neg = np.zeros(1, np.int64)
        self.ebs = np.zeros((0, 2), np.int64)
        self.counters = dict.fromkeys(_TALLY_FIELDS, 0)
        self.blocks: dict[int, int] = {}
        self.rows: dict[int, np.ndarray] = {}
        self.peaks: dict[int, int] = {}
        self.floats: dict[int, np.ndarray] = {}

    def _row(self, pid: int) -> np.ndarray:
        row = self.rows.get(pid)
        if row is None:
            row = self.rows[pid] = np.zeros(len(PROMPT_FIELDS), np.int64)
            self.peaks[pid] = 0
            self.floats[pid] = np.zeros(4)
        return row

    def add(self, counts: np.ndarray, owners: np.ndarray, tally: ProjectionTally, *, real_owners: np.ndarray,
            ref: np.ndarray | None = None, new: np.ndarray | None = None) -> None:
        """One call: ``counts`` [k, in] of the profiled rows owned by prompts ``owners`` [k]; ``real_owners``
        the owners of every real row (profiled or not); ``ref``/``new`` the layer outputs of the profiled rows."""
        c = np.asarray(counts, dtype=np.int64).reshape(-1, self.in_features)
        owners = np.asarray(owners, dtype=np.int64)
        self.calls += 1
        mag = np.abs(c)
        top = (1 << self.window) - 1
        pop = popcount(mag)
        spikes = spikes_per_count(c, self.coding, tally.time_steps)  # the coder's rule, neurosim.coding
        fits = mag <= top
        per_row = [
            np.ones(c.shape[0], np.int64),
            np.full(c.shape[0], self.in_features, np.int64),
            spikes.sum(axis=1),
            (c == 0).sum(axis=1),
            np.where(fits, pop, 0).sum(axis=1),
            fits.sum(axis=1),
            popcount(np.minimum(mag, top)).sum(axis=1),
            pop.sum(axis=1),
            (mag <= 7).sum(axis=1),
            (mag > 16).sum(axis=1),
            mag.sum(axis=1),
        ]
        nz = c != 0
        for b in BLOCK_SIZES:
            nb = -(-self.in_features // b)
            padded = np.zeros((c.shape[0], nb * b), bool)
            padded[:, : self.in_features] = nz
            per_row.append(padded.reshape(c.shape[0], nb, b).any(axis=2).sum(axis=1))
        table = np.stack(per_row, axis=1)  # every column but "rows", which real_owners fills below
        peaks = mag.max(axis=1, initial=0)
        flo = None
        if ref is not None and new is not None:
            r = np.asarray(ref, dtype=np.float64).reshape(c.shape[0], -1)
            y = np.asarray(new, dtype=np.float64).reshape(c.shape[0], -1)
            d = y - r
            flo = np.stack([(r * y).sum(axis=1), (r * r).sum(axis=1), (y * y).sum(axis=1), (d * d).sum(axis=1)],
                           axis=1)
        for pid in np.unique(real_owners):
            self._row(int(pid))[0] += int(np.count_nonzero(real_owners == pid))
        for i, pid in enumerate(owners.tolist()):  # row order: deterministic float sums
            row = self._row(pid)
            row[1:] += table[i]
            self.peaks[pid] = max(self.peaks[pid], int(peaks[i]))
            if flo is not None:
                self.floats[pid] += flo[i]
        pos = c[c >= 0]
        self.pos = _add_padded(self.pos, np.bincount(pos) if pos.size else np.zeros(1, np.int64))
        neg = -c[c < 0]
        self.neg = _add_padded(self.neg, np.bincount(neg) if neg.size else np.zeros(1, np.int64))
        steps = max(self.ebs.shape[0], tally.events_by_step.shape[0])
        ebs = np.zeros((steps, 2), np.int64)
        ebs[steps - self.ebs.shape[0]:] += self.ebs
        ebs[steps - tally.events_by_step.shape[0]:] += tally.events_by_step
        self.ebs = ebs
        for f in _TALLY_FIELDS:
            self.counters[f] += int(getattr(tally, f))
        for b, v in tally.active_blocks.items():
            self.blocks[int(b)] = self.blocks.get(int(b), 0) + int(v)

    def result(self) -> ProjectionStats:
        ids = np.array(sorted(self.rows), dtype=np.int64)
        return ProjectionStats(
            name=self.name, kind=self.kind, in_features=self.in_features, out_features=self.out_features,
            coding=self.coding, window=self.window, calls=self.calls, pos_hist=self.pos, neg_hist=self.neg,
            events_by_step=self.ebs if self.ebs.size else np.zeros((1, 2), np.int64),
            counters=dict(self.counters), active_blocks=dict(sorted(self.blocks.items())), prompt_ids=ids,
            per_prompt=np.array([self.rows[i] for i in ids], dtype=np.int64).reshape(-1, len(PROMPT_FIELDS)),
            peak=np.array([self.peaks[i] for i in ids], dtype=np.int64),
            per_prompt_float=np.array([self.floats[i] for i in ids]).reshape(-1, 4),
        )


def layer_of(name: str) -> str:
    """Decoder layer a projection belongs to: ``"layer 3"`` for ``model.layers.3.mlp.up_proj`` (also
    ``h.3``, ``blocks.3``, ``encoder.layer.3``), else ``"other"`` (heads, poolers)."""
    m = _LAYER_RE.search(name)
    return f"layer {int(m.group(1))}" if m else "other"


def group_by_layer(names: Sequence[str]) -> dict[str, list[str]]:
    """Projection names grouped by :func:`layer_of`, layers in numeric order, ``"other"`` last."""
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(layer_of(n), []).append(n)
    def key(label: str) -> tuple[int, int]:
        return (1, 0) if label == "other" else (0, int(label.split()[1]))
    return {k: groups[k] for k in sorted(groups, key=key)}


def stats_record(stats: ProjectionStats) -> dict[str, Any]:
    """JSON-ready exact record of one projection (histogram, events by step, counters)."""
    return {
        "name": stats.name, "calls": stats.calls, "rows": stats.rows,
        "histogram": stats.histogram(),
        "events_by_step_pos": [int(v) for v in stats.events_by_step[:, 0]],
        "events_by_step_neg": [int(v) for v in stats.events_by_step[:, 1]],
        "counters": {k: int(v) for k, v in stats.counters.items()},
        "active_blocks": {str(k): int(v) for k, v in stats.active_blocks.items()},
    }
