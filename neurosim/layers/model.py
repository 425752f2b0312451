"""Whole model: embedding, decoder blocks, final RMSNorm, lm_head; and weights from named tensors.

Parameters are handled as a flat mapping from public tensor names (HuggingFace, as in the
SpikingBrain-7B checkpoint; the naming table is in :mod:`neurosim.checkpoint`) to arrays.
:func:`parameter_shapes` lists the names and shapes a configuration needs; :func:`weights_from_params`
checks a mapping against it and builds the typed weights (quantising each projection once, or using a
checkpoint's ``*.scales``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.exceptions import CheckpointError, ConfigError, InputError, ShapeError
from neurosim.layers.projection import LayerRun, Linear, Projector
from neurosim.layers.block import BlockWeights, decoder_block
from neurosim.layers.ffn import MLPWeights
from neurosim.layers.gla import GLAWeights
from neurosim.layers.moe import MoEWeights
from neurosim.layers.norm import rms_norm
from neurosim.layers.swa import AttentionWeights
from neurosim.models import ModelConfig
from neurosim.quant import quantized_from_checkpoint

__all__ = [
    "ModelWeights",
    "block_weights_from_params",
    "layer_parameter_shapes",
    "parameter_shapes",
    "run_model",
    "weights_from_params",
]


def _mlp_shapes(prefix: str, h: int, i: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.gate_proj.weight": (i, h), f"{prefix}.up_proj.weight": (i, h),
            f"{prefix}.down_proj.weight": (h, i)}


def layer_parameter_shapes(config: ModelConfig, layer: int) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of decoder layer ``layer`` (see :mod:`neurosim.checkpoint`)."""
    c = config
    h, qd, kvd, p = c.hidden, c.q_dim, c.kv_dim, f"model.layers.{layer}"
    out: dict[str, tuple[int, ...]] = {f"{p}.input_layernorm.weight": (h,),
                                       f"{p}.post_attention_layernorm.weight": (h,)}
    for branch in c.layer_types[layer].split("+"):
        a = f"{p}.attn" if branch == "gla" else f"{p}.self_attn"
        out.update({f"{a}.q_proj.weight": (qd, h), f"{a}.k_proj.weight": (kvd, h),
                    f"{a}.v_proj.weight": (kvd, h)})
        if c.qkv_bias:
            out.update({f"{a}.q_proj.bias": (qd,), f"{a}.k_proj.bias": (kvd,), f"{a}.v_proj.bias": (kvd,)})
        if branch == "gla" and c.gla_gate == "lowrank":
            out.update({f"{a}.gk_proj.0.weight": (c.gla_gate_rank, h),
                        f"{a}.gk_proj.1.weight": (kvd, c.gla_gate_rank), f"{a}.gk_proj.1.bias": (kvd,),
                        f"{a}.g_norm.weight": (c.head_dim,)})
        out[f"{a}.o_proj.weight"] = (h, qd)
    if c.is_moe_layer(layer):
        out[f"{p}.mlp.gate.weight"] = (c.n_experts, h)
        for e in range(c.n_experts):
            out.update(_mlp_shapes(f"{p}.mlp.experts.{e}", h, c.moe_intermediate))
        for s in range(c.n_shared_experts):
            tag = f"{p}.mlp.shared_expert" if c.n_shared_experts == 1 else f"{p}.mlp.shared_experts.{s}"
            out.update(_mlp_shapes(tag, h, c.moe_intermediate))
    else:
        out.update(_mlp_shapes(f"{p}.mlp", h, c.intermediate))
    return out


def parameter_shapes(config: ModelConfig, *, layers: Iterable[int] | None = None) -> dict[str, tuple[int, ...]]:
    """Every tensor name of ``config`` with its shape (``layers`` given: only those decoder layers).

    Linear weights are ``[out, in]``; the embedding, final norm and (untied) ``lm_head`` are included
    when ``layers`` is None.
    """
    out: dict[str, tuple[int, ...]] = {}
    whole = layers is None
    if whole:
        out["model.embed_tokens.weight"] = (config.vocab, config.hidden)
    for i in (range(config.n_layers) if layers is None else layers):
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < config.n_layers:
            raise InputError(f"'layers' must hold ints in 0..{config.n_layers - 1} (got {i!r})")
        out.update(layer_parameter_shapes(config, int(i)))
    if whole:
        out["model.norm.weight"] = (config.hidden,)
        if not config.tie_embeddings:
            out["lm_head.weight"] = (config.vocab, config.hidden)
    return out


