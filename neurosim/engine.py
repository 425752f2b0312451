r"""Event-driven W8ASpike projection: spike events times INT8 weight rows, counted as it goes.

A W8ASpike linear layer (report section 3.3, eqs. 22-23; public ``W8ASpike/quant_linear.py``) computes

.. math::

    y_{t,o} = V_{th,t} \sum_g s_{o,g} \sum_{i \in g} q_{o,i}\, c_{t,i} + b_o,
    \qquad (c_t, V_{th,t}) = \texttt{spike\_counts}(x_t, k)

with int8 weights ``q``, per-(row, group) scales ``s`` and integer spike counts ``c``. Three paths
compute it and must agree:

``"float"``
    ``(c * Vth) @ W_deq^T + b`` in float64, as the public code does (reference).
``"dense"``
    Dense integer matmul per group, ``acc[t, g, o] = sum_{i in g} q[o, i] c[t, i]`` over every input
    channel (silent ones included), then the float scaling below.
``"event"``
    The counts are coded into spike events (any coder of :mod:`neurosim.coding`) and the events are
    walked: each event (time step, channel, polarity, place value) adds ``sign * place * q[:, channel]``
    to integer accumulators. No dense matmul is formed; silent channels cost nothing.

``"event"`` equals ``"dense"`` bit for bit (identical integers, then the same float scaling kernel),
and both match ``"float"`` to rounding error.

Event-driven cost model
-----------------------
Weights are stored transposed, ``q_t [in, out]`` int8, so one input channel's fan-out is one
contiguous row. By default (``merge_planes=True``) the engine walks all events of one (token, channel)
and sums their signed place values into an integer multiplier, then adds ``multiplier * row`` once:
one weight-row fetch per active channel. This is what event-driven hardware with bit-shift weights
does with a bitwise spike train (each bit-plane event shifts the same fetched row by its place value
into the accumulator); the walk still visits every event, and the tally still counts one synaptic
operation per event and fan-out. ``merge_planes=False`` adds the row once per event (the literal
event-by-event form, cost proportional to events x fan-out); both give the same integers.

Three kernels compute the event path's integers (``kernel=``, identical results):

``"walk"``
    Runs in parallel over blocks of output columns (each thread owns its columns, so no atomics);
    inside a block it walks, per input group and token, that token's events (token-major CSR from
    :func:`neurosim.token_events.token_events`) and adds the fetched rows eight at a time into an
    int32/int64 accumulator that stays in L1, then scales the group into the float output. Silent
    channels and event-free groups cost nothing: at one token it reads only the rows of firing
    channels, so decoding is bound by those bytes. With ``merge_planes=True`` a (token, channel)'s
    merged multiplier is its count for every coder, so the walk scans the counts for nonzero ones
    instead of coding events first (coding cost 0.1-0.5 ms per token that did not shrink with the
    spikes). The tally, too, counts those events from the counts (see ``_tally_kernel``); only
    ``merge_planes=False`` codes them.
``"pairs"``
    Token blocks through a register-blocked multiply-add-pairs kernel (:mod:`neurosim._int8_dot`):
    int16 counts of two input channels against their int8 weights for 8 outputs in one ``vpmaddwd``
    (x86 AVX2; generic vector code elsewhere), 2 x 8 outputs x 4 tokens accumulated in registers, over
    a pair-packed copy of the weights built once per weight (about ``in x out`` bytes, cached while the
    weight lives). From a few tokens on, the union of the tokens' active rows is nearly every row, so
    no row can be skipped and the walk's per-token row passes lose to one blocked pass (a 64-token batch
    runs about 3x faster here). Needs counts within int16 and int32 accumulators.
``"quads"``
    Token blocks through the multiply-add-bytes kernel (:func:`neurosim._int8_dot.quad_block`): each
    count is split into a small int8 part and a remainder. The small parts multiply weights offset to
    uint8 (``q + 128``) with ``vpmaddubsw`` (32 byte products per instruction, summed pairwise into
    int16 lanes), two steps of 8 input channels per int16 sum, then one ``vpmaddwd`` widens it to
    int32; 8 outputs x 4 tokens in registers, tokens in chunks of 16 per block of 64 outputs;
    ``128 * sum(small)`` per (token, group) removes the offset. The int16 lanes stay exact while the
    small parts of the channels sharing a lane sum to at most
    :data:`~neurosim._int8_dot.QUAD_LANE_BUDGET` (128) in magnitude, so a lane over budget puts its
    excess on its largest count. The remainders (about 0.1% of the counts on calibrated
    activations, on a few outlier channels) are added before the group is scaled, from the packed
    weights the output block has just streamed. Exact integers, the same as every other kernel; needs
    ``255 * sum|c|`` per group within int32. The pair and quad intrinsics prefetch their weight
    stream 8 KiB ahead (:data:`~neurosim._int8_dot.PREFETCH_BYTES`).
``"auto"`` (default)
    From :data:`_PAIR_MIN_TOKENS` tokens on, when at least :data:`_PAIR_MIN_DENSITY` of the counts
    are nonzero: ``"quads"`` while at most :data:`_QUAD_MAX_LARGE` of the nonzero counts exceed a
    quarter of the lane budget, else ``"pairs"`` (where it applies); otherwise ``"walk"``.

Before any kernel, one compiled call (``_prepare_kernel``) reads the counts once for everything the
choice and the checks need: count statistics (accumulator width, coders' range, density), the
thresholds' validity and, where the quad kernel may run, its count split.

Every kernel ends in the same scaling step (``_scale_into``: ``y += scale * acc`` in float64, groups
in order, then ``* vth``, then ``+ bias``), which is what makes every path bit-identical once the
integers are. Measured against torch's dense INT8 kernels and the machine's read bandwidth in
``benchmarks/bench_engine.py``.

Accumulator width
-----------------
Per (token, group) ``|acc| <= 127 * sum_{i in g} |c_{t,i}|`` (and every partial sum too). The engine
computes this bound from the actual counts and picks int32 when it fits, int64 otherwise, and raises
:class:`~neurosim.exceptions.OverflowRiskError` when not even int64 would be safe. With
``merge_planes=False`` and two's-complement coding the partial sums can be larger (the sign bit comes
first with place value ``-2**(T-1)``), so the bound uses the unsigned code ``c mod 2**T`` there.
"""

from __future__ import annotations

from dataclasses import dataclass
import weakref
from typing import Any, Literal

import numba
import numpy as np

from neurosim._config import njit_options, parallel_options
from neurosim._int8_dot import QUAD_LANE_BUDGET, QUAD_LANE_CHANNELS, add_byte_column, pair_block, quad_block
from neurosim.validation import as_float_array, nonfinite_error
from neurosim.adaptive import spike_counts
from neurosim.coding import check_coding, resolve_time_steps
from neurosim.exceptions import InputError, OverflowRiskError, ShapeError, unknown_name
from neurosim.quant import INT8_MAX, QuantizedWeight
from neurosim.tally import BLOCK_SIZES, ProjectionTally
from neurosim.token_events import (
    TokenEvents,
    add_count_events,
    as_counts_2d,
    check_codable,
    check_codable_range,
    coder_id,
    group_bounds,
    token_events,
)

__all__ = [
    "DEFAULT_COLUMN_BLOCK",
    "EVENT_KERNELS",
    "PATHS",
    "EventKernel",
    "ProjectionPath",
    "SpikingLinearResult",
    "accumulator_dtype",
    "integer_accumulate",
    "project_counts",
    "scale_accumulators",
    "w8aspike_linear",
]

ProjectionPath = Literal["float", "dense", "event"]
PATHS: tuple[str, ...] = ("float", "dense", "event")
EventKernel = Literal["auto", "walk", "pairs", "quads"]
#: How the ``"event"`` path computes its integers (identical results): ``"walk"`` walks the events row by
#: row, ``"pairs"`` runs the register-blocked multiply-add-pairs kernel over token blocks, ``"quads"`` the
#: multiply-add-bytes kernel on split counts plus a sparse walk of the large remainders, ``"auto"``
#: picks by tokens and density of active channels (see module docstring).
EVENT_KERNELS: tuple[str, ...] = ("auto", "walk", "pairs", "quads")

#: Output columns per parallel work item: int32 accumulators of 2048 columns (8 KiB) stay in L1 and
#: one group's weight block (128 rows x 2 KiB) in L2 while all tokens reuse it. Measured on the
#: 3584 -> 18944 gate shape (benchmarks/bench_engine.py): 2048 was fastest of 512..4096.
DEFAULT_COLUMN_BLOCK = 2048
# With few tokens (decoding) the column block widens to out_features / threads (see _auto_block);
# measured 1.2-1.5x faster at 1 and 8 tokens than 2048 on the gate shape.
_FEW_TOKENS = 16
_MAX_AUTO_BLOCK = 16384

_INT32_MAX = 2**31 - 1
# int64 is declared safe only with a margin: the bound itself is evaluated in float64.
_INT64_SAFE = 2**62


