"""System-level energy: time per step, static power, batch, phase and chips (neurosim.energy.system).

Expected values are recomputed here from the data files (read with tomllib) and the analytical counts,
not taken from the model's own output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
import tomllib

import pytest

from neurosim.counts import ProjectionSpec, analytical_counts
from neurosim.energy.profiles import get_profile, load_profile
from neurosim.energy.system import (
    break_even_spikes,
    chip_mapping,
    get_stack,
    system_energy,
    system_records,
)
from neurosim.energy.workload import SpikeActivity, Workload
from neurosim.exceptions import InputError, MissingFigureError, NotFoundError
from neurosim.models import get_model_config
from neurosim.reports.cli import main

DATA = Path(get_profile("nvidia-a100").path).parent


def _param(profile: str, name: str) -> float:
    """A profile parameter in SI, read straight from its TOML file."""
    raw = tomllib.loads((DATA / f"profile-{profile}.toml").read_text())["params"][name]
    factor = {"GB/s": 1e9, "W": 1.0, "mW": 1e-3, "MB": 1e6, "TFLOP/s": 1e12, "TOPS": 1e12, "pJ/bit": 8e-12,
              "pJ": 1e-12, "us": 1e-6, "1": 1.0, "GB": 1e9, "GSOP/s": 1e9, "ns": 1e-9}[raw["unit"]]
    return raw["value"] * factor


def _stack(name: str, key: str) -> float:
    return tomllib.loads((DATA / "stacks.toml").read_text())["stacks"][name]["params"][key]["value"]


# ---- GPUs --------------------------------------------------------------------------------------------
def test_decode_batch1_on_a100_is_memory_bound_at_weight_bytes_over_bandwidth():
    counts = analytical_counts(get_model_config("qwen2.5-7b"), context_length=4096)
    weight_bytes = 2.0 * sum(p.in_features * p.out_features for p in counts.projections)  # FP16
    hbm = weight_bytes + counts.state_bytes  # KV cache (bf16) read once per decoded token
    want = hbm / (_param("nvidia-a100", "hbm_bandwidth") * _stack("optimized", "bandwidth_efficiency"))
    r = system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100", batch=1, stack="optimized")
    assert r.bound_by == "memory"
    assert r.step_s == pytest.approx(want, rel=1e-9)
    assert r.seconds_per_token == r.step_s and r.chips == 1
    # static energy = idle power x time
    assert r.static_j == pytest.approx(_param("nvidia-a100", "idle_power") * want, rel=1e-9)
    assert r.total_j == pytest.approx(r.compute_j + r.memory_j + r.static_j + r.interchip_j)


def _host_per_layer(stack: str) -> float:
    raw = tomllib.loads((DATA / "stacks.toml").read_text())["stacks"][stack]["params"].get("host_overhead_per_layer")
    if raw is None:
        return 0.0
    return raw["value"] * {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[raw["unit"]]


def test_eager_decode_batch1_is_bound_by_host_time_per_layer():
    # An eager loop launches every op from Python: one forward pass per step takes at least the stack's host
    # time per decoder layer x layers, whatever the batch; the GPU idles (idle power) for the rest of it.
    cfg = get_model_config("qwen2.5-7b")
    host = _host_per_layer("eager") * cfg.n_layers
    counts = analytical_counts(cfg, context_length=4096)
    hbm = 2.0 * sum(p.in_features * p.out_features for p in counts.projections) + counts.state_bytes
    device = hbm / (_param("nvidia-a100", "hbm_bandwidth") * _stack("eager", "bandwidth_efficiency"))
    r = system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100", batch=1, stack="eager")
    assert r.times_s["host"] == pytest.approx(host, rel=1e-9)
    assert r.step_s == pytest.approx(max(host, device), rel=1e-9)
    assert r.bound_by == ("host" if host > device else "memory")
    assert r.static_j == pytest.approx(_param("nvidia-a100", "idle_power") * r.step_s, rel=1e-9)
    # the host time does not grow with the batch: at batch 64 it is shared by 64 tokens
    r64 = system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100", batch=64, stack="eager")
    assert r64.times_s["host"] == pytest.approx(host, rel=1e-9)
    # a serving engine (CUDA graphs) has no per-layer host term
    assert "host" not in system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100",
                                       stack="optimized").times_s


def test_a100_batch1_eager_is_near_published_measurements():
    # ML.ENERGY (A100, Llama-2-7B-chat, batch 1, PyTorch + FastChat): 1828.77 J / 420.07 tokens = 4.35 J;
    # NVML on single GPUs for Qwen2/Qwen2.5-7B FP16 at batch 1: 5.2-5.5 J per token.
    r = system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100", batch=1, stack="eager")
    assert 4.35 / 1.5 < r.total_j < 5.5 * 1.5
    # the old all-in per-op model gave ~0.5 J: static power x time is most of the figure at batch 1
    assert r.static_j > r.compute_j + r.memory_j


def test_doubling_batch_halves_weight_energy_per_token():
    wl = Workload("w", (ProjectionSpec("p", 4096, 4096),))  # no attention state: weights only
    for prof in ("nvidia-a100", "nvidia-h100", "paper-45nm"):
        e1 = system_energy(wl, mode="fp16-dense", profile=prof, batch=8, stack="optimized")
        e2 = system_energy(wl, mode="fp16-dense", profile=prof, batch=16, stack="optimized")
        assert e2.by_action_j["dram_bytes"] == pytest.approx(e1.by_action_j["dram_bytes"] / 2, rel=1e-12)
        assert e2.compute_j == pytest.approx(e1.compute_j, rel=1e-12)  # MACs per token do not change


def test_batch64_optimized_is_far_cheaper_per_token_than_batch1_eager():
    b1 = system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100", batch=1, stack="eager")
    b64 = system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100", batch=64, stack="optimized")
    assert b64.total_j < b1.total_j / 20
    assert b64.step_s > b1.step_s / 64  # a step of 64 sequences is not 64x faster per token for free
    assert b64.seconds_per_token == pytest.approx(b64.step_s / 64)


def test_long_prefill_is_compute_bound_and_respects_the_power_limit():
    r = system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100", phase="prefill",
                      prompt_tokens=2048, batch=1, stack="optimized")
    assert r.bound_by == "compute" and r.tokens_per_step == 2048
    dyn_per_step = (r.compute_j + r.memory_j) * r.tokens_per_step
    board, idle = _param("nvidia-a100", "board_power"), _param("nvidia-a100", "idle_power")
    assert r.step_s >= dyn_per_step / (board - idle) * (1 - 1e-12)
    flops = 2.0 * 2048 * analytical_counts(get_model_config("qwen2.5-7b"), context_length=2048,
                                           batch_prefill=True).total_macs_per_token
    want = flops / (_param("nvidia-a100", "peak_fp16") * _stack("optimized", "compute_efficiency"))
    assert r.times_s["compute"] == pytest.approx(want, rel=1e-9)


def test_model_larger_than_hbm_uses_several_gpus():
    r = system_energy("spikingbrain-76b", mode="fp16-dense", profile="nvidia-a100", batch=1)
    stored = 2.0 * sum(p.in_features * p.out_features * p.instances
                       for p in analytical_counts(get_model_config("spikingbrain-76b"), context_length=4096).projections)
    assert r.chips >= math.ceil(stored / _param("nvidia-a100", "hbm_capacity"))
    assert r.static_power_w == pytest.approx(r.chips * _param("nvidia-a100", "idle_power"))


# ---- event-driven chips -------------------------------------------------------------------------------
def test_chips_needed_from_weight_bytes_and_chip_memory():
    r = system_energy("spikingbrain-7b", mode="w8aspike-event", profile="loihi", scope="spiked")
    counts = analytical_counts(get_model_config("spikingbrain-7b"), context_length=4096)
    int8 = sum(p.in_features * p.out_features * p.instances for p in counts.projections if p.spiked)
    lower = math.ceil(int8 / _param("loihi", "synaptic_memory"))
    assert lower <= r.chips <= lower + len(counts.projections)  # in-order packing wastes at most one chip per cut
    assert r.chips > 100  # a 7B model never fits one Loihi
    # every chip draws static power for the whole step
    assert r.static_power_w == pytest.approx(r.chips * _param("loihi", "static_power"))
    assert r.static_j == pytest.approx(r.static_power_w * r.step_s / r.batch)
    assert r.static_charged


def test_chip_mapping_counts_messages_across_chips():
    loihi = get_profile("loihi")
    mem = _param("loihi", "synaptic_memory")
    side = int(math.sqrt(0.6 * mem))  # each projection fills 60% of a chip: two cannot share one
    wl = Workload("two", (ProjectionSpec("a", side, side), ProjectionSpec("b", side, side)))
    stats = SpikeActivity(2.0, 0.1)
    m = chip_mapping(wl, loihi, stats=stats)
    assert m.chips == 2 and m.spans == ((0, 0), (1, 1))
    assert m.messages_per_token == pytest.approx(side * 2.0)  # every input event of "b" crosses one boundary
    r = system_energy(wl, mode="w8aspike-event", profile=loihi, stats=stats)
    assert r.interchip_j == pytest.approx(side * 2.0 * _param("loihi", "interchip_energy"))
    rate = _param("loihi", "cores") / _param("loihi", "synop_time")
    synops = 2 * side * 2.0 * side
    assert r.step_s == pytest.approx(synops / rate + _param("loihi", "interchip_latency"))
    # one projection larger than a chip is split over consecutive chips; events go to each part
    big = Workload("big", (ProjectionSpec("a", side, side), ProjectionSpec("c", 2 * side, 2 * side)))
    mb = chip_mapping(big, loihi, stats=stats)
    first, last = mb.spans[1]
    assert last - first + 1 == math.ceil(4 * 0.6 * mem / mem - 1e-9) or last - first + 1 == 3
    assert mb.messages_per_token == pytest.approx(2 * side * 2.0 * (last - first + 1))


def test_speck_chips_and_static_power():
    r = system_energy("spikingbrain-7b", mode="w8aspike-event", profile="speck", scope="spiked")
    assert r.chips >= 7e9 / _param("speck", "synaptic_memory") * 0.9
    assert r.static_j == pytest.approx(r.chips * _param("speck", "resting_power") * r.step_s)


def test_profile_without_static_power_says_so():
    r = system_energy("spikingbrain-7b", mode="w8aspike-event", profile="spinnaker2", scope="spiked")
    assert not r.static_charged and r.static_j == 0
    assert any("NOT charged" in n for n in r.notes)


def test_idealised_profile_has_no_time_or_chips():
    r = system_energy("spikingbrain-7b", mode="w8aspike-event", profile="paper-45nm", scope="spiked")
    assert r.seconds_per_token is None and r.chips is None and r.static_j == 0 and r.bound_by == "none"


def test_break_even_spikes_bracket():
    s = break_even_spikes("spikingbrain-7b", profile="paper-45nm", batch=1)
    assert s is not None and 0 < s < 64
    st_lo = SpikeActivity(s * 0.9, 0.184 ** (s * 0.9 / 1.13))
    st_hi = SpikeActivity(s * 1.1, 0.184 ** (s * 1.1 / 1.13))
    dense = system_energy("spikingbrain-7b", mode="int8-dense", profile="paper-45nm", scope="spiked").total_j
    lo = system_energy("spikingbrain-7b", mode="w8aspike-event", profile="paper-45nm", scope="spiked", stats=st_lo)
    hi = system_energy("spikingbrain-7b", mode="w8aspike-event", profile="paper-45nm", scope="spiked", stats=st_hi)
    assert lo.total_j < dense < hi.total_j


# ---- records, bad input and the CLI -------------------------------------------------------------------
def test_records_skip_modes_a_profile_cannot_run():
    rec = system_records("spikingbrain-7b", profiles=["loihi", "nvidia-h100"], scope="spiked", batch=4)
    pairs = {(r["mode"], r["profile"]) for r in rec["rows"]}
    assert ("w8aspike-event", "loihi") in pairs and ("fp16-dense", "loihi") not in pairs
    assert {("fp16-dense", "loihi"), ("int8-dense", "loihi")} <= {(s["mode"], s["profile"]) for s in rec["skipped"]}
    for r in rec["rows"]:
        assert r["batch"] == 4 and r["phase"] == "decode"
        assert r["total_j"] == pytest.approx(r["compute_j"] + r["memory_j"] + r["static_j"] + r["interchip_j"])


@pytest.mark.parametrize(("kwargs", "err", "match"), [
    ({"batch": 0}, InputError, "'batch' must be an int > 0"),
    ({"batch": -3}, InputError, "'batch'"),
    ({"prompt_tokens": 0, "phase": "prefill"}, InputError, "'prompt_tokens'"),
    ({"phase": "train"}, InputError, "'phase'"),
    ({"stack": "turbo"}, NotFoundError, "unknown software stack preset 'turbo'"),
])
def test_bad_input_raises_typed_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        system_energy("qwen2.5-7b", mode="fp16-dense", profile="nvidia-a100", **kwargs)


def test_missing_figure_names_parameter_and_file(tmp_path):
    src = (DATA / "profile-nvidia-a100.toml").read_text()
    start = src.index("[params.hbm_capacity]")
    end = src.index("[params.board_power]")
    path = tmp_path / "profile-gpu-nocap.toml"
    path.write_text(src[:start] + src[end:])
    prof = load_profile(path)  # the costs do not need the capacity; the chip count does
    with pytest.raises(MissingFigureError, match=r"'hbm_capacity'.*profile-gpu-nocap\.toml"):
        system_energy("qwen2.5-7b", mode="fp16-dense", profile=prof)


def test_stack_host_overhead_must_be_a_time(tmp_path):
    from neurosim.energy.system import _load_stacks
    from neurosim.exceptions import ConfigError

    src = (DATA / "stacks.toml").read_text()
    start = src.index("[stacks.eager.params.host_overhead_per_layer]")
    block = src[start:].split("\n\n", 1)[0]
    bad = src.replace(block, block.replace('unit = "ms"', 'unit = "W"'))
    path = tmp_path / "stacks.toml"
    path.write_text(bad)
    with pytest.raises(ConfigError, match=r"host_overhead_per_layer"):
        _load_stacks(path)
    # without the optional key a preset has no host term
    path.write_text(src.replace(block, ""))
    assert _load_stacks(path)["eager"].host_overhead_per_layer == 0.0


def test_stack_presets_are_cited_fractions():
    for name in ("eager", "optimized"):
        s = get_stack(name)
        assert 0 < s.compute_efficiency <= 1 and 0 < s.bandwidth_efficiency <= 1
        assert all(v.strip() for v in s.sources.values())
    # the eager loop runs kernels of the same kind; what it loses is host time per layer
    assert get_stack("optimized").bandwidth_efficiency >= get_stack("eager").bandwidth_efficiency
    assert get_stack("eager").host_overhead_per_layer > get_stack("optimized").host_overhead_per_layer >= 0


def test_cli_energy_json_carries_system_fields(capsys):
    code = main(["energy", "--model", "qwen2.5-7b", "--profiles", "nvidia-a100", "--batch", "64",
                 "--stack", "optimized", "--scope", "all", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = json.loads(out)
    for r in rows:
        for key in ("model", "mode", "profile", "batch", "phase", "stack", "total_j", "compute_j", "memory_j",
                    "static_j", "seconds_per_token", "bound_by", "chips"):
            assert key in r
        assert r["batch"] == 64 and r["stack"] == "optimized" and r["chips"] == 1


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--batch", "0"], 2, "--batch"),
    (["--prompt-tokens", "-1", "--phase", "prefill"], 2, "--prompt-tokens"),
    (["--stack", "turbo"], 1, "unknown software stack preset 'turbo'"),
])
def test_cli_bad_input_one_line(capsys, argv, code, message):
    got = main(["energy", "--profiles", "nvidia-a100", *argv])
    _, err = capsys.readouterr()
    assert got == code and message in err
    if code == 1:
        assert len(err.strip().splitlines()) == 1


def test_claims_audit_puts_the_per_mac_saving_beside_the_system_saving():
    from neurosim.analysis.claims import audit_claims

    claim = {c.id: c for c in audit_claims()}["system-level-saving"]
    assert claim.reported == pytest.approx(0.977)
    # memory and static power do not shrink with spikes the way the adds do: the system saving is smaller
    assert 0 < claim.recomputed < claim.reported
    for key in ("a100_batch1_eager_saving", "a100_batch64_optimized_saving"):
        assert 0 < claim.inputs[key] < claim.reported
    fp16 = system_energy("spikingbrain-7b", mode="fp16-dense", profile="paper-45nm", scope="spiked")
    event = system_energy("spikingbrain-7b", mode="w8aspike-event", profile="paper-45nm", scope="spiked")
    assert claim.recomputed == pytest.approx(1 - event.total_j / fp16.total_j)


def test_batch_sweep_and_plots():
    from neurosim.analysis.system_plots import plot_break_even, plot_energy_vs_batch
    from neurosim.energy.system import batch_sweep, break_even_table

    sw = batch_sweep("spikingbrain-7b", profiles=["nvidia-a100", "loihi"], batches=(1, 4, 16))
    gpu = sw[(sw.profile == "nvidia-a100") & (sw["mode"] == "fp16-dense") & (sw["stack"] == "optimized")]
    assert list(gpu.batch) == [1, 4, 16] and gpu.total_j.is_monotonic_decreasing
    assert set(sw[sw.profile == "loihi"]["mode"]) == {"w8aspike-event"}
    ax = plot_energy_vs_batch(sw)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    be = break_even_table("spikingbrain-7b", profiles=["paper-45nm", "loihi"], batches=(1,))
    assert set(be.dense_on) == {"paper-45nm", "nvidia-a100"}  # a chip without a dense datapath vs a GPU
    assert plot_break_even(be).figure is not None
    with pytest.raises(InputError):
        plot_energy_vs_batch(sw.iloc[0:0])


def test_on_chip_bandwidth_bounds_time_where_a_profile_states_one():
    wl = Workload("w", (ProjectionSpec("p", 4096, 4096),))
    a100 = get_profile("nvidia-a100")
    r = system_energy(wl, mode="fp16-dense", profile=a100, batch=4, stack="optimized")
    assert "on-chip memory" not in r.times_s  # no shipped profile states an on-chip bandwidth
    from dataclasses import replace as dc_replace

    slow = dc_replace(a100.params["hbm_bandwidth"], name="sram_bandwidth", value=1e9)
    prof = dc_replace(a100, params={**a100.params, "sram_bandwidth": slow})
    r2 = system_energy(wl, mode="fp16-dense", profile=prof, batch=4, stack="optimized")
    want = 4 * 4096 * 4096 * 2 / (1e9 * _stack("optimized", "bandwidth_efficiency"))  # SRAM -> PE per token
    assert r2.bound_by == "on-chip memory" and r2.step_s == pytest.approx(want, rel=1e-9)