class _Reader:
    """Fetches named tensors from ``params``, checking presence and shape (errors name the tensor)."""

    def __init__(self, params: Mapping[str, Any], config: ModelConfig, group_size: int | None,
                 keep_float: bool, quantize: bool) -> None:
        self.params, self.config = params, config
        self.group_size, self.keep_float, self.quantize = group_size, keep_float, quantize

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in self.params:
            raise CheckpointError(f"missing tensor {name!r} (expected shape {shape}) for model "
                                  f"{self.config.name!r}")
        a = np.asarray(self.params[name])
        if a.shape != shape:
            raise CheckpointError(f"tensor {name!r} has shape {a.shape}, expected {shape}")
        if a.dtype.kind != "f":
            raise CheckpointError(f"tensor {name!r} must be floating point (got {a.dtype})")
        return a

    def linear(self, base: str, out_f: int, in_f: int, *, bias: bool = False) -> Linear:
        b = self.array(f"{base}.bias", (out_f,)) if bias else None
        pre = self.params.get(f"{base}.weight")
        if isinstance(pre, Linear):  # already built (quantised once); attach the bias
            if (pre.out_features, pre.in_features) != (out_f, in_f):
                raise CheckpointError(f"tensor {base + '.weight'!r} has shape "
                                      f"{(pre.out_features, pre.in_features)}, expected {(out_f, in_f)}")
            return Linear(weight=pre.weight, quantized=pre.quantized, bias=b)
        w = self.array(f"{base}.weight", (out_f, in_f))
        q = None
        if self.quantize and f"{base}.scales" in self.params:
            q = quantized_from_checkpoint(w, self.params[f"{base}.scales"], group_size=self.group_size,
                                          name=f"{base}.scales")
        return Linear.build(w, b, group_size=self.group_size, quantized=q, keep_float=self.keep_float,
                            quantize=self.quantize)

    def mlp(self, base: str, i: int) -> MLPWeights:
        h = self.config.hidden
        return MLPWeights(self.linear(f"{base}.gate_proj", i, h), self.linear(f"{base}.up_proj", i, h),
                          self.linear(f"{base}.down_proj", h, i))


def block_weights_from_params(params: Mapping[str, Any], config: ModelConfig, layer: int, *,
                              group_size: int | None = 128, keep_float: bool = True,
                              quantize: bool = True) -> BlockWeights:
    """Typed weights of decoder layer ``layer`` from named tensors (see :func:`weights_from_params`)."""
    r = _Reader(params, config, group_size, keep_float, quantize)
    c = config
    h, qd, kvd, p = c.hidden, c.q_dim, c.kv_dim, f"model.layers.{layer}"
    gla = attn = mlp = moe = None
    for branch in c.layer_types[layer].split("+"):
        a = f"{p}.attn" if branch == "gla" else f"{p}.self_attn"
        q = r.linear(f"{a}.q_proj", qd, h, bias=c.qkv_bias)
        k = r.linear(f"{a}.k_proj", kvd, h, bias=c.qkv_bias)
        v = r.linear(f"{a}.v_proj", kvd, h, bias=c.qkv_bias)
        o = r.linear(f"{a}.o_proj", h, qd)
        if branch == "gla":
            if c.gla_gate != "lowrank":
                raise ConfigError(f"model {c.name!r}: GLA gate {c.gla_gate!r} has no tensors to load")
            gla = GLAWeights(q, k, v, r.linear(f"{a}.gk_proj.0", c.gla_gate_rank, h),
                             r.linear(f"{a}.gk_proj.1", kvd, c.gla_gate_rank, bias=True),
                             r.array(f"{a}.g_norm.weight", (c.head_dim,)), o)
        else:
            attn = AttentionWeights(q, k, v, o)
    if c.is_moe_layer(layer):
        experts = tuple(r.mlp(f"{p}.mlp.experts.{e}", c.moe_intermediate) for e in range(c.n_experts))
        shared = tuple(
            r.mlp(f"{p}.mlp.shared_expert" if c.n_shared_experts == 1 else f"{p}.mlp.shared_experts.{s}",
                  c.moe_intermediate) for s in range(c.n_shared_experts))
        moe = MoEWeights(r.linear(f"{p}.mlp.gate", c.n_experts, h), experts, shared)
    else:
        mlp = r.mlp(f"{p}.mlp", c.intermediate)
    return BlockWeights(r.array(f"{p}.input_layernorm.weight", (h,)),
                        r.array(f"{p}.post_attention_layernorm.weight", (h,)), gla, attn, mlp, moe)


