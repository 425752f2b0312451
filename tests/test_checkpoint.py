"""Checkpoint loading: tiny HF-format checkpoints written in exactly the safetensors layout.

F32 files are written with the ``safetensors`` package's numpy API (an independent writer); BF16
files are written byte by byte here (header length, JSON header, raw little-endian uint16), so the
reader is checked against the format, not against itself.
"""

from __future__ import annotations

import json
from pathlib import Path
import struct

import numpy as np
import pytest

from neurosim.checkpoint import bf16_to_float32, load_checkpoint, load_model, read_safetensors
from neurosim.exceptions import CheckpointError, ConfigError
from neurosim.init import init_params
from neurosim.layers import run_model, weights_from_params
from neurosim.quant import quantize_weight

from ckpt_helpers import CONFIG_JSON, make_folder, tiny_config

safetensors_numpy = pytest.importorskip("safetensors.numpy")


@pytest.fixture
def params() -> dict[str, np.ndarray]:
    return init_params(tiny_config(), rng=np.random.default_rng(11), std=0.1)


@pytest.mark.parametrize("sharded", [False, True])
def test_f32_round_trip_and_run(tmp_path: Path, params, sharded: bool) -> None:
    folder = make_folder(tmp_path / "m", params, sharded=sharded)
    ck = load_checkpoint(folder)
    assert ck.config.layer_types == ("gla", "swa") and ck.config.gla_gate_rank == 4
    assert set(ck.params) == set(params)
    for n, a in params.items():
        np.testing.assert_array_equal(ck.params[n], a)
    assert len(ck.files) == (2 if sharded else 1)
    ids = np.arange(10) % 50
    ref = run_model(ids, weights_from_params(params, tiny_config()), mode="spiking")
    got = run_model(ids, load_model(folder), mode="spiking")
    np.testing.assert_array_equal(got.output, ref.output)
    assert [t.spike_events for t in got.tallies] == [t.spike_events for t in ref.tallies]


@pytest.mark.parametrize("sharded", [False, True])
def test_bf16_hand_written(tmp_path: Path, params, sharded: bool) -> None:
    folder = make_folder(tmp_path / "b", params, sharded=sharded, bf16=True)
    ck = load_checkpoint(folder)
    for n, a in params.items():
        got = ck.params[n]
        assert got.dtype == np.float32
        # bf16 keeps 8 significant bits: relative error <= 2^-9
        np.testing.assert_allclose(got, a, rtol=2.0**-8)
        np.testing.assert_array_equal(got.view(np.uint32) & 0xFFFF, 0)
    w = load_model(folder)
    assert w.blocks[0].gla is not None and w.blocks[1].attn is not None
    f = run_model(np.arange(6), w)
    assert np.isfinite(f.output).all()


def test_bf16_conversion_exact_values() -> None:
    bits = np.array([0x3F80, 0xBF80, 0x4049, 0x0000, 0x8000, 0x7F80, 0x0001], dtype=np.uint16)
    expect = [1.0, -1.0, 3.140625, 0.0, -0.0, np.inf, 2.0**-133]
    np.testing.assert_array_equal(bf16_to_float32(bits), np.array(expect, dtype=np.float32))


def test_scales_are_used(tmp_path: Path, params) -> None:
    name = "model.layers.0.mlp.down_proj"
    w = params[name + ".weight"].astype(np.float64)
    qw = quantize_weight(w, group_size=64)  # a grouping different from the loader's default
    p = dict(params)
    p[name + ".scales"] = qw.scales[:, :, None].astype(np.float32)
    p[name + ".weight"] = qw.dequantize().astype(np.float32)
    folder = make_folder(tmp_path / "s", p)
    loaded = load_model(folder, group_size=64).blocks[0].mlp.down_proj.quantized
    np.testing.assert_array_equal(loaded.q, qw.q)
    np.testing.assert_allclose(loaded.scales, qw.scales.astype(np.float32), rtol=0)
    p[name + ".scales"] = np.ones((3, 3, 1), dtype=np.float32)
    bad = make_folder(tmp_path / "s2", p)
    with pytest.raises(CheckpointError, match="down_proj.scales: scales must have shape"):
        load_model(bad, group_size=64)


def test_missing_and_misshapen_tensors(tmp_path: Path, params) -> None:
    p = {k: v for k, v in params.items() if k != "model.layers.1.self_attn.k_proj.bias"}
    with pytest.raises(CheckpointError, match="missing tensor 'model.layers.1.self_attn.k_proj.bias'"):
        load_model(make_folder(tmp_path / "a", p))
    p = dict(params)
    p["model.norm.weight"] = np.ones(63, dtype=np.float32)
    with pytest.raises(CheckpointError, match=r"'model.norm.weight' has shape \(63,\), expected \(64,\)"):
        load_model(make_folder(tmp_path / "b", p))


def test_corrupt_files(tmp_path: Path, params) -> None:
    folder = make_folder(tmp_path / "c", params)
    f = folder / "model.safetensors"
    data = f.read_bytes()
    f.write_bytes(struct.pack("<Q", 10**9) + data[8:])
    with pytest.raises(CheckpointError, match="model.safetensors: corrupt header: header length"):
        load_checkpoint(folder)
    n = struct.unpack("<Q", data[:8])[0]
    f.write_bytes(data[:8] + b"{" + b" " * (n - 1) + data[8 + n:])
    with pytest.raises(CheckpointError, match="corrupt header: not valid JSON"):
        load_checkpoint(folder)
    f.write_bytes(data[:100])
    with pytest.raises(CheckpointError, match="corrupt header|do not fit"):
        load_checkpoint(folder)
    f.write_bytes(b"abc")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        read_safetensors(f)
    # data truncated after a valid header: offsets no longer fit the file
    f.write_bytes(data[: len(data) - 4])
    with pytest.raises(CheckpointError, match="data_offsets .* do not fit"):
        load_checkpoint(folder)
    f.unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_checkpoint(folder)


def test_missing_shard_and_bad_index(tmp_path: Path, params) -> None:
    folder = make_folder(tmp_path / "d", params, sharded=True)
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model-00002-of-00002.safetensors: cannot open"):
        load_checkpoint(folder)
    (folder / "model.safetensors.index.json").write_text("{oops")
    with pytest.raises(CheckpointError, match="index.json: cannot read shard index"):
        load_checkpoint(folder)
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": 3}}))
    with pytest.raises(CheckpointError, match="'weight_map' must map"):
        load_checkpoint(folder)


def test_config_errors(tmp_path: Path, params) -> None:
    folder = make_folder(tmp_path / "e", params)
    (folder / "config.json").write_text("{bad json")
    with pytest.raises(ConfigError, match="config.json: invalid JSON"):
        load_checkpoint(folder)
    cfg = dict(CONFIG_JSON)
    del cfg["vocab_size"]
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match="config.json: missing required key 'vocab_size'"):
        load_checkpoint(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ConfigError, match="missing config file"):
        load_checkpoint(folder)
    with pytest.raises(CheckpointError, match="must be a folder"):
        load_checkpoint(tmp_path / "nowhere")
