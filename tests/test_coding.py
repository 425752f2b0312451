"""Spike coders (neurosim/coding.py) against their definitions and the public Int2Spike encoders.

Int2Spike rules restated in /work/shared/reference/simulator-anchors.md section 4.3 (BICLab/SpikingBrain-7B,
``W8ASpike/Int2Spike/neuron.py``): T from the global max of the tensor, bits MSB first, bidirectional =
sign-magnitude, two's complement ``T = max(2, ceil(log2(max|x| + 1)) + 1)``, ``firing_rate() = sum|s| / numel``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neurosim.coding import (
    CODINGS,
    SpikeEvents,
    check_coding,
    decode,
    decode_events,
    encode,
    encode_events,
    representable_range,
    time_steps_needed,
)
from neurosim.exceptions import CodingRangeError, InputError, NotFoundError, ShapeError

from naive import naive_place_value, naive_train

FAST = settings(deadline=None, max_examples=80)
SIGNED = ("ternary", "bidirectional", "twos-complement")
UNARY = ("binary", "ternary")




def int2spike_train(x: np.ndarray, coding: str) -> np.ndarray:
    """Int2Spike's encoders as section 4.3 restates them (iterative unary, log2 rule for bits)."""
    x = x.astype(np.int64)
    if coding in UNARY:
        t_steps = int(np.abs(x).max())  # 0 for an all-zero tensor in Int2Spike
        rem, steps = x.copy(), []
        for _ in range(t_steps):
            s = (rem > 0).astype(np.int64) if coding == "binary" else np.sign(rem)
            rem = rem - s
            steps.append(s)
        return np.array(steps).reshape((t_steps, *x.shape))
    peak = int(np.abs(x).max())
    if coding == "twos-complement":
        t_steps = max(2, math.ceil(math.log2(peak + 1)) + 1)
        src = x & (2**t_steps - 1)
        return np.array([(src >> (t_steps - 1 - t)) & 1 for t in range(t_steps)])
    t_steps = max(1, math.ceil(math.log2(peak + 1)))
    bits = np.array([(np.abs(x) >> (t_steps - 1 - t)) & 1 for t in range(t_steps)])
    return bits * np.sign(x) if coding == "bidirectional" else bits


def firing_rate(train: np.ndarray) -> float:
    """Int2Spike ``firing_rate()``: sum|s| / numel(spike_seq), the time axis included."""
    return float(np.abs(train).sum() / train.size)


# --- strategies ----------------------------------------------------------------------------------


@st.composite
def coded_counts(draw: st.DrawFn, max_bits: int = 62) -> tuple[str, int, np.ndarray]:
    """A coder, a fixed T and counts drawn from the coder's whole representable range in T steps."""
    coding = draw(st.sampled_from(CODINGS))
    if coding in UNARY:
        t_steps = draw(st.integers(1, 40))
    else:
        t_steps = draw(st.integers(2 if coding == "twos-complement" else 1, max_bits))
    lo, hi = representable_range(coding, t_steps)
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    elems = st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0]))
    counts = draw(hnp.arrays(np.int64, shape, elements=elems))
    return coding, t_steps, counts


# --- round trips and events ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "t_steps"),
    [(c, t) for c in CODINGS for t in (1, 2, 3, 5, 8) if (c, t) != ("twos-complement", 1)],
)
def test_exhaustive_round_trip_over_whole_range(coding: str, t_steps: int) -> None:
    lo, hi = representable_range(coding, t_steps)
    counts = np.arange(lo, hi + 1)
    train = encode(counts, coding, time_steps=t_steps)
    assert train.shape == (t_steps, counts.size) and train.dtype == np.int8
    np.testing.assert_array_equal(train, naive_train(counts, coding, t_steps))
    np.testing.assert_array_equal(decode(train, coding), counts)
    np.testing.assert_array_equal(decode_events(encode_events(counts, coding, time_steps=t_steps)), counts)
    # One past either end does not fit.
    for outside in (lo - 1, hi + 1):
        if coding in ("binary", "bitwise") and outside < 0:
            continue
        with pytest.raises(CodingRangeError, match=rf"represents \[{lo}, {hi}\]"):
            encode([0, outside], coding, time_steps=t_steps)


