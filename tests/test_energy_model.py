"""Per-token model energy records and NeuroBench-compatible counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.energy.model_energy import RECORD_COLUMNS, energy_frame, energy_records, model_energy, model_workload
from neurosim.energy.modes import EXECUTION_MODES as MODES
from neurosim.energy.neurobench import compare_operations, neurobench_counts, neurobench_from_tally
from neurosim.energy.profiles import get_profile
from neurosim.energy.tables import get_table
from neurosim.energy.workload import SpikeActivity
from neurosim.exceptions import InputError, NotFoundError, ShapeError

counts_mod = pytest.importorskip("neurosim.counts")
models = pytest.importorskip("neurosim.models")


@pytest.fixture
def counts_7b():
    return counts_mod.analytical_counts(models.get_model_config("spikingbrain-7b"), context_length=4096)


# ---- model energy -------------------------------------------------------------------------------
def test_workload_mirrors_model_counts(counts_7b):
    wl = model_workload(counts_7b)
    assert wl.projection_macs == pytest.approx(counts_7b.projection_macs_per_token)
    assert wl.spiked_macs == pytest.approx(counts_7b.spiked_macs_per_token)
    assert wl.attention_macs == pytest.approx(counts_7b.attention_macs_per_token)
    assert model_workload("spikingbrain-7b", context_length=4096).projection_macs == wl.projection_macs


def test_event_compute_on_the_paper_profile_is_the_paper_per_mac_figure(counts_7b):
    # scope="spiked": exactly the work the report's per-MAC estimate covers
    t = get_table("horowitz-45nm")
    res = model_energy(counts_7b, mode="w8aspike-event", profile="paper-45nm", scope="spiked")
    spiked = counts_7b.spiked_macs_per_token
    assert res.breakdown.compute_j == pytest.approx(spiked * 1.13 * t.energy("int8.add"), rel=1e-9)
    fp16 = model_energy(counts_7b, mode="fp16-dense", profile="paper-45nm", scope="spiked")
    assert fp16.breakdown.compute_j == pytest.approx(spiked * t.energy("fp16.mac"), rel=1e-9)
    # compute-only ratio is the report's 0.0339/1.5; memory makes the whole-token ratio far smaller
    assert res.breakdown.compute_j / fp16.breakdown.compute_j == pytest.approx(0.0339 / 1.5, rel=1e-9)
    assert res.breakdown.total_j / fp16.breakdown.total_j > 0.3


def test_memory_term_is_weights_times_fetch_energy(counts_7b):
    p = get_profile("paper-45nm")
    res = model_energy(counts_7b, mode="int8-dense", profile=p, scope="spiked")
    w = counts_7b.spiked_macs_per_token  # one INT8 weight byte per MAC per token
    assert res.breakdown.memory_j == pytest.approx(w * (p.costs.dram_bytes + p.costs.sram_bytes), rel=1e-9)
    ev = model_energy(counts_7b, mode="w8aspike-event", profile=p, scope="spiked")
    assert ev.breakdown.memory_j == pytest.approx(0.816 * res.breakdown.memory_j, rel=1e-9)


def test_records_rows_skips_and_json(counts_7b):
    rec = energy_records(counts_7b, profiles=["paper-45nm", "nvidia-h100", "loihi"])
    json.dumps(rec)  # JSON-ready
    rows = rec["rows"]
    assert {(r["mode"], r["profile"]) for r in rows} == {(m, p) for m in MODES for p in ("paper-45nm", "nvidia-h100")}
    for r in rows:
        assert r["total_j"] == pytest.approx(r["compute_j"] + r["memory_j"] + r["static_j"])
        assert r["total_j"] > 0 and np.isfinite(r["total_j"])
        if r["mode"] == "fp16-dense":
            assert r["ratio_vs_fp16"] == pytest.approx(1.0)
    skipped = {(s["mode"], s["profile"]): s["reason"] for s in rec["skipped"]}
    assert set(skipped) == {(m, "loihi") for m in MODES}
    assert "mac_int8" in skipped[("w8aspike-event", "loihi")]
    assert rec["assumptions"]["stats"]["spikes_per_channel"] == 1.13


def test_frame_columns_and_neuromorphic_baseline(counts_7b):
    frame = energy_frame(counts_7b, profiles=["paper-45nm", "loihi"], scope="spiked")
    assert tuple(frame.columns) == RECORD_COLUMNS
    assert not frame.isna().any().any()
    loihi = frame[frame.profile == "loihi"]
    assert list(loihi["mode"]) == ["w8aspike-event"]
    assert loihi["baseline"].iloc[0] == "fp16-dense@paper-45nm"
    base = frame[(frame.profile == "paper-45nm") & (frame["mode"] == "fp16-dense")]["total_j"].iloc[0]
    assert loihi["ratio_vs_fp16"].iloc[0] == pytest.approx(loihi["total_j"].iloc[0] / base)
    assert len(frame.attrs["skipped"]) == 3


def test_measured_statistics_change_the_event_energy(counts_7b):
    low = SpikeActivity(0.5, 0.5)
    a = model_energy(counts_7b, mode="w8aspike-event", profile="paper-45nm", scope="spiked", stats=low)
    b = model_energy(counts_7b, mode="w8aspike-event", profile="paper-45nm", scope="spiked")
    assert a.breakdown.compute_j == pytest.approx(b.breakdown.compute_j * 0.5 / 1.13, rel=1e-9)


def test_bad_model_inputs():
    with pytest.raises(NotFoundError, match="spikingbrain-7b"):
        model_energy("spikingbrain-8b", mode="int8-dense", profile="paper-45nm")
    with pytest.raises(InputError, match="'model' must be"):
        model_workload(3.5)
    with pytest.raises(NotFoundError, match="energy-report --list-profiles"):
        model_energy("spikingbrain-7b", mode="int8-dense", profile="tpu")


# ---- NeuroBench -----------------------------------------------------------------------------------------
def test_neurobench_binary_input_counts_acs():
    x = np.array([[1, 0, -1, 0], [0, 0, 1, 1]])
    nb = neurobench_counts(x, 3)
    assert nb.spiking_input and nb.dense == 2 * 4 * 3
    assert nb.effective_acs == 4 * 3 and nb.effective_macs == 0


def test_neurobench_multivalued_counts_undercount_events():
    x = np.array([[5, 0, 0, 0]])
    nb = neurobench_counts(x, 10)
    assert not nb.spiking_input and nb.effective_macs == 10  # one nonzero input, counted as MACs
    bitwise = compare_operations(x, 10, coding="bitwise")
    ternary = compare_operations(x, 10, coding="ternary")
    assert bitwise.spike_events == 2 and bitwise.synaptic_ops == 20  # 5 = 101b: two events
    assert ternary.spike_events == 5 and ternary.synaptic_ops == 50
    assert bitwise.undercount_factor == pytest.approx(2.0)
    assert ternary.undercount_factor == pytest.approx(5.0)
    json.dumps(bitwise.to_dict())


def test_neurobench_zero_weights_reduce_effective_ops():
    x = np.array([[2, 1], [0, 3]])
    w = np.array([[1, 0], [1, 2], [0, 0]])  # fan-out: channel 0 -> 2, channel 1 -> 1
    nb = neurobench_counts(x, weights=w)
    assert nb.effective_macs == 2 + 1 + 1 and nb.dense == 2 * 2 * 3
    cmp = compare_operations(x, weights=w, coding="binary")
    assert cmp.synaptic_ops == 2 * 2 + 1 * 1 + 3 * 1
    with pytest.raises(ShapeError, match="'weights' must have shape"):
        neurobench_counts(x, 3, weights=np.ones((2, 2)))


def test_neurobench_from_tally_agrees_with_array():
    engine = pytest.importorskip("neurosim.engine")
    quant = pytest.importorskip("neurosim.quant")
    rng = np.random.default_rng(5)
    x = rng.integers(-3, 4, size=(6, 128))
    w = quant.quantize_weight(rng.normal(size=(16, 128)), group_size=128)
    _, tally = engine.integer_accumulate(x, w, coding="bidirectional")
    a, b = neurobench_from_tally(tally), neurobench_counts(x, 16)
    assert (a.dense, a.effective_macs, a.effective_acs, a.spiking_input) == \
        (b.dense, b.effective_macs, b.effective_acs, b.spiking_input)
    assert compare_operations(x, 16).synaptic_ops == tally.synaptic_ops
