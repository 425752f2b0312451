"""Checks at the public boundary. Kernels behind these checks trust their inputs."""

from __future__ import annotations

import math
import os
import stat
from typing import IO, Any

import numpy as np

from neurosim.budget import array_bytes, check_memory
from neurosim.exceptions import InputError, OutputPathError, ShapeError

__all__ = [
    "as_float_array",
    "nonfinite_error",
    "as_int_counts",
    "check_new_file",
    "check_positive",
    "check_rank",
    "load_npy_rows",
    "open_regular_file",
    "read_npy_header",
]


def as_float_array(x: Any, name: str, *, min_ndim: int = 1, dtype: type = np.float64,
                   check_finite: bool = True) -> np.ndarray:
    """Return ``x`` as a C-contiguous floating array, or raise naming ``name``.

    Integer and boolean input is accepted and converted; complex, object and string input is not.
    ``check_finite=False`` leaves the NaN/inf check to a caller whose kernel already streams every
    value once (:func:`nonfinite_error` builds the same message); values beyond ``dtype``'s range
    become inf either way.
    """
    if (type(x) is np.ndarray and x.dtype == dtype and x.flags.c_contiguous and x.ndim >= min_ndim
            and x.size):
        # already what the caller needs (the engine's own arrays, on every projection call): skip the
        # conversions, whose Python-level calls cost 10-30 us with a cold cache
        if check_finite and not np.isfinite(x).all():
            raise nonfinite_error(x, name)
        return x
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
    if type(x) is np.ndarray and x.dtype == np.int64 and (x.size or allow_empty):
        return x  # already exact int64 (spike_counts' output, on every projection call)
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


def check_new_file(path: str | os.PathLike[str], what: str, *, overwrite: bool) -> None:
    """Refuse to write ``what`` at ``path`` when that would destroy something the caller did not ask to.

    A folder or a symlink is never replaced (a link's target may be anything); an existing file only with
    ``overwrite=True``.

    Raises
    ------
    OutputPathError
        ``path`` is a folder or a symlink, or an existing file and ``overwrite`` is false.
    """
    if os.path.islink(path) or os.path.isdir(path):
        kind = "symlink" if os.path.islink(path) else "folder"
        raise OutputPathError(f"refusing to write the {what} to '{os.fspath(path)}': it is a {kind}; "
                              "choose a new file name")
    if os.path.exists(path) and not overwrite:
        raise OutputPathError(f"refusing to overwrite '{os.fspath(path)}': it exists; choose a new file name or "
                              "pass overwrite=True")


def check_rank(arr: np.ndarray, name: str, ndim: int) -> None:
    """Raise :class:`ShapeError` unless ``arr`` has exactly ``ndim`` dimensions."""
    if arr.ndim != ndim:
        raise ShapeError(f"{name!r} must have {ndim} dimension(s) (got shape {arr.shape})")


def open_regular_file(path: str | os.PathLike[str], what: str = "file") -> IO[bytes]:
    """Open ``path`` for binary reading only if it is a regular file (never blocks on a FIFO or device).

    The file is opened with ``O_NONBLOCK`` (a FIFO opens at once instead of waiting for a writer) and
    checked with ``fstat`` on the open descriptor, so nothing can swap the file in between.

    Raises
    ------
    InputError
        Missing, unreadable, a folder, a FIFO, a socket or a device; the message names ``what`` and path.
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{what} {name!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} {name!r} is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{what} {name!r} cannot be opened ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "a device or special file")
            raise InputError(f"{what} {name!r} is {kind}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_npy_header(fh: IO[bytes], name: str) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """Shape, dtype, Fortran order and data offset from an open ``.npy`` file, without reading the data.

    Raises
    ------
    InputError
        Empty file, a ``.npz`` archive, a pickle or anything else that is not an ``.npy`` header, object
        dtypes; the message names ``name``.
    """
    from numpy.lib import format as npformat

    head = fh.read(6)
    if not head:
        raise InputError(f"{name!r} is empty (0 bytes), not a .npy array")
    if head[:2] == b"PK":
        raise InputError(f"{name!r} is a .npz (zip) archive, not a .npy array; extract one array with "
                         "numpy.load(...)[name] and numpy.save it")
    if head != npformat.MAGIC_PREFIX:
        raise InputError(f"{name!r} is not a .npy array (no NumPy magic header)")
    fh.seek(0)
    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(fh, max_header_size=2**16)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npformat.read_array_header_2_0(fh, max_header_size=2**16)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        raise InputError(f"{name!r} has a corrupt .npy header ({type(exc).__name__})") from None
    if dtype.hasobject:
        raise InputError(f"{name!r} holds Python objects (pickled); save a numeric array instead")
    return tuple(int(d) for d in shape), dtype, bool(fortran), fh.tell()


def load_npy_rows(path: str | os.PathLike[str], *, max_rows: int, what: str = "array file",
                  budget_what: str = "", ndims: tuple[int, ...] | None = None) -> np.ndarray:
    """Load at most the first ``max_rows`` rows (axis 0 after flattening leading axes) of an ``.npy`` file.

    Leading axes of a 3-D or higher array are flattened into rows (``[batch, tokens, hidden]`` ->
    ``[batch*tokens, hidden]``). The header is read first; the memory the rows need is checked against the
    budget (:func:`neurosim.budget.check_memory`); only the needed bytes are read, so a header that claims
    ``(10**12, 64)`` costs nothing. Only regular files are opened.

    Raises
    ------
    InputError
        Not a regular file, not ``.npy`` (empty, ``.npz``, pickle), or fewer data bytes than the header claims.
    ResourceLimitError
        The rows used would exceed the memory limit.
    """
    name = os.fspath(path)
    with open_regular_file(name, what) as fh:
        shape, dtype, fortran, offset = read_npy_header(fh, name)
        size = os.fstat(fh.fileno()).st_size
        total = array_bytes(shape, dtype.itemsize)
        if size - offset < total:
            raise InputError(f"{what} {name!r} is truncated: its header claims shape {shape} of {dtype} "
                             f"({total} bytes) but the file holds {size - offset} data bytes")
        if len(shape) == 0 or (ndims is not None and len(shape) not in ndims):
            raise ShapeError(f"{what} {name!r} must have {' or '.join(map(str, ndims or (1, 2)))} dimensions "
                             f"(got shape {shape})")
        row_shape = shape[-1:] if len(shape) >= 2 else ()
        n_rows = math.prod(shape[:-1]) if len(shape) >= 2 else shape[0]
        take = min(int(max_rows), n_rows)
        # Fortran order interleaves rows: the whole array must be read to get any row.
        read_elems = total // max(dtype.itemsize, 1) if fortran else take * math.prod(row_shape)
        check_memory(array_bytes((read_elems,), dtype.itemsize) + array_bytes((take, *row_shape), 8),
                     budget_what or f"{what} {name!r} ({take} rows of shape {shape})",
                     hint="use fewer rows (--tokens)")
        if fortran:
            flat = np.fromfile(fh, dtype=dtype, count=read_elems)
            arr = flat.reshape(shape, order="F")
            arr = np.ascontiguousarray(arr.reshape(-1, *row_shape) if len(shape) >= 2 else arr)[:take]
        else:
            flat = np.fromfile(fh, dtype=dtype, count=read_elems)
            arr = flat.reshape((take, *row_shape)) if len(shape) >= 2 else flat
    if len(shape) >= 2:
        arr = arr.reshape(take, *row_shape)
    return arr
