r"""Spike statistics of integer spike counts and spike trains (report section 5.5, figure 9, appendix A.8).

The report quotes several numbers that all get called "sparsity" but are different statistics. Each
function here computes exactly one of them, stated in its docstring, so a figure can always be traced
to its definition:

=====================================  ===========================================================  ===========
function                               definition (``c`` = integer counts, ``n`` = ``c.size``)       report
=====================================  ===========================================================  ===========
:func:`spikes_per_channel`             ``sum(spikes(c_i)) / n``; bidirectional: ``popcount(|c|)``    1.13
:func:`silent_fraction`                ``#(c_i == 0) / n``                                          18.4 %
:func:`neurobench_activation_sparsity`  ``(N - nnz) / N`` of any integer array (counts or a train)   --
:func:`window_sparsity`                ``1 - ones / (window * n_in)`` over values fitting the window 69.15 %
:func:`count_distribution`             histogram of ``|c|``; share in ``[0, 7]``, share ``> 16``     94.1 %, ~1 %
:func:`firing_rate_per_step`           share of neurons spiking per step; Int2Spike ``sum|s|/numel``  --
=====================================  ===========================================================  ===========

"Channel" follows the report: one (token, feature) entry of a projection input, i.e. one count value.
Spikes per channel and window sparsity are *not* the same statistic: the report's 1.13 spikes per
channel over a 3-step window would give ``1 - 1.13 / 3 = 62.3 %``, not the 69.15 % it quotes, because the
window sparsity only counts values that fit in the window (``|c| <= 7``), whose spikes are fewer.

All functions are pure NumPy and stateless; they never modify their input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from neurosim.validation import as_int_counts
from neurosim.coding import (
    SpikeEvents,
    check_coding,
    popcount,
    resolve_time_steps,
    spikes_per_count,
    time_steps_needed,
)
from neurosim.exceptions import CodingRangeError, InputError, ShapeError

__all__ = [
    "WINDOW_MODES",
    "CountDistribution",
    "FiringRate",
    "SpikeStatistics",
    "WindowMode",
    "WindowSparsity",
    "count_distribution",
    "firing_rate_per_step",
    "neurobench_activation_sparsity",
    "silent_fraction",
    "spikes_per_channel",
    "summarize",
    "window_sparsity",
]

WindowMode = Literal["exclude", "clip", "full"]
WINDOW_MODES: tuple[str, ...] = ("exclude", "clip", "full")

# A dense histogram of |counts| beyond this many bins is almost certainly a mistake (or an unspiked
# float tensor cast to int); ask for ``max_value`` instead of allocating gigabytes.
_MAX_HISTOGRAM_BINS = 1 << 24

def _counts(counts: Any) -> np.ndarray:
    arr = as_int_counts(counts, "counts")
    if arr.ndim < 1:
        raise ShapeError(f"'counts' must be an array shaped [..., channels] (got a scalar, shape {arr.shape})")
    if arr.min() == np.iinfo(np.int64).min:
        raise CodingRangeError("'counts' holds -2**63, whose magnitude does not fit in int64")
    return arr


def _check_window(window: Any) -> int:
    try:
        ok = not isinstance(window, bool) and int(window) == window and 1 <= int(window) <= 62
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError(f"'window' must be an integer number of time steps in [1, 62] (got {window!r})")
    return int(window)


def spikes_per_channel(
    counts: Any, coding: str = "bidirectional", *, time_steps: int | None = None
) -> float:
    r"""Mean number of spike events per channel (per count value) under a spike coder.

    .. math::

        \bar{s} = \frac{1}{n} \sum_i \operatorname{spikes}(c_i), \qquad
        \operatorname{spikes}(c) = \begin{cases}
            |c| & \text{binary, ternary} \\
            \operatorname{popcount}(|c|) & \text{bitwise, bidirectional} \\
            \operatorname{popcount}(c \bmod 2^T) & \text{two's complement}
        \end{cases}

    This is the report's "average 1.13 spikes fired per channel" (bidirectional coding), the factor its
    energy estimate multiplies the INT8 add energy by. It equals the number of events of
    :func:`neurosim.coding.encode_events` divided by ``counts.size``, without building the events.

    Parameters
    ----------
    counts : array_like of integers, shape (..., channels)
        Integer spike counts (floats only if they hold whole numbers).
    coding : {"bidirectional", "ternary", "binary", "bitwise", "twos-complement"}
        Spike coder; default the report's bitwise-ternary (sign-magnitude) code.
    time_steps : int, optional
        Code length T. Only two's complement depends on it (negative values fill the high bits);
        default is the Int2Spike rule of :func:`neurosim.coding.time_steps_needed`.

    Returns
    -------
    float
        Spikes per channel (dimensionless, >= 0).

    Raises
    ------
    NotFoundError
        Unknown ``coding``.
    InputError, ShapeError, CodingRangeError
        Non-integer, empty or scalar ``counts``; negative counts for an unsigned coder; counts that do
        not fit in ``time_steps``.
    """
    check_coding(coding)
    arr = _counts(counts)
    t_steps = resolve_time_steps(arr, coding, time_steps)
    return int(spikes_per_count(arr, coding, t_steps).sum()) / arr.size


def silent_fraction(counts: Any) -> float:
    """Share of channels (count values) with count 0: ``#(c_i == 0) / n``.

    The report's "18.4% of channels fire no spike at all". Equal to
    :func:`neurobench_activation_sparsity` of the counts, and to ``1 - count_nonzero(c) / n``.

    Parameters
    ----------
    counts : array_like of integers, shape (..., channels)

    Returns
    -------
    float in [0, 1]
    """
    arr = _counts(counts)
    return float(np.count_nonzero(arr == 0) / arr.size)


def neurobench_activation_sparsity(values: Any) -> float:
    """NeuroBench ``ActivationSparsity``: ``(N - nnz) / N`` over all entries of an integer array.

    NeuroBench computes it over spiking-layer outputs. On integer counts it equals
    :func:`silent_fraction`; on a dense spike train ``[T, ...]`` it equals
    ``1 - firing_rate_per_step(train).overall`` (a time step counts as an entry).

    Parameters
    ----------
    values : array_like of integers, any non-empty shape
        Counts or a spike train.

    Returns
    -------
    float in [0, 1]
    """
    arr = as_int_counts(values, "values")
    return float((arr.size - np.count_nonzero(arr)) / arr.size)


@dataclass(frozen=True, eq=False)
class FiringRate:
    """Result of :func:`firing_rate_per_step`.

    Attributes
    ----------
    per_step : numpy.ndarray of float64, shape (T,)
        Share of neurons that spike (either polarity) at each time step.
    overall : float
        ``sum|s| / numel(train)``: Int2Spike's ``firing_rate()``; the mean of ``per_step``.
    time_steps : int
        T.
    neurons : int
        Neurons per step (``prod(shape[1:])``).
    """

    per_step: np.ndarray
    overall: float
    time_steps: int
    neurons: int


def firing_rate_per_step(train: np.ndarray | SpikeEvents) -> FiringRate:
    r"""Share of neurons spiking at each time step, and Int2Spike's overall firing rate.

    .. math::

        r_t = \frac{\#\{i : s_{t,i} \ne 0\}}{N}, \qquad
        r = \frac{\sum_{t,i} |s_{t,i}|}{T N} = \frac{1}{T} \sum_t r_t

    Parameters
    ----------
    train : numpy.ndarray of int or bool, shape (T, ...), values in {-1, 0, 1}; or SpikeEvents
        A dense spike train from :func:`neurosim.coding.encode`, or its event list.

    Returns
    -------
    FiringRate

    Raises
    ------
    InputError
        Non-integer dtype, or values outside {-1, 0, 1}.
    ShapeError
        Fewer than 2 dimensions, no time steps or no neurons.
    """
    if isinstance(train, SpikeEvents):
        neurons = int(np.prod(train.shape, dtype=np.int64))
        if train.time_steps < 1 or neurons < 1:
            raise ShapeError(
                f"'train' events must have >= 1 time step and neuron (got T={train.time_steps}, "
                f"shape {train.shape})"
            )
        fired = np.bincount(train.t, minlength=train.time_steps)[: train.time_steps]
        per_step = fired / neurons
        return FiringRate(per_step, float(fired.sum() / (neurons * train.time_steps)), train.time_steps, neurons)
    arr = np.asarray(train)
    if arr.dtype.kind not in "iub":
        raise InputError(f"'train' must be an integer or bool spike array (got dtype {arr.dtype})")
    if arr.ndim < 2 or arr.size == 0:
        raise ShapeError(f"'train' must be shaped [T, neurons...] with T, neurons >= 1 (got shape {arr.shape})")
    arr = arr.astype(np.int64).reshape(arr.shape[0], -1)
    if arr.min() < -1 or arr.max() > 1:
        raise InputError(f"'train' spikes must lie in {{-1, 0, 1}} (got values in [{arr.min()}, {arr.max()}])")
    per_step = np.count_nonzero(arr, axis=1) / arr.shape[1]
    return FiringRate(per_step, float(np.abs(arr).sum() / arr.size), int(arr.shape[0]), int(arr.shape[1]))


@dataclass(frozen=True)
class WindowSparsity:
    """Result of :func:`window_sparsity`.

    Attributes
    ----------
    sparsity : float
        ``1 - spikes / (bits * n_values)``; NaN if no value is counted (``n_values == 0``).
    spikes : int
        1-bits (spike events) counted.
    bits : int
        Time steps per value in the denominator: ``window``, or for ``mode="full"`` the larger of
        ``window`` and the bidirectional code length of ``max|c|``.
    n_values : int
        Count values included.
    n_total : int
        All count values given.
    coverage : float
        ``n_values / n_total``: share of values that fit the window ("exclude"), else 1.
    window : int
    mode : str
    """

    sparsity: float
    spikes: int
    bits: int
    n_values: int
    n_total: int
    coverage: float
    window: int
    mode: str


def window_sparsity(counts: Any, window: int = 3, *, mode: WindowMode = "exclude") -> WindowSparsity:
    r"""The report's sparsity over a ``window``-step bidirectional (sign-magnitude) code.

    Each value is coded as ``window`` bits of ``|c|`` (inactive high bits are 0), and sparsity is the
    share of those bit slots that do not spike:

    .. math::

        S = 1 - \frac{\sum_{i \in I} \operatorname{popcount}(m_i)}{B \cdot |I|}

    ``mode`` says what happens to values with ``|c| > 2^{window} - 1``, which do not fit:

    ``"exclude"`` (the report's rule, section 5.5: "values within INT3 range, inactive bits filled with 0")
        ``I`` = values with ``|c| <= 2^window - 1``, ``m = |c|``, ``B = window``. The others are left out
        (see ``coverage``). With ``window=3`` this is the report's 69.15 %.
    ``"clip"``
        ``I`` = all values, ``m = min(|c|, 2^window - 1)`` (a saturating encoder: an out-of-range value
        fires every bit), ``B = window``.
    ``"full"``
        ``I`` = all values, ``m = |c|``, ``B = max(window, bit_length(max|c|))``: every bit is kept and the
        window grows to the tensor's code length. With ``B`` equal to the Int2Spike code length this is
        ``1 - firing_rate()`` of the bidirectional spike train.

    This is not ``1 - spikes_per_channel / window``: spikes per channel averages over *all* values,
    including the large ones "exclude" drops (report: ``1 - 1.13 / 3 = 62.3 % != 69.15 %``).

    Parameters
    ----------
    counts : array_like of integers, shape (..., channels)
        Signed integer spike counts (the sign does not change the number of spikes).
    window : int
        Window length in time steps (bits), 1..62. Default 3 (INT3, as in the report).
    mode : {"exclude", "clip", "full"}
        Treatment of values that do not fit the window (see above).

    Returns
    -------
    WindowSparsity

    Raises
    ------
    InputError
        Bad ``window`` or ``mode``; non-integer ``counts``.
    ShapeError
        Empty or scalar ``counts``.
    """
    arr = _counts(counts)
    w = _check_window(window)
    if mode not in WINDOW_MODES:
        raise InputError(f"'mode' must be one of {', '.join(map(repr, WINDOW_MODES))} (got {mode!r})")
    mag = np.abs(arr).reshape(-1)
    top = (1 << w) - 1
    bits = w
    if mode == "exclude":
        mag = mag[mag <= top]
    elif mode == "clip":
        mag = np.minimum(mag, top)
    else:
        bits = max(w, int(mag.max()).bit_length())
    spikes = int(popcount(mag).sum())
    n = int(mag.size)
    sparsity = 1.0 - spikes / (bits * n) if n else float("nan")
    return WindowSparsity(
        sparsity=float(sparsity), spikes=spikes, bits=bits, n_values=n, n_total=int(arr.size),
        coverage=n / arr.size, window=w, mode=mode,
    )


@dataclass(frozen=True, eq=False)
class CountDistribution:
    """Result of :func:`count_distribution`.

    Attributes
    ----------
    values : numpy.ndarray of int64, shape (B,)
        ``0, 1, ..., max_value``: the bins of ``|c|``.
    counts : numpy.ndarray of int64, shape (B,)
        Number of channels with each ``|c|``.
    fractions : numpy.ndarray of float64, shape (B,)
        ``counts / n``.
    overflow_fraction : float
        Share of channels with ``|c| > max_value`` (0 when ``max_value`` is the maximum).
    within_0_7 : float
        Share with ``|c| <= 7`` (report: 94.1 %; table 11's "fraction of values <= 7").
    above_16 : float
        Share with ``|c| > 16`` (report: about 1 %).
    mean_abs : float
        ``mean |c|``.
    n : int
        Number of channels.
    """

    values: np.ndarray
    counts: np.ndarray
    fractions: np.ndarray
    overflow_fraction: float
    within_0_7: float
    above_16: float
    mean_abs: float
    n: int

    def fraction_at_most(self, value: int) -> float:
        """Share of channels with ``|c| <= value``, for ``0 <= value <= max_value``."""
        v = int(value)
        if not 0 <= v < self.values.size:
            raise InputError(f"'value' must lie in [0, {self.values.size - 1}] (got {value!r})")
        return float(self.counts[: v + 1].sum() / self.n)


def count_distribution(counts: Any, max_value: int | None = None) -> CountDistribution:
    """Histogram of absolute spike counts ``|c|`` (report figure 9).

    Parameters
    ----------
    counts : array_like of integers, shape (..., channels)
    max_value : int, optional
        Last histogram bin; larger ``|c|`` go to ``overflow_fraction``. Default ``max|c|``
        (at most 2**24 bins).

    Returns
    -------
    CountDistribution
        ``within_0_7``, ``above_16`` and ``mean_abs`` always use every value, whatever ``max_value``.

    Raises
    ------
    InputError
        Bad ``max_value``, or ``max|c|`` too large for a dense histogram without ``max_value``.
    """
    arr = _counts(counts)
    mag = np.abs(arr).reshape(-1)
    peak = int(mag.max())
    if max_value is None:
        if peak >= _MAX_HISTOGRAM_BINS:
            raise InputError(
                f"max |counts| is {peak}: too many histogram bins; pass 'max_value' (e.g. 64) to cap them"
            )
        top = peak
    else:
        try:
            ok = (
                not isinstance(max_value, bool)
                and int(max_value) == max_value
                and 0 <= max_value < _MAX_HISTOGRAM_BINS
            )
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise InputError(
                f"'max_value' must be an integer in [0, {_MAX_HISTOGRAM_BINS - 1}] (got {max_value!r})"
            )
        top = int(max_value)
    inside = mag[mag <= top]
    hist = np.bincount(inside, minlength=top + 1).astype(np.int64)
    n = int(mag.size)
    return CountDistribution(
        values=np.arange(top + 1, dtype=np.int64),
        counts=hist,
        fractions=hist / n,
        overflow_fraction=float((n - inside.size) / n),
        within_0_7=float(np.count_nonzero(mag <= 7) / n),
        above_16=float(np.count_nonzero(mag > 16) / n),
        mean_abs=float(mag.mean()),
        n=n,
    )


@dataclass(frozen=True)
class SpikeStatistics:
    """All spike statistics of one count array (see :func:`summarize`; definitions in this module).

    Attributes
    ----------
    coding : str
        Coder used for the spike counts and the firing rate.
    n : int
        Number of channels (count values).
    time_steps : int
        Code length T of ``coding`` for these counts (Int2Spike rule).
    spikes_per_channel : float
        :func:`spikes_per_channel`.
    firing_rate : float
        Int2Spike ``firing_rate()`` of the coded train: ``spikes_per_channel / time_steps``.
    silent_fraction : float
        :func:`silent_fraction`.
    activation_sparsity : float
        :func:`neurobench_activation_sparsity` of the counts (equals ``silent_fraction``).
    window : int
        Window of the window sparsity.
    window_sparsity : float
        :func:`window_sparsity` with ``mode="exclude"`` (the report's definition).
    window_coverage : float
        Share of values that fit the window.
    window_sparsity_clip : float
        :func:`window_sparsity` with ``mode="clip"``.
    window_sparsity_full : float
        :func:`window_sparsity` with ``mode="full"``.
    mean_abs_count : float
        ``mean |c|``.
    within_0_7 : float
        Share with ``|c| <= 7``.
    above_16 : float
        Share with ``|c| > 16``.
    """

    coding: str
    n: int
    time_steps: int
    spikes_per_channel: float
    firing_rate: float
    silent_fraction: float
    activation_sparsity: float
    window: int
    window_sparsity: float
    window_coverage: float
    window_sparsity_clip: float
    window_sparsity_full: float
    mean_abs_count: float
    within_0_7: float
    above_16: float

    def to_dict(self) -> dict[str, float | str]:
        """Plain-Python dict: every number as a ``float``, ``coding`` as ``str`` (JSON-ready)."""
        return {k: (v if isinstance(v, str) else float(v)) for k, v in asdict(self).items()}


def summarize(counts: Any, *, coding: str = "bidirectional", window: int = 3) -> SpikeStatistics:
    """Every statistic of this module for one array of integer spike counts.

    Parameters
    ----------
    counts : array_like of integers, shape (..., channels)
    coding : str
        Spike coder for ``spikes_per_channel`` and ``firing_rate`` (default bidirectional, as in the
        report and the public W8ASpike code).
    window : int
        Window (bits) of the window sparsity, default 3.

    Returns
    -------
    SpikeStatistics
    """
    check_coding(coding)
    arr = _counts(counts)
    t_steps = time_steps_needed(arr, coding)
    spc = int(spikes_per_count(arr, coding, t_steps).sum()) / arr.size
    exclude = window_sparsity(arr, window, mode="exclude")
    dist = count_distribution(arr, max_value=0)
    silent = silent_fraction(arr)
    return SpikeStatistics(
        coding=coding,
        n=int(arr.size),
        time_steps=t_steps,
        spikes_per_channel=float(spc),
        firing_rate=float(spc / t_steps),
        silent_fraction=silent,
        activation_sparsity=neurobench_activation_sparsity(arr),
        window=exclude.window,
        window_sparsity=exclude.sparsity,
        window_coverage=exclude.coverage,
        window_sparsity_clip=window_sparsity(arr, window, mode="clip").sparsity,
        window_sparsity_full=window_sparsity(arr, window, mode="full").sparsity,
        mean_abs_count=dist.mean_abs,
        within_0_7=dist.within_0_7,
        above_16=dist.above_16,
    )
