"""Checks at the public boundary. Kernels behind these checks trust their inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurosim.exceptions import InputError, ShapeError

__all__ = [
    "as_float_array",
    "nonfinite_error",
    "as_int_counts",
    "check_positive",
    "check_rank",
]


def as_float_array(x: Any, name: str, *, min_ndim: int = 1, dtype: type = np.float64,
                   check_finite: bool = True) -> np.ndarray:
    """Return ``x`` as a C-contiguous floating array, or raise naming ``name``.

    Integer and boolean input is accepted and converted; complex, object and string input is not.
    ``check_finite=False`` leaves the NaN/inf check to a caller whose kernel already streams every
    value once (:func:`nonfinite_error` builds the same message); values beyond ``dtype``'s range
    become inf either way.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise InputError(f"{name!r} must be a real numeric array (got dtype {arr.dtype})")
    if arr.ndim < min_ndim:
        raise ShapeError(f"{name!r} must have at least {min_ndim} dimension(s) (got shape {arr.shape})")
    if arr.size == 0:
        raise ShapeError(f"{name!r} must not be empty (got shape {arr.shape})")
    with np.errstate(over="ignore"):
        arr = np.asarray(arr, dtype=dtype, order="C")
    if check_finite and not np.isfinite(arr).all():
        raise nonfinite_error(arr, name)
    return arr


def nonfinite_error(arr: np.ndarray, name: str) -> InputError:
    """The error for NaN or inf values in ``arr`` (counts them in the message)."""
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(np.isinf(arr).sum())
    return InputError(
        f"{name!r} must be finite (got {n_nan} NaN and {n_inf} inf of {arr.size} values); "
        "check the activations for overflow before spiking them"
    )


def as_int_counts(x: Any, name: str = "counts", *, allow_empty: bool = False) -> np.ndarray:
    """Return ``x`` as an int64 array of exact integers, or raise naming ``name``.

    Floats are accepted only when every value is a whole number (e.g. the output of ``round``);
    nothing is rounded or clipped silently.
    """
    arr = np.asarray(x)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InputError(f"{name!r} must be finite integers (got NaN or inf)")
        if not np.array_equal(arr, np.round(arr)):
            bad = arr[arr != np.round(arr)].ravel()[0].item()
            raise InputError(f"{name!r} must hold whole numbers (got {bad!r}); round the counts first")
        if np.abs(arr).max(initial=0) >= 2.0**62:
            raise InputError(f"{name!r} has values too large for int64")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind in "iu":
        if arr.dtype == np.uint64 and arr.size and arr.max() >= 2**63:
            raise InputError(f"{name!r} has values too large for int64")
        arr = arr.astype(np.int64, copy=False)
    else:
        raise InputError(f"{name!r} must be an integer array (got dtype {arr.dtype})")
    if arr.size == 0 and not allow_empty:
        raise ShapeError(f"{name!r} must not be empty (got shape {arr.shape})")
    return arr


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as float if it is finite and > 0, else raise naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name!r} must be a number > 0 (got {value!r})") from None
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{name!r} must be a finite number > 0 (got {value!r})")
    return v


def check_rank(arr: np.ndarray, name: str, ndim: int) -> None:
    """Raise :class:`ShapeError` unless ``arr`` has exactly ``ndim`` dimensions."""
    if arr.ndim != ndim:
        raise ShapeError(f"{name!r} must have {ndim} dimension(s) (got shape {arr.shape})")
