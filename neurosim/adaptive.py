r"""Adaptive-threshold integrate-and-fire neuron of SpikingBrain (report section 3.3.1, eqs. 19-21).

The threshold adapts to each token's activation scale:

.. math::

    V_{th}(x) = \frac{\operatorname{mean}_j |x_j|}{k}, \qquad s_{INT} = \operatorname{round}(x / V_{th})

The mean runs over the feature axis (the last axis), one threshold per token, and is clamped to
``[1e-5, 1e4]`` exactly as the public W8ASpike code does (``quant_linear.dynamic_spikes``).

Single step versus multi step
-----------------------------
:func:`spike_counts` is the collapsed single-step form used on GPUs. :func:`simulate_adaptive_if`
runs the same neuron in time: integrate-and-fire, no leak, soft reset (subtract ``Vth`` per spike),
signed firing, at most one spike per step:

.. math::

    v_t = v_{t-1} + x_t - V_{th}\,s_{t-1}, \qquad
    s_t = \begin{cases} +1 & v_t - V_{th} s_{t-1} \ge V_{th}/2 \\ -1 & < -V_{th}/2 \\ 0 & \text{else} \end{cases}

The firing threshold sits at half of ``Vth`` (equivalently, the membrane starts at ``Vth/2`` with a
threshold of ``Vth``, the usual offset of rate-coded conversion); with the report's literal ``v >= Vth``
a neuron would emit ``floor(x / Vth)`` spikes, not the ``round`` the report collapses it to.
Once the input has ended and the membrane has drained, the residual lies in ``[-Vth/2, Vth/2)``, so the
total count is ``floor(x_total / Vth + 1/2)``: rounding with halves towards +inf. It equals
``spike_counts(..., rounding="half_up")`` whenever the simulation runs long enough to drain (the
default does), and equals the public code's half-to-even rounding except at exact half-integer ties
(measure zero for real activations). ``tests/test_adaptive.py`` proves both on random inputs.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numba
import numpy as np

from neurosim._config import njit_options, parallel_options
from neurosim.validation import as_float_array, check_positive, nonfinite_error
from neurosim.exceptions import InputError, OverflowRiskError, ShapeError

__all__ = [
    "VTH_MAX",
    "VTH_MIN",
    "AdaptiveIFResult",
    "Rounding",
    "adaptive_threshold",
    "simulate_adaptive_if",
    "spike_counts",
]

#: Clamp of the adaptive threshold in the public W8ASpike code (quant_linear.py).
VTH_MIN = 1e-5
VTH_MAX = 1e4

Rounding = Literal["half_even", "half_up"]

# spike_counts splits the tokens over the threads from this many on. Measured cold with 3584 features,
# 2 threads: 64 tokens 0.45 -> 0.30 ms; at 8 tokens the parallel launch costs what it saves.
_PARALLEL_TOKENS = 16


def adaptive_threshold(x: np.ndarray, k: float = 3.0) -> np.ndarray:
    """Per-token adaptive threshold ``clamp(mean(|x|, axis=-1) / k, 1e-5, 1e4)``.

    Parameters
    ----------
    x : array_like, shape (..., features)
        Floating-point input activations of a linear projection; must be finite.
    k : float
        Threshold divisor; larger k means a lower threshold and more spikes. Must be > 0.

    Returns
    -------
    numpy.ndarray, shape (..., 1), float64
        The threshold, broadcastable against ``x``.

    Raises
    ------
    InputError
        NaN or inf in ``x``, or ``k <= 0``.
    """
    x = as_float_array(x, "x", check_finite=False)
    return _threshold(x, check_positive(k, "k"))


def _threshold(x: np.ndarray, k: float) -> np.ndarray:
    vth = np.empty((*x.shape[:-1], 1), dtype=np.float64)
    if not _threshold_kernel(x.reshape(-1, x.shape[-1]), k, vth.reshape(-1)) and not np.isfinite(x).all():
        raise nonfinite_error(x, "x")
    return vth


@numba.njit(**njit_options())
def _abs_sum_leaf(a, lo, n):
    # numpy's pairwise_sum on at most 128 values: under 8 in order; else 8 interleaved partial sums
    # combined as a tree, then the rest in order.
    if n < 8:
        res = 0.0
        for i in range(n):
            res += abs(a[lo + i])
        return res
    r0, r1, r2, r3 = abs(a[lo]), abs(a[lo + 1]), abs(a[lo + 2]), abs(a[lo + 3])
    r4, r5, r6, r7 = abs(a[lo + 4]), abs(a[lo + 5]), abs(a[lo + 6]), abs(a[lo + 7])
    i = 8
    while i < n - n % 8:
        r0 += abs(a[lo + i])
        r1 += abs(a[lo + i + 1])
        r2 += abs(a[lo + i + 2])
        r3 += abs(a[lo + i + 3])
        r4 += abs(a[lo + i + 4])
        r5 += abs(a[lo + i + 5])
        r6 += abs(a[lo + i + 6])
        r7 += abs(a[lo + i + 7])
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += abs(a[lo + i])
        i += 1
    return res


@numba.njit(**njit_options())
def _abs_sum(a, frames, left):
    # sum |a| exactly as numpy's add.reduce sums a contiguous row (pairwise_sum in
    # numpy/_core/src/umath/loops_utils.h.src): rows over 128 values split in two halves, the first a
    # multiple of 8, summed recursively and added. The recursion runs on an explicit stack (frames:
    # int64 [depth, 3] of start, length, state; left: float64 [depth], the left half's sum), because
    # Numba's on-disk cache cannot load recursive functions. 64 levels cover any int64 length.
    # tests/test_adaptive.py checks it against numpy.
    n = a.shape[0]
    if n <= 128:
        return _abs_sum_leaf(a, 0, n)
    frames[0, 0], frames[0, 1], frames[0, 2] = 0, n, 0
    depth = 1
    ret = 0.0
    while depth > 0:
        i = depth - 1
        lo, m, state = frames[i, 0], frames[i, 1], frames[i, 2]
        if m <= 128:
            ret = _abs_sum_leaf(a, lo, m)
            depth -= 1
            continue
        half = m // 2
        half -= half % 8
        if state == 0:  # first the left half
            frames[i, 2] = 1
            frames[depth, 0], frames[depth, 1], frames[depth, 2] = lo, half, 0
            depth += 1
        elif state == 1:  # left done: keep it, then the right half
            left[i] = ret
            frames[i, 2] = 2
            frames[depth, 0], frames[depth, 1], frames[depth, 2] = lo + half, m - half, 0
            depth += 1
        else:  # both done
            ret = left[i] + ret
            depth -= 1
    return ret


@numba.njit(**njit_options())
def _token_threshold(row, k, frames, left):
    # (sum |row|, clamp(mean |row| / k, VTH_MIN, VTH_MAX)): np.mean's arithmetic (the sum from 0.0,
    # then / n), then / k and np.clip's. A non-finite sum (NaN or inf in the row, or finite values
    # whose sum overflows) is the caller's to check; an overflowed sum clamps to VTH_MAX.
    total = 0.0 + _abs_sum(row, frames, left)
    v = total / row.shape[0] / k
    return total, min(max(v, VTH_MIN), VTH_MAX)


@numba.njit(**njit_options())
def _threshold_kernel(x2, k, vth):
    # vth[t] of each token (row); True when every token's sum is finite
    finite = True
    frames = np.empty((64, 3), dtype=np.int64)
    left = np.empty(64, dtype=np.float64)
    for t in range(x2.shape[0]):
        total, vth[t] = _token_threshold(x2[t], k, frames, left)
        finite &= np.isfinite(total)
    return finite


def spike_counts(
    x: np.ndarray, k: float = 3.0, *, rounding: Rounding = "half_even"
) -> tuple[np.ndarray, np.ndarray]:
    """Single-step spike counts ``round(x / Vth)`` and the threshold used.

    Parameters
    ----------
    x : array_like, shape (..., features)
        Input activations; must be finite.
    k : float
        Threshold divisor (report default 3), > 0.
    rounding : {"half_even", "half_up"}
        ``"half_even"`` (default) rounds exact halves to the even integer, as ``torch.round`` does in
        the public code; ``"half_up"`` rounds them towards +inf, as the multi-step neuron does.

    Returns
    -------
    counts : numpy.ndarray of int64, shape like ``x``
        Signed integer spike counts. Nothing is clipped: while ``Vth`` is not clamped at ``VTH_MAX``
        a count is at most ``k * features + 1/2`` in magnitude, since
        ``|x_j| <= sum |x| = features * k * Vth`` and rounding adds at most 1/2.
    vth : numpy.ndarray of float64, shape (..., 1)

    Raises
    ------
    InputError
        NaN or inf in ``x``, ``k <= 0`` or an unknown ``rounding``.
    OverflowRiskError
        A count would not fit in int64 (only possible when ``Vth`` is clamped at ``VTH_MAX``).
    """
    x = as_float_array(x, "x", check_finite=False)  # checked from the per-token sums below
    k = check_positive(k, "k")
    n = x.shape[-1]
    vth = np.empty((*x.shape[:-1], 1), dtype=np.float64)
    counts = np.empty(x.shape, dtype=np.int64)
    # One compiled pass (this runs on every projection call): per token the threshold, then x / Vth
    # rounded straight into int64, and the largest |x / Vth|. The numpy form (abs temporary, sum,
    # clip, ratio temporary, rounding, cast) cost 0.23 ms with a cold cache at 8 tokens of 3584
    # features. The finiteness check reads the per-token sums, not every value: a NaN or inf makes its
    # token's sum non-finite, and only then is x scanned, to tell bad input from finite values whose
    # sum overflows.
    x2 = x.reshape(-1, n)
    kernel = _spike_counts_parallel if x2.shape[0] >= _PARALLEL_TOKENS else _spike_counts_kernel
    finite, peak = kernel(x2, k, rounding == "half_even", vth.reshape(-1), counts.reshape(-1, n))
    if not finite and not np.isfinite(x).all():
        raise nonfinite_error(x, "x")
    if rounding not in ("half_even", "half_up"):
        raise InputError(f"'rounding' must be 'half_even' or 'half_up' (got {rounding!r})")
    # |x / Vth| <= k * features + 1/2 unless Vth is clamped at VTH_MAX (see Returns); beyond int64 a
    # cast gives garbage, so such a call raises.
    if peak >= 2.0**62:
        raise OverflowRiskError(
            f"'x' / Vth reaches {peak:.3g}, beyond int64 counts; "
            f"|x| is too large for the threshold clamp VTH_MAX={VTH_MAX:g}"
        )
    return counts, vth


@numba.njit(**njit_options(), inline="always")
def _spike_counts_token(x2, t, k, half_even, vth, counts, frames, left):
    # Token (row) t: vth[t] as _threshold_kernel, then counts[t, j] = round(x2[t, j] / vth[t]),
    # halves to even (np.rint) or up (floor(r + 0.5)): numpy's float operations. Returns (its sum is
    # finite, max |x2[t] / vth[t]| where a count could pass int64: Vth clamped at VTH_MAX, or
    # k * features >= 2**61, else 0); there, values whose magnitude reaches 2**62 are stored as 0
    # (the caller raises), never cast. A non-finite sum (NaN in the row) gives garbage counts the
    # caller discards: it raises first.
    total, v = _token_threshold(x2[t], k, frames, left)
    vth[t] = v
    peak = 0.0
    if v < VTH_MAX and k * x2.shape[1] < 2.0**61:
        # |x / Vth| <= k * features + 1/2 < 2**62: every count fits, no check (a loop the compiler
        # vectorises)
        for j in range(x2.shape[1]):
            r = x2[t, j] / v
            counts[t, j] = np.int64(np.rint(r) if half_even else np.floor(r + 0.5))
    else:
        for j in range(x2.shape[1]):
            r = x2[t, j] / v
            peak = max(peak, abs(r))
            r = np.rint(r) if half_even else np.floor(r + 0.5)
            counts[t, j] = np.int64(r) if abs(r) < 2.0**62 else 0
    return np.isfinite(total), peak


@numba.njit(**njit_options())
def _spike_counts_kernel(x2, k, half_even, vth, counts):
    # _spike_counts_token over the tokens; returns (every sum finite, max peak)
    finite = True
    peak = 0.0
    frames = np.empty((64, 3), dtype=np.int64)
    left = np.empty(64, dtype=np.float64)
    for t in range(x2.shape[0]):
        ok, p = _spike_counts_token(x2, t, k, half_even, vth, counts, frames, left)
        finite &= ok
        peak = max(peak, p)
    return finite, peak


@numba.njit(**parallel_options())
def _spike_counts_parallel(x2, k, half_even, vth, counts):  # pragma: no cover - compiled only
    # _spike_counts_kernel with the tokens split over the threads (each token's results are its own,
    # so any thread count gives the same bytes)
    n_tok = x2.shape[0]
    finite = np.empty(n_tok, dtype=np.bool_)
    peak = np.empty(n_tok, dtype=np.float64)
    for t in numba.prange(n_tok):
        frames = np.empty((64, 3), dtype=np.int64)
        left = np.empty(64, dtype=np.float64)
        finite[t], peak[t] = _spike_counts_token(x2, t, k, half_even, vth, counts, frames, left)
    return finite.all(), peak.max()


class AdaptiveIFResult(NamedTuple):
    """Result of :func:`simulate_adaptive_if`.

    Attributes
    ----------
    spikes : numpy.ndarray of int8, shape (steps, ...)
        Signed spikes per time step (+1, 0, -1).
    counts : numpy.ndarray of int64, shape (...)
        Sum of ``spikes`` over time.
    residual : numpy.ndarray of float64, shape (...)
        Membrane potential left at the end (in ``[-Vth/2, Vth/2)`` once drained).
    steps : int
        Number of simulated steps (input steps plus drain steps).
    """

    spikes: np.ndarray
    counts: np.ndarray
    residual: np.ndarray
    steps: int


@numba.njit(**njit_options())
def _adaptive_if_kernel(x, vth, n_steps, spikes, residual):
    t_in, n = x.shape
    for i in range(n):
        v = 0.0
        th = vth[i]
        half = 0.5 * th
        for t in range(n_steps):
            if t < t_in:
                v += x[t, i]
            if v >= half:
                spikes[t, i] = 1
                v -= th
            elif v < -half:
                spikes[t, i] = -1
                v += th
        residual[i] = v


def simulate_adaptive_if(
    x_steps: np.ndarray,
    vth: np.ndarray | float,
    *,
    drain_steps: int | None = None,
) -> AdaptiveIFResult:
    """Run the adaptive-threshold IF neuron in time (no leak, soft reset, signed spikes).

    Parameters
    ----------
    x_steps : array_like, shape (T_in, ...)
        Input current per time step. To spike a single activation ``x``, pass ``x[None]``.
    vth : array_like or float, broadcastable to ``x_steps.shape[1:]``
        Threshold per neuron, > 0 (e.g. from :func:`adaptive_threshold`).
    drain_steps : int, optional
        Steps run after the input ends so the membrane can drain (one spike per step at most).
        Default: enough to drain every neuron, ``ceil(max_i sum_t |x_t,i| / vth_i) + 1``.

    Returns
    -------
    AdaptiveIFResult
    """
    x_steps = as_float_array(x_steps, "x_steps", min_ndim=1)
    shape = x_steps.shape[1:]
    try:
        vth_arr = np.asarray(vth, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"'vth' must be a positive number or array (got {vth!r})") from None
    try:
        vth_arr = np.broadcast_to(vth_arr, shape)
    except ValueError:
        raise ShapeError(
            f"'vth' of shape {vth_arr.shape} does not broadcast to the neuron shape {shape}"
        ) from None
    if not np.isfinite(vth_arr).all() or (vth_arr <= 0).any():
        bad = vth_arr[~(np.isfinite(vth_arr) & (vth_arr > 0))].ravel()[0]
        raise InputError(f"'vth' must be finite and > 0 for every neuron (got {float(bad)!r})")
    flat_x = np.ascontiguousarray(x_steps.reshape(x_steps.shape[0], -1))
    flat_vth = np.ascontiguousarray(vth_arr.reshape(-1))
    if drain_steps is None:
        worst = (np.abs(flat_x).sum(axis=0) / flat_vth).max(initial=0.0)
        drain_steps = int(np.ceil(worst)) + 1
    else:
        try:
            ok = not isinstance(drain_steps, bool) and int(drain_steps) == drain_steps >= 0
        except (TypeError, ValueError, OverflowError):  # int(nan), int("3"), int(inf)
            ok = False
        if not ok:
            raise InputError(f"'drain_steps' must be an integer >= 0 (got {drain_steps!r})")
    n_steps = flat_x.shape[0] + int(drain_steps)
    spikes = np.zeros((n_steps, flat_x.shape[1]), dtype=np.int8)
    residual = np.empty(flat_x.shape[1], dtype=np.float64)
    _adaptive_if_kernel(flat_x, flat_vth, n_steps, spikes, residual)
    spikes = spikes.reshape((n_steps, *shape))
    return AdaptiveIFResult(
        spikes=spikes,
        counts=spikes.sum(axis=0, dtype=np.int64),
        residual=residual.reshape(shape),
        steps=n_steps,
    )
