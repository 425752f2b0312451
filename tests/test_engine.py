"""Event-driven W8ASpike projection (neurosim.engine) against a slow naive twin and hand counts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from neurosim.coding import CODINGS, encode_events
from neurosim.engine import (
    EVENT_KERNELS,
    accumulator_dtype,
    integer_accumulate,
    project_counts,
    scale_accumulators,
    w8aspike_linear,
)
from neurosim.token_events import token_events
from neurosim.exceptions import (
    CodingRangeError,
    InputError,
    NotFoundError,
    OverflowRiskError,
    ShapeError,
)
from neurosim.quant import QuantizedWeight, quantize_weight

from naive import naive_accumulate, naive_tally

SIGNED = ("ternary", "bidirectional", "twos-complement")
UNSIGNED = ("binary", "bitwise")


def assert_tally_matches(tally, expected):
    for key, value in expected.items():
        got = getattr(tally, key)
        if key == "events_by_step":
            np.testing.assert_array_equal(got, value)
        elif key == "active_blocks":
            assert dict(got) == value
        else:
            assert got == value, key


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------
@st.composite
def projection_case(draw, codings=CODINGS):
    coding = draw(st.sampled_from(codings))
    n_tok = draw(st.integers(1, 9))  # the pair kernel's token blocks of 4 and their tails
    n_in = draw(st.integers(1, 40))
    n_out = draw(st.integers(1, 20))
    group_size = draw(st.one_of(st.none(), st.integers(1, 16)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    peak = draw(st.sampled_from([1, 3, 9, 40]))
    counts = rng.integers(-peak, peak + 1, size=(n_tok, n_in))
    counts[rng.random(counts.shape) < 0.3] = 0  # silent channels
    if coding in UNSIGNED:
        counts = np.abs(counts)
    qw = quantize_weight(rng.normal(size=(n_out, n_in)), group_size=group_size)
    block = draw(st.sampled_from([1, 3, 1024, None]))  # several ragged column blocks, one, auto
    return coding, counts, qw, block, rng


# ---------------------------------------------------------------------------------------------
# Event generation walks the same events as neurosim.coding
# ---------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(case=projection_case(), extra_steps=st.integers(0, 2))
def test_token_events_are_encode_events_in_token_order(case, extra_steps):
    coding, counts, qw, _, _ = case
    ref = encode_events(counts, coding)
    steps = ref.time_steps + extra_steps
    ref = encode_events(counts, coding, time_steps=steps)
    ev = token_events(counts, coding, time_steps=steps, group_size=qw.group_size)
    assert ev.time_steps == ref.time_steps and ev.n_events == len(ref)
    tokens = np.repeat(np.arange(ev.tokens), np.diff(ev.token_ptr))
    flat = tokens * counts.shape[1] + ev.channel
    order = np.lexsort((flat, ev.t))  # time-major, then flat index: the order of encode_events
    np.testing.assert_array_equal(ev.t[order], ref.t)
    np.testing.assert_array_equal(flat[order], ref.index)
    np.testing.assert_array_equal(ev.sign[order], ref.sign)
    np.testing.assert_array_equal(ev.weight[order], ref.weight)
    # group pointers split each token's events at the group boundaries
    size = counts.shape[1] if qw.group_size is None else qw.group_size
    for tok in range(ev.tokens):
        for g in range(ev.n_groups):
            lo, hi = ev.ptr[tok * ev.n_groups + g], ev.ptr[tok * ev.n_groups + g + 1]
            assert (ev.channel[lo:hi] // size == g).all()


@settings(max_examples=40, deadline=None)
@given(case=projection_case(), extra_steps=st.integers(0, 2))
def test_merged_multiplier_of_each_channel_is_its_count_for_every_coder(case, extra_steps):
    # The merged-plane walk reads the counts instead of the events: this is the identity it relies on.
    coding, counts, qw, _, _ = case
    steps = encode_events(counts, coding).time_steps + extra_steps
    ev = token_events(counts, coding, time_steps=steps, group_size=qw.group_size)
    merged = np.zeros(counts.size, dtype=np.int64)
    tokens = np.repeat(np.arange(ev.tokens), np.diff(ev.token_ptr))
    np.add.at(merged, tokens * counts.shape[1] + ev.channel, ev.sign.astype(np.int64) * ev.weight)
    np.testing.assert_array_equal(merged.reshape(counts.shape), counts)


# ---------------------------------------------------------------------------------------------
# Event == dense == naive twin, bit for bit
# ---------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(case=projection_case(), merge=st.booleans(), kernel=st.sampled_from(EVENT_KERNELS))
def test_event_equals_dense_equals_naive_accumulators(case, merge, kernel):
    coding, counts, qw, block, _ = case
    acc_e, tally_e = integer_accumulate(counts, qw, coding=coding, merge_planes=merge, column_block=block,
                                        kernel=kernel)
    acc_d, tally_d = integer_accumulate(counts, qw, coding=coding, path="dense", column_block=block)
    naive = naive_accumulate(counts, qw, coding)
    assert acc_e.dtype == acc_d.dtype == np.int32  # small counts: the proven bound fits int32
    np.testing.assert_array_equal(acc_e, naive)
    np.testing.assert_array_equal(acc_d, naive)
    expected = naive_tally(counts, qw.out_features, coding)
    assert_tally_matches(tally_e, expected)
    assert_tally_matches(tally_d, expected)


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("extra_steps", [0, 3])
def test_tally_from_counts_matches_the_events_beyond_its_histogram(coding, extra_steps):
    # The tally is taken from the counts (a histogram of values within +-1024, the rest one by one),
    # not from coded events: counts on both sides of that range, for every coder, against the
    # event-by-event twin, with the minimum and a longer fixed code length.
    rng = np.random.default_rng(len(coding) + extra_steps)
    values = np.array([0, 1, -1, 2, -3, 7, 1023, -1024, 1024, 1025, -1025, 3000, -5001, 40000])
    if coding in ("binary", "ternary"):
        values = values[np.abs(values) <= 3000]  # unary codes: one event per unit
    counts = rng.choice(values, size=(6, 33))
    if coding in UNSIGNED:
        counts = np.abs(counts)
    steps = encode_events(counts, coding).time_steps + extra_steps
    qw = quantize_weight(rng.normal(size=(5, 33)), group_size=8)
    _, tally = integer_accumulate(counts, qw, coding=coding, time_steps=steps)
    assert_tally_matches(tally, naive_tally(counts, qw.out_features, coding, time_steps=steps))


@settings(max_examples=50, deadline=None)
@given(case=projection_case(), k=st.sampled_from([0.5, 3.0, 8.0]), with_bias=st.booleans(),
       merge=st.booleans(), kernel=st.sampled_from(EVENT_KERNELS))
def test_event_output_is_bit_identical_to_dense_for_every_coder(case, k, with_bias, merge, kernel):
    coding, counts, qw, block, rng = case
    x = rng.laplace(size=counts.shape) * 10.0 ** rng.integers(-3, 4)
    if coding in UNSIGNED:
        x = np.abs(x)
    bias = rng.normal(size=qw.out_features) if with_bias else None
    ev = w8aspike_linear(x, qw, bias, k=k, coding=coding, merge_planes=merge, column_block=block,
                         kernel=kernel)
    de = w8aspike_linear(x, qw, bias, k=k, coding=coding, path="dense", column_block=block)
    assert ev.output.dtype == np.float64
    np.testing.assert_array_equal(ev.output, de.output)  # bit for bit, not allclose
    np.testing.assert_array_equal(ev.counts, de.counts)
    # the accumulator route with the shared scaling order gives the same bits again
    acc, _ = integer_accumulate(ev.counts, qw, coding=coding)
    np.testing.assert_array_equal(scale_accumulators(acc, qw, ev.vth, bias), ev.output)


@settings(max_examples=50, deadline=None)
@given(case=projection_case(codings=SIGNED), k=st.sampled_from([1.0, 3.0]), with_bias=st.booleans())
def test_dense_integer_path_matches_float_reference(case, k, with_bias):
    coding, counts, qw, _, rng = case
    x = rng.standard_t(3, size=counts.shape) * 10.0 ** rng.integers(-3, 4)
    bias = rng.normal(size=qw.out_features) if with_bias else None
    de = w8aspike_linear(x, qw, bias, k=k, coding=coding, path="dense")
    fl = w8aspike_linear(x, qw, bias, k=k, coding=coding, path="float")
    # The public formula, recomputed here: (round(x / vth) * vth) @ (q * s)^T + b
    vth = np.clip(np.abs(x).mean(axis=-1, keepdims=True) / k, 1e-5, 1e4)
    c = np.rint(x / vth)
    w_deq = qw.dequantize()
    ref = (c * vth) @ w_deq.T + (0.0 if bias is None else bias)
    # Tolerance: the dense path is exact in integers, then n_groups + 2 rounded float operations;
    # the float path rounds every product and sums in_features terms. Both errors are bounded by
    # (in_features + n_groups + 5) * eps * vth * sum_i |c_i| |W_deq[o, i]| (+ eps * |bias|).
    magnitude = vth * (np.abs(c) @ np.abs(w_deq).T) + (0.0 if bias is None else np.abs(bias))
    tol = 2 * (qw.in_features + qw.n_groups + 5) * np.finfo(np.float64).eps * magnitude
    assert (np.abs(de.output - fl.output) <= tol).all()
    assert (np.abs(fl.output - ref) <= tol).all()
    assert_tally_matches(fl.tally, naive_tally(c.astype(np.int64), qw.out_features, coding))


def test_leading_axes_are_kept_and_paths_tally_alike():
    rng = np.random.default_rng(7)
    qw = quantize_weight(rng.normal(size=(6, 20)), group_size=8)
    x = rng.laplace(size=(2, 3, 20))
    results = {p: w8aspike_linear(x, qw, path=p, name="proj") for p in ("float", "dense", "event")}
    for r in results.values():
        assert r.output.shape == (2, 3, 6) and r.counts.shape == (2, 3, 20) and r.vth.shape == (2, 3, 1)
        assert r.tally.to_dict() == results["event"].tally.to_dict()
        assert r.tally.name == "proj"


def test_all_zero_input_gives_bias_and_no_events():
    qw = quantize_weight(np.ones((3, 5)), group_size=2)
    bias = np.array([1.0, -2.0, 0.5])
    r = w8aspike_linear(np.zeros((2, 5)), qw, bias)
    np.testing.assert_array_equal(r.output, np.tile(bias, (2, 1)))
    assert r.tally.spike_events == 0 and r.tally.silent_inputs == 10 and r.tally.rows_fetched_batch == 0


# ---------------------------------------------------------------------------------------------
# A hand-counted example: 2 tokens, 8 channels, 3 outputs, groups of 4
# ---------------------------------------------------------------------------------------------
def test_hand_counted_two_token_example():
    counts = np.array([[3, 0, -1, 0, 0, 5, 0, 0],
                       [0, 0, 0, 0, 2, 0, 0, -7]])
    i = np.arange(8)
    q = np.stack([np.ones(8), i, (-1.0) ** i]).astype(np.int8)  # o0: 1, o1: channel index, o2: +-1
    qw = QuantizedWeight(q=q, scales=np.ones((3, 2)), group_size=4)
    acc, tally = integer_accumulate(counts, qw, coding="bidirectional", name="hand")
    # token 0: group 0 sees 3 (ch0) and -1 (ch2); group 1 sees 5 (ch5)
    # token 1: group 1 sees 2 (ch4) and -7 (ch7)
    expected = np.array([[[2, -2, 2], [5, 25, -5]],
                         [[0, 0, 0], [-5, 4 * 2 - 7 * 7, 2 + 7]]])
    np.testing.assert_array_equal(acc, expected)
    # Bidirectional bitwise, T = bit_length(7) = 3, MSB first:
    #   3 = 011 -> +t1 +t2;  -1 = 001 -> -t2;  5 = 101 -> +t0 +t2;  2 = 010 -> +t1;  -7 = 111 -> -t0 -t1 -t2
    assert tally.name == "hand" and tally.coding == "bidirectional"
    assert tally.time_steps == 3
    assert tally.spike_events == 9
    np.testing.assert_array_equal(tally.events_by_step, [[1, 1], [2, 1], [2, 2]])
    assert tally.synaptic_ops == 27 and tally.dense_macs == 48 and tally.input_slots == 16
    assert tally.nonzero_inputs == 5 and tally.silent_inputs == 11 and tally.sum_abs_counts == 18
    assert tally.rows_fetched_token == 5
    assert tally.rows_fetched_batch == 5  # channels 0, 2, 4, 5, 7
    assert tally.weight_bytes_touched == 15
    assert dict(tally.active_blocks) == {1: 5, 8: 2, 32: 2, 128: 2}
    # Ternary: |count| unit spikes, T = 7
    _, tern = integer_accumulate(counts, qw, coding="ternary")
    assert tern.time_steps == 7 and tern.spike_events == 18
    np.testing.assert_array_equal(tern.events_by_step[:, 0], [3, 3, 2, 1, 1, 0, 0])  # 3, 5, 2
    np.testing.assert_array_equal(tern.events_by_step[:, 1], [2, 1, 1, 1, 1, 1, 1])  # -1, -7


# ---------------------------------------------------------------------------------------------
# Accumulator width and overflow
# ---------------------------------------------------------------------------------------------
def _all_127(out, n_in, group_size):
    n_groups = 1 if group_size is None else -(-n_in // group_size)
    return QuantizedWeight(q=np.full((out, n_in), 127, np.int8), scales=np.ones((out, n_groups)),
                           group_size=group_size)


def test_int32_up_to_the_proven_bound_then_int64():
    qw = _all_127(2, 4, None)
    limit = (2**31 - 1) // 127  # largest sum|c| whose bound 127 * sum fits int32
    counts = np.array([[limit - 3 * 1000, 1000, -1000, 1000]])
    acc, _ = integer_accumulate(counts, qw)
    assert acc.dtype == np.int32
    assert int(acc[0, 0, 0]) == 127 * (limit - 3 * 1000 + 1000)
    counts_up = np.array([[limit + 1, 0, 0, 0]])  # 127 * (limit + 1) > 2**31 - 1: would wrap in int32
    acc, _ = integer_accumulate(counts_up, qw)
    assert acc.dtype == np.int64
    assert int(acc[0, 0, 1]) == 127 * (limit + 1) > 2**31 - 1
    acc_d, _ = integer_accumulate(counts_up, qw, path="dense")
    np.testing.assert_array_equal(acc, acc_d)


def test_int64_accumulators_stay_exact_for_huge_counts():
    qw = _all_127(1, 256, 128)
    counts = np.zeros((2, 256), dtype=np.int64)
    counts[0, :128] = 2**40
    counts[1, 128:] = -(2**40) + 1
    for coding in ("bidirectional", "twos-complement"):
        acc, tally = integer_accumulate(counts, qw, coding=coding)
        assert acc.dtype == np.int64
        assert int(acc[0, 0, 0]) == 127 * 128 * 2**40 and int(acc[0, 1, 0]) == 0
        assert int(acc[1, 1, 0]) == -127 * 128 * (2**40 - 1)
        assert tally.sum_abs_counts == 128 * 2**40 + 128 * (2**40 - 1)


def test_overflow_risk_is_refused():
    qw = _all_127(1, 4, None)
    counts = np.full((1, 4), 2**55)  # 127 * 4 * 2**55 > 2**62
    with pytest.raises(OverflowRiskError, match="accumulators could overflow"):
        integer_accumulate(counts, qw)
    with pytest.raises(OverflowRiskError, match="overflow"):
        accumulator_dtype(counts, None)
    # the same counts split over separate groups fit: the bound is per group
    assert accumulator_dtype(np.full((1, 4), 2**55), 1) == np.int64


def test_twos_complement_event_by_event_needs_wider_bound():
    # Adding the sign bit -2**(T-1) first, then the low bits, the partial sums of a count of -1
    # reach 2**(T-1) - 1 in magnitude; merging the planes first keeps them at |c|.
    counts = np.zeros((2, 128), dtype=np.int64)
    counts[0] = -1
    counts[1, 0] = 2**23  # forces T = 25 for the whole tensor
    assert accumulator_dtype(counts, 128, coding="twos-complement") == np.int32
    assert accumulator_dtype(counts, 128, coding="twos-complement", merge_planes=False) == np.int64
    qw = _all_127(2, 128, 128)
    a, _ = integer_accumulate(counts, qw, coding="twos-complement", merge_planes=False)
    b, _ = integer_accumulate(counts, qw, coding="twos-complement", path="dense")
    assert a.dtype == np.int64 and b.dtype == np.int32
    np.testing.assert_array_equal(a, b)
    assert int(a[0, 0, 0]) == -127 * 128


# ---------------------------------------------------------------------------------------------
# Bad input gets typed errors naming the argument
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def small_weight():
    return quantize_weight(np.random.default_rng(0).normal(size=(3, 4)), group_size=2)


def test_bad_activations_and_k(small_weight):
    with pytest.raises(InputError, match="'x' must be finite"):
        w8aspike_linear(np.array([[1.0, np.nan, 0.0, 1.0]]), small_weight)
    with pytest.raises(InputError, match="'k' must be a finite number > 0"):
        w8aspike_linear(np.ones((1, 4)), small_weight, k=0.0)
    with pytest.raises(InputError, match="'k'"):
        w8aspike_linear(np.ones((1, 4)), small_weight, k=-3.0)


def test_shape_mismatches(small_weight):
    with pytest.raises(ShapeError, match="'x' has 5 features .* in_features=4"):
        w8aspike_linear(np.ones((2, 5)), small_weight)
    with pytest.raises(ShapeError, match=r"'bias' must have shape \(3,\) \(got \(4,\)\)"):
        w8aspike_linear(np.ones((2, 4)), small_weight, np.ones(4))
    with pytest.raises(ShapeError, match="'counts' has 5 input channels"):
        integer_accumulate(np.ones((2, 5), dtype=int), small_weight)
    with pytest.raises(ShapeError, match="'acc' must have shape"):
        scale_accumulators(np.zeros((1, 3, 3), np.int32), small_weight, np.ones((1, 1)))


def test_unknown_names_and_wrong_types(small_weight):
    x = np.ones((1, 4))
    with pytest.raises(NotFoundError, match="unknown projection path 'evnt'; did you mean 'event'"):
        w8aspike_linear(x, small_weight, path="evnt")
    with pytest.raises(NotFoundError, match="unknown event kernel 'pair'; did you mean 'pairs'"):
        w8aspike_linear(x, small_weight, kernel="pair")
    with pytest.raises(NotFoundError, match="unknown spike coding 'bidirectonal'"):
        w8aspike_linear(x, small_weight, coding="bidirectonal")
    with pytest.raises(NotFoundError, match="unknown projection path 'float'"):
        integer_accumulate(np.ones((1, 4), dtype=int), small_weight, path="float")
    with pytest.raises(InputError, match="'weight' must be a neurosim.quant.QuantizedWeight .*ndarray"):
        w8aspike_linear(x, np.ones((3, 4)))
    with pytest.raises(InputError, match="'column_block' must be a positive integer"):
        w8aspike_linear(x, small_weight, column_block=0)
    with pytest.raises(InputError, match="'counts' must hold whole numbers"):
        integer_accumulate(np.full((1, 4), 0.5), small_weight)


def test_coding_range_errors(small_weight):
    x = np.array([[1.0, -2.0, 3.0, 0.5]])
    for coding in UNSIGNED:
        with pytest.raises(CodingRangeError, match=f"coding '{coding}' is unsigned"):
            w8aspike_linear(x, small_weight, coding=coding)
    with pytest.raises(CodingRangeError, match="in 1 steps represents"):
        integer_accumulate(np.array([[3, 0, 0, 0]]), small_weight, time_steps=1)


def test_unary_code_of_absurd_counts_is_refused(small_weight):
    with pytest.raises(InputError, match="needs .* events"):
        token_events(np.full((1, 4), 2**40), "ternary")


def test_project_counts_reproduces_the_layer_output():
    rng = np.random.default_rng(3)
    qw = quantize_weight(rng.normal(size=(7, 30)), group_size=16)
    x = rng.laplace(size=(2, 2, 30))
    bias = rng.normal(size=7)
    for path in ("float", "dense", "event"):
        r = w8aspike_linear(x, qw, bias, path=path)
        y = project_counts(r.counts, r.vth, qw, bias, path=path)
        np.testing.assert_array_equal(y, r.output)
    with pytest.raises(ShapeError, match="'vth' must hold one threshold per token"):
        project_counts(r.counts, np.ones((3, 1)), qw)
    with pytest.raises(InputError, match="'vth' must be > 0"):
        project_counts(r.counts, np.zeros((2, 2, 1)), qw)


def test_long_unary_trains_flush_the_pending_rows():
    # 16 channels x 40 unit spikes = 640 events in one group, more than the kernel's 256-row buffer
    rng = np.random.default_rng(11)
    counts = rng.integers(-40, 41, size=(2, 16))
    counts[:, 0] = 40
    qw = quantize_weight(rng.normal(size=(5, 16)), group_size=None)
    naive = naive_accumulate(counts, qw, "ternary")
    for merge in (False, True):
        acc, tally = integer_accumulate(counts, qw, coding="ternary", merge_planes=merge, column_block=2)
        np.testing.assert_array_equal(acc, naive)
        assert tally.spike_events == int(np.abs(counts).sum()) > 256


# ---------------------------------------------------------------------------------------------
# The multiply-add-pairs kernel at its limits: int16 counts, odd groups, wide outputs, big batches
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("peak", [1, 127, 2**15 - 1])
def test_pair_kernel_is_exact_up_to_the_int16_limit(peak):
    # |count| <= 32767 runs the pair kernel (int16 operands); the products of extreme counts and
    # weights are summed pairwise in int32, which must not wrap: all-extreme rows check that.
    rng = np.random.default_rng(peak)
    n_in = 37  # odd groups: the pair layout pads each group with a zero channel
    counts = rng.integers(-peak, peak + 1, size=(11, n_in))
    counts[0] = peak
    counts[1] = -peak
    q = rng.integers(-127, 128, size=(130, n_in))  # 130 outputs: two full blocks of 64 and a tail
    q[0] = 127
    q[1] = -127
    qw = QuantizedWeight(q=q, scales=rng.uniform(0.5, 2.0, size=(130, 3)), group_size=15)
    acc_p, _ = integer_accumulate(counts, qw, kernel="pairs")
    acc_w, _ = integer_accumulate(counts, qw, kernel="walk")
    assert acc_p.dtype == np.int32
    np.testing.assert_array_equal(acc_p, naive_accumulate(counts, qw, "bidirectional"))
    np.testing.assert_array_equal(acc_p, acc_w)
    vth = rng.uniform(0.1, 2.0, size=(11, 1))
    np.testing.assert_array_equal(project_counts(counts, vth, qw, kernel="pairs"),
                                  project_counts(counts, vth, qw, path="dense"))


@pytest.mark.parametrize("coding", CODINGS)
def test_quad_kernel_is_exact_at_the_lane_budget_and_for_large_counts(coding):
    # The quad kernel splits counts into small int8 parts whose magnitudes sum to at most the lane
    # budget over the four channels of each int16 lane, and a sparse walk of the remainders: lanes
    # exactly at the budget (one count of 127 and one of 1, four of 32), one past it, lone counts at
    # and past the int8 limit, counts far beyond (also beyond int16, where the pair kernel cannot
    # run), against extreme weights, for every coder.
    from neurosim._int8_dot import QUAD_LANE_BUDGET as B

    rng = np.random.default_rng(len(coding))
    n_in = 37  # ragged groups: the quad layout pads each group to 8 channels
    values = np.array([0, 1, -1, B // 4, -B // 4, 127, -127, 128, -129, 2 * B + 1, -300, 5000, 2**15 + 3,
                       -(2**15) - 7])
    counts = rng.choice(values, size=(13, n_in))
    counts[0] = B // 4  # every lane at the budget: 4 x 32
    counts[1] = -B // 4
    counts[2] = B // 4 + 1  # every lane one past it
    counts[3] = 0
    counts[3, [0, 1]] = [127, 1]  # one lane at the budget through one count at the int8 limit
    counts[3, [2, 3, 6]] = [127, 1, 1]  # the other lane of the step one past it
    counts[4] = np.where(np.arange(n_in) % 2 == 0, 127, 0)  # 127 + 127 per lane: the excess on one
    counts[5] = -64  # every lane over budget with no count alone holding the excess: shared out in order
    if coding in UNSIGNED:
        counts = np.abs(counts)
    elif coding in ("binary", "ternary"):
        counts = np.clip(counts, -400, 400)  # unary codes: one event per unit
    q = rng.integers(-127, 128, size=(130, n_in))  # two full blocks of 64 outputs and a tail
    q[0] = 127
    q[1] = -127
    qw = QuantizedWeight(q=q, scales=rng.uniform(0.5, 2.0, size=(130, 3)), group_size=15)
    naive = naive_accumulate(counts, qw, coding)
    vth = rng.uniform(0.1, 2.0, size=(13, 1))
    dense = project_counts(counts, vth, qw, coding=coding, path="dense")
    for kernel in EVENT_KERNELS:
        acc, _ = integer_accumulate(counts, qw, coding=coding, kernel=kernel)
        np.testing.assert_array_equal(acc, naive)
        np.testing.assert_array_equal(project_counts(counts, vth, qw, coding=coding, kernel=kernel), dense)


def test_quad_kernel_is_exact_across_token_chunks():
    # The quad kernel works through the tokens in chunks (16) per output block: token counts around
    # and across chunk edges, with remainders (counts past the lane budget) in every chunk.
    from neurosim.engine import _QUAD_TOKEN_CHUNK as chunk

    rng = np.random.default_rng(77)
    qw = quantize_weight(rng.normal(size=(70, 40)), group_size=16)
    for tokens in (chunk - 1, chunk, chunk + 1, 2 * chunk + 5):
        counts = rng.integers(-6, 7, size=(tokens, 40))
        counts[::3, 5] = 200  # a remainder on every third token
        counts[1::5, 17] = -131
        vth = rng.uniform(0.1, 2.0, size=(tokens, 1))
        acc, _ = integer_accumulate(counts, qw, kernel="quads")
        np.testing.assert_array_equal(acc, naive_accumulate(counts, qw, "bidirectional"))
        np.testing.assert_array_equal(project_counts(counts, vth, qw, kernel="quads"),
                                      project_counts(counts, vth, qw, path="dense"))


def test_the_count_split_is_made_wherever_the_quad_kernel_can_run():
    # The quad kernel's count split is made speculatively in the statistics call (_plan); the quad
    # path reads it from the plan, so every (kernel, tokens, merge_planes) that can choose the quad
    # kernel must ask for it.
    import numba

    from neurosim import engine
    from neurosim.adaptive import spike_counts
    from neurosim.analysis.calibration import calibrated_activations

    if numba.config.DISABLE_JIT:
        pytest.skip("the quad kernel runs compiled only")
    qw = quantize_weight(np.random.default_rng(3).normal(size=(16, 256)), group_size=128)
    for tokens in (1, 2, 3, 17):
        c2 = spike_counts(calibrated_activations(tokens, 256, seed=tokens), 3.0)[0]
        for merge in (True, False):
            for kernel in EVENT_KERNELS:
                plan = engine._plan(c2, qw, "bidirectional", None, merge,
                                    split=engine._wants_split("event", kernel, merge, tokens))
                chosen = engine._choose_kernel(kernel, tokens, plan.stats, plan.acc_dtype, merge)
                assert chosen != "quads" or plan.quad_split is not None, (tokens, merge, kernel)


def test_counts_beyond_int16_fall_back_to_the_walk_exactly():
    counts = np.zeros((5, 8), dtype=np.int64)
    counts[:, 0] = 2**15  # one past the int16 range; the bound still fits int32
    counts[2, 3] = -(2**15) - 5
    qw = quantize_weight(np.random.default_rng(1).normal(size=(9, 8)), group_size=4)
    acc, _ = integer_accumulate(counts, qw, kernel="pairs")
    assert acc.dtype == np.int32
    np.testing.assert_array_equal(acc, naive_accumulate(counts, qw, "bidirectional"))


def test_auto_kernel_matches_both_kernels_on_calibrated_activations():
    from neurosim.analysis.calibration import calibrated_activations

    rng = np.random.default_rng(5)
    qw = quantize_weight(rng.normal(size=(96, 256)), group_size=128)
    for tokens in (1, 2, 8, 13):
        x = calibrated_activations(tokens, 256, seed=tokens)
        outs = [w8aspike_linear(x, qw, kernel=kern).output for kern in EVENT_KERNELS]
        dense = w8aspike_linear(x, qw, path="dense").output
        for out in outs:
            np.testing.assert_array_equal(out, dense)


@pytest.mark.parametrize("portable", [False, True])
def test_pair_block_equals_numpy_with_and_without_avx2(portable):
    # The intrinsic on its own: AVX2 vpmaddwd where the host has it, and the generic vector IR that
    # other CPUs compile (forced here with portable=True), against NumPy int64 dot products.
    import numba

    from neurosim._int8_dot import pair_block

    if numba.config.DISABLE_JIT:
        pytest.skip("an LLVM intrinsic has no pure-Python form (the NUMBA_DISABLE_JIT run covers the walk)")
    block = pair_block(2, 3, portable=portable)

    @numba.njit
    def run(w, c, n_pairs, out):
        block(w, 0, n_pairs * 16, c, 0, n_pairs, n_pairs, out, 0, 16)

    rng = np.random.default_rng(9)
    n_pairs = 5
    q = rng.integers(-127, 128, size=(16, 2 * n_pairs)).astype(np.int8)  # 2 vectors of 8 outputs
    counts = rng.integers(-(2**15) + 1, 2**15, size=(3, 2 * n_pairs)).astype(np.int16)
    counts[0] = 2**15 - 1
    q[0] = -127
    # packed: vector v, pair p -> (q[8v + j, 2p], q[8v + j, 2p + 1]) for j in 0..7
    w = q.reshape(2, 8, n_pairs, 2).transpose(0, 2, 1, 3).reshape(-1).copy()
    out = np.zeros(3 * 16, dtype=np.int32)
    run(w, counts.reshape(-1).copy(), n_pairs, out)
    expected = counts.astype(np.int64) @ q.T.astype(np.int64)  # [tokens, 16 outputs]
    np.testing.assert_array_equal(out.reshape(3, 16), expected)


@pytest.mark.parametrize("portable", [False, True])
@pytest.mark.parametrize("steps", [1, 2])
def test_quad_block_equals_numpy_at_the_lane_budget(portable, steps):
    # The unsigned-byte intrinsic on its own (AVX2 vpmaddubsw + vpmaddwd, and the generic vector IR),
    # at its extremes: offset weights 255 (q = 127) and 1 (q = -127) against lanes whose 4 * steps
    # counts between widenings sum to the budget in magnitude (127 + 1, 32 x 4, 64 + 64, random
    # splits), where the int16 lane sums reach 255 * 128 = 32640, just inside int16.
    import numba

    from neurosim._int8_dot import QUAD_LANE_BUDGET, QUAD_LANE_CHANNELS, quad_block

    if numba.config.DISABLE_JIT:
        pytest.skip("an LLVM intrinsic has no pure-Python form (the NUMBA_DISABLE_JIT run covers the walk)")
    block = quad_block(2, 4, steps=steps, portable=portable)

    @numba.njit
    def run(w, c, n_quads, out):
        block(w, 0, n_quads * 32, c, 0, n_quads, n_quads, out, 0, 16)

    rng = np.random.default_rng(9 + steps)
    n_quads = 12
    q = rng.integers(-127, 128, size=(16, 4 * n_quads))  # 2 vectors of 8 outputs
    q[0] = 127
    q[1] = -127
    lane_patterns = [(127, 1, 0, 0), (32, 32, 32, 32), (0, 64, 0, 64), (1, 0, 0, 127)]
    counts = np.zeros((4, 4 * n_quads), dtype=np.int64)
    span = 8 * steps  # channels between two widenings
    for tok in range(4):
        sign = 1 if tok % 2 == 0 else -1
        for first in range(0, 4 * n_quads, span):
            for lane, chans in enumerate(QUAD_LANE_CHANNELS):
                idx = [first + 8 * st + d for st in range(steps) for d in chans]
                if tok < 2:  # a pattern in one step of the span, zeros in the other
                    mags = np.zeros(4 * steps, dtype=np.int64)
                    at = 4 * ((first // span + lane) % steps)
                    mags[at:at + 4] = lane_patterns[(first // span + lane + tok) % len(lane_patterns)]
                else:  # random magnitudes that sum to the budget
                    cut = np.sort(rng.integers(0, QUAD_LANE_BUDGET + 1, size=4 * steps - 1))
                    mags = np.minimum(np.diff(np.concatenate([[0], cut, [QUAD_LANE_BUDGET]])), 127)
                signs = sign * (rng.integers(0, 2, size=4 * steps) * 2 - 1 if tok >= 2 else np.ones(4 * steps, int))
                counts[tok, idx] = signs * mags
    lane_sums = np.abs(counts[:2]).reshape(2, -1, steps, 2, 2, 2).sum(axis=(2, 3, 5))  # (tok, span, lane)
    assert lane_sums.max() == QUAD_LANE_BUDGET
    # packed: vector v, quad p -> (q[8v + j, 4p + h] + 128) for j in 0..7, h in 0..3
    w = (q + 128).astype(np.uint8).reshape(2, 8, n_quads, 4).transpose(0, 2, 1, 3).reshape(-1).copy()
    out = np.zeros(4 * 16, dtype=np.int32)
    run(w, counts.astype(np.int8).reshape(-1).copy(), n_quads, out)
    expected = counts @ (q + 128).T  # [tokens, 16 outputs], int64
    np.testing.assert_array_equal(out.reshape(4, 16), expected)


def test_add_byte_column_equals_numpy_for_every_byte():
    # The quad kernel's remainder step on its own: one byte (channel) of 8 packed uint32 words
    # (outputs), stored q + 128, times an int32 multiplier, added to 8 int32 accumulators.
    import numba

    from neurosim._int8_dot import add_byte_column

    if numba.config.DISABLE_JIT:
        pytest.skip("an LLVM intrinsic has no pure-Python form (the NUMBA_DISABLE_JIT run covers the walk)")

    @numba.njit
    def run(acc, a_off, words, w_off, shift, mult):
        add_byte_column(acc, a_off, words, w_off, shift, mult)

    rng = np.random.default_rng(21)
    stored = rng.integers(0, 256, size=(3, 8, 4)).astype(np.uint8)  # (word block, output, byte)
    stored[0, 0] = [0, 255, 1, 128]  # q = -128, 127, -127, 0
    words = stored.reshape(-1).view(np.uint32)  # little-endian: byte h is bits 8h..8h+7
    acc = rng.integers(-1000, 1000, size=40).astype(np.int32)
    expected = acc.astype(np.int64)
    for block, byte, mult, a_off in [(0, 0, 3, 0), (0, 1, -5000, 8), (1, 2, 1, 16), (2, 3, -1, 29), (0, 3, 127, 3)]:
        run(acc, a_off, words, 8 * block, 8 * byte, mult)
        expected[a_off:a_off + 8] += mult * (stored[block, :, byte].astype(np.int64) - 128)
    np.testing.assert_array_equal(acc, expected)