@FAST
@given(case=coded_counts())
def test_round_trip_dense_and_events_with_fixed_t(case: tuple[str, int, np.ndarray]) -> None:
    coding, t_steps, counts = case
    train = encode(counts, coding, time_steps=t_steps)
    assert train.shape == (t_steps, *counts.shape)
    alphabet = {-1, 0, 1} if coding in ("ternary", "bidirectional") else {0, 1}
    assert set(np.unique(train)) <= alphabet
    np.testing.assert_array_equal(decode(train, coding), counts)
    events = encode_events(counts, coding, time_steps=t_steps)
    assert (events.time_steps, events.shape, events.coding) == (t_steps, counts.shape, coding)
    np.testing.assert_array_equal(decode_events(events), counts)
    # Events are exactly the nonzero entries of the dense train, time-major, index ascending per step.
    flat = train.reshape(t_steps, -1)
    t_nz, i_nz = np.nonzero(flat)
    np.testing.assert_array_equal(events.t, t_nz)
    np.testing.assert_array_equal(events.index, i_nz)
    np.testing.assert_array_equal(events.sign, flat[t_nz, i_nz])
    np.testing.assert_array_equal(events.weight, [naive_place_value(coding, int(t), t_steps) for t in t_nz])
    assert (np.diff(events.t) >= 0).all()
    assert len(events) == np.count_nonzero(train)
    np.testing.assert_array_equal(events.to_dense(), train)
    np.testing.assert_array_equal(events.value, events.sign.astype(np.int64) * events.weight)


@FAST
@given(case=coded_counts(max_bits=12))
def test_default_t_is_minimal_int2spike_rule(case: tuple[str, int, np.ndarray]) -> None:
    coding, _, counts = case
    needed = time_steps_needed(counts, coding)
    train = encode(counts, coding)
    assert train.shape[0] == needed == encode_events(counts, coding).time_steps
    np.testing.assert_array_equal(decode(train, coding), counts)
    if coding != "twos-complement" and needed > 1:
        # One step fewer never fits (Int2Spike's two's-complement rule is not minimal: see below).
        with pytest.raises(CodingRangeError, match=rf"use time_steps >= {needed}"):
            encode(counts, coding, time_steps=needed - 1)
    if counts.any():  # Int2Spike's unary coders give T = 0 for all-zero tensors; ours give 1
        np.testing.assert_array_equal(train, int2spike_train(counts, coding))


def test_spike_trains_view_matches_dense() -> None:
    counts = np.array([[3, 0], [-2, 5]])
    events = encode_events(counts, "bidirectional")
    trains = events.spike_trains()
    dense = encode(counts, "bidirectional").reshape(events.time_steps, -1)
    assert set(trains) == {0, 2, 3}
    for i, times in trains.items():
        np.testing.assert_array_equal(times, np.flatnonzero(dense[:, i]))


# --- agreement with Int2Spike (section 4.3) ------------------------------------------------------


def test_int2spike_bit_order_msb_first_and_sign_magnitude() -> None:
    np.testing.assert_array_equal(encode([5, -5], "bidirectional")[:, 0], [1, 0, 1])
    np.testing.assert_array_equal(encode([5, -5], "bidirectional")[:, 1], [-1, 0, -1])
    np.testing.assert_array_equal(encode([6], "bitwise")[:, 0], [1, 1, 0])  # MSB first, not [0, 1, 1]
    # x = -5 with T = 4: bits of -5 & 15 = 11 = 0b1011, sign bit worth -8.
    np.testing.assert_array_equal(encode([-5], "twos-complement", time_steps=4)[:, 0], [1, 0, 1, 1])
    np.testing.assert_array_equal(encode_events([-5], "twos-complement", time_steps=4).weight, [-8, 2, 1])


def test_int2spike_worked_example_t_and_firing_rate() -> None:
    """x = [5, -5, 3, 0, -1, 7]: ternary T=7 rate 0.5, bidirectional T=3 rate 0.556, two's T=4 rate 0.583.

    Spikes: ternary sum|x| = 21 over 7 x 6; bidirectional popcounts 2+2+2+0+1+3 = 10 over 3 x 6;
    two's complement popcounts of x mod 16 (0101, 1011, 0011, 0000, 1111, 0111) = 14 over 4 x 6.
    """
    x = np.array([5, -5, 3, 0, -1, 7])
    for coding, t_steps, spikes, rate in [
        ("ternary", 7, 21, 0.5),
        ("bidirectional", 3, 10, 0.556),
        ("twos-complement", 4, 14, 0.583),
    ]:
        train = encode(x, coding)
        assert train.shape == (t_steps, 6)
        np.testing.assert_array_equal(train, int2spike_train(x, coding))
        assert np.abs(train).sum() == spikes
        assert firing_rate(train) == spikes / (t_steps * 6)
        assert firing_rate(train) == pytest.approx(rate, abs=5e-4)
        np.testing.assert_array_equal(decode(train, coding), x)


