"""A :class:`~neurosim.models.ModelConfig` from a HuggingFace ``config.json`` (SpikingBrain-7B, Qwen2, Llama)."""

from __future__ import annotations

from collections.abc import Mapping
import json
import os
from pathlib import Path
from typing import Any

from neurosim.budget import check_memory
from neurosim.exceptions import ConfigError
from neurosim.models import ModelConfig

__all__ = ["config_from_hf"]

_HF_FAMILIES = ("gla_swa", "qwen2", "llama")


def _hf_get(cfg: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if key not in cfg:
        if default is ...:
            raise ConfigError(f"{where}: missing required key {key!r}")
        return default
    v = cfg[key]
    if isinstance(v, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(f"{where}: key {key!r} must be {kind} (got {v!r})")
    if not isinstance(v, kind):
        raise ConfigError(f"{where}: key {key!r} must be {kind} (got {type(v).__name__} {v!r})")
    return v


def config_from_hf(config_json: Mapping[str, Any] | str | os.PathLike[str], *, name: str | None = None) -> ModelConfig:
    """Build a :class:`ModelConfig` from a HuggingFace ``config.json``.

    Parameters
    ----------
    config_json : dict or path
        The parsed JSON or the path of ``config.json`` (or of the folder holding it).
        ``model_type`` ``"gla_swa"`` (public SpikingBrain-7B), ``"qwen2"`` or ``"llama"``.
        For ``gla_swa``: ``attn_layers`` lists the 0-based SWA layers (the others are GLA),
        ``sliding_window`` (default 4096) and ``gate_low_rank_dim`` (default 16) are optional.
    name : str, optional
        Name for the configuration (default ``"<model_type>-from-config"``).

    Raises
    ------
    ConfigError
        Unreadable file, bad JSON, missing or mistyped key; the message names the file and key.
    """
    if isinstance(config_json, Mapping):
        cfg, where = config_json, "config.json (dict)"
    else:
        path = Path(config_json)
        if path.is_dir():
            path = path / "config.json"
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read config ({exc.strerror or exc})") from None
        try:
            cfg = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(cfg, dict):
            raise ConfigError(f"{where}: top level must be a JSON object (got {type(cfg).__name__})")
    mtype = _hf_get(cfg, "model_type", where, str)
    if mtype not in _HF_FAMILIES:
        raise ConfigError(f"{where}: key 'model_type' must be one of {_HF_FAMILIES} (got {mtype!r})")
    hidden = _hf_get(cfg, "hidden_size", where, int)
    n_layers = _hf_get(cfg, "num_hidden_layers", where, int)
    n_heads = _hf_get(cfg, "num_attention_heads", where, int)
    if hidden <= 0 or n_layers <= 0:
        raise ConfigError(f"{where}: keys 'hidden_size' and 'num_hidden_layers' must be > 0 "
                          f"(got {hidden} and {n_layers})")
    # One layer-type entry (and per-layer records downstream) per layer, before building any of them.
    check_memory(64 * n_layers, f"{where}: a configuration of {n_layers} layers", hint="check 'num_hidden_layers'")
    n_kv = _hf_get(cfg, "num_key_value_heads", where, int, n_heads)
    if n_heads <= 0 or hidden % n_heads:
        raise ConfigError(f"{where}: key 'hidden_size' ({hidden}) must be a multiple of "
                          f"'num_attention_heads' ({n_heads})")
    head_dim = _hf_get(cfg, "head_dim", where, int, hidden // n_heads)
    window: int | None = None
    gate_rank = 0
    if mtype == "gla_swa":
        attn_layers = _hf_get(cfg, "attn_layers", where, list)
        if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_layers for i in attn_layers):
            raise ConfigError(f"{where}: key 'attn_layers' must list layer indices in 0..{n_layers - 1} "
                              f"(got {attn_layers!r})")
        swa = set(attn_layers)  # a set: one lookup per layer, not a scan of the list
        layer_types = tuple("swa" if i in swa else "gla" for i in range(n_layers))
        window = _hf_get(cfg, "sliding_window", where, int, 4096)
        gate_rank = _hf_get(cfg, "gate_low_rank_dim", where, int, 16)
        qkv_bias = _hf_get(cfg, "attention_bias", where, bool, True)
    else:
        layer_types = ("full",) * n_layers
        qkv_bias = mtype == "qwen2" or bool(_hf_get(cfg, "attention_bias", where, bool, False))
    try:
        return ModelConfig(
            name=name or f"{mtype}-from-config", family=mtype, n_layers=n_layers, hidden=hidden,
            intermediate=_hf_get(cfg, "intermediate_size", where, int),
            n_heads=n_heads, n_kv_heads=n_kv, head_dim=head_dim,
            vocab=_hf_get(cfg, "vocab_size", where, int), layer_types=layer_types, window=window,
            rms_eps=float(_hf_get(cfg, "rms_norm_eps", where, (int, float), 1e-6)),
            rope_theta=float(_hf_get(cfg, "rope_theta", where, (int, float), 1e6)),
            gla_gate_rank=gate_rank, qkv_bias=qkv_bias,
            tie_embeddings=_hf_get(cfg, "tie_word_embeddings", where, bool, False),
            source=f"HuggingFace config {where}",
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
