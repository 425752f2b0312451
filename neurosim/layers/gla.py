r"""Gated linear attention (GLA) layer of SpikingBrain-7B, float and spiking.

Following the public code (fla-style GLA, :mod:`neurosim.models` for the sizes):

.. math::

    q_t = \mathrm{ReLU}(W_q x_t + b_q),\quad k_t = \mathrm{ReLU}(W_k x_t + b_k),\quad v_t = W_v x_t + b_v \\
    g_t = \log\sigma(W_{g1} W_{g0} x_t + b_g) / 16 \\
    S_t = \operatorname{diag}(e^{g_t}) S_{t-1} + k_t^\top v_t,\qquad o_t = (d_k^{-1/2} q_t) S_t \\
    y_t = W_o\,[\mathrm{RMSNorm}_{head}(o_t)]

k, v and g have ``n_kv_heads`` heads, repeated to ``n_heads`` (kv head ``j`` serves query heads
``j*r .. (j+1)*r-1``, ``r = n_heads / n_kv_heads``, as HF ``repeat_kv``). The ``d_k^{-1/2}`` query
scale is fla's default for ``chunk_gla``/``fused_recurrent_gla``. The per-head output RMSNorm has one
weight vector ``[head_dim]`` shared by heads (``attn.g_norm.weight``).

Every linear projection (q, k, v, both gate projections, o) is a W8ASpike projection in spiking mode;
the recurrence is activation-by-activation and is counted as ``3 * n_heads * d_k * d_v`` MACs per token
(decay, update, readout), never as spikes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurosim.validation import as_float_array
from neurosim.exceptions import ConfigError, ShapeError
from neurosim.layers.projection import LayerRun, Linear, Projector
from neurosim.layers.norm import rms_norm
from neurosim.models import ModelConfig

__all__ = ["GLAWeights", "gated_linear_attention", "gla_recurrence", "log_sigmoid"]


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log(sigmoid(x))`` computed without overflow: ``-log1p(exp(-|x|)) + min(x, 0)``."""
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


@dataclass(frozen=True, eq=False)
class GLAWeights:
    """Weights of one GLA layer (public tensor names ``attn.*``, see :mod:`neurosim.checkpoint`)."""

    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    gk_proj_0: Linear
    gk_proj_1: Linear
    g_norm: np.ndarray
    o_proj: Linear