# ---------------------------------------------------------------------------------------------
# Accumulator width
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _CountStats:
    """What the width bound and the kernel choice need from the counts, from one pass."""

    worst_group_sum: float  # largest sum_{i in g} |c_{t,i}| over (token, group), float64
    size: int
    nonzero: int
    n_large: int  # counts with |c| > _QUAD_LARGE_COUNT
    max_abs: int
    lowest: int  # smallest and largest count (the coders' checks)
    highest: int
    total_abs: float  # sum |c| (float64: the unary coders' event count)


@numba.njit(**njit_options(), inline="always")
def _group_stats(c2, tok, lo, hi, large, lowest, highest):
    # One (token, group) of the counts, in L1: min, max, max |c|, nonzero and large counts first
    # (int64, vectorised), then the sum of |c| in int64 where it cannot wrap (max * length < 2**62),
    # else in float64 (cannot wrap). abs(-2**63) wraps to itself (negative): the coders' check
    # rejects that value from lowest.
    g_max = 0
    nz = 0
    big = 0
    for i in range(lo, hi):
        c = c2[tok, i]
        a = abs(c)
        lowest = min(lowest, c)
        highest = max(highest, c)
        g_max = max(g_max, a)
        nz += a != 0
        big += a > large
    if g_max < (2**62) // max(1, hi - lo):
        total = 0
        for i in range(lo, hi):
            total += abs(c2[tok, i])
        ftotal = float(total)
    else:
        ftotal = 0.0
        for i in range(lo, hi):
            ftotal += abs(float(c2[tok, i]))
    return g_max, nz, big, ftotal, lowest, highest


@numba.njit(**njit_options())
def _count_stats_kernel(c2, bounds, large):
    worst = 0.0
    total_abs = 0.0
    nonzero = 0
    n_large = 0
    max_abs = 0
    lowest = c2[0, 0] if c2.size else 0
    highest = lowest
    for tok in range(c2.shape[0]):
        for g in range(bounds.shape[0] - 1):
            g_max, nz, big, ftotal, lowest, highest = _group_stats(c2, tok, bounds[g], bounds[g + 1], large, lowest,
                                                                   highest)
            nonzero += nz
            n_large += big
            max_abs = max(max_abs, g_max)
            worst = max(worst, ftotal)
            total_abs += ftotal
    return worst, nonzero, n_large, max_abs, lowest, highest, total_abs


def _dtype_for_bound(worst_group_sum: float) -> np.dtype:
    # float64 sums cannot wrap; their relative error (< 1e-12 here) is covered by the 2**62 margin.
    worst = INT8_MAX * worst_group_sum
    if worst <= _INT32_MAX * (1 - 1e-9):
        return np.dtype(np.int32)
    if worst <= _INT64_SAFE:
        return np.dtype(np.int64)
    raise OverflowRiskError(
        f"integer accumulators could overflow: 127 * sum|counts| over one input group reaches "
        f"{worst:.3g}, beyond the int64 safety limit 2**62 ~ {float(_INT64_SAFE):.3g}; the spike counts "
        "are far outside any activation range (check k and the activations)"
    )


def _width_plan(c2: np.ndarray, bounds: np.ndarray, coding: str, time_steps: int | None,
                merge_planes: bool, stats: _CountStats | None = None) -> tuple[np.dtype, _CountStats]:
    stats = _count_stats(c2, bounds) if stats is None else stats
    if coding == "twos-complement" and not merge_planes:
        # events added one by one, sign bit first: the bound uses the unsigned code c mod 2**T
        n_steps = resolve_time_steps(c2, coding, time_steps)
        mag = (c2 & ((1 << n_steps) - 1)).astype(np.float64)
        return _dtype_for_bound(float(np.add.reduceat(mag, bounds[:-1], axis=1).max(initial=0.0))), stats
    return _dtype_for_bound(stats.worst_group_sum), stats


def _stats_from(raw: tuple, size: int) -> _CountStats:
    worst, nonzero, n_large, max_abs, lowest, highest, total_abs = raw
    return _CountStats(float(worst), int(size), int(nonzero), int(n_large), int(max_abs), int(lowest), int(highest),
                       float(total_abs))


def _count_stats(c2: np.ndarray, bounds: np.ndarray) -> _CountStats:
    return _stats_from(_count_stats_kernel(c2, bounds, _QUAD_LARGE_COUNT), c2.size)


@dataclass(frozen=True)
class _Plan:
    """What one pass over the counts decides before a kernel runs (see :func:`_plan`)."""

    n_steps: int  # time steps of the code
    acc_dtype: np.dtype
    stats: _CountStats
    quad_split: tuple | None  # _prepare_kernel's split for the quad kernel, where it may run


_NO_VTH = np.ones(0, dtype=np.float64)


def _plan(c2: np.ndarray, weight: QuantizedWeight, coding: str, time_steps: int | None, merge_planes: bool, *,
          split: bool = False, vth: np.ndarray | None = None) -> _Plan:
    """Time steps of the code, accumulator dtype, count statistics and (``split``) the quad kernel's
    count split, from one compiled call; ``vth`` (float64, 1-D), when given, is checked in it too.

    Errors in the order the separate checks had: the thresholds, the coders' checks (those
    :func:`~neurosim.token_events.token_events` would raise), then the width bound. Before, a min and
    a max (the coders' checks), the statistics pass, the count split, the remainder regrouping and
    the threshold checks ran as separate calls and passes, each 0.01-0.1 ms with the weights just
    streamed through the cache (8 tokens on the 7B gate shape).
    """
    bounds = weight.group_bounds
    raw, vth_finite, vth_positive, quad_split = _prepare_kernel(
        c2, bounds, _QUAD_LARGE_COUNT, _NO_VTH if vth is None else vth, split, _quad_offsets(weight),
        _LANE_CHANNELS, _QUAD_STEPS, QUAD_LANE_BUDGET)
    if vth is not None:
        _check_thresholds(vth, vth_finite, vth_positive)
    stats = _stats_from(raw, c2.size)
    n_steps = check_codable_range(stats.lowest, stats.highest, stats.total_abs, coding, time_steps)
    acc_dtype, _ = _width_plan(c2, bounds, coding, time_steps, merge_planes, stats)
    return _Plan(n_steps, acc_dtype, stats, quad_split if split else None)


def _wants_split(path: str, kernel: str, merge_planes: bool, n_tok: int) -> bool:
    # Where the quad kernel may run (see _choose_kernel), the count split is made in the same call
    # as the statistics; if another kernel is chosen it goes unused (one pass over the counts).
    return (path == "event" and merge_planes and not numba.config.DISABLE_JIT
            and (kernel == "quads" or (kernel == "auto" and n_tok >= _PAIR_MIN_TOKENS)))


def accumulator_dtype(counts: Any, group_size: int | None, *, coding: str = "bidirectional",
                      time_steps: int | None = None, merge_planes: bool = True) -> np.dtype:
    """Narrowest safe accumulator dtype (int32 or int64) for ``counts`` against int8 weights.

    The bound is ``127 * sum_{i in g} |c_{t,i}|`` per (token, group), maximised over both; with
    ``merge_planes=False`` and two's-complement coding, ``|c|`` is replaced by ``c mod 2**T`` since
    events are added one by one and the sign bit comes first.

    Raises
    ------
    OverflowRiskError
        The bound exceeds what int64 holds safely (2**62).
    """
    c2, _ = as_counts_2d(counts)
    return _width_plan(c2, group_bounds(c2.shape[1], group_size), coding, time_steps, merge_planes)[0]


# ---------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------
@numba.njit(**njit_options(), inline="always")
def _scale_into(y, y_off, scales, s_off, acc, a_off, n, shift):
    # The one float scaling step shared by every kernel: y[y_off + o] += scales[s_off + o] *
    # (acc[a_off + o] - shift) for o < n, in float64, groups in order. Identical integers in, identical
    # float operations in the same order, hence bit-identical outputs. ``shift`` (float64) is the
    # quad kernel's weight-offset correction (0.0 elsewhere): float(acc) - float(shift) is exact, since
    # both are integers below 2**53 and so is their difference, hence equal to float(acc - shift); with
    # shift = 0.0 it is float(acc) itself. Callers pass contiguous 1-D arrays; the quad and pair kernels
    # pass small per-work-item buffers (a local copy of the group's scales, a local y block): indexing
    # the full arrays at an offset, or slicing them per (group, token), measured 3x slower there.
    # Inlined at Numba IR level: as a call, LLVM cannot see that its arrays do not overlap and leaves
    # the loop scalar (measured 2x slower scaling in the quad kernel).
    for o in range(n):
        y[y_off + o] += scales[s_off + o] * (acc[a_off + o] - shift)


@numba.njit(**njit_options())
def _row_add(acc_row, mult, qrow):
    # mult is already of the accumulator's dtype, so the loop stays in that width (SIMD-friendly).
    for o in range(acc_row.shape[0]):
        acc_row[o] += mult * qrow[o]


@numba.njit(**njit_options())
def _row_add4(acc, m0, r0, m1, r1, m2, r2, m3, r3):
    for o in range(acc.shape[0]):
        acc[o] += (m0 * r0[o] + m1 * r1[o]) + (m2 * r2[o] + m3 * r3[o])