@dataclass(frozen=True, eq=False)
class ModelWeights:
    """All weights of a model: embedding ``[vocab, hidden]``, blocks, final norm, ``lm_head``."""

    config: ModelConfig
    embed_tokens: np.ndarray
    blocks: tuple[BlockWeights, ...]
    norm: np.ndarray
    lm_head: Linear


def weights_from_params(params: Mapping[str, Any], config: ModelConfig, *, group_size: int | None = 128,
                        keep_float: bool = True, quantize: bool = True) -> ModelWeights:
    """Build :class:`ModelWeights` from a flat mapping of public tensor names to arrays.

    Parameters
    ----------
    params : mapping of str to array
        Names as in :func:`parameter_shapes`; a projection weight may also be a ready
        :class:`~neurosim.layers.projection.Linear` (quantised once elsewhere). An optional ``<projection>.scales`` ``[out, in/group, 1]``
        is used as the INT8 scale of that projection, otherwise the weight is quantised here (once).
    config : ModelConfig
    group_size : int or None, keyword-only
        INT8 scale group, 128 as released.
    keep_float, quantize : bool
        Keep float weights (float path) / build INT8 weights (spiking path).

    Raises
    ------
    CheckpointError
        A tensor is missing, has the wrong shape or dtype, or its scales do not fit.
    """
    r = _Reader(params, config, group_size, keep_float, quantize)
    embed = r.array("model.embed_tokens.weight", (config.vocab, config.hidden))
    blocks = tuple(block_weights_from_params(params, config, i, group_size=group_size, keep_float=keep_float,
                                             quantize=quantize) for i in range(config.n_layers))
    norm = r.array("model.norm.weight", (config.hidden,))
    if config.tie_embeddings:
        head = Linear.build(embed, quantize=False)  # lm_head stays in floating point (not spike coded)
    else:
        w = r.array("lm_head.weight", (config.vocab, config.hidden))
        head = Linear.build(w, quantize=False)
    return ModelWeights(config=config, embed_tokens=embed, blocks=blocks, norm=norm, lm_head=head)


def run_model(token_ids: Any, weights: ModelWeights, *, mode: str = "float", k: float = 3.0,
              coding: str = "bidirectional", path: str = "event") -> LayerRun:
    """Forward pass of a whole model on one sequence of token ids.

    Parameters
    ----------
    token_ids : array_like of int, shape (tokens,)
    weights : ModelWeights
    mode, k, coding, path
        As :func:`neurosim.layers.run_decoder_layer`. The ``lm_head`` always runs in floating point
        (not spike coded; ``ProjectionSpec.spiked`` is False for it).

    Returns
    -------
    LayerRun
        ``output`` = logits float64 [tokens, vocab]; tallies of every spiking projection of every layer;
        attention MACs summed over layers.

    Raises
    ------
    InputError, ShapeError
        Ids that are not 1-D integers in ``0..vocab-1``; bad mode.
    """
    cfg = weights.config
    ids = np.asarray(token_ids)
    if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu":
        raise ShapeError(f"'token_ids' must be a non-empty 1-D integer array (got {ids.dtype} {ids.shape})")
    if ids.min() < 0 or ids.max() >= cfg.vocab:
        raise InputError(f"'token_ids' must lie in 0..{cfg.vocab - 1} (got {ids.min()}..{ids.max()})")
    proj = Projector(mode=mode, k=k, coding=coding, path=path)
    x = np.asarray(weights.embed_tokens[ids], dtype=np.float64)
    macs = 0
    for i, bw in enumerate(weights.blocks):
        run = decoder_block(x, bw, cfg, i, proj)
        x = run.output
        macs += run.attention_macs
    x = rms_norm(x, weights.norm, eps=cfg.rms_eps)
    logits = proj(x, weights.lm_head, "lm_head", spiked=False)
    return LayerRun(output=logits, tallies=tuple(proj.tallies), attention_macs=macs)
