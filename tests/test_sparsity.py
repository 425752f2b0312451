"""Spike statistics (analysis/sparsity.py): hand-counted examples, naive twins, and relations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neurosim.analysis.sparsity import (
    WINDOW_MODES,
    CountDistribution,
    SpikeStatistics,
    count_distribution,
    firing_rate_per_step,
    neurobench_activation_sparsity,
    silent_fraction,
    spikes_per_channel,
    summarize,
    window_sparsity,
)
from neurosim.coding import CODINGS, encode, encode_events, popcount
from neurosim.exceptions import CodingRangeError, InputError, NotFoundError, ShapeError

from naive import naive_spikes

FAST = settings(deadline=None, max_examples=60)
# Six values, all |c| <= 7: the hand example of the window sparsity.
SIX = np.array([[0, 1, -3], [7, 5, -2]])
SIGNED_COUNTS = hnp.arrays(
    np.int64,
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
    elements=st.integers(-300, 300),
)


# --- spikes per channel --------------------------------------------------------------------------


def test_spikes_per_channel_hand_counted() -> None:
    # Bidirectional: popcounts of 0, 1, 3, 7, 5, 2 are 0 + 1 + 2 + 3 + 2 + 1 = 9 over 6 channels.
    assert spikes_per_channel(SIX) == 9 / 6
    assert spikes_per_channel(SIX, "ternary") == (0 + 1 + 3 + 7 + 5 + 2) / 6
    # Two's complement, T = max(2, bit_length(7) + 1) = 4: 0000 0001 1101 0111 0101 1110 -> 0+1+3+3+2+3.
    assert spikes_per_channel(SIX, "twos-complement") == 12 / 6
    # With T = 8 the negative values fill more high bits: -3 = 11111101 (7), -2 = 11111110 (7).
    assert spikes_per_channel(SIX, "twos-complement", time_steps=8) == (0 + 1 + 7 + 3 + 2 + 7) / 6
    assert spikes_per_channel([4, 0, 2, 1], "binary") == 7 / 4
    assert spikes_per_channel([4, 0, 2, 1], "bitwise") == 3 / 4


@FAST
@given(counts=SIGNED_COUNTS, coding=st.sampled_from(CODINGS))
def test_spikes_per_channel_equals_events_per_value(counts: np.ndarray, coding: str) -> None:
    if coding in ("binary", "bitwise"):
        counts = np.abs(counts)
    events = encode_events(counts, coding)
    got = spikes_per_channel(counts, coding)
    assert got == len(events) / counts.size
    naive = sum(naive_spikes(int(c), coding, events.time_steps) for c in counts.reshape(-1)) / counts.size
    assert got == naive
    if coding == "ternary":
        assert got == np.abs(counts).mean()
    # Int2Spike firing rate of the dense train = spikes per channel / T.
    train = encode(counts, coding)
    assert firing_rate_per_step(train).overall == pytest.approx(got / train.shape[0], rel=1e-12)


def test_spikes_per_channel_bad_input() -> None:
    with pytest.raises(CodingRangeError, match=r"coding 'bitwise' is unsigned"):
        spikes_per_channel([1, -1], "bitwise")
    with pytest.raises(NotFoundError, match=r"unknown spike coding 'ternery'; did you mean 'ternary'"):
        spikes_per_channel([1], "ternery")
    with pytest.raises(CodingRangeError, match=r"'counts' span \[-9, 1\] but 'bidirectional' coding in 3 steps"):
        spikes_per_channel([1, -9], time_steps=3)
    with pytest.raises(InputError, match=r"'time_steps' must be an integer \(got 2\.5\)"):
        spikes_per_channel([1], time_steps=2.5)  # type: ignore[arg-type]


# --- silent fraction and NeuroBench activation sparsity ------------------------------------------


@FAST
@given(counts=SIGNED_COUNTS)
def test_silent_fraction_relations(counts: np.ndarray) -> None:
    counts = counts // 40  # plenty of zeros
    silent = silent_fraction(counts)
    assert silent == sum(1 for c in counts.reshape(-1) if c == 0) / counts.size
    assert silent == pytest.approx(1 - np.count_nonzero(counts) / counts.size, abs=1e-15)
    assert silent == neurobench_activation_sparsity(counts)


def test_neurobench_on_train_is_one_minus_firing_rate() -> None:
    train = encode(SIX, "bidirectional")
    assert train.shape[0] == 3
    # 9 spikes in a 3 x 6 train.
    assert neurobench_activation_sparsity(train) == 1 - 9 / 18
    assert neurobench_activation_sparsity(train) == 1 - firing_rate_per_step(train).overall
    assert silent_fraction(SIX) == 1 / 6
    assert neurobench_activation_sparsity(np.array([True, False, False, False])) == 0.75


# --- firing rate per step ------------------------------------------------------------------------


def test_firing_rate_per_step_hand_counted() -> None:
    # x = [5, -5, 3, 0, -1, 7] (simulator-anchors 4.3): bits MSB first of 5 101, 5 101, 3 011, 0, 1 001, 7 111.
    x = np.array([5, -5, 3, 0, -1, 7])
    rate = firing_rate_per_step(encode(x, "bidirectional"))
    np.testing.assert_allclose(rate.per_step, [3 / 6, 2 / 6, 5 / 6])
    assert rate.overall == 10 / 18 and (rate.time_steps, rate.neurons) == (3, 6)
    assert rate.overall == pytest.approx(0.556, abs=5e-4)  # the anchor's Int2Spike firing_rate()
    assert firing_rate_per_step(encode(x, "ternary")).overall == 0.5
    assert firing_rate_per_step(encode(x, "twos-complement")).overall == pytest.approx(0.583, abs=5e-4)


@pytest.mark.parametrize("coding", CODINGS)
def test_firing_rate_from_events_matches_dense(coding: str) -> None:
    counts = np.random.default_rng(4).integers(0, 40, size=(5, 7)) * (1 if coding in ("binary", "bitwise") else -1)
    dense = firing_rate_per_step(encode(counts, coding))
    events = firing_rate_per_step(encode_events(counts, coding))
    np.testing.assert_allclose(events.per_step, dense.per_step, rtol=1e-15)
    assert events.overall == pytest.approx(dense.overall, rel=1e-15)
    assert dense.overall == pytest.approx(dense.per_step.mean(), rel=1e-12)


def test_firing_rate_bad_trains() -> None:
    with pytest.raises(InputError, match=r"'train' spikes must lie in \{-1, 0, 1\} \(got values in \[0, 2\]\)"):
        firing_rate_per_step(np.array([[2, 0], [1, 0]]))
    with pytest.raises(InputError, match=r"'train' must be an integer or bool spike array \(got dtype float64\)"):
        firing_rate_per_step(np.ones((2, 2)))
    with pytest.raises(ShapeError, match=r"'train' must be shaped \[T, neurons...\].*\(got shape \(4,\)\)"):
        firing_rate_per_step(np.ones(4, dtype=np.int8))
    with pytest.raises(ShapeError, match=r"got shape \(0, 3\)"):
        firing_rate_per_step(np.ones((0, 3), dtype=np.int8))


# --- window sparsity -----------------------------------------------------------------------------


def test_window_sparsity_hand_example_all_within_int3() -> None:
    """|c| = 0, 1, 3, 7, 5, 2 in 3 bits: 000 001 011 111 101 010 -> 9 ones of 18 slots -> 50 %."""
    res = window_sparsity(SIX)
    assert (res.spikes, res.bits, res.n_values, res.n_total, res.coverage) == (9, 3, 6, 6, 1.0)
    assert res.sparsity == 1 - 9 / 18
    # Every value fits, so the three treatments agree.
    for mode in WINDOW_MODES:
        assert window_sparsity(SIX, mode=mode).sparsity == 0.5  # type: ignore[arg-type]


def test_window_sparsity_modes_with_out_of_range_values() -> None:
    counts = np.append(SIX.reshape(-1), [9, -20])  # 9 = 1001 (2 ones), 20 = 10100 (2 ones)
    exclude = window_sparsity(counts, 3, mode="exclude")
    assert (exclude.sparsity, exclude.n_values, exclude.coverage) == (0.5, 6, 0.75)
    clip = window_sparsity(counts, 3, mode="clip")  # 9 and 20 saturate at 7 = 111
    assert (clip.spikes, clip.bits, clip.n_values) == (15, 3, 8) and clip.sparsity == 1 - 15 / 24
    full = window_sparsity(counts, 3, mode="full")  # window grows to bit_length(20) = 5
    assert (full.spikes, full.bits, full.n_values) == (13, 5, 8) and full.sparsity == 1 - 13 / 40
    # "full" at the Int2Spike code length is 1 - firing rate of the bidirectional train.
    assert full.sparsity == pytest.approx(1 - firing_rate_per_step(encode(counts, "bidirectional")).overall)
    # A wider window takes the values back in.
    assert window_sparsity(counts, 5).n_values == 8


def test_window_sparsity_is_not_one_minus_spikes_per_channel_over_window() -> None:
    """The report's inconsistency: 1 - 1.13 / 3 = 62.3 % != 69.15 %, two different statistics."""
    assert round(1 - 1.13 / 3, 3) == 0.623
    counts = np.array([0, 1, 2, 3, 100, 200])  # large values add spikes but are excluded from the window
    ws = window_sparsity(counts).sparsity
    spc = spikes_per_channel(counts)
    assert ws == 1 - (0 + 1 + 1 + 2) / 12
    assert spc == (0 + 1 + 1 + 2 + 3 + 3) / 6
    assert ws != pytest.approx(1 - spc / 3)