@numba.njit(**njit_options())
def _row_add8(acc, m0, r0, m1, r1, m2, r2, m3, r3, m4, r4, m5, r5, m6, r6, m7, r7):
    for o in range(acc.shape[0]):
        acc[o] += ((m0 * r0[o] + m1 * r1[o]) + (m2 * r2[o] + m3 * r3[o])) + (
            (m4 * r4[o] + m5 * r5[o]) + (m6 * r6[o] + m7 * r7[o]))


@numba.njit(**njit_options())
def _flush_rows(acc, q_t, o0, o1, chs, ms, n):
    # Add the pending rows, eight (then four, then one) per pass over the accumulator: each row is
    # still fetched once, but the accumulator is loaded and stored once per eight rows. Any partial
    # sum is a sum over a subset of the group's events, so the proven width bound still holds.
    j = 0
    while j + 8 <= n:
        _row_add8(acc, ms[j], q_t[chs[j], o0:o1], ms[j + 1], q_t[chs[j + 1], o0:o1],
                  ms[j + 2], q_t[chs[j + 2], o0:o1], ms[j + 3], q_t[chs[j + 3], o0:o1],
                  ms[j + 4], q_t[chs[j + 4], o0:o1], ms[j + 5], q_t[chs[j + 5], o0:o1],
                  ms[j + 6], q_t[chs[j + 6], o0:o1], ms[j + 7], q_t[chs[j + 7], o0:o1])
        j += 8
    if j + 4 <= n:
        _row_add4(acc, ms[j], q_t[chs[j], o0:o1], ms[j + 1], q_t[chs[j + 1], o0:o1],
                  ms[j + 2], q_t[chs[j + 2], o0:o1], ms[j + 3], q_t[chs[j + 3], o0:o1])
        j += 4
    while j < n:
        _row_add(acc, ms[j], q_t[chs[j], o0:o1])
        j += 1


_PENDING = 256  # rows buffered before a flush (bounded scratch even for long unary trains)


@numba.njit(**parallel_options())
def _event_kernel(ptr, chan, sign, weight, q_t, scales_t, n_tok, block, merge,
                  write_acc, acc_out, y):
    n_out = q_t.shape[1]
    n_groups = scales_t.shape[0]
    n_blocks = (n_out + block - 1) // block
    for b in numba.prange(n_blocks):
        o0 = b * block
        o1 = min(n_out, o0 + block)
        acc_row = np.zeros(o1 - o0, dtype=acc_out.dtype)
        chs = np.empty(_PENDING, dtype=np.int64)
        ms = np.empty(_PENDING, dtype=acc_out.dtype)
        for g in range(n_groups):
            for tok in range(n_tok):
                acc_row[:] = 0
                n = 0
                e = ptr[tok * n_groups + g]
                e_end = ptr[tok * n_groups + g + 1]
                while e < e_end:
                    ch = chan[e]
                    m = np.int64(sign[e]) * weight[e]
                    e += 1
                    if merge:
                        # all bit-plane events of this (token, channel): one row fetch, shifted sum
                        while e < e_end and chan[e] == ch:
                            m += np.int64(sign[e]) * weight[e]
                            e += 1
                    chs[n] = ch
                    ms[n] = m
                    n += 1
                    if n == _PENDING:
                        _flush_rows(acc_row, q_t, o0, o1, chs, ms, n)
                        n = 0
                _flush_rows(acc_row, q_t, o0, o1, chs, ms, n)
                if write_acc:
                    acc_out[tok, g, o0:o1] = acc_row
                elif e_end > ptr[tok * n_groups + g]:
                    # A group without events adds scale * 0 = +0.0, which leaves y unchanged (y is
                    # never -0.0 here), so skipping it keeps the bits of the dense path.
                    _scale_into(y[tok, o0:o1], 0, scales_t[g, o0:o1], 0, acc_row, 0, o1 - o0, 0.0)


@numba.njit(**parallel_options())
def _count_walk_kernel(counts, bounds, q_t, scales_t, block, write_acc, acc_out, y):
    # The walk with merged bit planes, reading the counts directly: a (token, channel)'s merged
    # multiplier (the sum of its events' signed place values) is its count, for every coder (tested
    # against the events in tests/test_engine.py). So the walk needs no event list: it scans the
    # group's counts, buffers the nonzero ones and adds their rows as _event_kernel does (same rows,
    # same order, same integers), while coding the events (0.1-0.5 ms per token, most of it not
    # scaling with the spikes) is left to the tally.
    n_tok = counts.shape[0]
    n_out = q_t.shape[1]
    n_groups = scales_t.shape[0]
    n_blocks = (n_out + block - 1) // block
    for b in numba.prange(n_blocks):
        o0 = b * block
        o1 = min(n_out, o0 + block)
        acc_row = np.zeros(o1 - o0, dtype=acc_out.dtype)
        chs = np.empty(_PENDING, dtype=np.int64)
        ms = np.empty(_PENDING, dtype=acc_out.dtype)
        for g in range(n_groups):
            for tok in range(n_tok):
                acc_row[:] = 0
                n = 0
                active = False
                for ch in range(bounds[g], bounds[g + 1]):
                    m = counts[tok, ch]
                    if m != 0:
                        chs[n] = ch
                        ms[n] = m
                        n += 1
                        if n == _PENDING:
                            _flush_rows(acc_row, q_t, o0, o1, chs, ms, n)
                            n = 0
                            active = True
                if n:
                    _flush_rows(acc_row, q_t, o0, o1, chs, ms, n)
                    active = True
                if write_acc:
                    acc_out[tok, g, o0:o1] = acc_row
                elif active:
                    # an all-silent group adds +0.0 (see _event_kernel): skipping it keeps the bits
                    _scale_into(y[tok, o0:o1], 0, scales_t[g, o0:o1], 0, acc_row, 0, o1 - o0, 0.0)


@numba.njit(**parallel_options())
def _dense_kernel(counts, bounds, q_t, scales_t, block, write_acc, acc_out, y):
    n_tok = counts.shape[0]
    n_out = q_t.shape[1]
    n_groups = scales_t.shape[0]
    n_blocks = (n_out + block - 1) // block
    for b in numba.prange(n_blocks):
        o0 = b * block
        o1 = min(n_out, o0 + block)
        acc_row = np.zeros(o1 - o0, dtype=acc_out.dtype)
        mult = np.zeros(1, dtype=acc_out.dtype)
        for g in range(n_groups):
            for tok in range(n_tok):
                acc_row[:] = 0
                # every channel of the group, silent or not: a dense integer matmul
                for ch in range(bounds[g], bounds[g + 1]):
                    mult[0] = counts[tok, ch]
                    _row_add(acc_row, mult[0], q_t[ch, o0:o1])
                if write_acc:
                    acc_out[tok, g, o0:o1] = acc_row
                else:
                    _scale_into(y[tok, o0:o1], 0, scales_t[g, o0:o1], 0, acc_row, 0, o1 - o0, 0.0)


# ---------------------------------------------------------------------------------------------
# Multiply-add-pairs kernel: dense token blocks in int16 x int8 (neurosim._int8_dot)
# ---------------------------------------------------------------------------------------------
#: Outputs per work item and per packing block of the pair layout (8 vectors of 8 int32 lanes).
_PAIR_OUT = 64
_PAIR_VECS, _PAIR_TOKS = 2, 4  # register block: 2 x 8 outputs x 4 tokens = 8 accumulators (of 16)
_pairs_main = pair_block(_PAIR_VECS, _PAIR_TOKS)
_pairs_tail = pair_block(_PAIR_VECS, 1)
_INT16_MAX = 2**15 - 1
#: ``kernel="auto"`` runs the pair kernel from this many tokens on (measured on the gate shape,
#: benchmarks/bench_engine.py: at 1 token the walk fetches only the active rows and is bound by
#: their bytes; from 2-4 tokens the union of active rows is nearly every row and the walk's
#: per-token row passes lose to one blocked pass) ...
_PAIR_MIN_TOKENS = 2
#: ... and when at least this fraction of (token, channel) counts is nonzero (the pair kernel costs
#: every count, the walk only the nonzero ones).
_PAIR_MIN_DENSITY = 0.25


@numba.njit(**njit_options())
def _pack_pairs_kernel(q, bounds, poff, packed):  # pragma: no cover - the pair path runs compiled only
    # packed[ob][g][v][p][j][h] = q[ob*64 + 8v + j, bounds[g] + 2p + h] (zero padding elsewhere):
    # the walk order of _pair_kernel, so a work item streams its weights sequentially.
    n_out = q.shape[0]
    n_groups = bounds.shape[0] - 1
    n_pairs = poff[n_groups]
    for o in range(n_out):
        ob = o // _PAIR_OUT
        v = (o % _PAIR_OUT) // 8
        j = o % 8
        for g in range(n_groups):
            pg = poff[g + 1] - poff[g]
            base = ob * _PAIR_OUT * n_pairs * 2 + 8 * poff[g] * 16 + v * pg * 16 + j * 2
            for i in range(bounds[g], bounds[g + 1]):
                k = i - bounds[g]
                packed[base + (k >> 1) * 16 + (k & 1)] = q[o, i]


