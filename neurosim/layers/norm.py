"""RMSNorm (Zhang and Sennrich 2019) as used by Qwen2 and SpikingBrain."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurosim.validation import as_float_array, check_positive
from neurosim.exceptions import ShapeError

__all__ = ["rms_norm"]


def rms_norm(x: Any, weight: Any, *, eps: float) -> np.ndarray:
    r"""Root-mean-square normalisation over the last axis.

    .. math:: y = w \odot x / \sqrt{\operatorname{mean}(x^2) + \epsilon}

    Parameters
    ----------
    x : array_like of float, shape (..., d)
    weight : array_like of float, shape (d,)
    eps : float, keyword-only
        Added to the mean square, > 0 (1e-6 in SpikingBrain-7B).

    Returns
    -------
    numpy.ndarray of float64, shape like ``x``

    Raises
    ------
    ShapeError
        ``weight`` does not match the last axis of ``x``.
    InputError
        Non-finite input or ``eps <= 0``.
    """
    x = as_float_array(x, "x")
    w = as_float_array(weight, "weight")
    eps = check_positive(eps, "eps")
    if w.shape != (x.shape[-1],):
        raise ShapeError(f"'weight' must have shape ({x.shape[-1]},) to match 'x' (got {w.shape})")
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w
