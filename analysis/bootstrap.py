"""Per-prompt (cluster) bootstrap of corpus statistics: seeded percentile intervals.

Tokens of one prompt are not independent draws (they share a context, a topic, a length), so the unit
resampled is the prompt: each replicate draws ``P`` prompts with replacement from the ``P`` profiled
ones, and every figure is recomputed as the same ratio of per-prompt sums the point estimate uses
(:func:`neurosim.analysis.mergeable.figures`). One weight matrix serves every figure of a run, so
intervals of different figures come from the same replicates. Same seed, same intervals, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.exceptions import InputError, ResourceLimitError
from neurosim.analysis.mergeable import fidelity, figures

__all__ = ["DEFAULT_REPLICATES", "Replicates", "interval", "replicates"]

#: Default number of bootstrap replicates.
DEFAULT_REPLICATES = 1000

# Weight matrices above this many entries are refused (int32: 4 bytes each) rather than allocated.
_MAX_WEIGHTS = 100_000_000


@dataclass(frozen=True, eq=False)
class Replicates:
    """Prompt multiplicities of every bootstrap replicate.

    Attributes
    ----------
    weights : numpy.ndarray of int64, shape (n_boot, prompts)
        How often each prompt is drawn in each replicate (each row sums to ``prompts``).
    seed : int
    level : float
        Coverage of the intervals (0.95).
    """

    weights: np.ndarray
    seed: int
    level: float

    @property
    def n_boot(self) -> int:
        return int(self.weights.shape[0])

    def sums(self, per_prompt: np.ndarray) -> np.ndarray:
        """Replicate sums ``weights @ per_prompt`` (exact for integer columns)."""
        x = np.asarray(per_prompt)
        if x.dtype.kind in "iu":
            return self.weights @ x.astype(np.int64)  # integer matmul: exact, no BLAS
        # Float sums without BLAS (whose rounding depends on its thread count), a few replicates at a time.
        out = np.empty((self.weights.shape[0], *x.shape[1:]))
        for i in range(0, self.weights.shape[0], 16):
            w = self.weights[i:i + 16].astype(np.float64)
            out[i:i + 16] = (w.reshape(*w.shape, *([1] * (x.ndim - 1))) * x[None]).sum(axis=1)
        return out

    def peaks(self, peak: np.ndarray) -> np.ndarray:
        """Largest per-prompt peak among the prompts each replicate draws."""
        return np.where(self.weights > 0, np.asarray(peak, np.int64)[None, :], 0).max(axis=1, initial=0)

    def figure_intervals(self, per_prompt: np.ndarray, peak: np.ndarray, *, coding: str,
                         window: int) -> dict[str, tuple[float, float]]:
        """Interval of every figure of :func:`neurosim.analysis.mergeable.figures`."""
        reps = figures(self.sums(per_prompt), self.peaks(peak), coding=coding, window=window)
        return {k: interval(v, self.level) for k, v in reps.items()}

    def fidelity_intervals(self, per_prompt_float: np.ndarray) -> dict[str, tuple[float, float]]:
        """Intervals of the cosine similarity and relative error from per-prompt sums ``[P, 4]``."""
        cos, rel = fidelity(self.sums(per_prompt_float))
        return {"cosine_similarity": interval(cos, self.level), "relative_error": interval(rel, self.level)}


def replicates(n_prompts: int, *, n_boot: int = DEFAULT_REPLICATES, seed: int = 0,
               level: float = 0.95) -> Replicates:
    """Draw the prompt multiplicities of ``n_boot`` replicates with ``numpy.random.default_rng(seed)``.

    Raises
    ------
    InputError
        ``n_prompts`` or ``n_boot`` < 1, ``level`` outside (0, 1), negative ``seed``.
    ResourceLimitError
        ``n_boot x n_prompts`` above 10^8 weights (use fewer replicates).
    """
    for name, v in (("n_prompts", n_prompts), ("n_boot", n_boot)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"{name!r} must be an integer >= 1 (got {v!r})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"'seed' must be an integer >= 0 (got {seed!r})")
    if not 0 < level < 1:
        raise InputError(f"'level' must lie in (0, 1) (got {level!r})")
    if n_boot * n_prompts > _MAX_WEIGHTS:
        raise ResourceLimitError(f"a bootstrap of {n_boot} replicates over {n_prompts} prompts needs "
                                 f"{n_boot * n_prompts} weights (limit {_MAX_WEIGHTS}); pass fewer replicates")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_prompts, size=(n_boot, n_prompts))
    offsets = (np.arange(n_boot, dtype=np.int64) * n_prompts)[:, None]
    weights = np.bincount((draws + offsets).ravel(), minlength=n_boot * n_prompts).reshape(n_boot, n_prompts)
    return Replicates(weights=weights.astype(np.int64), seed=int(seed), level=float(level))


def interval(samples: Any, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap ``samples`` (NaN replicates ignored; NaN when all are)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (float("nan"), float("nan"))
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(x, [tail, 100 - tail])
    return (float(lo), float(hi))
