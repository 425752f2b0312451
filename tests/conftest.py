"""Test-session setup shared by every test file."""

import os

# Reproducible MKL code paths (see neurosim.analysis.distributed): set before torch computes anything, so
# results computed in this process and in Dask worker processes agree bit for bit.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")

__all__: list[str] = []
