"""Load HuggingFace-format checkpoints (config.json + safetensors) without torch.

A checkpoint folder holds ``config.json`` (``model_type`` ``"gla_swa"`` for SpikingBrain-7B; ``qwen2``
and ``llama`` also work) and either ``model.safetensors`` or shards listed in
``model.safetensors.index.json`` (``{"weight_map": {tensor: file}}``). The safetensors format is parsed
here with numpy: an 8-byte little-endian header length ``N``, ``N`` bytes of JSON
(``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``), then the raw
little-endian tensor bytes, offsets relative to the end of the header. ``BF16`` is widened to float32
exactly (``uint16 << 16``); F16/F32/F64 and integer dtypes are read as they are.

Tensor names (public SpikingBrain-7B code; ``{i}`` is the 0-based layer, ``H`` hidden, ``Q = n_heads *
head_dim``, ``KV = n_kv_heads * head_dim``, ``r`` the gate rank, ``I`` the FFN width, ``E`` experts):

=================================================  ==============  =====================================
name                                               shape           notes
=================================================  ==============  =====================================
model.embed_tokens.weight                          [vocab, H]
model.layers.{i}.input_layernorm.weight            [H]             RMSNorm before attention
model.layers.{i}.post_attention_layernorm.weight   [H]             RMSNorm before the FFN
model.layers.{i}.attn.q_proj.weight / .bias        [Q, H] / [Q]    GLA layer (bias if qkv_bias)
model.layers.{i}.attn.k_proj.weight / .bias        [KV, H] / [KV]  GLA
model.layers.{i}.attn.v_proj.weight / .bias        [KV, H] / [KV]  GLA
model.layers.{i}.attn.gk_proj.0.weight             [r, H]          GLA low-rank gate, first factor
model.layers.{i}.attn.gk_proj.1.weight / .bias     [KV, r] / [KV]  GLA gate, second factor (with bias)
model.layers.{i}.attn.g_norm.weight                [head_dim]      per-head output RMSNorm
model.layers.{i}.attn.o_proj.weight                [H, Q]          GLA, no bias
model.layers.{i}.self_attn.{q,k,v}_proj.weight     as attn         SWA / full attention layer (Qwen2)
model.layers.{i}.self_attn.{q,k,v}_proj.bias       as attn
model.layers.{i}.self_attn.o_proj.weight           [H, Q]
model.layers.{i}.mlp.{gate,up}_proj.weight         [I, H]          dense SwiGLU
model.layers.{i}.mlp.down_proj.weight              [H, I]
model.layers.{i}.mlp.gate.weight                   [E, H]          MoE router (Qwen2-MoE names)
model.layers.{i}.mlp.experts.{e}.*_proj.weight     as mlp          routed expert e
model.layers.{i}.mlp.shared_expert.*_proj.weight   as mlp          shared expert
model.norm.weight                                  [H]             final RMSNorm
lm_head.weight                                     [vocab, H]      absent when embeddings are tied
=================================================  ==============  =====================================

A parallel hybrid layer (``gla+swa``) has both ``attn.*`` and ``self_attn.*``. Any projection may come
with W8ASpike scales ``<projection>.scales`` of shape ``[out, ceil(in/128), 1]`` (the public
``Quantizer`` buffer); when present they define the INT8 weights, otherwise weights are quantised on
load. Tensors the model does not use (e.g. rotary ``inv_freq``) are ignored. :mod:`neurosim.init` uses
the same names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.exceptions import CheckpointError, ConfigError
from neurosim.layers.model import ModelWeights, weights_from_params
from neurosim.hf_config import config_from_hf
from neurosim.models import ModelConfig

__all__ = ["SAFETENSORS_DTYPES", "Checkpoint", "bf16_to_float32", "load_checkpoint", "load_model",
           "read_safetensors"]

#: safetensors dtype tag -> numpy dtype (little endian); BF16 is read as uint16 and widened.
SAFETENSORS_DTYPES: dict[str, str] = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U8": "u1", "BOOL": "?",
}

_MAX_HEADER = 100 * 2**20  # the safetensors spec caps the header at 100 MB


def bf16_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen raw bfloat16 bit patterns (uint16) to float32 exactly (``bits << 16``)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def _read_header(f: Any, path: Path, size: int) -> tuple[dict[str, Any], int]:
    raw = f.read(8)
    if len(raw) < 8:
        raise CheckpointError(f"{path}: not a safetensors file (only {len(raw)} bytes, need an 8-byte header length)")
    n = int.from_bytes(raw, "little")
    if n > min(size - 8, _MAX_HEADER):
        raise CheckpointError(f"{path}: corrupt header: header length {n} exceeds the file "
                              f"({size} bytes) or the 100 MB limit")
    try:
        header = json.loads(f.read(n).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: corrupt header: not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt header: expected a JSON object (got {type(header).__name__})")
    return header, 8 + n


def read_safetensors(path: str | os.PathLike[str], *, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Read tensors from one ``.safetensors`` file (no torch).

    Parameters
    ----------
    path : path-like
    names : iterable of str, optional
        Only these tensors (all by default); a name not in the file raises.

    Returns
    -------
    dict of str to numpy.ndarray
        BF16 tensors as float32, others in their own dtype; arrays own their memory.

    Raises
    ------
    CheckpointError
        Unreadable file, corrupt header (length, JSON, entries), unknown dtype, offsets that do not fit
        the shape or the file, or a requested name that is missing. The message names file and tensor.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot open checkpoint file ({exc.strerror or exc})") from None
    with f:
        header, data_start = _read_header(f, path, size)
        data_len = size - data_start
        wanted = None if names is None else list(names)
        entries = {k: v for k, v in header.items() if k != "__metadata__"}
        if wanted is not None:
            missing = [n for n in wanted if n not in entries]
            if missing:
                raise CheckpointError(f"{path}: missing tensor(s) {missing}")
        out: dict[str, np.ndarray] = {}
        for name in (wanted if wanted is not None else entries):
            e = entries[name]
            if not isinstance(e, dict) or not {"dtype", "shape", "data_offsets"} <= set(e):
                raise CheckpointError(f"{path}: corrupt header entry for tensor {name!r}: needs dtype, shape "
                                      f"and data_offsets (got {e!r})")
            tag, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
            if tag not in SAFETENSORS_DTYPES:
                raise CheckpointError(f"{path}: tensor {name!r} has unsupported dtype {tag!r}; "
                                      f"supported: {sorted(SAFETENSORS_DTYPES)}")
            if (not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape)
                    or not isinstance(offs, list) or len(offs) != 2
                    or not all(isinstance(o, int) for o in offs)):
                raise CheckpointError(f"{path}: corrupt header entry for tensor {name!r}: bad shape {shape!r} "
                                      f"or data_offsets {offs!r}")
            dt = np.dtype(SAFETENSORS_DTYPES[tag])
            begin, end = offs
            need = math.prod(shape) * dt.itemsize
            if not 0 <= begin <= end <= data_len or end - begin != need:
                raise CheckpointError(
                    f"{path}: tensor {name!r} data_offsets {offs} do not fit shape {shape} of {tag} "
                    f"({need} bytes) within {data_len} data bytes"
                )
            f.seek(data_start + begin)
            arr = np.frombuffer(f.read(need), dtype=dt).reshape(shape).copy()
            out[name] = bf16_to_float32(arr) if tag == "BF16" else arr
    return out


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A loaded checkpoint: configuration, tensors by public name, and the files read."""

    config: ModelConfig
    params: dict[str, np.ndarray]
    files: tuple[Path, ...]


