"""Symmetric group-wise INT8 quantisation (neurosim.quant)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from neurosim.exceptions import CheckpointError, InputError, OverflowRiskError, ShapeError
from neurosim.quant import QuantizedWeight, n_groups_for, quantize_weight, quantized_from_checkpoint


def _bounds(n_in: int, group_size: int | None) -> list[tuple[int, int]]:
    size = n_in if group_size is None else group_size
    return [(a, min(a + size, n_in)) for a in range(0, n_in, size)]


@settings(max_examples=40, deadline=None)
@given(
    out=st.integers(1, 9),
    n_in=st.integers(1, 70),
    group_size=st.one_of(st.none(), st.integers(1, 40)),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-6, 1.0, 1e4]),
)
def test_round_trip_error_at_most_half_a_step(out, n_in, group_size, seed, scale):
    rng = np.random.default_rng(seed)
    w = rng.standard_t(3, size=(out, n_in)) * scale
    qw = quantize_weight(w, group_size=group_size)
    assert qw.q.dtype == np.int8 and qw.q.shape == (out, n_in)
    assert qw.n_groups == n_groups_for(n_in, group_size) == len(_bounds(n_in, group_size))
    assert np.abs(qw.q.astype(int)).max() <= 127
    deq = qw.dequantize()
    for g, (a, b) in enumerate(_bounds(n_in, group_size)):
        block = w[:, a:b]
        # scale = max|w| / 127 of each (row, group), recomputed here from the definition
        expected_scale = np.abs(block).max(axis=1) / 127
        np.testing.assert_allclose(qw.scales[:, g], np.where(expected_scale > 0, expected_scale, 1.0))
        half_step = qw.scales[:, g][:, None] / 2
        assert (np.abs(block - deq[:, a:b]) <= half_step * (1 + 1e-12)).all()
        # the largest weight of each nonzero group lands on +-127
        peak = np.abs(qw.q[:, a:b].astype(int)).max(axis=1)
        assert (peak[expected_scale > 0] == 127).all()


def test_all_zero_group_gets_scale_one_and_zero_weights():
    w = np.zeros((2, 6))
    w[0, 3:] = [0.5, -1.0, 0.25]
    qw = quantize_weight(w, group_size=3)
    assert qw.scales[0, 0] == 1.0 and qw.scales[1, 0] == 1.0 and qw.scales[1, 1] == 1.0
    assert qw.scales[0, 1] == pytest.approx(1.0 / 127)
    assert (qw.q[1] == 0).all() and list(qw.q[0, 3:]) == [64, -127, 32]  # 63.5 -> 64 (half to even)


def test_ragged_last_group_and_bounds():
    qw = quantize_weight(np.ones((3, 300)), group_size=128)
    assert qw.n_groups == 3
    assert list(qw.group_bounds) == [0, 128, 256, 300]
    assert qw.q_t.shape == (300, 3) and qw.q_t.flags.c_contiguous
    assert qw.scales_t.shape == (3, 3) and qw.scales_t.flags.c_contiguous


def test_per_channel_group_none():
    w = np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 3.0]])
    qw = quantize_weight(w, group_size=None)
    assert qw.group_size is None and qw.n_groups == 1
    np.testing.assert_allclose(qw.scales[:, 0], [2 / 127, 3 / 127])
    assert list(qw.q[0]) == [64, -127, 32]  # 63.5 -> 64, 31.75 -> 32


def test_stored_arrays_are_read_only():
    qw = quantize_weight(np.eye(4))
    with pytest.raises(ValueError):
        qw.q[0, 0] = 5
    with pytest.raises(ValueError):
        qw.scales[0, 0] = 5.0


@settings(max_examples=25, deadline=None)
@given(
    out=st.integers(1, 6),
    n_in=st.integers(1, 300),
    group_size=st.one_of(st.none(), st.sampled_from([1, 7, 32, 128])),
    seed=st.integers(0, 2**32 - 1),
)
def test_checkpoint_round_trip(out, n_in, group_size, seed):
    rng = np.random.default_rng(seed)
    qw = quantize_weight(rng.normal(size=(out, n_in)), group_size=group_size)
    # The checkpoint stores float weights (fake-quantised here) and scales of shape [out, groups, 1].
    stored = qw.dequantize().astype(np.float32)
    back = quantized_from_checkpoint(stored, qw.scales[:, :, None], group_size=group_size)
    np.testing.assert_array_equal(back.q, qw.q)
    np.testing.assert_array_equal(back.scales, qw.scales)


def test_checkpoint_rounds_half_to_even_like_torch():
    scales = np.full((1, 1, 1), 0.5)
    weight = np.array([[1.25, 0.75, -1.25, 2.25]])  # /0.5 = 2.5, 1.5, -2.5, 4.5
    qw = quantized_from_checkpoint(weight, scales, group_size=None)
    assert list(qw.q[0]) == [2, 2, -2, 4]


def test_checkpoint_errors_name_the_problem():
    w = np.ones((2, 4))
    with pytest.raises(OverflowRiskError, match=r"gate_proj: round\(weight / scale\) reaches 200"):
        quantized_from_checkpoint(w * 200, np.ones((2, 1, 1)), group_size=None, name="gate_proj")
    with pytest.raises(CheckpointError, match=r"scales must have shape \(2, 2, 1\).*got \(2, 1, 1\)"):
        quantized_from_checkpoint(w, np.ones((2, 1, 1)), group_size=2)
    with pytest.raises(CheckpointError, match="scales must be finite and > 0"):
        quantized_from_checkpoint(w, np.array([[[0.0]], [[1.0]]]), group_size=None)
    with pytest.raises(CheckpointError, match="non-finite"):
        quantized_from_checkpoint(np.full((2, 4), np.nan), np.ones((2, 1, 1)), group_size=None)
    with pytest.raises(CheckpointError, match="2-D"):
        quantized_from_checkpoint(np.ones(4), np.ones((1, 1, 1)), group_size=None)
    with pytest.raises(CheckpointError, match="group_size"):
        quantized_from_checkpoint(w, np.ones((2, 1, 1)), group_size=0)


def test_quantized_weight_validates_its_fields():
    with pytest.raises(InputError, match=r"'q' must lie in \[-127, 127\].*got \[-128, 0\]"):
        QuantizedWeight(q=np.array([[-128, 0]], dtype=np.int16), scales=np.ones((1, 1)), group_size=None)
    with pytest.raises(InputError, match=r"'q' must lie in .*got \[0, 300\]"):
        QuantizedWeight(q=np.array([[300, 0]]), scales=np.ones((1, 1)), group_size=None)
    with pytest.raises(InputError, match="'scales' must be finite and > 0"):
        QuantizedWeight(q=np.zeros((1, 2), np.int8), scales=np.array([[-1.0]]), group_size=None)
    with pytest.raises(ShapeError, match=r"'scales' must have shape .* \(1, 2\)"):
        QuantizedWeight(q=np.zeros((1, 4), np.int8), scales=np.ones((1, 1)), group_size=2)
    with pytest.raises(InputError, match="'q' must be an integer array"):
        QuantizedWeight(q=np.zeros((1, 2)), scales=np.ones((1, 1)), group_size=None)
    with pytest.raises(InputError, match="'group_size' must be a positive integer"):
        QuantizedWeight(q=np.zeros((1, 2), np.int8), scales=np.ones((1, 1)), group_size=-3)


def test_quantize_weight_rejects_bad_input():
    with pytest.raises(InputError, match="'w' must be finite"):
        quantize_weight(np.array([[1.0, np.nan]]))
    with pytest.raises(ShapeError, match="'w' must be 2-D"):
        quantize_weight(np.ones((2, 2, 2)))
    with pytest.raises(InputError, match="'group_size'"):
        quantize_weight(np.ones((2, 2)), group_size=0)
