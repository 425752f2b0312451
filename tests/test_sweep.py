"""Tests of analysis.sweep: k sweep against direct computation, and per-layer tables."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.analysis.calibration import calibrated_activations
from neurosim.analysis.sweep import DEFAULT_KS, REPORT_TABLE_11, k_sweep, layer_table
from neurosim.adaptive import spike_counts
from neurosim.exceptions import InputError, ShapeError

from naive import naive_popcounts


@pytest.fixture
def acts():
    return calibrated_activations(16, 3584, seed=4)


def test_sweep_matches_direct_computation(acts):
    df = k_sweep(acts)
    assert list(df["k"]) == list(DEFAULT_KS)
    for row in df.itertuples():
        counts, _ = spike_counts(acts, row.k)
        a = np.abs(counts).ravel()
        inside = a[a <= 7]
        assert row.window_sparsity == pytest.approx(1 - naive_popcounts(inside).sum() / (3 * inside.size))
        assert row.spikes_per_channel == pytest.approx(naive_popcounts(counts).mean())
        assert row.silent_fraction == pytest.approx(np.mean(a == 0))
        assert row.within_7_fraction == pytest.approx(np.mean(a <= 7))
        assert row.report_sparsity == REPORT_TABLE_11.rows[row.k][0]
        assert row.report_within_7_fraction == REPORT_TABLE_11.rows[row.k][1]


def test_sweep_trends_follow_the_report(acts):
    # Larger k -> lower threshold -> larger counts: fewer zeros and fewer values within 7,
    # the same direction as every column of table 11.
    df = k_sweep(acts)
    assert np.all(np.diff(df["within_7_fraction"]) < 0)
    assert np.all(np.diff(df["silent_fraction"]) < 0)
    assert np.all(np.diff(df["window_sparsity"]) < 0)
    assert np.all(np.diff(df["report_sparsity"]) < 0)
    # mean|x|/Vth = k exactly, so the mean |count| tracks k within the rounding error.
    assert np.allclose(df["mean_abs_count"], df["k"], atol=0.5)


def test_k_outside_table_gives_nan_report(acts):
    df = k_sweep(acts, ks=(5.0,))
    assert np.isnan(df.loc[0, "report_sparsity"])
    assert "table 11" in df.attrs["source"]


def test_layer_table_rows_and_pool(acts):
    c1, _ = spike_counts(acts[:8], 3.0)
    c2, _ = spike_counts(acts[8:], 4.0)
    df = layer_table([("q", c1), ("k", c2)])
    assert list(df["name"]) == ["q", "k", "all"]
    assert df.loc[0, "spikes_per_channel"] == pytest.approx(naive_popcounts(c1).mean())
    pooled = np.concatenate([c1.ravel(), c2.ravel()])
    assert df.loc[2, "spikes_per_channel"] == pytest.approx(naive_popcounts(pooled).mean())
    assert df.loc[2, "n"] == c1.size + c2.size


def test_bad_inputs(acts):
    with pytest.raises(ShapeError, match="'activations' must be 2-D"):
        k_sweep(acts[None])
    with pytest.raises(InputError, match="'k' must be a finite number > 0"):
        k_sweep(acts, ks=(3.0, -1.0))
    with pytest.raises(InputError, match="'ks' must hold at least one k"):
        k_sweep(acts, ks=())
    with pytest.raises(InputError, match="at least one"):
        layer_table([])
    c, _ = spike_counts(acts, 3.0)
    with pytest.raises(InputError, match="names must be unique"):
        layer_table([("a", c), ("a", c)])
    with pytest.raises(InputError, match=r"'layers'\[0\] must be a \(name: str, counts\) pair"):
        layer_table([(1, c)])
