"""Projection weights and the float/spiking switch shared by every layer.

A :class:`Linear` holds one projection's float weight (for the float reference path), its INT8
:class:`~neurosim.quant.QuantizedWeight` (for the spiking path) and an optional float bias. A
:class:`Projector` applies projections in one mode and collects the
:class:`~neurosim.tally.ProjectionTally` of every spiking call, so a layer only says *which*
projection runs on *what*; the mode, ``k``, coding and engine path are set once per forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from neurosim.engine import w8aspike_linear
from neurosim.exceptions import InputError, ShapeError
from neurosim.quant import QuantizedWeight, quantize_weight
from neurosim.tally import ProjectionTally

__all__ = ["FORWARD_MODES", "ForwardMode", "LayerRun", "Linear", "Projector"]

ForwardMode = Literal["float", "spiking"]
#: How a forward pass computes projections: ``"float"`` is the float64 reference, ``"spiking"`` spike-codes every projection input.
FORWARD_MODES: tuple[str, ...] = ("float", "spiking")


@dataclass(frozen=True, eq=False)
class Linear:
    """One linear projection ``y = x W^T + b``.

    Attributes
    ----------
    weight : numpy.ndarray of float32 or float64, shape (out, in), or None
        Float weight for the float path; None when only the spiking path is needed (saves memory).
    quantized : QuantizedWeight or None
        INT8 weight for the spiking path; None when only the float path is needed.
    bias : numpy.ndarray of float64, shape (out,), or None
    """

    weight: np.ndarray | None
    quantized: QuantizedWeight | None
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.weight is None and self.quantized is None:
            raise InputError("Linear needs a float 'weight' or a 'quantized' weight (got neither)")
        shape = self.weight.shape if self.weight is not None else self.quantized.q.shape  # type: ignore[union-attr]
        if self.weight is not None and self.quantized is not None and self.quantized.q.shape != shape:
            raise ShapeError(f"'quantized' shape {self.quantized.q.shape} differs from 'weight' shape {shape}")
        if self.bias is not None:
            b = np.asarray(self.bias, dtype=np.float64)
            if b.shape != (shape[0],):
                raise ShapeError(f"'bias' must have shape ({shape[0]},) (got {b.shape})")
            object.__setattr__(self, "bias", b)

    @classmethod
    def build(cls, weight: Any, bias: Any = None, *, group_size: int | None = 128,
              quantized: QuantizedWeight | None = None, keep_float: bool = True,
              quantize: bool = True) -> Linear:
        """Make a projection from a float weight, quantising it once (unless ``quantized`` is given).

        Parameters
        ----------
        weight : array_like, shape (out, in)
        bias : array_like, shape (out,), optional
        group_size : int or None, keyword-only
            INT8 scale group (128 as released).
        quantized : QuantizedWeight, optional
            Ready integer weights (e.g. from checkpoint scales); skips quantisation.
        keep_float : bool
            Keep the float weight (float path); False keeps only the INT8 copy.
        quantize : bool
            Build the INT8 copy (spiking path); False for float-only use.
        """
        w = np.asarray(weight)
        if w.ndim != 2:
            raise ShapeError(f"'weight' must be 2-D [out, in] (got shape {w.shape})")
        if quantized is None and quantize:
            quantized = quantize_weight(w, group_size=group_size)
        return cls(weight=w if keep_float else None, quantized=quantized, bias=bias)

    @property
    def out_features(self) -> int:
        """Output width."""
        return int((self.weight if self.weight is not None else self.quantized.q).shape[0])  # type: ignore[union-attr]

    @property
    def in_features(self) -> int:
        """Input width."""
        return int((self.weight if self.weight is not None else self.quantized.q).shape[1])  # type: ignore[union-attr]


@dataclass(eq=False)
class Projector:
    """Applies projections in one mode and records the tally of each spiking call.

    Parameters
    ----------
    mode : {"float", "spiking"}
        ``"float"``: ``x @ W^T + b`` in float64 with the float weight. ``"spiking"``: W8ASpike,
        :func:`neurosim.engine.w8aspike_linear` with the INT8 weight.
    k, coding, path
        Passed to the engine (threshold divisor, spike coder, ``"event"``/``"dense"``/``"float"``).
    keep_counts : bool
        Also keep the integer spike counts of every spiking call in ``counts`` (name -> int64
        ``[tokens, in_features]``), for statistics beyond the tally (window sparsity, histograms).
    """

    mode: str = "float"
    k: float = 3.0
    coding: str = "bidirectional"
    path: str = "event"
    keep_counts: bool = False
    tallies: list[ProjectionTally] = field(default_factory=list)
    counts: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in FORWARD_MODES:
            raise InputError(f"'mode' must be one of {FORWARD_MODES} (got {self.mode!r})")

    def __call__(self, x: np.ndarray, lin: Linear, name: str, *, spiked: bool = True) -> np.ndarray:
        """Project ``x`` [..., in] to [..., out] float64; ``name`` labels the tally."""
        if x.shape[-1] != lin.in_features:
            raise ShapeError(
                f"{name}: input has {x.shape[-1]} features but the weight expects {lin.in_features}"
            )
        if self.mode == "spiking" and spiked:
            if lin.quantized is None:
                raise InputError(f"{name}: spiking mode needs quantised weights (built with quantize=False)")
            res = w8aspike_linear(x, lin.quantized, lin.bias, k=self.k, coding=self.coding,
                                  path=self.path, name=name)  # type: ignore[arg-type]
            self.tallies.append(res.tally)
            if self.keep_counts:
                self.counts[name] = res.counts.reshape(-1, lin.in_features)
            return res.output
        if lin.weight is None:
            w = lin.quantized.dequantize()  # type: ignore[union-attr]
        else:
            w = lin.weight
        y = np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64).T
        if lin.bias is not None:
            y += lin.bias
        return y


@dataclass(frozen=True, eq=False)
class LayerRun:
    """Result of running a layer (or block, or model) on a sequence.

    Attributes
    ----------
    output : numpy.ndarray of float64
        Layer output, shape ``(tokens, features)`` (logits ``(tokens, vocab)`` for a whole model).
    tallies : tuple of ProjectionTally
        One tally per spiking projection call, in execution order, named like
        ``"layer3.gla.q_proj"``; empty in float mode.
    attention_macs : int
        Activation-by-activation multiply-accumulates inside attention over all tokens (``q.k``,
        ``p.v``, GLA state decay, update and readout). Both operands are activations, so W8ASpike does
        not spike-code them: they are counted as MACs, never as spikes.
    state : object, optional
        Final recurrent state where the layer has one (GLA: float64 ``[n_heads, d_k, d_v]``).
    """

    output: np.ndarray
    tallies: tuple[ProjectionTally, ...] = ()
    attention_macs: int = 0
    state: Any = None
