"""Memory traffic of spiking networks (weights per synaptic event, neuron state per update)."""

from __future__ import annotations

import pytest

from neurosim.energy.memory_traffic import DEFAULT_STATE_BYTES, memory_level, snn_memory_traffic
from neurosim.energy.profiles import get_profile
from neurosim.exceptions import InputError


def test_bytes_by_hand_and_priced_at_the_profile_level() -> None:
    p = get_profile("paper-45nm")
    m = snn_memory_traffic(synaptic_events=1000, neuron_updates=50, profile=p, dense_macs=10)
    assert m.level == "sram" == memory_level(p)
    assert m.weight_read_bytes == 1000 * 1 + 10 * 2          # INT8 synapses, FP16 MAC weights
    assert m.state_read_bytes == m.state_write_bytes == 50 * DEFAULT_STATE_BYTES
    assert m.total_j == pytest.approx(m.total_bytes * p.costs.sram_bytes)
    assert any("float32" in n for n in m.notes)


def test_gpu_traffic_goes_to_hbm() -> None:
    p = get_profile("nvidia-h100")
    m = snn_memory_traffic(synaptic_events=100, neuron_updates=10, profile=p, state_bytes=2)
    assert m.level == "dram" and m.cost_per_byte == p.costs.dram_bytes > 0
    assert m.total_j == pytest.approx((100 + 2 * 10 * 2) * p.costs.dram_bytes)


def test_on_chip_access_inside_the_event_energy_is_not_counted_twice() -> None:
    p = get_profile("loihi")
    m = snn_memory_traffic(synaptic_events=100, neuron_updates=10, profile=p)
    assert m.total_bytes > 0 and m.total_j == 0.0
    assert any("inside synop_energy" in n for n in m.notes)
    # the profile's own state size is used
    assert m.state_read_bytes == 10 * p.params["neuron_state_bytes"].value


def test_row_granularity_reads_whole_rows() -> None:
    p = get_profile("paper-45nm")
    m = snn_memory_traffic(synaptic_events=30, neuron_updates=0, profile=p, granularity="row",
                           input_events=3, row_bytes=64)
    assert m.weight_read_bytes == 3 * 64
    with pytest.raises(InputError, match="row_bytes"):
        snn_memory_traffic(synaptic_events=30, neuron_updates=0, profile=p, granularity="row")
    with pytest.raises(InputError, match="granularity"):
        snn_memory_traffic(synaptic_events=1, neuron_updates=0, profile=p, granularity="block")
    with pytest.raises(InputError, match="neuron_updates"):
        snn_memory_traffic(synaptic_events=1, neuron_updates=-1, profile=p)


def test_memory_dominates_a_small_snn_on_the_45nm_table() -> None:
    # SpikingJelly's Simple and Lemaire models put ~99% of a small SNN's energy in memory; on the 45 nm
    # table (INT8 add 0.03 pJ, 32 KB SRAM per byte) neurosim's share is of the same order.
    p = get_profile("paper-45nm")
    syn, upd = 165_090.0, 2_128.0            # the SANA-FE 784-256-10 network, T = 8
    m = snn_memory_traffic(synaptic_events=syn, neuron_updates=upd, profile=p)
    compute = syn * p.costs.add_int8
    assert m.total_j / (m.total_j + compute) > 0.9


def test_profile_model_adds_neuron_state_traffic_in_spiking_modes() -> None:
    torch = pytest.importorskip("torch")
    from neurosim.analysis.torch_profile import profile_model

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))
    x = torch.randn(4, 16)
    prof = profile_model(net, x, profiles=("paper-45nm", "loihi"))
    rec = {(r["mode"], r["profile"]): r for r in prof.energy}
    ev = rec["w8aspike-event", "paper-45nm"]
    tokens = 4
    want_bytes = 2 * tokens * (16 + 32) * DEFAULT_STATE_BYTES        # read + write, both layers' inputs
    assert ev["memory_traffic"]["total_bytes"] == pytest.approx(want_bytes)
    assert ev["memory_traffic"]["total_j"] > 0
    assert rec["w8aspike-event", "loihi"]["memory_traffic"]["total_j"] == 0.0   # inside neuron_updates
    assert rec["fp16-dense", "paper-45nm"]["memory_traffic"] is None              # no spiking neurons
