"""Pre-norm residual decoder block: ``h = x + attn(norm(x))``, ``y = h + ffn(norm(h))``.

Attention is GLA, sliding-window or full softmax attention, or (``"gla+swa"``/``"gla+full"``) the sum of
a GLA branch and a softmax branch on the same normed input; the FFN is dense SwiGLU or a MoE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.validation import as_float_array
from neurosim.exceptions import ConfigError, InputError, ShapeError
from neurosim.layers.projection import LayerRun, Projector
from neurosim.layers.ffn import MLPWeights, swiglu_ffn
from neurosim.layers.gla import GLAWeights, gated_linear_attention
from neurosim.layers.moe import MoEWeights, moe_ffn
from neurosim.layers.norm import rms_norm
from neurosim.layers.swa import AttentionWeights, softmax_attention
from neurosim.models import ModelConfig

__all__ = ["BlockWeights", "decoder_block", "run_decoder_layer"]


@dataclass(frozen=True, eq=False)
class BlockWeights:
    """Weights of one decoder layer; which fields are set depends on the layer type.

    ``gla`` for GLA (branches), ``attn`` for softmax attention (branches), ``mlp`` for a dense FFN or
    ``moe`` for a mixture of experts.
    """

    input_layernorm: np.ndarray
    post_attention_layernorm: np.ndarray
    gla: GLAWeights | None = None
    attn: AttentionWeights | None = None
    mlp: MLPWeights | None = None
    moe: MoEWeights | None = None


def decoder_block(x: np.ndarray, w: BlockWeights, config: ModelConfig, layer: int, proj: Projector, *,
                  positions: Any = None, gla_state: Any = None) -> LayerRun:
    """One decoder layer on ``x`` [tokens, hidden] with projections applied by ``proj``.

    Tallies are named ``"layer{layer}.<role>"``; see :func:`run_decoder_layer` for the public entry.
    """
    t = config.layer_types[layer]
    prefix = f"layer{layer}"
    hx = rms_norm(x, w.input_layernorm, eps=config.rms_eps)
    attn_out = np.zeros_like(x)
    macs = 0
    state = None
    for branch in t.split("+"):
        if branch == "gla":
            if w.gla is None:
                raise ConfigError(f"layer {layer} is {t!r} but its weights have no GLA part")
            run = gated_linear_attention(hx, w.gla, config, proj, prefix=f"{prefix}.gla",
                                         initial_state=gla_state)
            state = run.state
        else:
            if w.attn is None:
                raise ConfigError(f"layer {layer} is {t!r} but its weights have no softmax-attention part")
            run = softmax_attention(hx, w.attn, config, proj, prefix=f"{prefix}.{branch}",
                                    window=config.window if branch == "swa" else None, positions=positions)
        attn_out += run.output
        macs += run.attention_macs
    h = x + attn_out
    hf = rms_norm(h, w.post_attention_layernorm, eps=config.rms_eps)
    if config.is_moe_layer(layer):
        if w.moe is None:
            raise ConfigError(f"layer {layer} is a MoE layer but its weights have no MoE part")
        ffn, _ = moe_ffn(hf, w.moe, proj, experts_per_token=config.experts_per_token, prefix=f"{prefix}.moe")
    else:
        if w.mlp is None:
            raise ConfigError(f"layer {layer} has a dense FFN but its weights have no MLP part")
        ffn = swiglu_ffn(hf, w.mlp, proj, prefix=f"{prefix}.mlp")
    return LayerRun(output=h + ffn, attention_macs=macs, state=state)


def run_decoder_layer(x: Any, weights: BlockWeights, config: ModelConfig, layer: int, *,
                      mode: str = "float", k: float = 3.0, coding: str = "bidirectional",
                      path: str = "event", positions: Any = None, gla_state: Any = None) -> LayerRun:
    """Run decoder layer ``layer`` of ``config`` on hidden states ``x``.

    Parameters
    ----------
    x : array_like of float, shape (tokens, hidden)
    weights : BlockWeights
    config : ModelConfig
    layer : int
        0-based layer index (selects the layer type and the tally names ``"layer{layer}.*"``).
    mode : {"float", "spiking"}, keyword-only
        Float64 reference, or W8ASpike with every projection input spike coded.
    k, coding, path
        Threshold divisor, spike coder and engine path (``"event"``, ``"dense"``, ``"float"``).
    positions : array_like of int, shape (tokens,), optional
        RoPE positions (default ``0..tokens-1``).
    gla_state : array_like, optional
        Initial GLA state ``[n_heads, head_dim, head_dim]``.

    Returns
    -------
    LayerRun
        Output [tokens, hidden], one tally per spiking projection call, attention MACs (activation by
        activation; counted, not spiked) and the final GLA state.

    Raises
    ------
    InputError, ShapeError, ConfigError
        Bad mode, layer index, input shape, or weights that do not match the layer type.
    """
    if not isinstance(config, ModelConfig):
        raise InputError(f"'config' must be a ModelConfig (got {type(config).__name__})")
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < config.n_layers:
        raise InputError(f"'layer' must be an int in 0..{config.n_layers - 1} (got {layer!r})")
    x = as_float_array(x, "x", min_ndim=2)
    if x.ndim != 2 or x.shape[1] != config.hidden:
        raise ShapeError(f"'x' must have shape (tokens, {config.hidden}) (got {x.shape})")
    proj = Projector(mode=mode, k=k, coding=coding, path=path)
    run = decoder_block(x, weights, config, layer, proj, positions=positions, gla_state=gla_state)
    return LayerRun(output=run.output, tallies=tuple(proj.tallies), attention_macs=run.attention_macs,
                    state=run.state)
