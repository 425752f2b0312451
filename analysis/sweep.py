"""Sweep of the threshold divisor k (report appendix A.8, table 11) and per-layer spike tables.

:func:`k_sweep` spikes the same activations at each k and tabulates the statistics of
:mod:`neurosim.analysis.sparsity` beside the report's table 11, which is data here (:data:`REPORT_TABLE_11`),
never an expected output. Table 11's "sparsity" is read as the report's window definition
(:func:`neurosim.analysis.sparsity.window_sparsity`, 3-step window, values within INT3 range).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from neurosim.adaptive import spike_counts
from neurosim.analysis.sparsity import summarize
from neurosim.energy.report_figures import report_figure, report_table
from neurosim.exceptions import InputError, ShapeError
from neurosim.validation import as_float_array, check_positive

__all__ = [
    "DEFAULT_KS",
    "REPORT_TABLE_11",
    "ReportTable11",
    "k_sweep",
    "layer_table",
]

DEFAULT_KS: tuple[float, ...] = (2.0, 2.5, 3.0, 3.5, 4.0)


@dataclass(frozen=True)
class ReportTable11:
    """Report table 11 (SpikingBrain-7B, W8ASpike): per k, sparsity, fraction of values <= 7, accuracy.

    Attributes
    ----------
    rows : Mapping[float, tuple[float, float, float]]
        k -> (sparsity, fraction of ``|count| <= 7``, average benchmark accuracy), all fractions.
    bf16_accuracy : float
        Average accuracy of the unspiked BF16 model.
    source : str
    """

    rows: Mapping[float, tuple[float, float, float]]
    bf16_accuracy: float
    source: str


def _report_table_11() -> ReportTable11:
    """Table 11 as published (``energy/data/report-spikingbrain.toml``)."""
    t = report_table("table_11")
    cols = t.columns
    rows = zip(cols["k"], cols["sparsity"], cols["within_7_fraction"], cols["accuracy"], strict=True)
    return ReportTable11(rows=MappingProxyType({k: (s, w, a) for k, s, w, a in rows}),
                         bf16_accuracy=report_figure("table11_bf16_accuracy").value, source=t.source)


REPORT_TABLE_11 = _report_table_11()


def k_sweep(
    activations: np.ndarray,
    ks: Sequence[float] = DEFAULT_KS,
    *,
    coding: str = "bidirectional",
    window: int = 3,
) -> pd.DataFrame:
    """Spike statistics of the same activations at several k, beside the report's table 11.

    Parameters
    ----------
    activations : array_like, shape (tokens, features)
        Floating-point projection inputs (e.g. :func:`neurosim.analysis.calibration.calibrated_activations`).
    ks : sequence of float
        Threshold divisors, each > 0; default the report's 2, 2.5, 3, 3.5, 4.
    coding : str
        Spike coder for spikes per channel (default bidirectional, as in the report).
    window : int
        Window (bits) of the window sparsity (default 3).

    Returns
    -------
    pandas.DataFrame
        One row per k with columns ``k``, ``window_sparsity``, ``window_coverage``,
        ``spikes_per_channel``, ``silent_fraction``, ``within_7_fraction``, ``above_16_fraction``,
        ``mean_abs_count``, ``report_sparsity``, ``report_within_7_fraction``, ``report_accuracy``
        (NaN where table 11 has no row for that k). ``df.attrs["source"]`` cites table 11.

    Raises
    ------
    InputError
        Non-finite activations, an empty ``ks`` or a k <= 0.
    ShapeError
        ``activations`` not 2-D.
    """
    x = as_float_array(activations, "activations", min_ndim=2)
    if x.ndim != 2:
        raise ShapeError(f"'activations' must be 2-D [tokens, features] (got shape {x.shape})")
    ks = tuple(ks)
    if not ks:
        raise InputError("'ks' must hold at least one k (got an empty sequence)")
    rows = []
    for k in ks:
        kf = check_positive(k, "k")
        counts, _ = spike_counts(x, kf)
        s = summarize(counts, coding=coding, window=window)
        rep = REPORT_TABLE_11.rows.get(kf, (np.nan, np.nan, np.nan))
        rows.append(
            {
                "k": kf,
                "window_sparsity": s.window_sparsity,
                "window_coverage": s.window_coverage,
                "spikes_per_channel": s.spikes_per_channel,
                "silent_fraction": s.silent_fraction,
                "within_7_fraction": s.within_0_7,
                "above_16_fraction": s.above_16,
                "mean_abs_count": s.mean_abs_count,
                "report_sparsity": rep[0],
                "report_within_7_fraction": rep[1],
                "report_accuracy": rep[2],
            }
        )
    df = pd.DataFrame(rows)
    df.attrs["source"] = REPORT_TABLE_11.source
    return df


def layer_table(
    layers: Iterable[tuple[str, Any]], *, coding: str = "bidirectional", window: int = 3
) -> pd.DataFrame:
    """Spike statistics per layer (or projection), one row per ``(name, counts)`` pair.

    Parameters
    ----------
    layers : iterable of (str, array_like of int)
        Name and integer spike counts of each layer, in order.
    coding : str
        Spike coder (default bidirectional).
    window : int
        Window (bits) of the window sparsity.

    Returns
    -------
    pandas.DataFrame
        Columns ``name`` then every field of :class:`neurosim.analysis.sparsity.SpikeStatistics`, plus a final
        row ``"all"`` with the statistics of all counts pooled (not the mean of the rows).

    Raises
    ------
    InputError
        Empty ``layers``, a name that is not a string or a repeated name.
    """
    pairs = list(layers)
    if not pairs:
        raise InputError("'layers' must hold at least one (name, counts) pair (got none)")
    seen: set[str] = set()
    rows = []
    pooled = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise InputError(f"'layers'[{i}] must be a (name: str, counts) pair (got {type(pair).__name__})")
        name, counts = pair
        if name in seen or name == "all":
            raise InputError(f"'layers' names must be unique and not 'all' (got {name!r} twice or reserved)")
        seen.add(name)
        s = summarize(counts, coding=coding, window=window)
        rows.append({"name": name, **s.to_dict()})
        pooled.append(np.asarray(counts).reshape(-1))
    rows.append({"name": "all", **summarize(np.concatenate(pooled), coding=coding, window=window).to_dict()})
    return pd.DataFrame(rows)
