r"""Symmetric INT8 weight quantisation of W8ASpike (report section 3.3; public ``W8ASpike/quant_linear.py``).

Every weight matrix ``W [out_features, in_features]`` is stored as int8 values ``q`` and one positive
float scale per output row and group of ``group_size`` consecutive input features (128 as released):

.. math::

    W_{o,i} \approx s_{o,g(i)}\, q_{o,i}, \qquad q_{o,i} = \operatorname{round}(W_{o,i} / s_{o,g(i)})
    \in [-127, 127], \qquad g(i) = \lfloor i / \text{group\_size} \rfloor

When ``in_features`` is not a multiple of ``group_size`` the last group is shorter (ragged); it still
has one scale per row. ``group_size=None`` means one group spanning the whole row (per-channel).

:func:`quantize_weight` calibrates scales from a float matrix (``max|W| / 127`` per row and group).
:func:`quantized_from_checkpoint` rebuilds the integers from the public checkpoint format, where the
weight tensor is stored in floating point next to a ``scales`` buffer of shape ``[out, in/group, 1]``
and the model computes ``round(W / scale) * scale`` (``torch.round``: halves to even, no clamp).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from neurosim.validation import as_float_array
from neurosim.exceptions import CheckpointError, InputError, OverflowRiskError, ShapeError

__all__ = [
    "INT8_MAX",
    "QuantizedWeight",
    "n_groups_for",
    "quantize_weight",
    "quantized_from_checkpoint",
]

#: Largest magnitude of a symmetric INT8 weight (-128 is left unused, as in symmetric quantisation).
INT8_MAX = 127


def _check_group_size(group_size: Any) -> int | None:
    if group_size is None:
        return None
    if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size < 1:
        raise InputError(f"'group_size' must be a positive integer or None (got {group_size!r})")
    return int(group_size)


def n_groups_for(in_features: int, group_size: int | None) -> int:
    """Number of scale groups along a row of ``in_features`` (the last one may be shorter)."""
    group_size = _check_group_size(group_size)
    if group_size is None:
        return 1
    return -(-int(in_features) // group_size)


@dataclass(frozen=True, eq=False)
class QuantizedWeight:
    """A symmetric, group-wise INT8 weight matrix.

    Attributes
    ----------
    q : numpy.ndarray of int8, shape (out_features, in_features)
        Integer weights in ``[-127, 127]``.
    scales : numpy.ndarray of float64, shape (out_features, n_groups)
        Positive scale of each (row, input group); ``W ~= scales[o, i // group_size] * q[o, i]``.
    group_size : int or None
        Input features per group (128 as released); ``None`` for one group per row. A last group
        shorter than ``group_size`` is allowed (``in_features`` need not be a multiple).

    Raises
    ------
    InputError, ShapeError
        On construction, when ``q`` is not int8-representable in ``[-127, 127]``, when the scales are
        not finite and > 0, or when the shapes do not fit ``group_size``.
    """

    q: np.ndarray
    scales: np.ndarray
    group_size: int | None

    def __post_init__(self) -> None:
        group_size = _check_group_size(self.group_size)
        q = np.asarray(self.q)
        if q.dtype.kind not in "iu":
            raise InputError(f"'q' must be an integer array (got dtype {q.dtype})")
        if q.ndim != 2 or q.size == 0:
            raise ShapeError(f"'q' must be a non-empty 2-D array [out, in] (got shape {q.shape})")
        lo, hi = int(q.min()), int(q.max())
        if lo < -INT8_MAX or hi > INT8_MAX:
            raise InputError(
                f"'q' must lie in [-{INT8_MAX}, {INT8_MAX}] (symmetric int8; got [{lo}, {hi}])"
            )
        q = np.ascontiguousarray(q, dtype=np.int8)
        scales = np.asarray(self.scales)
        if scales.dtype.kind not in "fiu":
            raise InputError(f"'scales' must be a real array (got dtype {scales.dtype})")
        scales = np.ascontiguousarray(scales, dtype=np.float64)
        expected = (q.shape[0], n_groups_for(q.shape[1], group_size))
        if scales.shape != expected:
            raise ShapeError(
                f"'scales' must have shape (out_features, n_groups) = {expected} for q of shape "
                f"{q.shape} and group_size={group_size} (got {scales.shape})"
            )
        if not np.isfinite(scales).all() or (scales <= 0).any():
            bad = scales[~(np.isfinite(scales) & (scales > 0))].ravel()[0]
            raise InputError(f"'scales' must be finite and > 0 (got {bad!r})")
        q.setflags(write=False)
        scales.setflags(write=False)
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "scales", scales)
        object.__setattr__(self, "group_size", group_size)

    @property
    def out_features(self) -> int:
        """Number of output channels (rows)."""
        return int(self.q.shape[0])

    @property
    def in_features(self) -> int:
        """Number of input channels (columns)."""
        return int(self.q.shape[1])

    @property
    def n_groups(self) -> int:
        """Number of scale groups along the input axis."""
        return int(self.scales.shape[1])

    @cached_property
    def group_bounds(self) -> np.ndarray:
        """int64 ``[n_groups + 1]``, read-only: group g covers input channels ``bounds[g]:bounds[g+1]``.
        Built once, cached (the engine reads it on every call)."""
        size = self.in_features if self.group_size is None else self.group_size
        bounds = np.minimum(np.arange(self.n_groups + 1, dtype=np.int64) * size, self.in_features)
        bounds.setflags(write=False)
        return bounds

    @cached_property
    def q_t(self) -> np.ndarray:
        """int8 ``[in_features, out_features]``, C-contiguous: the weight row of input channel i
        (all its fan-out) is one contiguous block, so an event fetches one row. Built once, cached."""
        qt = np.ascontiguousarray(self.q.T)
        qt.setflags(write=False)
        return qt

    @cached_property
    def scales_t(self) -> np.ndarray:
        """float64 ``[n_groups, out_features]``, C-contiguous (scales of group g are contiguous)."""
        st = np.ascontiguousarray(self.scales.T)
        st.setflags(write=False)
        return st

    def dequantize(self) -> np.ndarray:
        """Float64 weights ``[out_features, in_features]``: ``scales[o, g(i)] * q[o, i]``."""
        per_column = np.repeat(self.scales, np.diff(self.group_bounds), axis=1)
        return per_column * self.q.astype(np.float64)

    @property
    def nbytes(self) -> int:
        """Storage of the int8 values plus float64 scales, in bytes."""
        return int(self.q.nbytes + self.scales.nbytes)


def _group_absmax(w: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    return np.stack(
        [np.abs(w[:, bounds[g]:bounds[g + 1]]).max(axis=1) for g in range(len(bounds) - 1)], axis=1
    )


def quantize_weight(w: Any, *, group_size: int | None = 128) -> QuantizedWeight:
    """Symmetric group-wise INT8 quantisation of a float weight matrix.

    Parameters
    ----------
    w : array_like, shape (out_features, in_features)
        Float weights; must be finite.
    group_size : int or None, default 128
        Input features per scale group; ``None`` for one scale per output row.

    Returns
    -------
    QuantizedWeight
        ``scale = max|w| / 127`` per (row, group), ``q = round(w / scale)`` (halves to even), so
        ``|w - scale * q| <= scale / 2`` elementwise. An all-zero group gets scale 1.0 (q = 0).

    Raises
    ------
    InputError, ShapeError
        Non-finite or non-2-D ``w``, or a bad ``group_size``.
    """
    w = as_float_array(w, "w", min_ndim=2)
    if w.ndim != 2:
        raise ShapeError(f"'w' must be 2-D [out_features, in_features] (got shape {w.shape})")
    group_size = _check_group_size(group_size)
    n_groups = n_groups_for(w.shape[1], group_size)
    size = w.shape[1] if group_size is None else group_size
    bounds = np.minimum(np.arange(n_groups + 1, dtype=np.int64) * size, w.shape[1])
    absmax = _group_absmax(w, bounds)
    scales = np.where(absmax > 0, absmax / INT8_MAX, 1.0)
    tiny = np.finfo(np.float64).tiny
    if (scales < tiny).any():  # a subnormal or zero scale: w / scale overflows or loses the value
        bad = float(absmax[scales < tiny].max())
        raise InputError(f"'w' has a group whose max |w| ({bad:.3g}) is too small to quantise: its scale "
                         f"max|w|/{INT8_MAX} underflows below {tiny:.3g}; rescale the weights or zero them")
    per_column = np.repeat(scales, np.diff(bounds), axis=1)
    # w / (absmax / 127) can land a hair above 127 in floating point; the clip only removes that.
    q = np.clip(np.rint(w / per_column), -INT8_MAX, INT8_MAX).astype(np.int8)
    return QuantizedWeight(q=q, scales=scales, group_size=group_size)


def quantized_from_checkpoint(
    weight: Any, scales: Any, *, group_size: int | None, name: str = "weight"
) -> QuantizedWeight:
    """Integer weights from the public W8ASpike checkpoint format.

    Parameters
    ----------
    weight : array_like, shape (out_features, in_features)
        Stored float weight (bf16 in the checkpoint; pass it converted to float32/64).
    scales : array_like, shape (out_features, n_groups, 1) or (out_features, n_groups)
        The ``scales`` buffer of the layer's ``Quantizer``.
    group_size : int or None
        Input features per group (128 as released).
    name : str, keyword-only
        Tensor name used in error messages (e.g. ``"model.layers.0.mlp.gate_proj"``).

    Returns
    -------
    QuantizedWeight
        ``q = round(weight / scale)`` with halves to even (``torch.round``).

    Raises
    ------
    CheckpointError
        Non-finite weights, scales of the wrong shape, or scales that are not finite and > 0.
    OverflowRiskError
        A rounded weight lies outside ``[-127, 127]``: the scales do not fit the weights, so the
        integers would not fit int8 (the public code does not clamp; we refuse instead).
    """
    w = np.asarray(weight)
    if w.dtype.kind not in "fiu" or w.ndim != 2 or w.size == 0:
        raise CheckpointError(
            f"{name}: weight must be a non-empty 2-D real tensor [out, in] "
            f"(got dtype {w.dtype}, shape {w.shape})"
        )
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise CheckpointError(f"{name}: weight holds {int((~np.isfinite(w)).sum())} non-finite values")
    try:
        group_size = _check_group_size(group_size)
    except InputError as exc:
        raise CheckpointError(f"{name}: {exc}") from None
    n_groups = n_groups_for(w.shape[1], group_size)
    s = np.asarray(scales)
    if s.dtype.kind not in "fiu":
        raise CheckpointError(f"{name}: scales must be real (got dtype {s.dtype})")
    s = s.astype(np.float64)
    if s.ndim == 3 and s.shape[2] == 1:
        s = s[:, :, 0]
    if s.shape != (w.shape[0], n_groups):
        raise CheckpointError(
            f"{name}: scales must have shape ({w.shape[0]}, {n_groups}, 1) for a weight of shape "
            f"{w.shape} and group_size={group_size} (got {np.asarray(scales).shape})"
        )
    if not np.isfinite(s).all() or (s <= 0).any():
        bad = s[~(np.isfinite(s) & (s > 0))].ravel()[0]
        raise CheckpointError(f"{name}: scales must be finite and > 0 (got {bad!r})")
    size = w.shape[1] if group_size is None else group_size
    bounds = np.minimum(np.arange(n_groups + 1, dtype=np.int64) * size, w.shape[1])
    q = np.rint(w / np.repeat(s, np.diff(bounds), axis=1))
    peak = float(np.abs(q).max())
    if peak > INT8_MAX:
        row, col = np.unravel_index(int(np.abs(q).argmax()), q.shape)
        raise OverflowRiskError(
            f"{name}: round(weight / scale) reaches {q[row, col]:.0f} at [{row}, {col}], outside the "
            f"symmetric int8 range [-{INT8_MAX}, {INT8_MAX}]; the scales do not match the weights"
        )
    return QuantizedWeight(q=q.astype(np.int8), scales=s, group_size=group_size)