@FAST
@given(counts=SIGNED_COUNTS, window=st.integers(1, 10), mode=st.sampled_from(WINDOW_MODES))
def test_window_sparsity_matches_naive_definition(counts: np.ndarray, window: int, mode: str) -> None:
    top = 2**window - 1
    mags = [abs(int(c)) for c in counts.reshape(-1)]
    if mode == "exclude":
        mags = [m for m in mags if m <= top]
        bits = window
    elif mode == "clip":
        mags = [min(m, top) for m in mags]
        bits = window
    else:
        bits = max(window, max(mags).bit_length())
    res = window_sparsity(counts, window, mode=mode)  # type: ignore[arg-type]
    ones = sum(bin(m).count("1") for m in mags)
    assert res.spikes == ones and res.n_values == len(mags) and res.bits == bits
    if mags:
        assert res.sparsity == pytest.approx(1 - ones / (bits * len(mags)), rel=1e-12)
        assert 0.0 <= res.sparsity <= 1.0
    else:
        assert np.isnan(res.sparsity)


def test_window_sparsity_bad_input() -> None:
    for bad in (0, 63, 2.5, "3", True):
        with pytest.raises(InputError, match=r"'window' must be an integer number of time steps in \[1, 62\]"):
            window_sparsity(SIX, bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"'mode' must be one of 'exclude', 'clip', 'full' \(got 'drop'\)"):
        window_sparsity(SIX, mode="drop")  # type: ignore[arg-type]