def test_all_zero_tensor_uses_one_silent_step() -> None:
    for coding in CODINGS:
        train = encode(np.zeros(4, dtype=np.int64), coding)
        assert train.shape[0] == (2 if coding == "twos-complement" else 1)
        assert not train.any() and len(encode_events(np.zeros(4), coding)) == 0
    assert int2spike_train(np.zeros(4), "ternary").shape[0] == 0  # Int2Spike: 0 steps, ours 1


def test_report_time_steps_for_256_levels() -> None:
    """Report section 3.3.2: "256 steps in binary, 128 in ternary, 8 in 8-bit bitwise, 7 in bidirectional".

    Our exact T for the natural ranges, and why they differ from the report's rounded prose:
    - binary, 0..255: 255 steps (a count n needs n unit spikes; 256 steps are needed for the value 256);
    - ternary: 128 steps for -128..127 (the report's figure), 127 for the symmetric -127..127;
    - bitwise, 0..255: 8 (matches);
    - bidirectional: 8 for -128..127 (|-128| = 2**7 needs an 8th magnitude bit) but 7 for -127..127,
      so the report's 7 assumes the symmetric range;
    - two's complement: Int2Spike's rule gives 9 for -128..127 (it sizes from max|x| = 128) and 8 for
      -127..127, although -128..127 fits in 8 steps when T is fixed.
    """
    unsigned = np.arange(0, 256)
    signed = np.arange(-128, 128)
    symmetric = np.arange(-127, 128)
    assert time_steps_needed(unsigned, "binary") == 255
    assert time_steps_needed(np.array([256]), "binary") == 256
    assert time_steps_needed(signed, "ternary") == 128
    assert time_steps_needed(symmetric, "ternary") == 127
    assert time_steps_needed(unsigned, "bitwise") == 8
    assert time_steps_needed(signed, "bidirectional") == 8
    assert time_steps_needed(symmetric, "bidirectional") == 7
    assert time_steps_needed(signed, "twos-complement") == 9
    assert time_steps_needed(symmetric, "twos-complement") == 8
    np.testing.assert_array_equal(decode(encode(signed, "twos-complement", time_steps=8), "twos-complement"), signed)
    # 256 levels need a range of 255 steps in unary codes and log2(256) = 8 bits in unsigned bitwise.
    assert representable_range("bitwise", 8) == (0, 255)
    assert representable_range("bidirectional", 7) == (-127, 127)


# --- bad input -----------------------------------------------------------------------------------


def test_non_integer_and_non_finite_counts_rejected() -> None:
    with pytest.raises(InputError, match=r"'counts' must hold whole numbers \(got .*1\.5\)"):
        encode([1.0, 1.5], "ternary")
    with pytest.raises(InputError, match=r"'counts' must be finite integers \(got NaN or inf\)"):
        encode([1.0, np.nan], "ternary")
    with pytest.raises(InputError, match=r"'counts' must be finite integers"):
        encode_events([np.inf], "bitwise")
    np.testing.assert_array_equal(decode(encode([2.0, -3.0], "ternary"), "ternary"), [2, -3])


@pytest.mark.parametrize("coding", ["binary", "bitwise"])
def test_negative_counts_rejected_by_unsigned_coders(coding: str) -> None:
    for func in (encode, encode_events, time_steps_needed):
        with pytest.raises(CodingRangeError, match=rf"coding '{coding}' is unsigned .*min -2"):
            func(np.array([1, -2]), coding)


@pytest.mark.parametrize("coding", CODINGS)
def test_counts_out_of_range_for_fixed_t(coding: str) -> None:
    with pytest.raises(CodingRangeError, match=r"'counts' span \[0, 9\] but .* in 3 steps represents"):
        encode([0, 9], coding, time_steps=3)
    with pytest.raises(CodingRangeError, match=r"'counts' span"):
        encode_events([0, 9], coding, time_steps=3)


@pytest.mark.parametrize("bad", ["abc", "3", 2.5, np.nan, np.inf, True, [3]])
def test_bad_time_steps_rejected(bad: object) -> None:
    with pytest.raises(InputError, match=r"'time_steps' must be an integer \(got"):
        encode([1, 2], "bitwise", time_steps=bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"'time_steps' must be an integer"):
        representable_range("bitwise", bad)  # type: ignore[arg-type]


