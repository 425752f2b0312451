"""Spike coding of integer spike counts (report section 3.3.2, figure 4).

Five coders turn a tensor of integer counts into spikes, with the same bit order and time-step count
as the public Int2Spike encoders (BICLab/SpikingBrain-7B, ``W8ASpike/Int2Spike/neuron.py``):

=================  ===========  =================================================  ==========================
coding             alphabet     time steps T (from the maximum over the tensor)    count at step t
=================  ===========  =================================================  ==========================
``binary``         {0, 1}       ``max(x)``                                          first ``x`` steps fire
``ternary``        {-1, 0, 1}   ``max|x|``                                          first ``|x|`` steps, sign(x)
``bitwise``        {0, 1}       ``bit_length(max x)``                               bit ``T-1-t`` of x (MSB first)
``bidirectional``  {-1, 0, 1}   ``bit_length(max|x|)``                              bit ``T-1-t`` of ``|x|``, sign(x)
``twos-complement``{0, 1}       ``max(2, bit_length(max|x|) + 1)``                  bit ``T-1-t`` of ``x mod 2^T``
=================  ===========  =================================================  ==========================

Every coder uses at least one step (Int2Spike gives 0 steps for an all-zero tensor in the unary
coders; one silent step decodes the same and keeps arrays non-empty). ``time_steps=`` fixes T;
a T too small for the counts raises :class:`~neurosim.exceptions.CodingRangeError`.

Each coder gives (a) a dense spike train ``[T, *shape]`` of int8 and (b) a :class:`SpikeEvents`
list, time-major, that a simulator consumes without the dense form. An event carries its time step,
the flat index of its neuron, its polarity (``sign``, +1 or -1) and its place value (``weight``):
1 for the unary coders, ``2**(T-1-t)`` for the bitwise ones, and ``-2**(T-1)`` for the sign bit of
two's complement, so that ``count = sum(sign * weight)`` over a neuron's events for every coder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np

from neurosim._config import njit_options
from neurosim.budget import check_memory
from neurosim.exceptions import CodingRangeError, InputError, ShapeError, unknown_name
from neurosim.validation import as_int_counts

__all__ = [
    "CODINGS",
    "Coding",
    "SpikeEvents",
    "check_coding",
    "check_sign",
    "decode",
    "decode_events",
    "encode",
    "encode_events",
    "popcount",
    "representable_range",
    "resolve_time_steps",
    "spikes_per_count",
    "steps_for_range",
    "time_steps_needed",
]

Coding = Literal["binary", "ternary", "bitwise", "bidirectional", "twos-complement"]
CODINGS: tuple[str, ...] = ("binary", "ternary", "bitwise", "bidirectional", "twos-complement")
_UNSIGNED = frozenset({"binary", "bitwise"})
_INT64_MIN = -(2**63)
_UNARY = frozenset({"binary", "ternary"})
# Place values 2**(T-1) must fit in int64, and numba/NumPy shifts by >= 64 bits are undefined.
_MAX_BIT_STEPS = 63
_MAX_UNARY_STEPS = 2**31 - 1  # time-step indices are int32


def check_coding(coding: str) -> str:
    """Return ``coding`` if it names a coder, else raise :class:`NotFoundError` listing them."""
    if coding not in CODINGS:
        raise unknown_name("spike coding", str(coding), CODINGS)
    return coding


def _bit_length(n: int) -> int:
    return int(n).bit_length()


def _as_steps(time_steps: object) -> int:
    """``time_steps`` as an int, or :class:`InputError` (no bare ValueError from ``int()``)."""
    try:
        ok = not isinstance(time_steps, bool) and int(time_steps) == time_steps  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError(f"'time_steps' must be an integer (got {time_steps!r})")
    return int(time_steps)  # type: ignore[call-overload]


def time_steps_needed(counts: np.ndarray, coding: str) -> int:
    """Number of time steps the coder needs for ``counts`` (the Int2Spike rule, at least 1)."""
    check_coding(coding)
    return _steps_for_range(*_min_max(as_int_counts(counts)), coding)


def _min_max(counts: np.ndarray) -> tuple[int, int]:
    # smallest and largest count ((0, 0) when empty): one min and one max, no |counts| temporary
    return (int(counts.min()), int(counts.max())) if counts.size else (0, 0)


def _steps_for_range(lo: int, hi: int, coding: str) -> int:
    # time_steps_needed from the counts' smallest and largest value (with the sign check)
    _check_min(lo, coding)
    if lo == _INT64_MIN:
        # -lo would not fit int64 and the code would be silently wrong.
        raise CodingRangeError("'counts' holds -2**63, whose magnitude does not fit in int64")
    peak = max(hi, -lo)
    if coding in _UNARY:
        if peak > _MAX_UNARY_STEPS:
            # Time steps are stored as int32 and a unary train has one step per unit of count.
            raise CodingRangeError(f"{coding!r} coding of 'counts' with max |count| {peak} needs {peak} time "
                                   f"steps and as many events per neuron; at most {_MAX_UNARY_STEPS} are supported, use a bitwise coder")
        return max(1, peak)
    steps = max(2, _bit_length(peak) + 1) if coding == "twos-complement" else max(1, _bit_length(peak))
    if steps > _MAX_BIT_STEPS:
        raise CodingRangeError(
            f"{coding!r} coding of 'counts' with max |count| {peak} needs {steps} time steps; "
            f"at most {_MAX_BIT_STEPS} fit int64 place values"
        )
    return steps


def representable_range(coding: str, time_steps: int) -> tuple[int, int]:
    """Smallest and largest count the coder can represent in ``time_steps`` steps."""
    check_coding(coding)
    t = _as_steps(time_steps)
    if t > _MAX_BIT_STEPS and coding not in _UNARY:
        raise InputError(f"'time_steps' must be <= {_MAX_BIT_STEPS} for {coding!r} coding (got {t})")
    if t < 1:
        raise InputError(f"'time_steps' must be >= 1 (got {time_steps!r})")
    if coding == "binary":
        return 0, t
    if coding == "ternary":
        return -t, t
    if coding == "bitwise":
        return 0, 2**t - 1
    if coding == "bidirectional":
        return -(2**t - 1), 2**t - 1
    if t < 2:
        raise InputError(f"two's complement needs 'time_steps' >= 2 (got {t})")
    return -(2 ** (t - 1)), 2 ** (t - 1) - 1


def check_sign(counts: np.ndarray, coding: str) -> None:
    if coding in _UNSIGNED and counts.size:
        _check_min(int(counts.min()), coding)


def _check_min(lowest: int, coding: str) -> None:
    if coding in _UNSIGNED and lowest < 0:
        raise CodingRangeError(
            f"coding {coding!r} is unsigned but 'counts' holds negative values (min {lowest}); "
            "use 'ternary', 'bidirectional' or 'twos-complement' for signed counts"
        )


def resolve_time_steps(counts: np.ndarray, coding: str, time_steps: int | None) -> int:
    check_coding(coding)
    return steps_for_range(*_min_max(as_int_counts(counts)), coding, time_steps)


def steps_for_range(lo: int, hi: int, coding: str, time_steps: int | None) -> int:
    """:func:`resolve_time_steps` for counts whose smallest and largest values are ``lo`` and ``hi``.

    For callers that already hold both (the engine gets them from its one pass over the counts);
    same checks and errors: the sign for unsigned coders, then the steps needed or the fit of
    ``time_steps``.
    """
    check_coding(coding)
    needed = _steps_for_range(lo, hi, coding)
    if time_steps is None:
        return needed
    time_steps = _as_steps(time_steps)
    low, high = representable_range(coding, time_steps)
    if lo < low or hi > high:
        raise CodingRangeError(
            f"'counts' span [{lo}, {hi}] but {coding!r} coding in "
            f"{time_steps} steps represents [{low}, {high}]; use time_steps >= {needed} or None"
        )
    return int(time_steps)


_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def popcount(values: np.ndarray) -> np.ndarray:
    """Number of 1-bits of each non-negative integer (int64 array, same shape).

    The spikes a bitwise coder emits for a magnitude: ``popcount(|c|)`` for bitwise and bidirectional
    coding, ``popcount(c mod 2**T)`` for two's complement (see :func:`spikes_per_count`).
    """
    values = np.asarray(values, dtype=np.int64)
    if hasattr(np, "bitwise_count"):  # NumPy >= 2.0
        return np.bitwise_count(values).astype(np.int64)
    as_bytes = np.ascontiguousarray(values).view(np.uint8)  # NumPy 1.x: a byte lookup table
    return _POP8[as_bytes].reshape((*values.shape, 8)).sum(axis=-1)


def spikes_per_count(counts: np.ndarray, coding: str, time_steps: int) -> np.ndarray:
    """Spike events each count emits when coded with ``coding`` in ``time_steps`` steps (int64, same shape).

    ``|c|`` for the unary coders (binary, ternary), ``popcount(|c|)`` for bitwise and bidirectional,
    ``popcount(c mod 2**T)`` for two's complement: the number of events of :func:`encode_events`
    per count, without building them. ``counts`` must be integer and fit ``time_steps`` (see
    :func:`resolve_time_steps`).
    """
    check_coding(coding)
    counts = np.asarray(counts, dtype=np.int64)
    if coding in _UNARY:
        return np.abs(counts)
    if coding == "twos-complement":
        return popcount(counts & ((1 << int(time_steps)) - 1))
    return popcount(np.abs(counts))


def _place_values(coding: str, t_steps: int) -> np.ndarray:
    """Signed place value of each time step (int64, length T)."""
    if coding in _UNARY:
        return np.ones(t_steps, dtype=np.int64)
    values = np.left_shift(np.int64(1), np.arange(t_steps - 1, -1, -1, dtype=np.int64))
    if coding == "twos-complement":
        values[0] = -values[0]
    return values


def encode(counts: np.ndarray, coding: str, *, time_steps: int | None = None) -> np.ndarray:
    """Dense spike train of integer ``counts``.

    Parameters
    ----------
    counts : array_like of integers, any shape
        Spike counts; floats are accepted only if they hold whole numbers.
    coding : {"binary", "ternary", "bitwise", "bidirectional", "twos-complement"}
    time_steps : int, optional
        Fixed number of steps T; default is the minimum over the whole tensor (Int2Spike rule).

    Returns
    -------
    numpy.ndarray of int8, shape (T, *counts.shape)
        Spikes in {0, 1} or {-1, 0, 1} depending on the coder.

    Raises
    ------
    CodingRangeError
        Negative counts for an unsigned coder, or counts that do not fit in ``time_steps``.
    """
    check_coding(coding)
    counts = as_int_counts(counts)
    check_sign(counts, coding)
    t_steps = resolve_time_steps(counts, coding, time_steps)
    # The int8 train plus int64/bool temporaries of the same [T, *shape] size, before allocating.
    check_memory(18 * t_steps * max(counts.size, 1), f"dense {coding} spike train of {t_steps} steps x "
                 f"{counts.size} neurons", hint="use encode_events or a bitwise coder")
    steps = np.arange(t_steps, dtype=np.int64).reshape((t_steps,) + (1,) * counts.ndim)
    if coding in _UNARY:
        fire = np.abs(counts)[None] > steps
        return (fire * np.sign(counts)[None]).astype(np.int8)
    shifts = t_steps - 1 - steps
    if coding == "twos-complement":
        unsigned = counts & ((1 << t_steps) - 1)
        return ((unsigned[None] >> shifts) & 1).astype(np.int8)
    bits = (np.abs(counts)[None] >> shifts) & 1
    return (bits * np.sign(counts)[None]).astype(np.int8)


def decode(train: np.ndarray, coding: str) -> np.ndarray:
    """Counts from a dense spike train made by :func:`encode` (exact inverse).

    Raises
    ------
    CodingRangeError
        Spike values outside the coder's alphabet, or mixed polarities in one neuron of a
        sign-magnitude code.
    """
    check_coding(coding)
    train = np.asarray(train)
    if train.dtype.kind not in "iub":
        raise InputError(f"'train' must be an integer array (got dtype {train.dtype})")
    if train.ndim < 1 or train.shape[0] < 1:
        raise ShapeError(f"'train' must have a time axis of length >= 1 (got shape {train.shape})")
    if train.size == 0:
        raise ShapeError(f"'train' must not be empty (got shape {train.shape})")
    train = train.astype(np.int64)
    lo = 0 if coding in ("binary", "bitwise", "twos-complement") else -1
    if train.min() < lo or train.max() > 1:
        raise CodingRangeError(
            f"{coding!r} spikes must lie in [{lo}, 1] (got values in [{train.min()}, {train.max()}])"
        )
    if coding == "bidirectional" and ((train > 0).any(axis=0) & (train < 0).any(axis=0)).any():
        raise CodingRangeError("bidirectional spike train mixes +1 and -1 spikes in one neuron")
    values = _place_values(coding, train.shape[0]).reshape((-1,) + (1,) * (train.ndim - 1))
    return (train * values).sum(axis=0)


@dataclass(frozen=True, eq=False)
class SpikeEvents:
    """Spike events in time-major order (parallel arrays, one entry per spike).

    Attributes
    ----------
    t : numpy.ndarray of int32, shape (E,)
        Time step of each spike, ascending.
    index : numpy.ndarray of int64, shape (E,)
        Flat (C-order) index of the spiking neuron in ``shape``; ascending within a time step.
    sign : numpy.ndarray of int8, shape (E,)
        Spike polarity, +1 or -1.
    weight : numpy.ndarray of int64, shape (E,)
        Place value of the spike: 1 (unary coders), ``2**(T-1-t)`` (bitwise), ``-2**(T-1)``
        (sign bit of two's complement).
    shape : tuple of int
        Shape of the count tensor.
    time_steps : int
        Number of time steps T of the code.
    coding : str
        The coder that produced the events.
    """

    t: np.ndarray
    index: np.ndarray
    sign: np.ndarray
    weight: np.ndarray
    shape: tuple[int, ...]
    time_steps: int
    coding: str

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def value(self) -> np.ndarray:
        """Signed contribution ``sign * weight`` of each event (int64)."""
        return self.sign.astype(np.int64) * self.weight

    def to_dense(self) -> np.ndarray:
        """The equivalent dense spike train, int8 of shape ``(time_steps, *shape)``."""
        n = int(np.prod(self.shape, dtype=np.int64))
        dense = np.zeros((self.time_steps, n), dtype=np.int8)
        dense[self.t, self.index] = self.sign
        return dense.reshape((self.time_steps, *self.shape))

    def spike_trains(self) -> dict[int, np.ndarray]:
        """Spike times of each neuron that fired, keyed by flat index (Brian2 ``SpikeMonitor`` view)."""
        order = np.argsort(self.index, kind="stable")
        idx, t = self.index[order], self.t[order]
        cuts = np.flatnonzero(np.diff(idx)) + 1
        return {int(i[0]): times for i, times in zip(np.split(idx, cuts), np.split(t, cuts)) if len(i)}


@numba.njit(**njit_options())
def _unary_events(mag, n_steps, t_out, idx_out):
    # Counting sort by time step: a neuron with |x| = m fires at steps 0..m-1.
    per_step = np.zeros(n_steps + 1, dtype=np.int64)
    for i in range(mag.shape[0]):
        per_step[mag[i]] += 1
    fire = np.zeros(n_steps, dtype=np.int64)
    running = 0
    for t in range(n_steps - 1, -1, -1):
        running += per_step[t + 1]
        fire[t] = running
    cursor = np.zeros(n_steps, dtype=np.int64)
    for t in range(1, n_steps):
        cursor[t] = cursor[t - 1] + fire[t - 1]
    for i in range(mag.shape[0]):
        for t in range(mag[i]):
            pos = cursor[t]
            t_out[pos] = t
            idx_out[pos] = i
            cursor[t] = pos + 1


@numba.njit(**njit_options())
def _bit_events(bits_src, n_steps, t_out, idx_out):
    fire = np.zeros(n_steps, dtype=np.int64)
    for i in range(bits_src.shape[0]):
        for t in range(n_steps):
            fire[t] += (bits_src[i] >> (n_steps - 1 - t)) & 1
    cursor = np.zeros(n_steps, dtype=np.int64)
    for t in range(1, n_steps):
        cursor[t] = cursor[t - 1] + fire[t - 1]
    for i in range(bits_src.shape[0]):
        for t in range(n_steps):
            if (bits_src[i] >> (n_steps - 1 - t)) & 1:
                pos = cursor[t]
                t_out[pos] = t
                idx_out[pos] = i
                cursor[t] = pos + 1


def encode_events(counts: np.ndarray, coding: str, *, time_steps: int | None = None) -> SpikeEvents:
    """Spike events of integer ``counts``, without forming the dense train.

    Cost is proportional to the number of neurons plus the number of events. Arguments and errors
    are those of :func:`encode`; the events are exactly the nonzero entries of ``encode(...)``.
    """
    check_coding(coding)
    counts = as_int_counts(counts)
    check_sign(counts, coding)
    t_steps = resolve_time_steps(counts, coding, time_steps)
    flat = np.ascontiguousarray(counts.reshape(-1))
    if coding == "twos-complement":
        source = flat & ((1 << t_steps) - 1)
        n_events = int(sum(int(np.count_nonzero((source >> s) & 1)) for s in range(t_steps)))
    else:
        source = np.abs(flat)
        n_events = int(source.sum()) if coding in _UNARY else int(
            sum(int(np.count_nonzero((source >> s) & 1)) for s in range(t_steps))
        )
    # t int32, index int64, sign int8, weight int64 per event; three int64 per-step arrays in the kernel.
    check_memory(21 * n_events + 24 * t_steps, f"{n_events} {coding} spike events in {t_steps} steps",
                 hint="use a bitwise coder")
    t_out = np.empty(n_events, dtype=np.int32)
    idx_out = np.empty(n_events, dtype=np.int64)
    if coding in _UNARY:
        _unary_events(source, t_steps, t_out, idx_out)
    else:
        _bit_events(source, t_steps, t_out, idx_out)
    if coding == "twos-complement":
        sign = np.ones(n_events, dtype=np.int8)
    else:
        sign = np.sign(flat[idx_out]).astype(np.int8)
    weight = _place_values(coding, t_steps)[t_out]
    return SpikeEvents(
        t=t_out, index=idx_out, sign=sign, weight=weight,
        shape=tuple(counts.shape), time_steps=t_steps, coding=coding,
    )


def decode_events(events: SpikeEvents) -> np.ndarray:
    """Counts from a :class:`SpikeEvents` list: ``sum(sign * weight)`` per neuron."""
    n = int(np.prod(events.shape, dtype=np.int64))
    counts = np.zeros(n, dtype=np.int64)
    np.add.at(counts, events.index, events.value)
    return counts.reshape(events.shape)
