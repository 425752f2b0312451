"""Tests of neurosim.analysis.calibration: the fit is reproducible and generated data match its claims."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.analysis.calibration import (
    DEFAULT_FAMILY,
    DEFAULT_PARAMS,
    FAMILIES,
    REPORT_TARGET,
    TARGET_NAMES,
    CalibrationTarget,
    calibrated_activations,
    count_statistics,
    expected_statistics,
    fit_calibration,
)
from neurosim.adaptive import spike_counts
from neurosim.exceptions import InputError, NotFoundError

from naive import naive_count_stats


def test_default_params_are_the_fit_result():
    fit = fit_calibration(seed=0)
    assert fit.family == DEFAULT_FAMILY
    for name, value in DEFAULT_PARAMS.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-3)


def test_fit_is_reproducible_and_seed_only_moves_the_sample():
    a = fit_calibration(seed=1)
    b = fit_calibration(seed=1)
    c = fit_calibration(seed=2)
    assert dict(a.params) == dict(b.params) == dict(c.params)
    assert dict(a.residuals) == dict(b.residuals)
    assert dict(a.measured) == dict(b.measured)
    assert dict(a.measured) != dict(c.measured)


def test_residuals_are_expected_minus_target_and_within_two_rounding_units():
    fit = fit_calibration()
    target = REPORT_TARGET.values()
    for name in TARGET_NAMES:
        assert fit.residuals[name] == pytest.approx(fit.expected[name] - target[name], abs=1e-15)
        assert fit.scaled_residuals[name] == pytest.approx(fit.residuals[name] / REPORT_TARGET.tolerances[name])
        # The mixture meets every published figure to within ~1 unit of its last printed digit.
        assert abs(fit.scaled_residuals[name]) < 2.0
    assert fit.objective == pytest.approx(sum(v * v for v in fit.scaled_residuals.values()))


def test_mixture_beats_single_shape_families():
    objectives = {fam: fit_calibration(family=fam).objective for fam in FAMILIES}
    assert objectives["laplace-mixture"] < objectives["gennorm"] / 10
    assert objectives["laplace-mixture"] < objectives["student-t"] / 10


@pytest.mark.parametrize("family", FAMILIES)
def test_generated_activations_match_the_fit_expectation(family):
    fit = fit_calibration(family=family, seed=3)
    x = calibrated_activations(64, 3584, seed=11, fit=fit)
    counts, _ = spike_counts(x, fit.k)
    measured = naive_count_stats(counts)
    for name in TARGET_NAMES:
        assert measured[name] == pytest.approx(fit.expected[name], abs=0.01), name
    # The stored sample statistics are those of the seeded sample, via neurosim.analysis.sparsity.
    sample, _ = spike_counts(calibrated_activations(64, 3584, seed=3, fit=fit), fit.k)
    assert count_statistics(sample) == pytest.approx(fit.measured)


def test_expected_statistics_agree_with_a_large_sample_of_laplace():
    # gennorm with beta = 1 is the Laplace; compare the analytic figures with a naive histogram.
    exp = expected_statistics("gennorm", {"beta": 1.0}, k=3.0)
    x = np.random.default_rng(5).laplace(size=(32, 8192))
    counts, _ = spike_counts(x, 3.0)
    got = naive_count_stats(counts)
    for name in TARGET_NAMES:
        assert got[name] == pytest.approx(exp[name], abs=0.006), name
    # Laplace: P(|x| < E|x| / 6) = 1 - exp(-1/6).
    assert exp["silent_fraction"] == pytest.approx(1 - np.exp(-1 / 6), rel=1e-9)
    assert exp["mean_abs_count"] == pytest.approx(3.0, abs=0.05)


def test_activations_deterministic_by_seed_and_shaped():
    a = calibrated_activations(4, 100, seed=7)
    b = calibrated_activations(4, 100, seed=7)
    c = calibrated_activations(4, 100, seed=8)
    assert a.shape == (4, 100) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_outlier_channels_are_fixed_across_tokens():
    x = calibrated_activations(256, 3584, seed=0)
    scale = np.abs(x).mean(axis=0)
    n_out = int(round(DEFAULT_PARAMS["outlier_fraction"] * 3584))
    big = np.sort(scale)[::-1]
    # The outlier channels' mean |x| sits near the outlier scale, the others near 1.
    assert big[n_out - 1] > 0.5 * DEFAULT_PARAMS["outlier_scale"]
    assert big[n_out] < 2.0


def test_target_carries_its_source():
    assert "5.5" in REPORT_TARGET.source and "A.8" in REPORT_TARGET.source
    assert set(CalibrationTarget().values()) == set(TARGET_NAMES)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tokens": 0, "features": 3}, "'tokens' must be an integer >= 1"),
        ({"tokens": 2, "features": 2.5}, "'features' must be an integer >= 1"),
        ({"tokens": True, "features": 3}, "'tokens'"),
    ],
)
def test_bad_sizes(kwargs, match):
    with pytest.raises(InputError, match=match):
        calibrated_activations(**kwargs, seed=0)


def test_bad_fit_arguments():
    with pytest.raises(NotFoundError, match="unknown calibration family 'normal'"):
        fit_calibration(family="normal")
    with pytest.raises(InputError, match="'k' must be a finite number > 0"):
        fit_calibration(k=0.0)
    with pytest.raises(InputError, match="'nu' must be > 1"):
        expected_statistics("student-t", {"nu": 1.0})
    with pytest.raises(InputError, match="must have keys"):
        expected_statistics("gennorm", {"nu": 2.0})
    with pytest.raises(InputError, match="'outlier_fraction' must be in"):
        expected_statistics("laplace-mixture", {"outlier_fraction": 1.5, "outlier_scale": 3.0})
