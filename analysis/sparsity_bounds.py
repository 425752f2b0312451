"""Which window sparsities the report's spike statistics allow: linear programs over count histograms.

The report quotes 69.15 % sparsity in a 3-step window beside 1.13 spikes per channel, 18.4 % silent
channels, 94.1 % of ``|count| <= 7`` and about 1 % above 16 (all at k = 3). :func:`sparsity_bounds`
finds, for one reading of "window sparsity" (:data:`WINDOW_DEFINITIONS`), the smallest and largest
sparsity of any ``|count|`` histogram that meets all of those figures within their printed precision
and has a mean ``|count|`` within ``k +- 1/2`` (rounding moves each ``|x/Vth|`` by at most 1/2 and
``mean|x|/Vth = k``). The ratio definitions are linear after the Charnes-Cooper transform. The claims
audit (:mod:`neurosim.analysis.claims`) uses the ranges to judge the 69.15 % figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from scipy import optimize

from neurosim.coding import popcount
from neurosim.energy.report_figures import report_figures
from neurosim.exceptions import unknown_name
from neurosim.validation import check_positive

__all__ = ["WINDOW_DEFINITIONS", "sparsity_bounds"]

#: Readings of "sparsity with a 3-step window (values within INT3 range, inactive bits filled with 0)".
WINDOW_DEFINITIONS: Mapping[str, str] = MappingProxyType(
    {
        "exclude": "1 - mean popcount / 3 over channels with |count| <= 7 only "
                   "(neurosim.analysis.sparsity.window_sparsity mode='exclude', the report's rule)",
        "clip": "1 - mean popcount(min(|count|, 7)) / 3 over all channels (mode='clip')",
        "all-3bit": "1 - mean popcount(|count|) / 3 over all channels (the facts sheet's 62.3 % reading)",
        "multi-window": "zero bits / all bits when |count| takes ceil(bit_length / 3) 3-step windows",
    }
)
_LP_MAX = 1 << 12


def _definition_vectors(name: str, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per ``|count| = m``: (spikes counted, bits counted) for a window definition."""
    pop = popcount(m).astype(np.float64)
    if name == "all-3bit":
        return pop, np.full(m.shape, 3.0)
    if name == "multi-window":
        bl = np.array([max(int(v).bit_length(), 1) for v in m], dtype=np.float64)
        return pop, 3.0 * np.ceil(bl / 3.0)
    if name == "exclude":
        inside = (m <= 7).astype(np.float64)
        return pop * inside, 3.0 * inside
    clip = np.minimum(m, 7)
    return popcount(clip).astype(np.float64), np.full(m.shape, 3.0)


def sparsity_bounds(definition: str, *, k: float = 3.0) -> tuple[float, float]:
    """Range of window sparsity over every ``|count|`` histogram consistent with the report's statistics.

    Constraints (each as an interval of half a unit in the last published digit): silent fraction
    18.4 %, 94.1 % of ``|count| <= 7``, 0.5-1.5 % above 16 ("about 1 %"), 1.13 spikes per channel, mean
    ``|count|`` in ``[k - 1/2, k + 1/2]``; ``|count| < 4096``.

    Parameters
    ----------
    definition : str
        A key of :data:`WINDOW_DEFINITIONS`.
    k : float
        Threshold divisor (sets the mean-count constraint).

    Returns
    -------
    (low, high) : tuple of float
        Smallest and largest sparsity (fractions); ``(nan, nan)`` if no histogram satisfies the
        constraints.
    """
    if definition not in WINDOW_DEFINITIONS:
        raise unknown_name("window definition", str(definition), WINDOW_DEFINITIONS)
    k = check_positive(k, "k")
    m = np.arange(_LP_MAX)
    spikes, bits = _definition_vectors(definition, m)
    pop, _ = _definition_vectors("all-3bit", m)
    f = report_figures()
    rows: list[tuple[np.ndarray, float, float]] = [
        (a, f[name].value - f[name].rounding_tolerance, f[name].value + f[name].rounding_tolerance)
        for a, name in (((m == 0).astype(float), "silent_fraction"), ((m <= 7).astype(float), "within_7_fraction"),
                        ((m > 16).astype(float), "above_16_fraction"), (pop, "spikes_per_channel"))
    ]
    rows.append((m.astype(float), k - 0.5, k + 0.5))
    # Charnes-Cooper: y = p / (bits . p), t = 1 / (bits . p); sparsity = 1 - spikes . y.
    n = m.size
    a_ub, b_ub = [], []
    for a, lo, hi in rows:
        a_ub.append(np.append(a, -hi))  # a.y - hi t <= 0
        b_ub.append(0.0)
        a_ub.append(np.append(-a, lo))  # lo t - a.y <= 0
        b_ub.append(0.0)
    a_eq = np.vstack([np.append(np.ones(n), -1.0), np.append(bits, 0.0)])
    b_eq = np.array([0.0, 1.0])
    out = []
    for sign in (1.0, -1.0):  # maximize spikes.y (lowest sparsity), then minimize
        res = optimize.linprog(
            np.append(-sign * spikes, 0.0), A_ub=np.array(a_ub), b_ub=np.array(b_ub),
            A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs",
        )
        if res.status != 0:
            return (float("nan"), float("nan"))
        out.append(1.0 - float(spikes @ res.x[:n]))
    return (min(out), max(out))
