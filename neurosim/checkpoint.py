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

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
import json
import math
import os
from pathlib import Path
import stat
from typing import Any

import numpy as np

from neurosim.budget import check_memory
from neurosim.exceptions import CheckpointError, ConfigError, InputError
from neurosim.hf_config import config_from_hf
from neurosim.layers.model import ModelWeights, weights_from_params
from neurosim.models import ModelConfig
from neurosim.validation import open_regular_file

__all__ = ["SAFETENSORS_DTYPES", "Checkpoint", "CheckpointTensors", "bf16_to_float32", "load_checkpoint",
           "load_model", "read_safetensors"]

#: safetensors dtype tag -> numpy dtype (little endian); BF16 is read as uint16 and widened.
SAFETENSORS_DTYPES: dict[str, str] = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U8": "u1", "BOOL": "?",
}

_MAX_HEADER = 100 * 2**20  # the safetensors spec caps the header at 100 MB
_CHUNK = 8 * 2**20  # BF16 is widened through a buffer of this many bytes, not a full-size copy


def bf16_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen raw bfloat16 bit patterns (uint16) to float32 exactly (``bits << 16``)."""
    bits = np.asarray(bits, dtype=np.uint16)
    out = np.empty(bits.shape, dtype=np.uint32)
    np.left_shift(bits, 16, out=out, dtype=np.uint32)  # one float32-sized result, no uint32 temporary
    return out.view(np.float32)


def _name(name: object) -> str:
    """A tensor name for a message: quoted and cut short (names come from the file)."""
    text = repr(str(name))
    return text if len(text) <= 120 else text[:117] + "...'"


def _open_regular(path: Path) -> Any:
    try:
        return open_regular_file(path, "checkpoint file")
    except InputError as exc:
        why = str(exc).replace(f"checkpoint file {str(path)!r} ", "")  # "is a FIFO, not a regular file", ...
        raise CheckpointError(f"{path}: cannot open checkpoint file: {why}") from None


@dataclass(frozen=True)
class _Entry:
    file: Path
    tag: str
    shape: tuple[int, ...]
    start: int  # absolute byte offset in the file
    nbytes: int


def _read_header(f: Any, path: Path, size: int) -> tuple[dict[str, Any], int]:
    raw = f.read(8)
    if len(raw) < 8:
        raise CheckpointError(f"{path}: not a safetensors file (only {len(raw)} bytes, need an 8-byte header length)")
    n = int.from_bytes(raw, "little")
    if n > min(size - 8, _MAX_HEADER) or n < 2:
        # The value itself is not printed: for a file that is not safetensors it is 8 bytes of its content.
        raise CheckpointError(f"{path}: corrupt header: header length field does not fit the file "
                              f"({size} bytes) or the 100 MB limit; not a safetensors file?")
    try:
        header = json.loads(f.read(n).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        where = f" at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise CheckpointError(f"{path}: corrupt header: not valid JSON{where}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt header: expected a JSON object (got {type(header).__name__})")
    return header, 8 + n


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _parse_entries(path: Path, header: dict[str, Any], data_start: int, size: int) -> dict[str, _Entry]:
    """Validate every header entry as the spec requires; offsets must tile the data exactly."""
    data_len = size - data_start
    entries: dict[str, _Entry] = {}
    spans: list[tuple[int, int, str]] = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(e, dict) or not {"dtype", "shape", "data_offsets"} <= set(e):
            raise CheckpointError(f"{path}: corrupt header entry for tensor {_name(name)}: needs dtype, shape "
                                  "and data_offsets")
        tag, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if not isinstance(tag, str) or tag not in SAFETENSORS_DTYPES:
            raise CheckpointError(f"{path}: tensor {_name(name)} has an unsupported dtype; "
                                  f"supported: {sorted(SAFETENSORS_DTYPES)}")
        if (not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape)
                or not isinstance(offs, list) or len(offs) != 2 or not all(_is_int(o) and o >= 0 for o in offs)):
            raise CheckpointError(f"{path}: corrupt header entry for tensor {_name(name)}: shape must be a list "
                                  "of integers >= 0 and data_offsets two integers >= 0")
        itemsize = np.dtype(SAFETENSORS_DTYPES[tag]).itemsize
        need = math.prod(shape) * itemsize
        begin, end = offs
        if not begin <= end <= data_len or end - begin != need:
            raise CheckpointError(
                f"{path}: tensor {_name(name)} data_offsets [{begin}, {end}] do not fit shape {shape} of {tag} "
                f"({need} bytes) within {data_len} data bytes"
            )
        entries[name] = _Entry(path, tag, tuple(shape), data_start + begin, need)
        spans.append((begin, end, name))
    # The spec: the byte buffer is entirely indexed, without holes or overlaps.
    cursor = 0
    for begin, end, name in sorted(spans):
        if begin != cursor:
            what = "overlaps the previous tensor" if begin < cursor else f"leaves a hole of {begin - cursor} bytes"
            raise CheckpointError(f"{path}: tensor {_name(name)} data_offsets do not fit: starting at byte {begin} "
                                  f"it {what} (the data must be covered contiguously)")
        cursor = end
    if cursor != data_len:
        raise CheckpointError(f"{path}: data_offsets do not fit: tensors cover {cursor} of {data_len} data bytes "
                              "(trailing bytes after the last tensor)")
    return entries


def _scan_file(path: Path) -> dict[str, _Entry]:
    """Header of one safetensors file, fully validated; no tensor data is read."""
    with _open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        header, data_start = _read_header(f, path, size)
    return _parse_entries(path, header, data_start, size)


def _read_entry(f: Any, e: _Entry) -> np.ndarray:
    """One tensor as an array that owns its memory; BF16 widened to float32 chunk by chunk."""
    dt = np.dtype(SAFETENSORS_DTYPES[e.tag])
    f.seek(e.start)
    if e.tag != "BF16":
        out = np.empty(e.shape, dtype=dt)
        if e.nbytes and f.readinto(memoryview(out.reshape(-1)).cast("B")) != e.nbytes:
            raise CheckpointError(f"{e.file}: file shorter than its header says (changed while reading?)")
        return out
    out = np.empty(e.shape, dtype=np.uint32)
    flat = out.reshape(-1)
    step = _CHUNK // 2
    buf = np.empty(min(step, flat.size), dtype="<u2")
    for i in range(0, flat.size, step):
        part = buf[: min(step, flat.size - i)]
        if f.readinto(memoryview(part).cast("B")) != part.nbytes:
            raise CheckpointError(f"{e.file}: file shorter than its header says (changed while reading?)")
        np.left_shift(part, 16, out=flat[i: i + part.size], dtype=np.uint32)
    return out.view(np.float32)


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
        Not a regular file, corrupt header (length, JSON, entries), unknown dtype, offsets that do not fit
        the shape, overlap, leave holes or trailing bytes (the spec requires them to tile the data), or a
        requested name that is missing. Messages name file and tensor and never quote file contents.
    """
    path = Path(path)
    entries = _scan_file(path)
    wanted = list(entries) if names is None else list(names)
    missing = [n for n in wanted if n not in entries]
    if missing:
        raise CheckpointError(f"{path}: missing tensor(s) {[_name(m) for m in missing[:5]]}")
    check_memory(sum(entries[n].nbytes * (2 if entries[n].tag == "BF16" else 1) for n in wanted),
                 f"{len(wanted)} tensors of {path}")
    with _open_regular(path) as f:
        return {n: _read_entry(f, entries[n]) for n in wanted}


