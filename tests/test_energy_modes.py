"""Execution modes, the action calculator, spike statistics and block-granular weight skipping."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from neurosim.energy.actions import ACTIONS, ActionCosts, ActionCounts, evaluate
from neurosim.energy.modes import EXECUTION_MODES as MODES, mode_counts, mode_energy
from neurosim.energy.profiles import get_profile, load_profile
from neurosim.counts import ProjectionSpec
from neurosim.energy.workload import SpikeActivity, Workload
from neurosim.exceptions import InputError, NotFoundError
from neurosim.tally import BLOCK_SIZES

from naive import naive_projection_tally

DATA = Path(__file__).parent / "data" / "energy"


def spike_pattern(rng, tokens, n_in, silent_share, *, clustered=False):
    """Counts in {1, 2, 3} with exactly round(silent_share * tokens * n_in) silent slots."""
    counts = rng.integers(1, 4, size=(tokens, n_in))
    n_silent = round(silent_share * tokens * n_in)
    if clustered:
        # silence in contiguous channel runs: the first channels of each token
        flat = np.zeros(tokens * n_in, dtype=bool)
        per_tok, extra = divmod(n_silent, tokens)
        for t in range(tokens):
            k = per_tok + (1 if t < extra else 0)
            flat[t * n_in:t * n_in + k] = True
        mask = flat.reshape(tokens, n_in)
    else:
        mask = np.zeros(tokens * n_in, dtype=bool)
        mask[rng.choice(tokens * n_in, size=n_silent, replace=False)] = True
        mask = mask.reshape(tokens, n_in)
    counts[mask] = 0
    return counts


# ---- the calculator ----------------------------------------------------------------------------
def _random_counts(rng):
    return ActionCounts(**{a: float(rng.uniform(0, 1e6)) for a in ACTIONS})


@pytest.mark.parametrize("profile", ["paper-45nm", "nvidia-h100", "metax-c550"])
def test_energy_is_linear_in_counts(profile):
    rng = np.random.default_rng(7)
    costs = replace(get_profile(profile).costs, static_power_w=0.5, seconds={"mac_int8": 1e-9})
    a, b = _random_counts(rng), _random_counts(rng)
    ea, eb, eab = evaluate(a, costs), evaluate(b, costs), evaluate(a + b, costs)
    for part in ("compute_j", "memory_j", "static_j", "total_j"):
        assert getattr(eab, part) == pytest.approx(getattr(ea, part) + getattr(eb, part), rel=1e-12)
    e3 = evaluate(a.scaled(3.0), costs)
    assert e3.total_j == pytest.approx(3 * ea.total_j, rel=1e-12)
    # and it is the table-times-count sum, action by action
    for act in ACTIONS:
        assert ea.by_action[act] == pytest.approx(getattr(a, act) * getattr(costs, act), rel=1e-12)


def test_evaluate_refuses_to_price_a_missing_cost_as_zero():
    with pytest.raises(InputError, match="mac_fp16"):
        evaluate(ActionCounts(mac_fp16=1.0), ActionCosts(mac_int8=1e-12))
    # a zero count needs no figure
    assert evaluate(ActionCounts(mac_int8=2.0), ActionCosts(mac_int8=1e-12)).total_j == pytest.approx(2e-12)


def test_static_energy_is_power_times_busy_time():
    costs = ActionCosts(add_int8=1e-12, static_power_w=0.1, seconds={"add_int8": 2e-9})
    e = evaluate(ActionCounts(add_int8=1000.0), costs)
    assert e.busy_s == pytest.approx(2e-6)
    assert e.static_j == pytest.approx(0.1 * 2e-6)
    assert e.total_j == pytest.approx(1e-9 + 2e-7)
    note = evaluate(ActionCounts(add_int8=1.0), ActionCosts(add_int8=1e-12, static_power_w=0.1))
    assert note.static_j == 0 and "static power not charged" in note.notes[0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"mac_int8": -1.0}, r"ActionCounts\.mac_int8 must be a finite number >= 0"),
    ({"dram_bytes": float("nan")}, r"ActionCounts\.dram_bytes"),
])
def test_bad_counts(kwargs, match):
    with pytest.raises(InputError, match=match):
        ActionCounts(**kwargs)


# ---- modes --------------------------------------------------------------------------------------
def test_mode_counts_per_mode():
    wl = Workload("w", (ProjectionSpec("a", 100, 40, calls_per_token=2.0),
                        ProjectionSpec("head", 40, 10, spiked=False)), attention_macs=500.0, state_bytes=64.0)
    st = SpikeActivity(2.0, 0.25)
    d_spiked, d_head = 100 * 40 * 2.0, 40 * 10
    fp16 = mode_counts("fp16-dense", wl, st)
    assert fp16.mac_fp16 == d_spiked + d_head + 500 and fp16.mac_int8 == 0
    assert fp16.dram_bytes == 2 * (d_spiked + d_head) + 64
    int8 = mode_counts("int8-dense", wl, st)
    assert int8.mac_int8 == d_spiked + d_head + 500 and int8.dram_bytes == d_spiked + d_head + 32
    gpu = mode_counts("w8aspike-gpu", wl, st)
    assert gpu.mac_int8 == int8.mac_int8 and gpu.neuron_updates == 200
    ev = mode_counts("w8aspike-event", wl, st)
    events = 2.0 * 100 * 2.0
    assert ev.add_int8 == events * 40
    assert ev.spike_events == events and ev.shift == events
    assert ev.mac_int8 == d_head + 500
    assert ev.sram_bytes == pytest.approx(d_spiked * 0.75 + d_head + 32)
    spiked_only = mode_counts("w8aspike-event", wl, st, scope="spiked")
    assert spiked_only.mac_int8 == 0 and spiked_only.add_int8 == ev.add_int8


def test_zero_spikes_give_zero_dynamic_compute_in_event_mode():
    wl = Workload.single(256, 64)
    silent = SpikeActivity(0.0, 1.0)
    paper = get_profile("paper-45nm")
    res = mode_energy("w8aspike-event", wl, paper, silent)
    assert res.breakdown.compute_j == 0.0
    assert res.breakdown.memory_j == 0.0  # every block silent: no weight row fetched
    # on Loihi the synaptic and routing parts vanish; neuron updates still happen (and are priced)
    loihi = mode_energy("w8aspike-event", wl, get_profile("loihi"), silent)
    by = loihi.breakdown.by_action
    assert by["add_int8"] == by["spike_events"] == by["shift"] == 0.0
    assert by["neuron_updates"] == pytest.approx(256 * 81e-12)
    # while a dense mode does the same work regardless of silence
    dense = mode_energy("int8-dense", wl, paper, silent)
    assert dense.breakdown.compute_j == pytest.approx(256 * 64 * paper.costs.mac_int8)


def test_event_compute_follows_spike_count_linearly():
    wl = Workload.single(512, 128)
    paper = get_profile("paper-45nm")
    e1 = mode_energy("w8aspike-event", wl, paper, SpikeActivity(1.0, 0.2)).breakdown.compute_j
    e3 = mode_energy("w8aspike-event", wl, paper, SpikeActivity(3.0, 0.2)).breakdown.compute_j
    assert e3 == pytest.approx(3 * e1, rel=1e-12)
    assert e1 == pytest.approx(512 * 128 * paper.costs.add_int8, rel=1e-12)


def test_shift_and_event_overhead_options():
    wl = Workload.single(100, 10)
    st = SpikeActivity(1.5, 0.1)
    p = get_profile("paper-45nm")
    base = mode_energy("w8aspike-event", wl, p, st).breakdown
    shifted = mode_energy("w8aspike-event", wl, p, st, shift_energy=1e-14, event_overhead=2e-13).breakdown
    events = 150.0
    assert shifted.compute_j - base.compute_j == pytest.approx(events * (1e-14 + 2e-13), rel=1e-9)
    with pytest.raises(InputError, match="'shift_energy' must be a finite number >= 0"):
        mode_energy("w8aspike-event", wl, p, st, shift_energy=-1.0)


def test_not_applicable_modes_carry_a_reason_not_zero():
    wl = Workload.single(64, 64)
    loihi = get_profile("loihi")
    res = mode_energy("fp16-dense", wl, loihi)
    assert res.breakdown is None and not res.applicable
    assert "FP16" in res.reason
    # event mode with a dense (unspiked) projection: Loihi has no MAC figure
    wl2 = Workload("w", (ProjectionSpec("a", 64, 64), ProjectionSpec("head", 64, 8, spiked=False)))
    res2 = mode_energy("w8aspike-event", wl2, loihi)
    assert res2.breakdown is None and "mac_int8" in res2.reason and "scope='spiked'" in res2.reason
    assert mode_energy("w8aspike-event", wl2, loihi, scope="spiked").applicable


def test_unknown_mode_and_bad_options():
    wl = Workload.single(8, 8)
    with pytest.raises(NotFoundError, match="w8aspike-event"):
        mode_counts("w8aspike-evnt", wl)
    with pytest.raises(InputError, match="'weight_reuse' must be a number >= 1"):
        mode_counts("int8-dense", wl, weight_reuse=0.5)
    with pytest.raises(InputError, match="'block_size' must be an int >= 1"):
        mode_counts("w8aspike-event", wl, block_size=0)
    with pytest.raises(InputError, match="'scope' must be"):
        mode_counts("int8-dense", wl, scope="some")
    with pytest.raises(InputError, match="'profile' must be a HardwareProfile"):
        mode_energy("int8-dense", wl, "paper-45nm")


def test_weight_reuse_divides_dram_traffic_only():
    wl = Workload.single(128, 32)
    one = mode_counts("int8-dense", wl, weight_reuse=1)
    eight = mode_counts("int8-dense", wl, weight_reuse=8)
    assert eight.dram_bytes == pytest.approx(one.dram_bytes / 8)
    assert eight.sram_bytes == one.sram_bytes


def test_user_profile_static_energy_from_rate():
    p = load_profile(DATA / "profile-custom.toml")
    wl = Workload.single(100, 50)
    res = mode_energy("w8aspike-event", wl, p, SpikeActivity(2.0, 0.0))
    synops = 2.0 * 100 * 50
    assert res.breakdown.static_j == pytest.approx(0.01 * synops / 100e9)
    assert res.breakdown.compute_j == pytest.approx(synops * 2e-12 + 200 * 0.5e-12)


# ---- spike statistics and block-granular skipping ------------------------------------------------------
def test_paper_statistics():
    st = SpikeActivity.paper()
    assert st.spikes_per_channel == 1.13 and st.silent_fraction == 0.184
    # stated stats: independent silence per channel
    assert st.block_active_fraction(1) == pytest.approx(0.816)
    assert st.block_active_fraction(8) == pytest.approx(1 - 0.184**8)
    # short last block: 10 channels in blocks of 8 -> one block of 8 and one of 2
    assert st.block_active_fraction(8, 10) == pytest.approx((8 * (1 - 0.184**8) + 2 * (1 - 0.184**2)) / 10)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"spikes_per_channel": -1.0, "silent_fraction": 0.1}, "'spikes_per_channel'"),
    ({"spikes_per_channel": 1.0, "silent_fraction": 1.5}, r"'silent_fraction' must lie in \[0, 1\]"),
    ({"spikes_per_channel": 1.0, "silent_fraction": 1.0}, "means no spikes"),
    ({"spikes_per_channel": 1.0, "silent_fraction": 0.1, "active_block_fraction": {0: 0.5}}, "'block_size'"),
])
def test_bad_statistics(kwargs, match):
    with pytest.raises(InputError, match=match):
        SpikeActivity(**kwargs)


def test_numpy_scalars_are_accepted_and_stored_as_float():
    st = SpikeActivity(np.float32(1.25), np.float64(0.5), {np.int64(8): np.float32(0.75)})
    assert type(st.spikes_per_channel) is float and st.spikes_per_channel == 1.25
    assert st.block_active_fraction(8) == 0.75
    shape = ProjectionSpec("p", np.int64(16), np.int32(4))
    assert type(shape.in_features) is int
    assert ActionCounts(mac_int8=np.float32(2.0)).mac_int8 == 2.0


def test_statistics_from_tally_match_the_pattern():
    rng = np.random.default_rng(3)
    counts = spike_pattern(rng, 20, 64, 0.25)
    st = SpikeActivity.from_tally(naive_projection_tally(counts, 16))
    assert st.silent_fraction == pytest.approx(np.mean(counts == 0))
    assert st.spikes_per_channel == pytest.approx(np.abs(counts).sum() / counts.size)
    assert st.active_block_fraction[1] == pytest.approx(np.mean(counts != 0))
    assert "measured" in st.source


def _memory_saving(stats, block_size, n_in=512, n_out=64):
    wl = Workload.single(n_in, n_out)
    p = get_profile("paper-45nm")
    dense = mode_energy("int8-dense", wl, p, stats).breakdown.memory_j
    event = mode_energy("w8aspike-event", wl, p, stats, block_size=block_size).breakdown.memory_j
    return 1.0 - event / dense


def test_channel_skipping_saves_exactly_the_silent_share_and_coarser_blocks_less():
    rng = np.random.default_rng(2025)
    counts = spike_pattern(rng, 125, 512, 0.184)  # 11,776 of 64,000 slots silent: exactly 18.4%
    tally = naive_projection_tally(counts, 64)
    assert tally.silent_fraction == pytest.approx(0.184, abs=1e-15)
    st = SpikeActivity.from_tally(tally)
    savings = [_memory_saving(st, b) for b in BLOCK_SIZES]
    assert savings[0] == pytest.approx(0.184, rel=1e-12)
    # randomly placed silence: coarser blocks save less; a block of 8 is silent with probability
    # 0.184**8 ~ 1e-6, so from 8 channels on almost nothing is saved
    assert all(a >= b for a, b in zip(savings, savings[1:]))
    assert savings[1] < 0.01 < savings[0]
    # the same share of silence in contiguous runs survives coarse blocks much better
    clustered = SpikeActivity.from_tally(naive_projection_tally(spike_pattern(rng, 125, 512, 0.184, clustered=True), 64))
    c_sav = [_memory_saving(clustered, b) for b in BLOCK_SIZES]
    assert c_sav[0] == pytest.approx(0.184, rel=1e-12)
    assert all(a >= b for a, b in zip(c_sav, c_sav[1:]))
    assert c_sav[1] > savings[1] and c_sav[2] > 0.1


def test_stated_statistics_skipping_matches_independence_formula():
    st = SpikeActivity.paper()
    assert _memory_saving(st, 1) == pytest.approx(0.184, rel=1e-12)
    assert _memory_saving(st, 8) == pytest.approx(0.184**8, rel=1e-9)


def test_engine_tally_feeds_statistics():
    # the engine's own tally (not our naive twin) gives the same measured statistics
    engine = pytest.importorskip("neurosim.engine")
    quant = pytest.importorskip("neurosim.quant")
    rng = np.random.default_rng(11)
    counts = spike_pattern(rng, 16, 256, 0.3)
    w = quant.quantize_weight(rng.normal(size=(32, 256)), group_size=128)
    _, tally = engine.integer_accumulate(counts, w, coding="bidirectional")
    ours = naive_projection_tally(counts, 32)
    st_engine, st_naive = SpikeActivity.from_tally(tally), SpikeActivity.from_tally(ours)
    assert st_engine.silent_fraction == pytest.approx(st_naive.silent_fraction)
    for b in BLOCK_SIZES:
        assert st_engine.active_block_fraction[b] == pytest.approx(st_naive.active_block_fraction[b])


def test_reuse_in_event_mode_unions_blocks_over_the_batch():
    st = SpikeActivity(1.0, 0.5)
    wl = Workload.single(100, 10)
    c4 = mode_counts("w8aspike-event", wl, st, weight_reuse=4)
    # a channel is fetched from DRAM when any of 4 independent tokens needs it: 1 - 0.5**4
    assert c4.dram_bytes == pytest.approx(1000 * (1 - 0.5**4) / 4)
    assert c4.sram_bytes == pytest.approx(1000 * 0.5)


def test_modes_constant():
    assert MODES == ("fp16-dense", "int8-dense", "w8aspike-gpu", "w8aspike-event")
