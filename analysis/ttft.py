r"""Time to first token (report table 7): fits of the Qwen2.5-7B baseline and extrapolation to 4M.

Table 7 gives TTFT on H100s with sequence parallelism, the GPU count doubling with the length
(8 GPUs at 256k ... 128 at 4M). Qwen2.5-7B was measured only up to 1M; the report's "over 100x at 4M"
comes from a fitted curve it does not publish. Three baseline models are fitted here:

``affine`` (primary): ``T = c + d n``.
    Why: total prefill work is ``alpha n + beta n**2`` (projections, causal attention); on
    ``g = n / n0`` GPUs the per-GPU work is ``alpha n0 + beta n0 n``, affine in ``n``. This is the
    model the hardware scaling implies, and the only one of the three whose form follows from it.
``power``: ``T = a n**b`` (least squares in log-log); the three points give ``b`` just under 1.
``quadratic``: ``T = a n + b n**2`` (the brief's alternative, no intercept). It fits a *negative*
    ``b`` (growth below linear), so it is shown as a sensitivity case only.

Lengths are read as binary multiples (256k = 2**18 tokens); ratios do not depend on this choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from neurosim.counts import prefill_flops
from neurosim.energy.report_figures import report_table
from neurosim.exceptions import InputError, unknown_name
from neurosim.models import get_model_config

__all__ = [
    "BASELINE_MODELS",
    "TABLE_7",
    "BaselineFit",
    "Table7",
    "fit_baseline",
    "prefill_flop_ratio",
]

BASELINE_MODELS: tuple[str, ...] = ("affine", "power", "quadratic")


@dataclass(frozen=True)
class Table7:
    """Report table 7: TTFT (s) by context length, NVIDIA H100, sequence parallel.

    Attributes
    ----------
    lengths : tuple of int
        Context lengths in tokens (256k ... 4M as powers of two).
    gpus : tuple of int
        GPUs used at each length.
    spikingbrain_s : tuple of float
        SpikingBrain-7B TTFT in seconds.
    qwen_s : tuple of float
        Qwen2.5-7B TTFT in seconds; NaN where not measured (2M, 4M).
    source : str
    """

    lengths: tuple[int, ...]
    gpus: tuple[int, ...]
    spikingbrain_s: tuple[float, ...]
    qwen_s: tuple[float, ...]
    source: str

    def measured_qwen(self) -> tuple[np.ndarray, np.ndarray]:
        """Lengths (tokens) and Qwen TTFT (s) where the baseline was measured."""
        n = np.asarray(self.lengths, dtype=np.float64)
        t = np.asarray(self.qwen_s, dtype=np.float64)
        ok = np.isfinite(t)
        return n[ok], t[ok]


def _table_7() -> Table7:
    """Table 7 as published (``energy/data/report-spikingbrain.toml``; TTFT in ms there, s here)."""
    t = report_table("table_7")
    c = t.columns
    return Table7(lengths=tuple(int(n) for n in c["length"]), gpus=tuple(int(g) for g in c["gpus"]),
                  spikingbrain_s=c["spikingbrain_ttft"], qwen_s=c["qwen_ttft"], source=t.source)


TABLE_7 = _table_7()


@dataclass(frozen=True)
class BaselineFit:
    """A fitted TTFT-versus-length model of the baseline.

    Attributes
    ----------
    model : str
        One of ``BASELINE_MODELS``.
    params : Mapping[str, float]
        ``c`` (s), ``d`` (s/token) for affine; ``a``, ``b`` for power (``T = a n**b``, s) and quadratic
        (``T = a n + b n**2``, s).
    rms_log_residual : float
        Root mean square of ``log(T_fit / T_measured)`` over the measured points.
    """

    model: str
    params: Mapping[str, float]
    rms_log_residual: float

    def predict(self, lengths: np.ndarray | float) -> np.ndarray:
        """TTFT in seconds at ``lengths`` tokens."""
        n = np.asarray(lengths, dtype=np.float64)
        p = self.params
        if self.model == "affine":
            return p["c"] + p["d"] * n
        if self.model == "power":
            return p["a"] * n ** p["b"]
        return p["a"] * n + p["b"] * n**2


def fit_baseline(model: str = "affine", *, table: Table7 = TABLE_7) -> BaselineFit:
    """Fit the baseline's measured TTFT points with one of ``BASELINE_MODELS``.

    Parameters
    ----------
    model : str
        ``"affine"`` (default, see module docstring), ``"power"`` or ``"quadratic"``.
    table : Table7
        Measurements; default the report's table 7.

    Returns
    -------
    BaselineFit

    Raises
    ------
    NotFoundError
        Unknown ``model``.
    InputError
        Fewer than two measured points.
    """
    if model not in BASELINE_MODELS:
        raise unknown_name("TTFT baseline model", str(model), BASELINE_MODELS)
    n, t = table.measured_qwen()
    if n.size < 2:
        raise InputError(f"'table' must have at least 2 measured baseline points (got {n.size})")
    if model == "affine":
        d, c = np.polyfit(n, t, 1)
        params = {"c": float(c), "d": float(d)}
    elif model == "power":
        b, log_a = np.polyfit(np.log(n), np.log(t), 1)
        params = {"a": float(np.exp(log_a)), "b": float(b)}
    else:
        design = np.column_stack([n, n**2])
        (a, b), *_ = np.linalg.lstsq(design, t, rcond=None)
        params = {"a": float(a), "b": float(b)}
    fit = BaselineFit(model=model, params=MappingProxyType(params), rms_log_residual=0.0)
    rms = float(np.sqrt(np.mean(np.log(fit.predict(n) / t) ** 2)))
    return BaselineFit(model=model, params=fit.params, rms_log_residual=rms)


def prefill_flop_ratio(context_length: int, *, baseline: str = "qwen2.5-7b",
                       model: str = "spikingbrain-7b") -> float:
    """Ratio of analytical prefill FLOPs, baseline over model, at ``context_length`` tokens.

    Uses :func:`neurosim.counts.prefill_flops` (projections plus attention, summed over prompt
    positions). This is a work ratio, not a time ratio: it ignores communication and memory time.
    """
    return float(
        prefill_flops(get_model_config(baseline), context_length)
        / prefill_flops(get_model_config(model), context_length)
    )