class CheckpointTensors(Mapping[str, np.ndarray]):
    """Tensors of a checkpoint by name, read from disk only when looked up (never cached).

    Headers are validated when the checkpoint is opened; a run that uses one layer reads that layer's
    tensors and nothing else, so memory follows what the computation holds, not the checkpoint size.
    """

    def __init__(self, entries: dict[str, _Entry]) -> None:
        self._entries = entries

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            e = self._entries[name]
        except KeyError:
            raise KeyError(name) from None
        check_memory(e.nbytes * (2 if e.tag == "BF16" else 1), f"tensor {_name(name)} of {e.file}")
        with _open_regular(e.file) as f:
            return _read_entry(f, e)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def shape(self, name: str) -> tuple[int, ...]:
        """Shape of tensor ``name`` from the header (nothing is read)."""
        return self._entries[name].shape


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A checkpoint: configuration, tensors by public name (read on access), and the files it spans."""

    config: ModelConfig
    params: Mapping[str, np.ndarray]
    files: tuple[Path, ...]


def _regular_or_none(path: Path) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


def _shard_files(folder: Path) -> dict[Path, list[str]]:
    single = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    if os.path.lexists(index):
        real_folder = Path(os.path.realpath(folder))
        try:
            with _open_regular(index) as fh:
                data = json.loads(fh.read(_MAX_HEADER).decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            why = f"not valid JSON at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            raise CheckpointError(f"{index}: cannot read shard index ({why})") from None
        wmap = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(wmap, dict) or not all(isinstance(v, str) for v in wmap.values()):
            raise CheckpointError(f"{index}: key 'weight_map' must map tensor names to file names")
        files: dict[Path, list[str]] = {}
        for name, fname in wmap.items():
            target = Path(os.path.realpath(folder / fname))
            if os.path.isabs(fname) or real_folder not in target.parents:
                raise CheckpointError(f"{index}: shard of tensor {_name(name)} must be a file inside the checkpoint "
                                      f"folder (got {_name(fname)})")
            files.setdefault(folder / fname, []).append(name)
        return files
    if os.path.lexists(single):
        return {single: []}
    raise CheckpointError(f"{folder}: no model.safetensors or model.safetensors.index.json found")


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Open a checkpoint folder: read ``config.json`` and validate every safetensors header.

    Tensor data is read only when a tensor is looked up in :attr:`Checkpoint.params`.

    Raises
    ------
    ConfigError
        ``config.json`` missing, not a regular file, not JSON, or lacking a required key (names file and key).
    CheckpointError
        Missing or corrupt safetensors files or shard index, a shard outside the folder or not a regular
        file, a tensor listed by the index but absent from its file (names file and tensor).
    """
    folder = Path(path)
    if not str(path):
        raise CheckpointError("checkpoint path is empty; pass a folder with config.json and safetensors")
    if not folder.is_dir():
        what = "does not exist" if not os.path.lexists(folder) else "is not a folder"
        raise CheckpointError(f"{folder}: checkpoint path {what}; it must be a folder with config.json and "
                              "safetensors")
    cfg = folder / "config.json"
    if not os.path.lexists(cfg):
        raise ConfigError(f"{cfg}: missing config file")
    if not _regular_or_none(cfg):
        raise ConfigError(f"{cfg}: config must be a regular file")
    config = config_from_hf(cfg, name=folder.name)
    entries: dict[str, _Entry] = {}
    shards = _shard_files(folder)
    for file, names in shards.items():
        found = _scan_file(file)
        if names:
            missing = [n for n in names if n not in found]
            if missing:
                raise CheckpointError(f"{file}: missing tensor(s) {[_name(m) for m in missing[:5]]} "
                                      "listed by the shard index")
            found = {n: found[n] for n in names}
        entries.update(found)
    return Checkpoint(config=config, params=CheckpointTensors(entries), files=tuple(shards))


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
