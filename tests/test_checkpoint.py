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
from neurosim.models import ModelConfig
from neurosim.quant import quantize_weight

safetensors_numpy = pytest.importorskip("safetensors.numpy")

CONFIG_JSON = {
    "model_type": "gla_swa", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50, "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0, "sliding_window": 8, "attn_layers": [1], "gate_low_rank_dim": 4,
    "tie_word_embeddings": False,
}


def tiny_config() -> ModelConfig:
    return ModelConfig(name="ckpt", family="gla_swa", n_layers=2, hidden=64, intermediate=128, n_heads=4,
                       n_kv_heads=2, head_dim=16, vocab=50, layer_types=("gla", "swa"), window=8,
                       rms_eps=1e-6, rope_theta=10000.0, gla_gate_rank=4)


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 bit patterns (round to nearest even), independent of the reader."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def write_bf16_file(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, off = [], 0
    for name, arr in tensors.items():
        raw = bf16_bits(arr).astype("<u2").tobytes()
        header[name] = {"dtype": "BF16", "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


@pytest.fixture
def params() -> dict[str, np.ndarray]:
    return init_params(tiny_config(), rng=np.random.default_rng(11), std=0.1)


def make_folder(folder: Path, params: dict[str, np.ndarray], *, sharded: bool = False, bf16: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(CONFIG_JSON))
    writer = write_bf16_file if bf16 else (lambda p, t: safetensors_numpy.save_file(t, str(p)))
    if not sharded:
        writer(folder / "model.safetensors", params)
        return folder
    names = sorted(params)
    parts = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    wmap = {}
    for fname, part in parts.items():
        writer(folder / fname, {n: params[n] for n in part})
        wmap.update({n: fname for n in part})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": wmap}))
    return folder


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