@numba.njit(**njit_options())
def _pack_counts_kernel(counts, bounds, poff, out):  # pragma: no cover - the pair path runs compiled only
    n_pairs = poff[poff.shape[0] - 1]
    for tok in range(counts.shape[0]):
        for g in range(bounds.shape[0] - 1):
            for i in range(bounds[g], bounds[g + 1]):
                out[tok * 2 * n_pairs + 2 * poff[g] + i - bounds[g]] = counts[tok, i]


@numba.njit(**njit_options(), inline="always")
def _finish_group(buf, corr, g, ob, width, scales_blk, write_acc, acc_out, sl, yb):
    # One group of a token-block work item (pair and quad kernels): its integers, buf[t * 64 + j] -
    # corr[t, g], go to acc_out, or are scaled into the work item's local y block (tokens x 64) with
    # the group's scales, copied from the block-ordered scales (scales_blk[(ob * n_groups + g) * 64 +
    # j]) into the local sl first: scaling from sl ran 3x faster than from the large array at an
    # offset (1.3 -> 0.57 ms at 8 tokens, 10 -> 3.3 ms at 64), the vectoriser's overlap checks.
    n_tok = corr.shape[0]
    n_groups = corr.shape[1]
    if write_acc:
        for tok in range(n_tok):
            cr = corr[tok, g]
            for j in range(width):
                acc_out[tok, g, ob * _PAIR_OUT + j] = buf[tok * _PAIR_OUT + j] - cr
    else:
        s_off = (ob * n_groups + g) * _PAIR_OUT
        for j in range(_PAIR_OUT):  # the block-ordered scales hold all 64 (zeros past the last output)
            sl[j] = scales_blk[s_off + j]
        if width == _PAIR_OUT:
            # a full block (all but the last): a constant trip count the compiler unrolls
            for tok in range(n_tok):
                _scale_into(yb, tok * _PAIR_OUT, sl, 0, buf, tok * _PAIR_OUT, _PAIR_OUT, np.float64(corr[tok, g]))
        else:
            for tok in range(n_tok):
                _scale_into(yb, tok * _PAIR_OUT, sl, 0, buf, tok * _PAIR_OUT, width, np.float64(corr[tok, g]))


@numba.njit(**njit_options(), inline="always")
def _store_block(yb, y, o0, width, vth):
    # the work item's finished sums times each token's threshold: the same product as `y *= vth`
    for tok in range(y.shape[0]):
        v = vth[tok]
        if width == _PAIR_OUT:  # a constant trip count the compiler unrolls (all blocks but the last)
            for j in range(_PAIR_OUT):
                y[tok, o0 + j] = yb[tok * _PAIR_OUT + j] * v
        else:
            for j in range(width):
                y[tok, o0 + j] = yb[tok * _PAIR_OUT + j] * v


