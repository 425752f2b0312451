"""Fuzz-style property tests (issue 12 item 6): spike counts, coders, engine paths and LIF.

Each property holds for every generated input or the input is refused with a typed error; no bare
exception and no RuntimeWarning escapes. Example counts are bounded so the file runs in seconds.
"""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from neurosim.adaptive import spike_counts
from neurosim.coding import CODINGS, decode, decode_events, encode, encode_events
from neurosim.engine import w8aspike_linear
from neurosim.exceptions import NeurosimError
from neurosim.lif import LIFParameters, simulate_lif
from neurosim.quant import quantize_weight

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Finite floats over many magnitudes, subnormals and signed zeros included.
floats = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e30, max_value=1e30)
wild = st.one_of(floats, st.sampled_from([0.0, -0.0, 5e-324, -1e-310, 1e-30, 1e30, float("nan"), float("inf")]))


def arrays(elements: st.SearchStrategy[float], max_side: int = 6) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=max_side),
                      elements=elements)


def strict(fn, *args, **kwargs):
    """Call ``fn`` with RuntimeWarnings as errors; a refusal must be a NeurosimError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return fn(*args, **kwargs)
        except NeurosimError:
            return None


@FUZZ
@given(x=arrays(wild), k=st.floats(min_value=1e-3, max_value=1e3))
def test_spike_counts_exact_or_typed(x: np.ndarray, k: float) -> None:
    out = strict(spike_counts, x, k)
    if out is None:
        return
    counts, vth = out
    assert counts.dtype == np.int64 and counts.shape == x.shape
    assert np.isfinite(vth).all() and (vth > 0).all()
    # round(x / vth): within 1/2 of the exact ratio
    assert np.all(np.abs(counts - x / vth) <= 0.5 + 1e-9 * np.abs(counts))


counts_arrays = hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5),
                           elements=st.integers(-300, 300))


@FUZZ
@given(c=counts_arrays, coding=st.sampled_from(CODINGS))
def test_coders_round_trip_and_events_match_dense(c: np.ndarray, coding: str) -> None:
    train = strict(encode, c, coding)
    if train is None:  # signed counts for an unsigned coder
        assert coding in ("binary", "bitwise") and (c < 0).any()
        return
    np.testing.assert_array_equal(decode(train, coding), c)
    ev = encode_events(c, coding)
    np.testing.assert_array_equal(decode_events(ev), c)
    assert len(ev) == int(np.count_nonzero(train))


@FUZZ
@given(c=st.integers(-(2**62), 2**62), coding=st.sampled_from(CODINGS))
def test_coders_on_huge_counts_are_bounded(c: int, coding: str) -> None:
    import os

    old = os.environ.get("NEUROSIM_MEMORY_LIMIT")
    os.environ["NEUROSIM_MEMORY_LIMIT"] = "64M"
    try:
        ev = strict(encode_events, np.array([c]), coding)
    finally:
        if old is None:
            del os.environ["NEUROSIM_MEMORY_LIMIT"]
        else:
            os.environ["NEUROSIM_MEMORY_LIMIT"] = old
    if ev is not None:
        assert int(decode_events(ev)[0]) == c


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 12)), elements=st.floats(-50, 50)),
       seed=st.integers(0, 2**16), coding=st.sampled_from(("bidirectional", "ternary", "twos-complement")),
       k=st.sampled_from([1.0, 3.0, 8.0]))
def test_engine_paths_agree(x: np.ndarray, seed: int, coding: str, k: float) -> None:
    rng = np.random.default_rng(seed)
    w = quantize_weight(rng.standard_normal((5, x.shape[1])), group_size=4)
    outs = {}
    for path in ("dense", "event"):
        r = strict(w8aspike_linear, x, w, k=k, coding=coding, path=path)
        if r is None:
            return
        outs[path] = r
    np.testing.assert_array_equal(outs["dense"].counts, outs["event"].counts)
    np.testing.assert_allclose(outs["dense"].output, outs["event"].output, rtol=1e-12, atol=1e-12)


@FUZZ
@given(x=arrays(st.floats(-1e3, 1e3), max_side=8), beta=st.floats(0, 1),
       threshold=st.one_of(st.floats(1e-3, 1e3), st.sampled_from([1e39, 1e-50, 3e38])),
       convention=st.sampled_from(("snntorch", "report")), reset=st.sampled_from(("subtract", "zero", "none")))
def test_lif_spikes_binary_membrane_finite(x: np.ndarray, beta: float, threshold: float, convention: str,
                                           reset: str) -> None:
    if x.ndim == 1:
        x = x[:, None]
    p = strict(LIFParameters, beta=beta, threshold=threshold, reset=reset, convention=convention)
    r = strict(simulate_lif, x, p, record_membrane=True)
    if r is None:
        assert convention == "snntorch" and not (1.18e-38 <= threshold <= 3.4e38)
        return
    assert set(np.unique(r.spikes)) <= {0, 1}
    assert np.isfinite(r.membrane).all() and np.isfinite(r.final_state.v).all()


@pytest.mark.parametrize("threshold", [1e39, 1e-50])
def test_lif_float32_range_is_refused(threshold: float) -> None:
    with pytest.raises(NeurosimError):
        simulate_lif(np.ones((2, 2)), LIFParameters(threshold=threshold))
