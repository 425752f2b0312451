"""Tiny HuggingFace-format SpikingBrain checkpoints for tests (2 layers, hidden 64).

F32 files are written with the ``safetensors`` package's numpy API (an independent writer); BF16
files byte by byte (header length, JSON header, raw little-endian uint16), so the reader is checked
against the format, not against itself.
"""

from __future__ import annotations

import json
from pathlib import Path
import struct

import numpy as np

from neurosim.models import ModelConfig

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


def make_folder(folder: Path, params: dict[str, np.ndarray], *, sharded: bool = False, bf16: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(CONFIG_JSON))
    writer = write_bf16_file if bf16 else (lambda p, t: _save_f32(t, str(p)))
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


def _save_f32(tensors: dict[str, np.ndarray], path: str) -> None:
    import safetensors.numpy

    safetensors.numpy.save_file(tensors, path)