# --- count distribution --------------------------------------------------------------------------


def test_count_distribution_hand_counted() -> None:
    counts = np.array([0, 0, -1, 3, 8, -17, 16, 7, 2, 20])
    dist = count_distribution(counts)
    assert isinstance(dist, CountDistribution)
    assert dist.values.tolist() == list(range(21))
    assert dist.counts[[0, 1, 2, 3, 7, 8, 16, 17, 20]].tolist() == [2, 1, 1, 1, 1, 1, 1, 1, 1]
    assert dist.counts.sum() == 10 and dist.overflow_fraction == 0.0
    assert dist.within_0_7 == 6 / 10  # 0, 0, 1, 3, 7, 2
    assert dist.above_16 == 2 / 10  # 17 and 20; 16 itself is not above 16
    assert dist.mean_abs == 74 / 10
    assert dist.fraction_at_most(7) == dist.within_0_7
    capped = count_distribution(counts, max_value=7)
    assert capped.values.tolist() == list(range(8))
    assert capped.overflow_fraction == 4 / 10
    assert capped.fractions.sum() + capped.overflow_fraction == pytest.approx(1.0)
    assert (capped.within_0_7, capped.above_16) == (dist.within_0_7, dist.above_16)


@FAST
@given(counts=SIGNED_COUNTS)
def test_count_distribution_matches_naive(counts: np.ndarray) -> None:
    dist = count_distribution(counts)
    mags = np.abs(counts).reshape(-1)
    for v, c in zip(dist.values, dist.counts):
        assert c == int((mags == v).sum())
    assert dist.fractions.sum() == pytest.approx(1.0)
    assert dist.within_0_7 == float((mags <= 7).mean())
    assert dist.above_16 == float((mags > 16).mean())


