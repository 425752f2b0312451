r"""Grouped-query softmax attention with RoPE, sliding-window or full (Qwen2 style).

.. math::

    q = R_\theta(W_q x + b_q),\; k = R_\theta(W_k x + b_k),\; v = W_v x + b_v \\
    o_i = \sum_{j \in \mathcal{W}(i)} \operatorname{softmax}_j\!\left(q_i k_j^\top / \sqrt{d}\right) v_j,
    \qquad y = W_o o

``W(i) = {j : i - window < j <= i}`` for sliding-window attention (``window`` keys including the
token itself, as the HF sliding-window mask) and ``{j <= i}`` for full attention. ``R_theta`` is the
rotate-half RoPE of HF Qwen2/Llama with base ``rope_theta``. Keys/values have ``n_kv_heads`` heads
repeated to ``n_heads``.

Spiking mode spike-codes the inputs of q/k/v/o. The public W8ASpike window attention also spikes the
queries and INT8-quantises K/V per token inside the attention core; that is not modelled here (the core
runs in float64). The core is activation-by-activation and counted as ``2 * n_heads * head_dim`` MACs
per (query, visible key) pair (``q.k`` and ``p.v``), never as spikes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.validation import as_float_array, check_positive
from neurosim.exceptions import ConfigError, InputError, ShapeError
from neurosim.layers.projection import LayerRun, Linear, Projector
from neurosim.models import ModelConfig

__all__ = ["AttentionWeights", "apply_rope", "softmax_attention", "window_attention_core"]


@dataclass(frozen=True, eq=False)
class AttentionWeights:
    """q/k/v/o weights of a softmax attention layer (public names ``self_attn.*``)."""

    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    o_proj: Linear


def apply_rope(x: Any, positions: Any, *, theta: float) -> np.ndarray:
    """Rotate-half rotary position embedding (HF Llama/Qwen2).

    Parameters
    ----------
    x : array_like of float, shape (tokens, heads, head_dim), head_dim even
    positions : array_like of int, shape (tokens,)
    theta : float, keyword-only
        RoPE base (1e6 for Qwen2.5/SpikingBrain-7B).
    """
    x = as_float_array(x, "x", min_ndim=3)
    theta = check_positive(theta, "theta")
    pos = np.asarray(positions, dtype=np.float64)
    d = x.shape[-1]
    if d % 2 or x.ndim != 3 or pos.shape != (x.shape[0],):
        raise ShapeError(f"'x' must be (tokens, heads, even head_dim) and 'positions' (tokens,) "
                         f"(got {x.shape} and {pos.shape})")
    inv = theta ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    ang = np.concatenate([pos[:, None] * inv[None, :]] * 2, axis=1)[:, None, :]
    rot = np.concatenate([-x[..., d // 2:], x[..., : d // 2]], axis=-1)
    return x * np.cos(ang) + rot * np.sin(ang)


def window_attention_core(q: np.ndarray, k: np.ndarray, v: np.ndarray, positions: np.ndarray,
                          window: int | None) -> tuple[np.ndarray, int]:
    """Causal (optionally windowed) softmax attention; returns output and the MAC count.

    ``q`` [tokens, heads, d], ``k``/``v`` [tokens, heads, d] (already repeated). Key ``j`` is visible to
    query ``i`` when ``pos_j <= pos_i`` and, with a window, ``pos_i - pos_j < window``.
    Processed in query blocks so memory stays ``O(block x tokens)``.
    """
    n_tok, h, d = q.shape
    out = np.empty((n_tok, h, v.shape[2]))
    macs = 0
    block = 256
    scale = d ** -0.5
    for s in range(0, n_tok, block):
        e = min(n_tok, s + block)
        dp = positions[s:e, None] - positions[None, :]
        mask = dp >= 0
        if window is not None:
            mask &= dp < window
        scores = np.einsum("qhd,khd->hqk", q[s:e], k) * scale
        scores = np.where(mask[None], scores, -np.inf)
        scores -= scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=-1, keepdims=True)
        out[s:e] = np.einsum("hqk,khd->qhd", p, v)
        macs += int(mask.sum()) * 2 * h * d
    return out, macs


def softmax_attention(x: np.ndarray, w: AttentionWeights, config: ModelConfig, proj: Projector, *,
                      window: int | None, prefix: str = "swa", positions: Any = None) -> LayerRun:
    """Sliding-window (``window`` tokens) or full (``window=None``) GQA attention on ``x`` [tokens, hidden].

    ``positions`` (int, shape (tokens,), default ``0..tokens-1``) feed RoPE and the mask.
    ``attention_macs`` of the result counts ``2 * n_heads * head_dim`` per visible (query, key) pair.
    """
    if x.ndim != 2 or x.shape[1] != config.hidden:
        raise ShapeError(f"'x' must have shape (tokens, {config.hidden}) (got {x.shape})")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise InputError(f"'window' must be an int >= 1 or None (got {window!r})")
    if config.n_sink_tokens:
        raise ConfigError(f"model {config.name!r}: sink tokens (n_sink_tokens={config.n_sink_tokens}) are "
                          "not simulated by the layer model")
    n_tok = x.shape[0]
    pos = np.arange(n_tok) if positions is None else np.asarray(positions)
    if pos.shape != (n_tok,) or pos.dtype.kind not in "iu":
        raise ShapeError(f"'positions' must be ints of shape ({n_tok},) (got {pos.dtype} {pos.shape})")
    h, kvh, d = config.n_heads, config.n_kv_heads, config.head_dim
    rep = h // kvh
    q = proj(x, w.q_proj, f"{prefix}.q_proj").reshape(n_tok, h, d)
    k = proj(x, w.k_proj, f"{prefix}.k_proj").reshape(n_tok, kvh, d)
    v = proj(x, w.v_proj, f"{prefix}.v_proj").reshape(n_tok, kvh, d)
    q = apply_rope(q, pos, theta=config.rope_theta)
    k = np.repeat(apply_rope(k, pos, theta=config.rope_theta), rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    o, macs = window_attention_core(q, k, v, pos.astype(np.int64), window)
    y = proj(o.reshape(n_tok, h * d), w.o_proj, f"{prefix}.o_proj")
    return LayerRun(output=y, attention_macs=macs)