def gla_recurrence(q: Any, k: Any, v: Any, g: Any, *, initial_state: Any = None,
                   scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Recurrent GLA over time: ``S_t = diag(exp(g_t)) S_{t-1} + k_t^T v_t``, ``o_t = scale * q_t S_t``.

    Parameters
    ----------
    q, k, g : array_like of float, shape (tokens, heads, d_k)
        Queries, keys and log decays (``g <= 0`` for a contracting state; not required).
    v : array_like of float, shape (tokens, heads, d_v)
    initial_state : array_like, shape (heads, d_k, d_v), optional
        State before the first token (zeros by default).
    scale : float
        Query scale (``d_k ** -0.5`` in the layer).

    Returns
    -------
    o : numpy.ndarray of float64, shape (tokens, heads, d_v)
    state : numpy.ndarray of float64, shape (heads, d_k, d_v)
        State after the last token.

    Raises
    ------
    ShapeError
        Shapes that do not fit together.
    """
    q = as_float_array(q, "q", min_ndim=3)
    k = as_float_array(k, "k", min_ndim=3)
    v = as_float_array(v, "v", min_ndim=3)
    g = as_float_array(g, "g", min_ndim=3)
    if q.ndim != 3 or k.shape != q.shape or g.shape != q.shape:
        raise ShapeError(f"'q', 'k' and 'g' must share one shape (tokens, heads, d_k) "
                         f"(got {q.shape}, {k.shape}, {g.shape})")
    if v.ndim != 3 or v.shape[:2] != q.shape[:2]:
        raise ShapeError(f"'v' must have shape (tokens, heads, d_v) with tokens, heads = {q.shape[:2]} "
                         f"(got {v.shape})")
    n_tok, h, dk = q.shape
    dv = v.shape[2]
    if initial_state is None:
        s = np.zeros((h, dk, dv))
    else:
        s = as_float_array(initial_state, "initial_state", min_ndim=3).copy()
        if s.shape != (h, dk, dv):
            raise ShapeError(f"'initial_state' must have shape {(h, dk, dv)} (got {s.shape})")
    decay = np.exp(g)
    o = np.empty((n_tok, h, dv))
    for t in range(n_tok):  # the recurrence is sequential in time by definition
        s *= decay[t][:, :, None]
        s += k[t][:, :, None] * v[t][:, None, :]
        o[t] = np.einsum("hk,hkv->hv", q[t], s)
    if scale != 1.0:
        o *= scale
    return o, s


def _repeat_heads(x: np.ndarray, n_kv: int, head_dim: int, n_rep: int) -> np.ndarray:
    t = x.shape[0]
    return np.repeat(x.reshape(t, n_kv, head_dim), n_rep, axis=1)


def gla_macs(config: ModelConfig, tokens: int) -> int:
    """Attention MACs of a GLA layer over ``tokens`` tokens: ``3 * n_heads * d_k * d_v`` each."""
    return 3 * config.n_heads * config.head_dim * config.head_dim * tokens


def gated_linear_attention(x: np.ndarray, w: GLAWeights, config: ModelConfig, proj: Projector, *,
                           prefix: str = "gla", initial_state: Any = None) -> LayerRun:
    """GLA layer on normed hidden states ``x`` [tokens, hidden] -> [tokens, hidden].

    ``proj`` decides float or spiking and collects tallies (named ``"<prefix>.q_proj"`` etc.).
    Returns a :class:`LayerRun` whose ``state`` is the final recurrent state and whose
    ``attention_macs`` counts the recurrence (``3 * n_heads * d_k * d_v`` per token).

    Raises
    ------
    ConfigError
        ``config.gla_gate`` is not ``"lowrank"`` (the 76B key-tied gate has no published formula
        precise enough to simulate).
    ShapeError
        ``x`` not [tokens, hidden] or weights of the wrong size.
    """
    if config.gla_gate != "lowrank":
        raise ConfigError(f"model {config.name!r}: GLA gate {config.gla_gate!r} is not simulated; only "
                          "the low-rank gate of SpikingBrain-7B is")
    if x.ndim != 2 or x.shape[1] != config.hidden:
        raise ShapeError(f"'x' must have shape (tokens, {config.hidden}) (got {x.shape})")
    h, kvh, d = config.n_heads, config.n_kv_heads, config.head_dim
    rep = h // kvh
    n_tok = x.shape[0]
    q = np.maximum(proj(x, w.q_proj, f"{prefix}.q_proj"), 0.0).reshape(n_tok, h, d)
    k = np.maximum(proj(x, w.k_proj, f"{prefix}.k_proj"), 0.0)
    v = proj(x, w.v_proj, f"{prefix}.v_proj")
    low = proj(x, w.gk_proj_0, f"{prefix}.gk_proj.0")
    g = log_sigmoid(proj(low, w.gk_proj_1, f"{prefix}.gk_proj.1")) / 16.0
    o, state = gla_recurrence(q, _repeat_heads(k, kvh, d, rep), _repeat_heads(v, kvh, d, rep),
                              _repeat_heads(g, kvh, d, rep), initial_state=initial_state, scale=d ** -0.5)
    o = rms_norm(o, w.g_norm, eps=config.rms_eps).reshape(n_tok, h * d)
    y = proj(o, w.o_proj, f"{prefix}.o_proj")
    return LayerRun(output=y, attention_macs=gla_macs(config, n_tok), state=state)
