"""Numba compilation flags, in one place.

``cache=True`` keeps compiled kernels on disk between runs (first call costs a few seconds).
``NEUROSIM_NUMBA_CACHE=0`` turns the cache off, e.g. on read-only installs.
"""

from __future__ import annotations

import os

__all__ = ["NUMBA_CACHE", "NUMBA_FASTMATH", "njit_options", "parallel_options"]

NUMBA_CACHE = os.environ.get("NEUROSIM_NUMBA_CACHE", "1") != "0"
# Bit-exact integer paths and snntorch parity both forbid reassociating float math.
NUMBA_FASTMATH = False


def njit_options() -> dict[str, bool]:
    """Keyword arguments for ``numba.njit`` on serial kernels."""
    return {"cache": NUMBA_CACHE, "fastmath": NUMBA_FASTMATH, "nogil": True}


def parallel_options() -> dict[str, bool]:
    """Keyword arguments for ``numba.njit`` on kernels that use ``prange``."""
    return {**njit_options(), "parallel": True}
