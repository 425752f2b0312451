"""Adaptive-threshold neuron (neurosim/adaptive.py): threshold, rounding, single- vs multi-step.

The proven condition (report section 3.3.1): the multi-step IF neuron (no leak, soft reset, firing at
``Vth/2``) emits ``floor(x_total / Vth + 1/2)`` spikes once drained, i.e. ``spike_counts(...,
rounding="half_up")``, for any split of the input over time steps and any signs. It equals the public
code's half-to-even ``round`` except exactly at ties ``x_total / Vth = n + 1/2`` with ``n`` even.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.adaptive import (
    VTH_MAX,
    VTH_MIN,
    adaptive_threshold,
    simulate_adaptive_if,
    spike_counts,
)
from neurosim.exceptions import InputError, OverflowRiskError, ShapeError

SHAPES = [(5,), (3, 7), (2, 3, 16)]
SEEDS = range(12)
FAST = settings(deadline=None, max_examples=60)


def _random_x(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Heavy-ish tails like LLM activations: a few large outliers per token.
    return rng.standard_t(df=3, size=shape) * rng.uniform(0.01, 10.0)


def _has_tie(x: np.ndarray, vth: np.ndarray) -> bool:
    r = x / vth
    return bool((r - np.floor(r) == 0.5).any())


# --- threshold -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", [0.5, 3.0, 7.25])
def test_threshold_is_mean_abs_over_last_axis_divided_by_k(shape: tuple[int, ...], k: float) -> None:
    x = _random_x(1, shape)
    vth = adaptive_threshold(x, k)
    assert vth.shape == (*shape[:-1], 1)
    assert vth.dtype == np.float64
    naive = np.array([np.sum(np.abs(row)) / row.size / k for row in x.reshape(-1, shape[-1])])
    np.testing.assert_allclose(vth.reshape(-1), naive, rtol=1e-14)


@pytest.mark.parametrize("features", [1, 7, 8, 9, 127, 128, 129, 136, 1000, 3584, 18944])
@pytest.mark.parametrize("rounding", ["half_even", "half_up"])
def test_threshold_and_counts_are_numpy_arithmetic_bit_for_bit(features: int, rounding: str) -> None:
    # The compiled threshold sums |x| the way numpy's add.reduce does (pairwise, split at 128
    # values into halves that are multiples of 8), so Vth equals np.mean(|x|) / k clipped to the last
    # bit, and the counts equal numpy's rint / floor(+ 1/2) of x / Vth. Lengths around the 8 and 128
    # boundaries and the model widths (3584, 18944); leading axes of 0, 1 and 2 dimensions; 17 tokens
    # take the parallel kernel.
    rng = np.random.default_rng(features)
    for shape in ((features,), (3, features), (2, 2, features), (17, features)):
        x = _random_x(features, shape) * 10.0 ** rng.uniform(-6, 6)
        k = float(rng.choice([0.5, 3.0, 7.25]))
        expected_vth = np.clip(np.abs(x).sum(axis=-1, keepdims=True) / features / k, VTH_MIN, VTH_MAX)
        ratio = x / expected_vth
        expected = (np.rint(ratio) if rounding == "half_even" else np.floor(ratio + 0.5)).astype(np.int64)
        counts, vth = spike_counts(x, k, rounding=rounding)
        assert vth.tobytes() == expected_vth.tobytes()
        assert adaptive_threshold(x, k).tobytes() == expected_vth.tobytes()
        np.testing.assert_array_equal(counts, expected)


def test_threshold_clamps_at_both_ends() -> None:
    x = np.array([[0.0, 0.0, 0.0], [1e-9, -1e-9, 0.0], [3e6, -3e6, 3e6], [3.0, -3.0, 3.0]])
    vth = adaptive_threshold(x, 3.0)[:, 0]
    assert vth[0] == VTH_MIN and vth[1] == VTH_MIN  # all-zero token and a tiny one
    assert vth[2] == VTH_MAX  # mean|x|/k = 1e6 is clamped down
    assert vth[3] == 1.0  # inside the clamp: untouched
    assert (VTH_MIN, VTH_MAX) == (1e-5, 1e4)


@pytest.mark.torch
def test_threshold_matches_public_torch_code() -> None:
    torch = pytest.importorskip("torch")
    x = _random_x(3, (4, 64)) * np.array([[1e-7], [1.0], [1e5], [1e7]])
    k = 3.0
    # quant_linear.dynamic_spikes: vth = x.abs().mean(-1, keepdim=True).float()/k, clamped.
    ref = torch.clamp(torch.from_numpy(x).abs().mean(-1, keepdim=True) / k, 1e-5, 1e4).numpy()
    np.testing.assert_allclose(adaptive_threshold(x, k), ref, rtol=1e-14)


# --- rounding ------------------------------------------------------------------------------------


def _tie_input(numerators: list[int], exponent: int) -> tuple[np.ndarray, float]:
    """x with x / Vth exactly ``numerators / 2`` (so odd numerators are exact ties), and its k.

    Eight features make mean|r| exact in binary; k = mean|r| then makes Vth = 2**exponent exactly.
    """
    r = np.asarray(numerators, dtype=np.float64) / 2.0
    k = float(np.abs(r).mean())
    return r * 2.0**exponent, k


@pytest.mark.torch
def test_half_even_matches_torch_round_on_random_data_and_exact_ties() -> None:
    torch = pytest.importorskip("torch")
    for seed in SEEDS:
        x = _random_x(seed, (3, 32))
        counts, vth = spike_counts(x, 3.0)
        ref = torch.round(torch.from_numpy(x) / torch.from_numpy(vth)).numpy().astype(np.int64)
        np.testing.assert_array_equal(counts, ref)
    x, k = _tie_input([1, 3, 5, -1, -3, -5, 7, -9], exponent=-3)
    counts, vth = spike_counts(x, k)
    assert vth[0] == 2.0**-3
    ref = torch.round(torch.from_numpy(x) / torch.from_numpy(vth)).numpy()
    np.testing.assert_array_equal(counts, ref)
    np.testing.assert_array_equal(counts, [0, 2, 2, 0, -2, -2, 4, -4])  # ties go to even


def test_half_up_rounds_ties_towards_plus_infinity() -> None:
    x, k = _tie_input([1, 3, 5, -1, -3, -5, 7, -9], exponent=2)
    counts, _ = spike_counts(x, k, rounding="half_up")
    np.testing.assert_array_equal(counts, [1, 2, 3, 0, -1, -2, 4, -4])
    np.testing.assert_array_equal(counts, np.floor(x / 4.0 + 0.5))


@pytest.mark.parametrize("seed", SEEDS)
def test_rounding_modes_agree_away_from_ties(seed: int) -> None:
    x = _random_x(seed, (4, 33))
    even, vth = spike_counts(x, 3.0)
    up, vth2 = spike_counts(x, 3.0, rounding="half_up")
    assert not _has_tie(x, vth)
    np.testing.assert_array_equal(even, up)
    np.testing.assert_array_equal(vth, vth2)
    assert even.dtype == np.int64 and even.shape == x.shape


# --- single step vs multi step -------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("t_in", [1, 4])
def test_multi_step_equals_single_step_on_random_inputs(shape: tuple[int, ...], seed: int, t_in: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    if t_in == 1:
        x_steps = _random_x(seed, shape)[None]
    else:
        # Mixed signs per step: the neuron fires both ways before settling.
        x_steps = rng.normal(scale=rng.uniform(0.1, 5.0), size=(t_in, *shape))
    x_total = x_steps.sum(axis=0)
    k = float(rng.uniform(1.0, 5.0))
    vth = adaptive_threshold(x_total, k)
    result = simulate_adaptive_if(x_steps, vth)
    half_up, _ = spike_counts(x_total, k, rounding="half_up")
    half_even, _ = spike_counts(x_total, k)
    assert not _has_tie(x_total, vth)
    np.testing.assert_array_equal(result.counts, half_up)
    np.testing.assert_array_equal(result.counts, half_even)
    np.testing.assert_array_equal(result.counts, result.spikes.sum(axis=0))
    assert result.spikes.dtype == np.int8 and set(np.unique(result.spikes)) <= {-1, 0, 1}
    assert result.steps == result.spikes.shape[0] > t_in
    assert ((result.residual >= -vth / 2) & (result.residual < vth / 2)).all()
    np.testing.assert_allclose(result.residual, x_total - vth * result.counts, atol=1e-9 * np.abs(x_total).max())


@FAST
@given(
    numerators=st.lists(st.integers(-41, 41), min_size=8, max_size=8).filter(lambda v: any(v)),
    exponent=st.integers(-6, 6),
    splits=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_exact_ties_multi_step_is_half_up_and_differs_from_half_even_at_even_floor(
    numerators: list[int], exponent: int, splits: int, seed: int
) -> None:
    """At exact ties the multi-step neuron rounds half up; half-to-even differs iff floor is even."""
    x_total, k = _tie_input(numerators, exponent)
    # Dyadic pieces with mixed signs keep every sum exact, so the ties survive the split.
    rng = np.random.default_rng(seed)
    pieces = rng.integers(-20, 21, size=(splits - 1, 8)) * 2.0 ** (exponent - 1)
    x_steps = np.concatenate([pieces, (x_total - pieces.sum(axis=0))[None]])
    vth = adaptive_threshold(x_total, k)
    assert vth[0] == 2.0**exponent
    result = simulate_adaptive_if(x_steps, vth)
    half_up, _ = spike_counts(x_total, k, rounding="half_up")
    half_even, _ = spike_counts(x_total, k)
    np.testing.assert_array_equal(result.counts, half_up)
    r = np.asarray(numerators) / 2
    tie_even_floor = (np.asarray(numerators) % 2 == 1) & (np.floor(r) % 2 == 0)
    np.testing.assert_array_equal(result.counts != half_even, tie_even_floor)
    np.testing.assert_array_equal(result.counts[tie_even_floor] - half_even[tie_even_floor], 1)


@FAST
@given(r=st.floats(-60.0, 60.0).filter(lambda v: abs(v - math.floor(v) - 0.5) > 1e-9), drain=st.integers(0, 70))
def test_drain_steps_are_necessary(r: float, drain: int) -> None:
    """One input step at x = r * Vth needs |round(r)| - 1 drain steps: one spike per step at most."""
    c = math.floor(r + 0.5)
    result = simulate_adaptive_if(np.array([r]), 1.0, drain_steps=drain)
    assert result.steps == 1 + drain
    if drain >= abs(c) - 1:
        assert result.counts == c
        assert -0.5 <= result.residual < 0.5
    else:
        assert result.counts == np.sign(c) * (drain + 1) != c
        assert abs(result.residual) >= 0.5  # undrained: outside [-Vth/2, Vth/2)


def test_default_drain_is_enough_for_adversarial_path() -> None:
    # Big push one way, a long quiet stretch (spikes pile up), then a bigger push the other way.
    x_steps = np.zeros((60, 1))
    x_steps[0] = 100.0
    x_steps[50] = -230.0
    result = simulate_adaptive_if(x_steps, 1.0)
    assert result.counts[0] == -130
    assert -0.5 <= result.residual[0] < 0.5
    assert result.counts[0] != simulate_adaptive_if(x_steps, 1.0, drain_steps=100).counts[0]


@FAST
@given(
    x=st.lists(st.floats(-1e3, 1e3, allow_subnormal=False), min_size=1, max_size=24),
    k=st.floats(0.2, 20.0),
    rounding=st.sampled_from(["half_even", "half_up"]),
)
def test_counts_bounded_by_k_times_features_plus_half(x: list[float], k: float, rounding: str) -> None:
    arr = np.asarray(x)
    counts, vth = spike_counts(arr, k, rounding=rounding)  # type: ignore[arg-type]
    assert vth[0] < VTH_MAX  # the bound needs the upper clamp inactive
    assert np.abs(counts).max() <= k * arr.size + 0.5


def test_count_bound_is_tight_and_upper_clamp_breaks_it() -> None:
    # k * features = 7.5 is exceeded by rounding: the docstring's old "<= k * features" was wrong.
    counts, _ = spike_counts(np.array([1.0, 0.0, 0.0]), 2.5, rounding="half_up")
    assert counts[0] == 8 > 2.5 * 3
    # With Vth clamped at VTH_MAX the count is x / 1e4, unbounded by k * features.
    counts, vth = spike_counts(np.array([1e6, 0.0]), 1.0)
    assert vth[0] == VTH_MAX and counts[0] == 100


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("func", [adaptive_threshold, spike_counts])
def test_non_finite_x_rejected(bad: float, func) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"'x' must be finite \(got \d NaN and \d inf of 3 values\)"):
        func(np.array([1.0, bad, 2.0]))


@pytest.mark.parametrize("k", [0, -1.0, np.nan, np.inf, "three", None])
def test_bad_k_rejected(k: object) -> None:
    with pytest.raises(InputError, match=r"'k' must be .*number > 0 \(got"):
        spike_counts(np.ones(3), k)  # type: ignore[arg-type]


def test_empty_and_scalar_x_rejected() -> None:
    with pytest.raises(ShapeError, match=r"'x' must not be empty \(got shape \(2, 0\)\)"):
        spike_counts(np.ones((2, 0)))
    with pytest.raises(ShapeError, match=r"'x' must have at least 1 dimension"):
        adaptive_threshold(np.float64(3.0))
    with pytest.raises(ShapeError, match=r"'x_steps' must not be empty"):
        simulate_adaptive_if(np.ones((0, 3)), 1.0)


@pytest.mark.parametrize("x", [np.array(["a", "b"]), np.array([1 + 2j]), np.array([object()])])
def test_non_numeric_x_rejected(x: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"'x' must be a real numeric array \(got dtype"):
        spike_counts(x)


def test_bad_rounding_rejected() -> None:
    with pytest.raises(InputError, match=r"'rounding' must be 'half_even' or 'half_up' \(got 'nearest'\)"):
        spike_counts(np.ones(3), rounding="nearest")  # type: ignore[arg-type]


@pytest.mark.parametrize("vth", [0.0, -1.0, np.nan, np.inf, [1.0, 0.0, 1.0]])
def test_non_positive_vth_rejected(vth: object) -> None:
    with pytest.raises(InputError, match=r"'vth' must be finite and > 0 for every neuron \(got"):
        simulate_adaptive_if(np.ones((2, 3)), vth)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"'vth' must be a positive number or array \(got 'abc'\)"):
        simulate_adaptive_if(np.ones((2, 3)), "abc")  # type: ignore[arg-type]


def test_vth_shape_mismatch_rejected() -> None:
    with pytest.raises(ShapeError, match=r"'vth' of shape \(4,\) does not broadcast to the neuron shape \(3,\)"):
        simulate_adaptive_if(np.ones((2, 3)), np.ones(4))


@pytest.mark.parametrize("drain", [-1, 2.5, np.nan, np.inf, "3", True])
def test_bad_drain_steps_rejected(drain: object) -> None:
    with pytest.raises(InputError, match=r"'drain_steps' must be an integer >= 0 \(got"):
        simulate_adaptive_if(np.ones((2, 3)), 1.0, drain_steps=drain)  # type: ignore[arg-type]


def test_count_overflow_is_a_typed_error() -> None:
    # Vth clamps at 1e4, so x = 1e300 would give a count far beyond int64 (was silent garbage).
    with pytest.raises(OverflowRiskError, match=r"'x' / Vth reaches 1e\+296, beyond int64"):
        spike_counts(np.array([1e300, 0.0]))


def test_count_overflow_is_caught_on_the_parallel_path_too() -> None:
    # 20 tokens take the parallel kernel; one token's clamped threshold makes its counts overflow.
    x = np.ones((20, 4))
    x[13] = [1e300, 0.0, 0.0, 0.0]
    with pytest.raises(OverflowRiskError, match=r"'x' / Vth reaches 1e\+296, beyond int64"):
        spike_counts(x)
    x[13] = [np.nan, 0.0, 0.0, 0.0]
    with pytest.raises(InputError, match="must be finite"):
        spike_counts(x)


def test_count_overflow_with_an_enormous_k_is_a_typed_error() -> None:
    # Vth = mean|x| / k = 500 is not clamped, yet x / Vth = 2e30: the bound k * features + 1/2 on
    # |counts| is itself beyond int64, so the ratio must still be checked.
    with pytest.raises(OverflowRiskError, match=r"'x' / Vth reaches 2e\+30, beyond int64"):
        spike_counts(np.array([1e33, 0.0]), k=1e30)