def test_count_distribution_bad_input() -> None:
    with pytest.raises(InputError, match=r"'max_value' must be an integer in \[0, \d+\] \(got -1\)"):
        count_distribution(SIX, max_value=-1)
    with pytest.raises(InputError, match=r"max \|counts\| is 100000000: too many histogram bins; pass 'max_value'"):
        count_distribution([1, 10**8])
    assert count_distribution([1, 10**8], max_value=4).overflow_fraction == 0.5
    with pytest.raises(InputError, match=r"'value' must lie in \[0, 7\]"):
        count_distribution(SIX).fraction_at_most(8)


# --- summary -------------------------------------------------------------------------------------


def test_summarize_collects_every_definition() -> None:
    counts = np.random.default_rng(11).integers(-30, 31, size=(16, 64)) // 3
    stats = summarize(counts)
    assert isinstance(stats, SpikeStatistics)
    assert stats.spikes_per_channel == spikes_per_channel(counts)
    assert stats.time_steps == encode(counts, "bidirectional").shape[0]
    assert stats.firing_rate == pytest.approx(firing_rate_per_step(encode(counts, "bidirectional")).overall)
    assert stats.silent_fraction == silent_fraction(counts) == stats.activation_sparsity
    assert stats.window_sparsity == window_sparsity(counts).sparsity
    assert stats.window_sparsity_clip == window_sparsity(counts, mode="clip").sparsity
    assert stats.window_sparsity_full == window_sparsity(counts, mode="full").sparsity
    assert stats.window_coverage == window_sparsity(counts).coverage
    dist = count_distribution(counts)
    assert (stats.within_0_7, stats.above_16, stats.mean_abs_count) == (dist.within_0_7, dist.above_16, dist.mean_abs)
    d = stats.to_dict()
    assert d["coding"] == "bidirectional"
    assert all(type(v) is float for k, v in d.items() if k != "coding")
    assert json.loads(json.dumps(d)) == d
    ternary = summarize(counts, coding="ternary", window=4)
    assert ternary.spikes_per_channel == np.abs(counts).mean() and ternary.window == 4


@pytest.mark.parametrize(
    ("func", "kwargs"),
    [
        (spikes_per_channel, {}),
        (silent_fraction, {}),
        (window_sparsity, {}),
        (count_distribution, {}),
        (summarize, {}),
    ],
)
def test_bad_counts_rejected_everywhere(func, kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ShapeError, match=r"'counts' must not be empty"):
        func(np.zeros((3, 0), dtype=np.int64), **kwargs)
    with pytest.raises(InputError, match=r"'counts' must hold whole numbers"):
        func(np.array([1.0, 0.5]), **kwargs)
    with pytest.raises(InputError, match=r"'counts' must be finite integers"):
        func(np.array([1.0, np.nan]), **kwargs)
    with pytest.raises(InputError, match=r"'counts' must be an integer array \(got dtype <U1\)"):
        func(np.array(["a"]), **kwargs)
    with pytest.raises(ShapeError, match=r"'counts' must be an array shaped \[\.\.\., channels\] \(got a scalar"):
        func(np.int64(3), **kwargs)
    with pytest.raises(CodingRangeError, match=r"holds -2\*\*63"):
        func(np.array([np.iinfo(np.int64).min]), **kwargs)


def test_summarize_unknown_coding() -> None:
    with pytest.raises(NotFoundError, match=r"Known: bidirectional, binary, bitwise, ternary, twos-complement"):
        summarize(SIX, coding="unary")


def test_popcount_fallback_for_numpy_1(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(2).integers(0, 2**62, size=200, dtype=np.int64).reshape(20, 10)
    expected = [[bin(int(v)).count("1") for v in row] for row in values]
    np.testing.assert_array_equal(popcount(values), expected)
    if hasattr(np, "bitwise_count"):
        monkeypatch.delattr(np, "bitwise_count")
    np.testing.assert_array_equal(popcount(values), expected)