def test_time_steps_limits() -> None:
    with pytest.raises(InputError, match=r"'time_steps' must be >= 1 \(got 0\)"):
        encode([0], "ternary", time_steps=0)
    with pytest.raises(InputError, match=r"two's complement needs 'time_steps' >= 2 \(got 1\)"):
        encode([0], "twos-complement", time_steps=1)
    # Beyond 63 bits the int64 place values and shifts overflow (was a silently wrong decode).
    with pytest.raises(InputError, match=r"'time_steps' must be <= 63 for 'bitwise' coding \(got 66\)"):
        encode_events([2**62 + 5, 3], "bitwise", time_steps=66)
    with pytest.raises(CodingRangeError, match=r"needs 64 time steps; at most 63"):
        encode([-(2**62) - 5], "twos-complement")
    with pytest.raises(CodingRangeError, match=r"holds -2\*\*63"):
        encode(np.array([np.iinfo(np.int64).min]), "bidirectional")
    top = np.array([2**63 - 1, -5])
    np.testing.assert_array_equal(decode_events(encode_events(top, "bidirectional")), top)
    np.testing.assert_array_equal(decode(encode(top, "bidirectional"), "bidirectional"), top)


@pytest.mark.parametrize("counts", [np.array([], dtype=np.int64), np.zeros((2, 0), dtype=np.int64)])
def test_empty_counts_rejected(counts: np.ndarray) -> None:
    with pytest.raises(ShapeError, match=r"'counts' must not be empty"):
        encode(counts, "bidirectional")
    with pytest.raises(ShapeError, match=r"'counts' must not be empty"):
        encode_events(counts, "ternary")


@pytest.mark.parametrize("counts", [np.array(["1", "2"]), np.array([1 + 0j]), np.array([None])])
def test_wrong_dtype_counts_rejected(counts: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"'counts' must be an integer array \(got dtype"):
        encode(counts, "ternary")


def test_unknown_coding_lists_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"unknown spike coding 'bidirectinal'; did you mean 'bidirectional'"):
        encode([1], "bidirectinal")
    with pytest.raises(NotFoundError) as info:
        check_coding("morse")
    msg = str(info.value)
    for name in CODINGS:
        assert name in msg
    known = r"Known: bidirectional, binary, bitwise, ternary, twos-complement"
    with pytest.raises(NotFoundError, match=known):
        decode(np.ones((1, 1), dtype=np.int8), "morse")
    with pytest.raises(NotFoundError, match=known):
        time_steps_needed([1], "morse")
    with pytest.raises(NotFoundError, match=known):
        representable_range("morse", 3)


@pytest.mark.parametrize(
    ("coding", "train", "match"),
    [
        ("binary", [[2, 0]], r"'binary' spikes must lie in \[0, 1\] \(got values in \[0, 2\]\)"),
        ("bitwise", [[-1, 0]], r"'bitwise' spikes must lie in \[0, 1\]"),
        ("twos-complement", [[-1], [1]], r"'twos-complement' spikes must lie in \[0, 1\]"),
        ("ternary", [[2, -1]], r"'ternary' spikes must lie in \[-1, 1\]"),
        ("bidirectional", [[1, 0], [-1, 1]], r"mixes \+1 and -1 spikes in one neuron"),
    ],
)
def test_invalid_trains_rejected(coding: str, train: list[list[int]], match: str) -> None:
    with pytest.raises(CodingRangeError, match=match):
        decode(np.array(train, dtype=np.int8), coding)


def test_malformed_train_arrays_rejected() -> None:
    with pytest.raises(InputError, match=r"'train' must be an integer array \(got dtype float64\)"):
        decode(np.ones((2, 3)), "binary")
    with pytest.raises(ShapeError, match=r"'train' must have a time axis of length >= 1 \(got shape \(0, 3\)\)"):
        decode(np.ones((0, 3), dtype=np.int8), "binary")
    with pytest.raises(ShapeError, match=r"'train' must not be empty \(got shape \(3, 0\)\)"):
        decode(np.ones((3, 0), dtype=np.int8), "binary")
    # Bool trains are a valid unsigned spike alphabet.
    np.testing.assert_array_equal(decode(np.array([[True], [False], [True]]), "bitwise"), [5])


def test_spike_events_is_frozen() -> None:
    events = encode_events([1, 2], "ternary")
    assert isinstance(events, SpikeEvents)
    with pytest.raises(AttributeError):
        events.coding = "binary"  # type: ignore[misc]
