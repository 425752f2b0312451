"""Spike events of a ``[tokens, in_features]`` count matrix in token-major CSR form.

The event-driven engine (:mod:`neurosim.engine`) walks a token's events channel by channel, group by
group; :func:`token_events` builds that order directly from the counts in two compiled passes (count,
then fill), walking exactly the events of :func:`neurosim.coding.encode_events` (same time steps,
polarities and place values), only ordered by token, input channel and time step instead of time
first.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np

from neurosim._config import njit_options
from neurosim.budget import check_memory
from neurosim.coding import CODINGS, check_coding, steps_for_range
from neurosim.exceptions import InputError, ShapeError
from neurosim.validation import as_int_counts

__all__ = ["BINARY", "TERNARY", "TWOS_COMPLEMENT", "TokenEvents", "add_count_events", "as_counts_2d", "check_codable",
           "check_codable_range", "coder_id", "group_bounds", "token_events"]

# Coder ids handed to the compiled kernels: each coder's position in neurosim.coding.CODINGS, the one
# list of coders (a coder renamed or removed there fails here at import, not silently in a kernel).
_CODE_IDS = {name: i for i, name in enumerate(CODINGS)}
BINARY = _CODE_IDS["binary"]
TERNARY = _CODE_IDS["ternary"]
TWOS_COMPLEMENT = _CODE_IDS["twos-complement"]
# The other coders (bitwise, bidirectional) are sign-magnitude bit planes: popcount(|count|) events.
# Refuse to materialise absurd unary trains (a count of 2**40 would be 2**40 events).
_MAX_EVENTS = 2**31 - 1


def coder_id(coding: str) -> int:
    """The integer id of ``coding`` that compiled kernels take (its position in ``CODINGS``)."""
    check_coding(coding)
    return _CODE_IDS[coding]


class TokenEvents(NamedTuple):
    """Spike events of a ``[tokens, in_features]`` count matrix, token-major (CSR).

    Events are ordered by token, then input channel (ascending), then time step (ascending), so the
    events of one (token, channel) are contiguous. ``ptr[t * n_groups + g]`` is the first event of
    token ``t`` in input group ``g``; ``ptr[-1] == E``. Sorting them by (time step, flat index
    ``t * in_features + channel``) gives exactly :func:`neurosim.coding.encode_events` of the counts.

    Attributes
    ----------
    ptr : int64 [tokens * n_groups + 1]
    channel : int32 [E]       input channel of each event
    t : int32 [E]             time step of each event
    sign : int8 [E]           polarity, +1 or -1
    weight : int64 [E]        place value (negative for the two's-complement sign bit)
    tokens, in_features, n_groups, time_steps : int
    coding : str
    """

    ptr: np.ndarray
    channel: np.ndarray
    t: np.ndarray
    sign: np.ndarray
    weight: np.ndarray
    tokens: int
    in_features: int
    n_groups: int
    time_steps: int
    coding: str

    @property
    def token_ptr(self) -> np.ndarray:
        """int64 [tokens + 1]: first event of each token."""
        return self.ptr[:: self.n_groups]

    @property
    def n_events(self) -> int:
        return int(self.channel.shape[0])


@numba.njit(**njit_options())
def _n_channel_events(v, code, n_steps):
    if code == BINARY or code == TERNARY:  # unary: one event per unit of |count|
        return abs(v)
    if code == TWOS_COMPLEMENT:
        u = v & ((np.int64(1) << n_steps) - 1)
    else:
        u = abs(v)
    n = 0
    while u:
        u &= u - 1
        n += 1
    return n


# Coding is O(tokens x in_features + events), a few microseconds per token: serial kernels, since
# waking a thread team would cost more than the work (and much more on a loaded machine).
@numba.njit(**njit_options())
def _count_token_events(counts, code, n_steps, bounds, n_ev):
    n_tok = counts.shape[0]
    n_groups = bounds.shape[0] - 1
    for tok in range(n_tok):
        for g in range(n_groups):
            s = 0
            for ch in range(bounds[g], bounds[g + 1]):
                v = counts[tok, ch]
                if v != 0:
                    s += _n_channel_events(v, code, n_steps)
            n_ev[tok * n_groups + g] = s


@numba.njit(**njit_options())
def _fill_token_events(counts, code, n_steps, ptr, chan, t_out, sign, weight):
    n_tok, n_in = counts.shape
    n_groups = (ptr.shape[0] - 1) // n_tok
    top = np.int64(1) << (n_steps - 1)
    for tok in range(n_tok):
        e = ptr[tok * n_groups]
        for ch in range(n_in):
            v = counts[tok, ch]
            if v == 0:
                continue
            if code == BINARY or code == TERNARY:
                sg = 1 if v > 0 else -1
                for st in range(abs(v)):
                    chan[e] = ch
                    t_out[e] = st
                    sign[e] = sg
                    weight[e] = 1
                    e += 1
            elif code == TWOS_COMPLEMENT:
                u = v & ((np.int64(1) << n_steps) - 1)
                for st in range(n_steps):
                    if (u >> (n_steps - 1 - st)) & 1:
                        chan[e] = ch
                        t_out[e] = st
                        sign[e] = 1
                        weight[e] = -top if st == 0 else (np.int64(1) << (n_steps - 1 - st))
                        e += 1
            else:
                sg = 1 if v > 0 else -1
                u = abs(v)
                for st in range(n_steps):
                    if (u >> (n_steps - 1 - st)) & 1:
                        chan[e] = ch
                        t_out[e] = st
                        sign[e] = sg
                        weight[e] = np.int64(1) << (n_steps - 1 - st)
                        e += 1


@numba.njit(**njit_options())
def add_count_events(v, code, n_steps, events_by_step, times):
    """Add the events of one nonzero count ``v``, ``times`` over, to ``events_by_step``; return how many.

    The time steps and polarities :func:`token_events` codes for ``v`` (``_fill_token_events``
    above), without building the events: ``events_by_step[step, 0]`` counts +1 events and
    ``[step, 1]`` -1 events. For tallies that need only the counts of events (compiled; ``code``
    from :func:`coder_id`).
    """
    col = 0 if v > 0 else 1
    if code == BINARY or code == TERNARY:  # unary: one event per unit, steps 0 .. |v| - 1
        for st in range(abs(v)):
            events_by_step[st, col] += times
        return times * abs(v)
    if code == TWOS_COMPLEMENT:  # bits of v mod 2**T, all of polarity +1
        u = v & ((np.int64(1) << n_steps) - 1)
        col = 0
    else:  # sign-magnitude bit planes
        u = abs(v)
    n = 0
    st = n_steps - 1  # bit b is time step n_steps - 1 - b: walk the bits up to the highest set one
    while u:
        if u & 1:
            events_by_step[st, col] += times
            n += 1
        u >>= 1
        st -= 1
    return times * n


def as_counts_2d(counts: Any, in_features: int | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    arr = as_int_counts(counts, "counts")
    if arr.ndim < 1:
        raise ShapeError(f"'counts' must have at least 1 dimension [..., in_features] (got shape {arr.shape})")
    if in_features is not None and arr.shape[-1] != in_features:
        raise ShapeError(
            f"'counts' has {arr.shape[-1]} input channels in its last axis but the weight has "
            f"in_features={in_features}"
        )
    return np.ascontiguousarray(arr.reshape(-1, arr.shape[-1])), arr.shape[:-1]


def group_bounds(in_features: int, group_size: int | None) -> np.ndarray:
    size = in_features if group_size is None else int(group_size)
    n_groups = -(-in_features // size)
    return np.minimum(np.arange(n_groups + 1, dtype=np.int64) * size, in_features)


def check_codable(counts2d: np.ndarray, coding: str, time_steps: int | None = None) -> int:
    """Check that :func:`token_events` can code ``counts2d`` with ``coding``; return the time steps.

    The checks without the events, for kernels that read the counts directly (same errors as
    :func:`token_events`).
    """
    check_coding(coding)
    lo, hi = (int(counts2d.min()), int(counts2d.max())) if counts2d.size else (0, 0)
    unary = _CODE_IDS[coding] in (BINARY, TERNARY)
    total = float(np.abs(counts2d).sum(dtype=np.float64)) if unary else 0.0
    return check_codable_range(lo, hi, total, coding, time_steps)


def check_codable_range(lo: int, hi: int, total_abs: float, coding: str, time_steps: int | None = None) -> int:
    """:func:`check_codable` for counts with smallest value ``lo``, largest ``hi`` and ``sum |c|`` =
    ``total_abs`` (read only by the unary coders), for callers that already hold them."""
    n_steps = steps_for_range(lo, hi, coding, time_steps)  # checks the sign too
    if _CODE_IDS[coding] in (BINARY, TERNARY) and total_abs > _MAX_EVENTS:
        raise InputError(
            f"{coding!r} coding of 'counts' needs {total_abs:.3g} events (one per unit of count), more "
            f"than the {_MAX_EVENTS} the engine materialises; use a bitwise coder"
        )
    return n_steps


def token_events(
    counts: Any,
    coding: str = "bidirectional",
    *,
    time_steps: int | None = None,
    group_size: int | None = None,
) -> TokenEvents:
    """Code integer ``counts`` into spike events, grouped per token (CSR, see :class:`TokenEvents`).

    Parameters
    ----------
    counts : array_like of int, shape (..., in_features)
        Spike counts; leading axes are flattened into tokens.
    coding : str
        One of :data:`neurosim.coding.CODINGS`.
    time_steps : int, optional
        Fixed number of time steps; default: the minimum for the whole tensor (Int2Spike rule).
    group_size : int or None
        Input channels per pointer group (``ptr`` has one entry per token and group).

    Returns
    -------
    TokenEvents
        The same events as :func:`neurosim.coding.encode_events` (same T, time steps, signs and
        place values), in token-major order. Cost: one pass over the counts plus one per event.

    Raises
    ------
    CodingRangeError
        Signed counts with an unsigned coder, or counts that do not fit ``time_steps``.
    NotFoundError
        Unknown ``coding``.
    InputError
        A unary code that would need more than 2**31 events.
    """
    c2, _ = as_counts_2d(counts)
    n_steps = check_codable(c2, coding, time_steps)
    code = _CODE_IDS[coding]
    bounds = group_bounds(c2.shape[1], group_size)
    n_groups = bounds.shape[0] - 1
    n_ev = np.empty(c2.shape[0] * n_groups, dtype=np.int64)
    _count_token_events(c2, code, n_steps, bounds, n_ev)
    ptr = np.zeros(n_ev.shape[0] + 1, dtype=np.int64)
    np.cumsum(n_ev, out=ptr[1:])
    n_events = int(ptr[-1])
    # chan int32 + t int32 + sign int8 + weight int64 per event, checked before allocating.
    check_memory(17 * n_events, f"{n_events} {coding} spike events of counts {c2.shape}",
                 hint="use a bitwise coder, a smaller k or fewer tokens")
    chan = np.empty(n_events, dtype=np.int32)
    t_out = np.empty(n_events, dtype=np.int32)
    sign = np.empty(n_events, dtype=np.int8)
    weight = np.empty(n_events, dtype=np.int64)
    _fill_token_events(c2, code, n_steps, ptr, chan, t_out, sign, weight)
    return TokenEvents(ptr, chan, t_out, sign, weight, c2.shape[0], c2.shape[1], n_groups, n_steps, coding)