def _shard_files(folder: Path) -> dict[Path, list[str]]:
    single = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{index}: cannot read shard index ({exc})") from None
        wmap = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(wmap, dict) or not all(isinstance(v, str) for v in wmap.values()):
            raise CheckpointError(f"{index}: key 'weight_map' must map tensor names to file names")
        files: dict[Path, list[str]] = {}
        for name, fname in wmap.items():
            files.setdefault(folder / fname, []).append(name)
        return files
    if single.exists():
        return {single: []}
    raise CheckpointError(f"{folder}: no model.safetensors or model.safetensors.index.json found")


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read ``config.json`` and every tensor of a checkpoint folder.

    Raises
    ------
    ConfigError
        ``config.json`` missing, not JSON, or lacking a required key (names file and key).
    CheckpointError
        Missing or corrupt safetensors files or shard index (names file and tensor).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: checkpoint path must be a folder with config.json and safetensors")
    if not (folder / "config.json").exists():
        raise ConfigError(f"{folder / 'config.json'}: missing config file")
    config = config_from_hf(folder / "config.json", name=folder.name)
    params: dict[str, np.ndarray] = {}
    shards = _shard_files(folder)
    for file, names in shards.items():
        params.update(read_safetensors(file, names=names or None))
    return Checkpoint(config=config, params=params, files=tuple(shards))


def load_model(path: str | os.PathLike[str], *, group_size: int | None = 128, keep_float: bool = True,
               quantize: bool = True) -> ModelWeights:
    """Load a checkpoint folder into :class:`~neurosim.layers.ModelWeights` ready to run.

    Parameters
    ----------
    path : path-like
        Folder with ``config.json`` and safetensors (single or sharded).
    group_size, keep_float, quantize
        See :func:`neurosim.layers.weights_from_params`; ``*.scales`` tensors are used when present.

    Raises
    ------
    ConfigError, CheckpointError
        See :func:`load_checkpoint`; also a tensor missing or of the wrong shape for the configuration.
    """
    ckpt = load_checkpoint(path)
    try:
        return weights_from_params(ckpt.params, ckpt.config, group_size=group_size, keep_float=keep_float,
                                   quantize=quantize)
    except CheckpointError as exc:
        raise CheckpointError(f"{Path(path)}: {exc}") from None
