r"""Mixture-of-experts FFN: a linear router, top-k routed SwiGLU experts and shared experts.

Qwen2-MoE style (the layout the SpikingBrain-76B report describes: 16 routed experts, top-1, plus one
shared expert):

.. math::

    p = \operatorname{softmax}(W_r x),\quad E = \operatorname{topk}(p),\quad
    y = \sum_{e \in E} p_e\, \mathrm{FFN}_e(x) + \sum_s \mathrm{FFN}^{shared}_s(x)

Probabilities are not renormalised over the chosen experts (Qwen2-MoE ``norm_topk_prob=False``); the
shared expert is added ungated (the report names no shared-expert gate). Ties in ``p`` go to the lower
expert index. The router is a linear projection and is spike coded in spiking mode like every other
projection, so spiking and float runs can route a token differently when two logits are close.
Each routed expert only sees its tokens, and its tallies (``"moe.expert5.up_proj"``) count only those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.exceptions import InputError, ShapeError
from neurosim.layers.projection import Linear, Projector
from neurosim.layers.ffn import MLPWeights, swiglu_ffn

__all__ = ["MoEWeights", "moe_ffn", "route_top_k"]


@dataclass(frozen=True, eq=False)
class MoEWeights:
    """Router ``[n_experts, hidden]``, routed experts and shared experts."""

    router: Linear
    experts: tuple[MLPWeights, ...]
    shared: tuple[MLPWeights, ...] = ()

    def __post_init__(self) -> None:
        if self.router.out_features != len(self.experts):
            raise ShapeError(f"router has {self.router.out_features} outputs but there are "
                             f"{len(self.experts)} experts")


def route_top_k(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` experts per token from router logits [tokens, n_experts].

    Returns ``(experts, probs)`` of shape [tokens, k]: expert indices by decreasing probability (ties
    to the lower index) and their softmax probabilities.
    """
    if logits.ndim != 2:
        raise ShapeError(f"'logits' must be 2-D (tokens, n_experts) (got shape {logits.shape})")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= logits.shape[1]:
        raise InputError(f"'k' must be an int in 1..{logits.shape[1]} (got {k!r})")
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    # stable argsort of -p keeps the lower index first among ties
    order = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(p, order, axis=1)


def moe_ffn(x: np.ndarray, w: MoEWeights, proj: Projector, *, experts_per_token: int,
            prefix: str = "moe") -> tuple[np.ndarray, np.ndarray]:
    """MoE FFN on ``x`` [tokens, hidden]; returns ``(output [tokens, hidden], experts [tokens, k])``."""
    logits = proj(x, w.router, f"{prefix}.router")
    chosen, probs = route_top_k(logits, experts_per_token)
    y = np.zeros((x.shape[0], w.router.in_features))
    for e, ew in enumerate(w.experts):
        rows, slot = np.nonzero(chosen == e)
        if rows.size == 0:
            continue  # an expert with no tokens does no work and leaves no tally
        out = swiglu_ffn(x[rows], ew, proj, prefix=f"{prefix}.expert{e}")
        np.add.at(y, rows, out * probs[rows, slot][:, None])
    for s, sw in enumerate(w.shared):
        tag = f"{prefix}.shared" if len(w.shared) == 1 else f"{prefix}.shared{s}"
        y += swiglu_ffn(x, sw, proj, prefix=tag)
    return y, chosen