def _token_block_pass(block_main, block_tail, n_vecs: int, n_toks: int):
    """Inline kernel step: one group of one output block through a register-blocked intrinsic.

    Runs ``block_main`` (``n_vecs`` vectors of 8 outputs x ``n_toks`` tokens) over the tokens, then
    ``block_tail`` (one token) over the rest, for each vector of the block, with the signature of
    :func:`neurosim._int8_dot.pair_block` / :func:`~neurosim._int8_dot.quad_block`: weights from
    ``w_group + v * w_vstride``, token t's counts from ``c_group + t * c_tstride``, ``n_units``
    pairs or quads, int32 sums into ``buf[t * 64 + 8 v + j]``. Shared by the pair and quad kernels.
    """
    @numba.njit(**njit_options(), inline="always")
    def run(packed, w_group, w_vstride, cpk, c_group, c_tstride, n_units, buf, n_tok):
        for v0 in range(0, _PAIR_OUT // 8, n_vecs):
            w_off = w_group + v0 * w_vstride
            t0 = 0
            while t0 + n_toks <= n_tok:
                block_main(packed, w_off, w_vstride, cpk, c_group + t0 * c_tstride, c_tstride, n_units,
                           buf, t0 * _PAIR_OUT + v0 * 8, _PAIR_OUT)
                t0 += n_toks
            while t0 < n_tok:
                block_tail(packed, w_off, w_vstride, cpk, c_group + t0 * c_tstride, c_tstride, n_units,
                           buf, t0 * _PAIR_OUT + v0 * 8, _PAIR_OUT)
                t0 += 1

    return run


_pair_group_pass = _token_block_pass(_pairs_main, _pairs_tail, _PAIR_VECS, _PAIR_TOKS)


@numba.njit(**parallel_options())
def _pair_kernel(cpk, packed, poff, scales_t, scales_blk, n_tok, write_acc, acc_out, y,
                 vth):  # pragma: no cover - compiled only
    n_out = scales_t.shape[1]
    n_groups = scales_t.shape[0]
    n_pairs = poff[n_groups]
    n_ob = (n_out + _PAIR_OUT - 1) // _PAIR_OUT
    no_corr = np.zeros((n_tok, n_groups), dtype=np.int32)
    for ob in numba.prange(n_ob):
        o0 = ob * _PAIR_OUT
        width = min(n_out, o0 + _PAIR_OUT) - o0
        buf = np.empty(n_tok * _PAIR_OUT, dtype=np.int32)
        yb = np.zeros(n_tok * _PAIR_OUT, dtype=np.float64)
        sl = np.empty(_PAIR_OUT, dtype=np.float64)
        for g in range(n_groups):
            pg = poff[g + 1] - poff[g]
            gbase = ob * _PAIR_OUT * n_pairs * 2 + 8 * poff[g] * 16
            _pair_group_pass(packed, gbase, pg * 16, cpk, poff[g], n_pairs, pg, buf, n_tok)
            _finish_group(buf, no_corr, g, ob, width, scales_blk, write_acc, acc_out, sl, yb)
        if not write_acc:
            _store_block(yb, y, o0, width, vth)


# ---------------------------------------------------------------------------------------------
# Multiply-add-bytes kernel: small counts in int8 against offset uint8 weights, plus a sparse walk
# ---------------------------------------------------------------------------------------------
# Register block of the quad kernel: 8 outputs x 4 tokens (then 1), two steps (16 channels) of int16
# sums per widening. Measured on the 3584 -> 18944 gate shape, weights from DRAM, at 8 and 64 tokens
# (1-8 vectors x 1-8 tokens x 1-4 steps): 1 x 8 x 1 step ran 174 / 179 GMAC/s, 1 x 4 x 1 step 192 /
# 192, 1 x 4 x 2 steps 193 / 204 (one widening multiply per four vpmaddubsw instead of two); two
# vectors per block ran 25% slower at 8 tokens, and 4 steps leave about 4x more counts to the walk.
_QUAD_VECS, _QUAD_TOKS, _QUAD_STEPS = 1, 4, 2
_quads_main = quad_block(_QUAD_VECS, _QUAD_TOKS, steps=_QUAD_STEPS)
_quads_tail = quad_block(_QUAD_VECS, 1, steps=_QUAD_STEPS)
#: Tokens per pass over an output block's weights: a work item's int32 sums and float64 y block
#: (16 x 64 outputs) stay in L1 while the weights stream through, and later chunks read the block's
#: weights (229 KiB on the 7B gate shape) from L2. 64 calibrated tokens: 16 fastest of 8 / 16 / 32 / 64.
_QUAD_TOKEN_CHUNK = 16
_quad_group_pass = _token_block_pass(_quads_main, _quads_tail, _QUAD_VECS, _QUAD_TOKS)
#: Channels per widening of the quad kernel: groups are padded to a multiple (zero counts).
_QUAD_SPAN = 8 * _QUAD_STEPS
_LANE_CHANNELS = np.array(QUAD_LANE_CHANNELS, dtype=np.int64)
#: ``kernel="auto"`` prefers the quad kernel over the pair kernel while at most this fraction of the
#: nonzero counts exceeds a quarter of the lane budget: a cheap proxy for lanes over budget, whose
#: remainders each cost a pass over their weights in every output block (calibrated activations at
#: k = 3: under 1% of the counts exceed it, about 0.1% leave a remainder).
_QUAD_MAX_LARGE = 0.0625
_QUAD_LARGE_COUNT = QUAD_LANE_BUDGET // 4


@numba.njit(**njit_options())
def _pack_quads_kernel(q, bounds, qoff, packed):  # pragma: no cover - the quad path runs compiled only
    # packed[ob][g][v][p][j][h] = q[ob*64 + 8v + j, bounds[g] + 4p + h] + 128 (128, i.e. q = 0, as
    # padding): the walk order of _quad_kernel.
    n_out = q.shape[0]
    n_groups = bounds.shape[0] - 1
    n_quads = qoff[n_groups]
    for o in range(n_out):
        ob = o // _PAIR_OUT
        v = (o % _PAIR_OUT) // 8
        j = o % 8
        for g in range(n_groups):
            qg = qoff[g + 1] - qoff[g]
            base = ob * _PAIR_OUT * n_quads * 4 + 8 * qoff[g] * 32 + v * qg * 32 + j * 4
            for i in range(bounds[g], bounds[g + 1]):
                k = i - bounds[g]
                packed[base + (k >> 2) * 32 + (k & 3)] = np.uint8(np.int64(q[o, i]) + 128)


@numba.njit(**njit_options())
def _split_counts_kernel(counts, bounds, qoff, lane_channels, steps, budget, small, corr, large_ptr,
                         large_ch, large_r):  # pragma: no cover - the quad path runs compiled only
    # counts = small + large, small int8 (the quad kernel's operands) with sum|small| <= budget over
    # the 4 * steps channels of each int16 lane between widenings (lane_channels of each 8 group-local
    # channels of the span). A lane within the budget keeps its counts whole. A lane over it puts
    # the excess on its largest count where the others fit (one remainder instead of several: 580
    # remainders become 189 at 64 calibrated tokens, on outlier channels), else each
    # count takes what the lane has left. The large remainders go to a per-(token, group) sparse list
    # (at most one entry per nonzero count). corr = 128 * sum of the group's small counts: what the
    # +128 weight offset adds.
    n_tok = counts.shape[0]
    n_groups = bounds.shape[0] - 1
    n_quads = qoff[n_groups]
    span_len = 8 * steps
    in_lane1 = np.zeros(span_len, dtype=np.int64)  # 1 where a channel of the span is in lane 1
    for k in range(span_len):
        for d in range(4):
            if lane_channels[1, d] == k % 8:
                in_lane1[k] = 1
    e = 0
    for tok in range(n_tok):
        for g in range(n_groups):
            total = 0
            end = bounds[g + 1]
            base = 4 * (tok * n_quads + qoff[g]) - bounds[g]
            for span in range(bounds[g], end, span_len):
                if span + span_len <= end:
                    # Fast path, nearly every span: both lanes within the budget, counts copied whole
                    # (branch-free sums; the split of 64 calibrated tokens went from 1.0 to 0.56 ms).
                    sum_all = 0
                    sum_lane1 = 0
                    peak = 0
                    for k in range(span_len):
                        a = abs(counts[tok, span + k])
                        sum_all += a
                        sum_lane1 += a * in_lane1[k]
                        peak = max(peak, a)
                    if sum_all - sum_lane1 <= budget and sum_lane1 <= budget and peak <= 127:
                        for k in range(span_len):
                            c = counts[tok, span + k]
                            small[base + span + k] = c
                            total += c
                        continue
                for lane in range(2):
                    lane_sum = 0
                    big_abs = -1
                    big_i = -1
                    for step in range(span, span + span_len, 8):
                        for d in range(4):
                            i = step + lane_channels[lane, d]
                            if i < end:
                                a = abs(counts[tok, i])
                                lane_sum += a
                                if a > big_abs:
                                    big_abs = a
                                    big_i = i
                    others = lane_sum - big_abs
                    whole = lane_sum <= budget and big_abs <= 127
                    excess_on_big = not whole and others <= min(budget - 1, 127)
                    left = budget
                    for step in range(span, span + span_len, 8):
                        for d in range(4):
                            i = step + lane_channels[lane, d]
                            if i >= end:
                                continue
                            c = counts[tok, i]
                            if whole or (excess_on_big and i != big_i):
                                m = abs(c)
                            elif excess_on_big:
                                m = min(budget - others, 127)
                            else:
                                m = min(abs(c), left, 127)
                                left -= m
                            sm = m if c >= 0 else -m
                            small[base + i] = sm
                            total += sm
                            if c != sm:
                                large_ch[e] = i
                                large_r[e] = c - sm
                                e += 1
            corr[tok, g] = 128 * total
            large_ptr[tok * n_groups + g + 1] = e


@numba.njit(**njit_options())
def _remainder_plan(large_ptr, large_ch, large_r, n_tok, n_groups, bounds):  # pragma: no cover - compiled only
    # The split's remainders, (token, group)-major, regrouped by group (the quad kernel's loop order),
    # each with its token and its channel's offset in the group.
    n_large = large_ptr[n_tok * n_groups]
    group_ptr = np.zeros(n_groups + 1, dtype=np.int64)
    for slot in range(n_tok * n_groups):
        group_ptr[slot % n_groups + 1] += large_ptr[slot + 1] - large_ptr[slot]
    for g in range(n_groups):
        group_ptr[g + 1] += group_ptr[g]
    fill = group_ptr[:n_groups].copy()
    tok_sorted = np.empty(n_large, dtype=np.int64)
    k_sorted = np.empty(n_large, dtype=np.int64)
    r_sorted = np.empty(n_large, dtype=np.int32)
    for slot in range(n_tok * n_groups):
        g = slot % n_groups
        for e in range(large_ptr[slot], large_ptr[slot + 1]):
            k = fill[g]
            fill[g] += 1
            tok_sorted[k] = slot // n_groups
            k_sorted[k] = large_ch[e] - bounds[g]
            r_sorted[k] = large_r[e]
    return group_ptr, tok_sorted, k_sorted, r_sorted


@numba.njit(**njit_options())
def _prepare_kernel(c2, bounds, large, vth, split, qoff, lane_channels, steps, budget):
    # Everything the engine needs from the counts before a kernel runs, in one call (each numpy or
    # compiled call costs 10-50 us when the weights have just flushed the caches): the count
    # statistics, whether every threshold is finite and > 0, and, when `split`, the quad kernel's
    # split of the counts (small int8 parts, offset corrections, remainders regrouped by group),
    # from the counts the statistics pass has just brought into cache.
    stats = _count_stats_kernel(c2, bounds, large)
    vth_finite = True
    vth_positive = True
    for v in vth:
        vth_finite &= np.isfinite(v)
        vth_positive &= v > 0
    n_tok = c2.shape[0]
    n_groups = bounds.shape[0] - 1
    if not split:
        n_tok = 0
    small = np.zeros(n_tok * 4 * qoff[qoff.shape[0] - 1], dtype=np.int8)
    corr = np.empty((n_tok, n_groups), dtype=np.int32)
    large_ptr = np.zeros(n_tok * n_groups + 1, dtype=np.int64)
    n_rem = stats[1] if split else 0  # at most one remainder per nonzero count
    large_ch = np.empty(n_rem, dtype=np.int64)
    large_r = np.empty(n_rem, dtype=np.int32)
    _split_counts_kernel(c2[:n_tok], bounds, qoff, lane_channels, steps, budget, small, corr, large_ptr, large_ch,
                         large_r)
    plan = _remainder_plan(large_ptr, large_ch, large_r, n_tok, n_groups, bounds)
    return stats, vth_finite, vth_positive, (small, corr) + plan


@numba.njit(**njit_options())
def _add_remainders(buf, words, gbase, qg, lo, hi, large_tok, large_k, large_r, t_lo,
                    t_hi):  # pragma: no cover - the quad path runs compiled only
    # The rare large remainders of one group (entries lo:hi) whose tokens fall in the chunk
    # [t_lo, t_hi), for one output block, from the packed weights the block has just streamed (in
    # L1/L2), read as 32-bit words (one per output and quad): outputs 8v..8v+7 of group channel k are
    # byte k & 3 of the 8 words from gbase / 4 + 8 qg v + 8 (k >> 2), stored + 128. The tail block's
    # padding outputs hold weight 0 (stored 128), so all 64 are added. Gathered copies of the rows
    # cost a gather pass per call and their DRAM traffic instead: 2.2 ms of 30 at 64 calibrated tokens
    # (179 remainders), this way 0.2-0.9 ms over repeated runs. A separate call, made only for groups
    # that have remainders: inlined into the quad kernel's group loop, such a loop slowed the whole
    # kernel by 3-15% even where it ran no iteration.
    for e in range(lo, hi):
        if large_tok[e] < t_lo or large_tok[e] >= t_hi:
            continue
        src = gbase // 4 + 8 * (large_k[e] >> 2)
        shift = 8 * (large_k[e] & 3)
        for v in range(_PAIR_OUT // 8):
            add_byte_column(buf, (large_tok[e] - t_lo) * _PAIR_OUT + 8 * v, words, src + 8 * qg * v, shift,
                            large_r[e])


@numba.njit(**parallel_options())
def _quad_kernel(cpk, corr, group_ptr, large_tok, large_k, large_r, packed, words, qoff, scales_t,
                 scales_blk, n_tok, write_acc, acc_out, y, vth):  # pragma: no cover - compiled only
    n_out = scales_t.shape[1]
    n_groups = scales_t.shape[0]
    n_quads = qoff[n_groups]
    n_ob = (n_out + _PAIR_OUT - 1) // _PAIR_OUT
    chunk = min(n_tok, _QUAD_TOKEN_CHUNK)
    for ob in numba.prange(n_ob):
        o0 = ob * _PAIR_OUT
        width = min(n_out, o0 + _PAIR_OUT) - o0
        buf = np.empty(chunk * _PAIR_OUT, dtype=np.int32)
        yb = np.empty(chunk * _PAIR_OUT, dtype=np.float64)
        sl = np.empty(_PAIR_OUT, dtype=np.float64)
        for t_lo in range(0, n_tok, chunk):
            t_hi = min(n_tok, t_lo + chunk)
            nt = t_hi - t_lo
            yb[:] = 0.0
            for g in range(n_groups):
                qg = qoff[g + 1] - qoff[g]
                gbase = ob * _PAIR_OUT * n_quads * 4 + 8 * qoff[g] * 32
                _quad_group_pass(packed, gbase, qg * 32, cpk, t_lo * n_quads + qoff[g], n_quads, qg, buf, nt)
                if group_ptr[g + 1] > group_ptr[g]:
                    _add_remainders(buf, words, gbase, qg, group_ptr[g], group_ptr[g + 1], large_tok, large_k,
                                    large_r, t_lo, t_hi)
                _finish_group(buf, corr[t_lo:t_hi], g, ob, width, scales_blk, write_acc, acc_out[t_lo:t_hi], sl, yb)
            if not write_acc:
                _store_block(yb, y[t_lo:t_hi], o0, width, vth[t_lo:t_hi])


_QUAD_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_QOFF_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SCALE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _block_scales(weight: QuantizedWeight) -> np.ndarray:
    """The scales in the token-block kernels' order, ``[output block][group][64]`` (float64, flat).

    One contiguous 64-entry run per (block, group): read from ``scales_t [group, out]`` each work item
    touched one 512-byte run per group at a stride of ``8 * out`` bytes, a cache miss each (measured
    about a third of the scaling time at 8 tokens).
    """
    cached = _SCALE_CACHE.get(weight)
    if cached is None:
        n_ob = -(-weight.out_features // _PAIR_OUT)
        blocked = np.zeros((weight.n_groups, n_ob * _PAIR_OUT), dtype=np.float64)
        blocked[:, :weight.out_features] = weight.scales_t
        cached = np.ascontiguousarray(blocked.reshape(weight.n_groups, n_ob, _PAIR_OUT).transpose(1, 0, 2)).reshape(-1)
        cached.setflags(write=False)
        _SCALE_CACHE[weight] = cached
    return cached


def _quad_offsets(weight: QuantizedWeight) -> np.ndarray:
    """Quads before each group of the quad layout (``n_groups + 1``, int64): each group padded to a
    multiple of :data:`_QUAD_SPAN` channels. Cached apart from the packed weights, which the count
    split needs without them."""
    qoff = _QOFF_CACHE.get(weight)
    if qoff is None:
        bounds = weight.group_bounds
        qoff = np.zeros(bounds.shape[0], dtype=np.int64)
        np.cumsum(_QUAD_SPAN // 4 * ((np.diff(bounds) + _QUAD_SPAN - 1) // _QUAD_SPAN), out=qoff[1:])
        qoff.setflags(write=False)
        _QOFF_CACHE[weight] = qoff
    return qoff


def _quad_layout(weight: QuantizedWeight) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The quad kernel's packed weights (uint8, see :func:`_pack_quads_kernel`), quad offsets, and the
    packed weights viewed as 32-bit words for the remainders (byte h of a word is bits 8h..8h+7 on
    the little-endian hosts Numba targets: x86-64, AArch64, ppc64le). Built once per weight."""
    cached = _QUAD_CACHE.get(weight)
    if cached is None:
        bounds = weight.group_bounds
        qoff = _quad_offsets(weight)
        n_ob = -(-weight.out_features // _PAIR_OUT)
        packed = np.full(n_ob * _PAIR_OUT * int(qoff[-1]) * 4, 128, dtype=np.uint8)
        _pack_quads_kernel(weight.q, bounds, qoff, packed)
        packed.setflags(write=False)
        cached = (packed, qoff, packed.view(np.uint32))
        _QUAD_CACHE[weight] = cached
    return cached


def _run_quads(quad_split: tuple, weight: QuantizedWeight, n_tok: int, write_acc: bool, acc_out: np.ndarray,
               y: np.ndarray, vth: np.ndarray) -> None:
    # quad_split: _prepare_kernel's (small, corr, group_ptr, large_tok, large_k, large_r)
    packed, qoff, words = _quad_layout(weight)
    _quad_kernel(*quad_split, packed, words, qoff, weight.scales_t, _block_scales(weight), n_tok, write_acc, acc_out,
                 y, vth)


# Pair-packed weights, built on first use per QuantizedWeight and dropped with it. The layout is
# private to this kernel (it depends on _PAIR_OUT), so it lives here rather than on the weight.
_PAIR_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pair_layout(weight: QuantizedWeight) -> tuple[np.ndarray, np.ndarray]:
    cached = _PAIR_CACHE.get(weight)
    if cached is None:
        bounds = weight.group_bounds
        poff = np.zeros(bounds.shape[0], dtype=np.int64)
        np.cumsum((np.diff(bounds) + 1) // 2, out=poff[1:])  # odd groups get one zero channel
        n_ob = -(-weight.out_features // _PAIR_OUT)
        packed = np.zeros(n_ob * _PAIR_OUT * int(poff[-1]) * 2, dtype=np.int8)
        _pack_pairs_kernel(weight.q, bounds, poff, packed)
        packed.setflags(write=False)
        cached = (packed, poff)
        _PAIR_CACHE[weight] = cached
    return cached


def _pairs_apply(stats: _CountStats, acc_dtype: np.dtype) -> bool:
    # int16 counts (pmaddwd operands) and int32 accumulators (its output); else the walk.
    return acc_dtype == np.int32 and stats.max_abs <= _INT16_MAX


def _quads_apply(stats: _CountStats) -> bool:
    # The quad kernel's int32 partial sums are sums of (q + 128) * small counts plus q * remainders:
    # bounded by 255 * sum|c| per (token, group), a wider bound than the accumulator's 127 * sum|c|.
    return 255 * stats.worst_group_sum <= _INT32_MAX * (1 - 1e-9)


def _choose_kernel(kernel: str, n_tok: int, stats: _CountStats | None, acc_dtype: np.dtype,
                   merge_planes: bool) -> str:
    # The pair and quad intrinsics exist only compiled, so with NUMBA_DISABLE_JIT=1 (the kernel-logic
    # test run) the walk runs.
    if kernel == "walk" or not merge_planes or acc_dtype != np.int32 or numba.config.DISABLE_JIT:
        return "walk"
    if stats is None:
        return "walk"
    if kernel == "auto":
        if n_tok < _PAIR_MIN_TOKENS or stats.nonzero < _PAIR_MIN_DENSITY * max(1, stats.size):
            return "walk"
    quads_ok = _quads_apply(stats)
    pairs_ok = _pairs_apply(stats, acc_dtype)
    if kernel == "quads":
        return "quads" if quads_ok else ("pairs" if pairs_ok else "walk")
    if kernel == "pairs":
        return "pairs" if pairs_ok else "walk"
    if quads_ok and (not pairs_ok or stats.n_large <= _QUAD_MAX_LARGE * stats.nonzero):
        return "quads"
    return "pairs" if pairs_ok else "walk"


_BLOCK_SHIFTS = np.array([int(b).bit_length() - 1 for b in BLOCK_SIZES], dtype=np.int64)
assert all(1 << int(sh) == b for sh, b in zip(_BLOCK_SHIFTS, BLOCK_SIZES)), "tally block sizes must be powers of 2"


_TALLY_HIST = 1024  # counts within +-this are histogrammed first (16 KiB of int64, in L1)


@numba.njit(**njit_options())
def _tally_kernel(counts, code, n_steps, block_shifts, ebs, active, seen):
    # The tally of exactly the events token_events codes from these counts, taken from the counts
    # without building the events (coding them cost 3.6 ms for the 260k events of 64 calibrated
    # tokens, more than the projection's own bookkeeping). Every nonzero count has at least one
    # event, so the channels with events are the nonzero counts. Counts are histogrammed and each
    # distinct value's events added once, times its frequency: adding them per count, bit by bit,
    # was most of this pass. Block sizes are powers of two: a shift, not a division.
    nonzero = 0
    n_events = 0
    n_b = block_shifts.shape[0]
    prev_blk = np.empty(n_b, dtype=np.int64)
    hist = np.zeros(2 * _TALLY_HIST + 1, dtype=np.int64)
    for tok in range(counts.shape[0]):
        prev_blk[:] = -1
        for ch in range(counts.shape[1]):
            v = counts[tok, ch]
            if v == 0:
                continue
            nonzero += 1
            seen[ch] = True
            for j in range(n_b):
                blk = ch >> block_shifts[j]
                if blk != prev_blk[j]:
                    prev_blk[j] = blk
                    active[j] += 1
            if -_TALLY_HIST <= v <= _TALLY_HIST:
                hist[v + _TALLY_HIST] += 1
            else:
                n_events += add_count_events(v, code, n_steps, ebs, 1)
    for i in range(hist.shape[0]):
        if hist[i]:
            n_events += add_count_events(i - _TALLY_HIST, code, n_steps, ebs, hist[i])
    return nonzero, n_events


# ---------------------------------------------------------------------------------------------
# Public wrappers
# ---------------------------------------------------------------------------------------------
def _check_path(path: str, allowed: tuple[str, ...] = PATHS) -> str:
    if path not in allowed:
        raise unknown_name("projection path", str(path), allowed)
    return path


def _check_kernel(kernel: str) -> str:
    if kernel not in EVENT_KERNELS:
        raise unknown_name("event kernel", str(kernel), EVENT_KERNELS)
    return kernel


def _check_weight(weight: Any) -> QuantizedWeight:
    if not isinstance(weight, QuantizedWeight):
        raise InputError(
            f"'weight' must be a neurosim.quant.QuantizedWeight (got {type(weight).__name__}); "
            "build one with quantize_weight() or quantized_from_checkpoint()"
        )
    return weight


def _tally(c2: np.ndarray, coding: str, n_steps: int, out_features: int, name: str) -> ProjectionTally:
    n_tok, n_in = c2.shape
    ebs = np.zeros((n_steps, 2), dtype=np.int64)
    active = np.zeros(_BLOCK_SHIFTS.shape[0], dtype=np.int64)
    seen = np.zeros(n_in, dtype=np.bool_)
    nonzero, n_events = _tally_kernel(c2, coder_id(coding), n_steps, _BLOCK_SHIFTS, ebs, active, seen)
    nonzero, n_events = int(nonzero), int(n_events)
    rows_batch = int(seen.sum())
    return ProjectionTally(
        name=name,
        tokens=n_tok,
        input_slots=n_tok * n_in,
        in_features=n_in,
        out_features=out_features,
        dense_macs=n_tok * n_in * out_features,
        spike_events=n_events,
        synaptic_ops=n_events * out_features,
        nonzero_inputs=nonzero,
        sum_abs_counts=int(np.abs(c2).sum(dtype=np.int64)),  # < 2**62 once accumulator_dtype passed
        silent_inputs=n_tok * n_in - nonzero,
        rows_fetched_token=nonzero,
        rows_fetched_batch=rows_batch,
        weight_bytes_touched=rows_batch * out_features * np.dtype(np.int8).itemsize,
        time_steps=n_steps,
        events_by_step=ebs,
        active_blocks={int(b): int(a) for b, a in zip(BLOCK_SIZES, active)},
        coding=coding,
    )


def _check_block(block: Any) -> int | None:
    if block is None:
        return None
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise InputError(f"'column_block' must be a positive integer or None (got {block!r})")
    return int(block)


def _auto_block(block: int | None, n_tok: int, n_out: int) -> int:
    if block is not None:
        return block
    if n_tok > _FEW_TOKENS:
        return DEFAULT_COLUMN_BLOCK
    # Few tokens: little weight reuse across tokens to keep in cache, so one wide block per thread
    # fetches each active row in the fewest pieces (fewer TLB misses and loop restarts).
    per_thread = -(-n_out // numba.get_num_threads())
    return int(min(_MAX_AUTO_BLOCK, max(DEFAULT_COLUMN_BLOCK, -(-per_thread // 64) * 64)))


def _run_integer(c2: np.ndarray, ev: TokenEvents | None, weight: QuantizedWeight, path: str,
                 acc_dtype: np.dtype, *, write_acc: bool, merge_planes: bool,
                 column_block: int | None, kernel: str = "auto", plan: _Plan | None = None,
                 vth: np.ndarray | None = None) -> np.ndarray:
    # write_acc: the integer accumulators (tokens, groups, out); else the scaled output times vth
    # (one threshold per token, float64), the same operations in the same order on every path.
    n_tok = c2.shape[0]
    if write_acc or vth is None:
        vth = np.ones(n_tok, dtype=np.float64)
    chosen = (_choose_kernel(kernel, n_tok, None if plan is None else plan.stats, acc_dtype, merge_planes)
              if path == "event" and n_tok else "walk")
    if write_acc:
        out = np.empty((n_tok, weight.n_groups, weight.out_features), dtype=acc_dtype)
        y = np.zeros((1, 1), dtype=np.float64)
        acc_out = out
    else:
        # The token-block kernels store every output; the walks add into zeros. (Zeroing 9.7 MB at 64
        # tokens on the 7B gate shape is a serial memset of about 0.4 ms.)
        blocked = path == "event" and chosen in ("quads", "pairs")
        out = (np.empty if blocked else np.zeros)((n_tok, weight.out_features), dtype=np.float64)
        y = out
        acc_out = np.zeros((1, 1, 1), dtype=acc_dtype)  # carries the dtype only
    if path == "event" and chosen == "quads":
        # _wants_split holds wherever _choose_kernel can pick the quad kernel, so the plan has its split
        _run_quads(plan.quad_split, weight, n_tok, write_acc, acc_out, y, vth)
        return out  # the token-block kernels multiply by vth as they store
    if path == "event" and chosen == "pairs":
        packed, poff = _pair_layout(weight)
        cpk = np.zeros(n_tok * 2 * int(poff[-1]), dtype=np.int16)
        _pack_counts_kernel(c2, weight.group_bounds, poff, cpk)
        _pair_kernel(cpk, packed, poff, weight.scales_t, _block_scales(weight), n_tok, write_acc, acc_out, y,
                     vth)
        return out
    column_block = _auto_block(column_block, n_tok, weight.out_features)  # the walks' work items
    if path == "event" and merge_planes:
        _count_walk_kernel(c2, weight.group_bounds, weight.q_t, weight.scales_t, column_block,
                           write_acc, acc_out, y)
    elif path == "event":
        _event_kernel(ev.ptr, ev.channel, ev.sign, ev.weight, weight.q_t, weight.scales_t, n_tok,
                      column_block, merge_planes, write_acc, acc_out, y)
    else:
        _dense_kernel(c2, weight.group_bounds, weight.q_t, weight.scales_t, column_block,
                      write_acc, acc_out, y)
    if not write_acc:
        out *= vth[:, None]
    return out


def integer_accumulate(
    counts: Any,
    weight: QuantizedWeight,
    *,
    coding: str = "bidirectional",
    path: ProjectionPath = "event",
    time_steps: int | None = None,
    name: str = "linear",
    merge_planes: bool = True,
    column_block: int | None = None,
    kernel: EventKernel = "auto",
) -> tuple[np.ndarray, ProjectionTally]:
    """Per-group integer accumulators of a W8ASpike projection, before any scaling.

    Parameters
    ----------
    counts : array_like of int, shape (..., in_features)
        Signed integer spike counts (e.g. from :func:`neurosim.adaptive.spike_counts`).
    weight : QuantizedWeight
        INT8 weights ``[out_features, in_features]`` with their scale groups.
    coding : str, default "bidirectional"
        Spike coder used to turn counts into events (also sets the tally's time steps).
    path : {"event", "dense"}
        ``"event"`` walks the spike events; ``"dense"`` is the dense integer matmul. Identical results.
    time_steps : int, optional
        Fixed number of time steps of the code (default: the minimum for ``counts``).
    name : str
        Name put in the tally.
    merge_planes : bool, default True
        Event path only: sum the place values of one (token, channel)'s events and fetch its weight
        row once (see module docstring), or add the row once per event when False.
    column_block : int or None
        Output columns per parallel work item of the event walk (tuning only; results do not depend
        on it). None picks :data:`DEFAULT_COLUMN_BLOCK` for more than 16 tokens and
        ``out_features / threads`` (at least 2048, at most 16384) for fewer.
    kernel : {"auto", "walk", "pairs", "quads"}
        Event path only: how the integers are computed (identical results, see module docstring).
        ``"pairs"`` applies where counts fit int16 and accumulators int32, ``"quads"`` where
        ``255 * sum|counts|`` per group fits int32 (else the next kernel that applies runs).

    Returns
    -------
    acc : numpy.ndarray of int32 or int64, shape (tokens, n_groups, out_features)
        ``acc[t, g, o] = sum_{i in g} q[o, i] * counts[t, i]``; tokens = product of leading axes.
        int32 when the bound ``127 * sum_{i in g}|counts|`` fits, else int64.
    tally : ProjectionTally
        Event counts of the projection (identical for both paths).

    Raises
    ------
    OverflowRiskError
        Even int64 accumulators could overflow.
    CodingRangeError
        Signed counts with an unsigned coder, or counts that do not fit ``time_steps``.
    ShapeError, InputError, NotFoundError
        Counts that do not match ``weight.in_features``, non-integer counts, unknown path or coding.
    """
    _check_path(path, ("dense", "event"))
    check_coding(coding)
    weight = _check_weight(weight)
    column_block = _check_block(column_block)
    _check_kernel(kernel)
    c2, _ = as_counts_2d(counts, weight.in_features)
    plan = _plan(c2, weight, coding, time_steps, merge_planes or path == "dense",
                 split=_wants_split(path, kernel, merge_planes, c2.shape[0]))
    ev = (token_events(c2, coding, time_steps=time_steps, group_size=weight.group_size)
          if path == "event" and not merge_planes else None)  # only the event-by-event walk reads events
    acc = _run_integer(c2, ev, weight, path, plan.acc_dtype, write_acc=True, merge_planes=merge_planes,
                       column_block=column_block, kernel=kernel, plan=plan)
    return acc, _tally(c2, coding, plan.n_steps, weight.out_features, name)


def scale_accumulators(acc: np.ndarray, weight: QuantizedWeight, vth: Any, bias: Any = None) -> np.ndarray:
    """Float output ``vth * sum_g scales[o, g] * acc[t, g, o] + bias`` from integer accumulators.

    Uses the same summation order as the fused kernels of :func:`w8aspike_linear` (groups in order,
    then ``* vth``, then ``+ bias``), so it reproduces their output bit for bit.

    Parameters
    ----------
    acc : int array, shape (tokens, n_groups, out_features)
    weight : QuantizedWeight
    vth : array_like, shape (tokens, 1) or broadcastable
    bias : array_like, shape (out_features,), optional

    Returns
    -------
    numpy.ndarray of float64, shape (tokens, out_features)
    """
    weight = _check_weight(weight)
    acc = np.asarray(acc)
    if acc.ndim != 3 or acc.shape[1:] != (weight.n_groups, weight.out_features):
        raise ShapeError(
            f"'acc' must have shape (tokens, {weight.n_groups}, {weight.out_features}) "
            f"(got {acc.shape})"
        )
    y = np.zeros((acc.shape[0], weight.out_features), dtype=np.float64)
    for g in range(weight.n_groups):
        y += weight.scales_t[g] * acc[:, g, :]
    y = y * np.asarray(vth, dtype=np.float64).reshape(-1, 1)
    if bias is not None:
        y = y + _check_bias(bias, weight.out_features)
    return y


def _project(c2: np.ndarray, vth: np.ndarray, weight: QuantizedWeight, bias: np.ndarray | None, coding: str,
             path: str, merge_planes: bool, column_block: int | None, time_steps: int | None, kernel: str,
             plan: _Plan | None) -> np.ndarray:
    # vth: one float64 threshold per token (1-D); plan: _plan's result for the integer paths (None for
    # the float path)
    if path == "float":
        y = (c2 * vth[:, None]) @ weight.dequantize().T
    else:
        ev = (token_events(c2, coding, time_steps=time_steps, group_size=weight.group_size)
              if path == "event" and not merge_planes else None)  # only the event-by-event walk reads events
        y = _run_integer(c2, ev, weight, path, plan.acc_dtype, write_acc=False, merge_planes=merge_planes,
                         column_block=column_block, kernel=kernel, plan=plan, vth=vth)
    if bias is not None:
        y += bias
    return y


def _codable_plan(c2: np.ndarray, weight: QuantizedWeight, coding: str, path: str, time_steps: int | None,
                  merge_planes: bool, kernel: str, vth: np.ndarray | None = None) -> tuple[int, _Plan | None]:
    # time steps, and _plan's result for the integer paths (the float path only checks codability,
    # and vth when given)
    if path == "float":
        if vth is not None:
            _check_thresholds(vth)
        return check_codable(c2, coding, time_steps), None
    plan = _plan(c2, weight, coding, time_steps, merge_planes or path == "dense",
                 split=_wants_split(path, kernel, merge_planes, c2.shape[0]), vth=vth)
    return plan.n_steps, plan


def _check_thresholds(vth: np.ndarray, finite: bool | None = None, positive: bool | None = None) -> None:
    # project_counts' thresholds: finite and > 0 (the flags when _prepare_kernel computed them)
    if not (np.isfinite(vth).all() if finite is None else finite):
        raise nonfinite_error(vth, "vth")
    if not ((vth > 0).all() if positive is None else positive):
        raise InputError(f"'vth' must be > 0 (got min {vth.min()!r})")


def project_counts(
    counts: Any,
    vth: Any,
    weight: QuantizedWeight,
    bias: Any = None,
    *,
    coding: str = "bidirectional",
    path: ProjectionPath = "event",
    time_steps: int | None = None,
    merge_planes: bool = True,
    column_block: int | None = None,
    kernel: EventKernel = "auto",
) -> np.ndarray:
    """Projection output from given spike counts and thresholds, without the tally.

    The compute part of :func:`w8aspike_linear` (spike coding, integer accumulation, scaling), for
    callers that already hold the counts, and for timing the engine alone.

    Parameters
    ----------
    counts : array_like of int, shape (..., in_features)
    vth : array_like of float, shape (..., 1)
        Per-token threshold (one per row of ``counts``), > 0.
    weight, bias, coding, path, time_steps, merge_planes, column_block, kernel
        As in :func:`w8aspike_linear`.

    Returns
    -------
    numpy.ndarray of float64, shape (..., out_features)
        Bit-identical to ``w8aspike_linear(...).output`` for the same counts and thresholds.
    """
    _check_path(path)
    check_coding(coding)
    weight = _check_weight(weight)
    column_block = _check_block(column_block)
    _check_kernel(kernel)
    c2, lead = as_counts_2d(counts, weight.in_features)
    v = as_float_array(vth, "vth", min_ndim=0, check_finite=False)  # values checked in _plan
    if v.size != c2.shape[0]:
        raise ShapeError(
            f"'vth' must hold one threshold per token, shape {(*lead, 1)} (got {v.shape})"
        )
    b = None if bias is None else _check_bias(bias, weight.out_features)
    # The kernels read the counts directly (a (token, channel)'s merged multiplier is its count):
    # check they are codable, and build the events only if the event-by-event walk runs.
    v = v.reshape(-1)
    _, plan = _codable_plan(c2, weight, coding, path, time_steps, merge_planes, kernel, v)
    y = _project(c2, v, weight, b, coding, path, merge_planes, column_block, time_steps, kernel, plan)
    return y.reshape(*lead, weight.out_features)


def _check_bias(bias: Any, out_features: int) -> np.ndarray:
    b = as_float_array(bias, "bias")
    if b.shape != (out_features,):
        raise ShapeError(f"'bias' must have shape ({out_features},) (got {b.shape})")
    return b


@dataclass(frozen=True, eq=False)
class SpikingLinearResult:
    """Output of :func:`w8aspike_linear`.

    Attributes
    ----------
    output : numpy.ndarray of float64, shape (..., out_features)
        Projection output, same leading axes as ``x``.
    tally : ProjectionTally
        Event counts of the call (all paths tally the same events).
    counts : numpy.ndarray of int64, shape (..., in_features)
        Integer spike counts ``round(x / vth)``.
    vth : numpy.ndarray of float64, shape (..., 1)
        Per-token adaptive threshold.
    """

    output: np.ndarray
    tally: ProjectionTally
    counts: np.ndarray
    vth: np.ndarray


def w8aspike_linear(
    x: Any,
    weight: QuantizedWeight,
    bias: Any = None,
    *,
    k: float = 3.0,
    coding: str = "bidirectional",
    path: ProjectionPath = "event",
    name: str = "linear",
    time_steps: int | None = None,
    merge_planes: bool = True,
    column_block: int | None = None,
    kernel: EventKernel = "auto",
) -> SpikingLinearResult:
    """W8ASpike linear projection: adaptive-threshold spikes times INT8 weights (+ float bias).

    Parameters
    ----------
    x : array_like of float, shape (..., in_features)
        Input activations (finite); one adaptive threshold per token (last axis).
    weight : QuantizedWeight
        INT8 weights ``[out_features, in_features]``.
    bias : array_like of float, shape (out_features,), optional
        Float bias, added after scaling (kept in floating point as released).
    k : float, default 3.0
        Threshold divisor, ``Vth = mean|x| / k``; > 0.
    coding : str, default "bidirectional"
        Spike coder (see :data:`neurosim.coding.CODINGS`).
    path : {"event", "dense", "float"}
        How to compute (see module docstring); all paths return the same tally.
    name : str
        Projection name for the tally.
    time_steps : int, optional
        Fixed code length; default the minimum for this call's counts.
    merge_planes, column_block, kernel
        See :func:`integer_accumulate`.

    Returns
    -------
    SpikingLinearResult

    Raises
    ------
    InputError
        Non-finite ``x``, ``k <= 0``, ``weight`` not a QuantizedWeight.
    ShapeError
        ``x.shape[-1] != weight.in_features`` or a bias of the wrong shape.
    NotFoundError
        Unknown ``path`` or ``coding``.
    CodingRangeError
        Signed counts with an unsigned coder (``binary``, ``bitwise``), or counts beyond ``time_steps``.
    OverflowRiskError
        Integer accumulators could overflow (not reachable from finite activations in practice).
    """
    _check_path(path)
    check_coding(coding)
    weight = _check_weight(weight)
    column_block = _check_block(column_block)
    _check_kernel(kernel)
    x = as_float_array(x, "x", check_finite=False)  # spike_counts checks it (same error)
    if x.shape[-1] != weight.in_features:
        raise ShapeError(
            f"'x' has {x.shape[-1]} features in its last axis but the weight has "
            f"in_features={weight.in_features} (weight shape {weight.q.shape})"
        )
    b = None if bias is None else _check_bias(bias, weight.out_features)
    counts, vth = spike_counts(x, k)
    c2 = np.ascontiguousarray(counts.reshape(-1, weight.in_features))
    n_steps, plan = _codable_plan(c2, weight, coding, path, time_steps, merge_planes, kernel)  # token_events' errors
    y = _project(c2, vth.reshape(-1), weight, b, coding, path, merge_planes, column_block, time_steps, kernel, plan)
    tally = _tally(c2, coding, n_steps, weight.out_features, name)
    return SpikingLinearResult(
        output=y.reshape(*x.shape[:-1], weight.out_features), tally=tally, counts=counts, vth=vth,
    )
