"""Unit conversion for the energy data files, and pJ formatting at the edges.

Data files state numbers in the unit their source used (pJ, nJ, W, TFLOP/s, GB/s, ...). The loaders
convert every number to SI at load time with :func:`to_si`; code inside the package then works in
J, W, s, bytes and operations per second only (style guide rule 12). Prefixed units come back only
in display strings (:func:`format_energy`).

Decimal prefixes throughout: 1 GB/s = 1e9 bytes/s and 1 TFLOP/s = 1e12 FLOP/s, as in the GPU
datasheets. ``GiB`` is the one binary unit, because ``mx-smi`` and ``nvidia-smi`` report memory in it.
"""

from __future__ import annotations

import math

from neurosim.exceptions import InputError

__all__ = [
    "SI_UNITS",
    "UNITS",
    "format_energy",
    "format_power",
    "to_si",
    "unit_dimension",
]

#: unit as written in a data file -> (factor to SI, SI unit). The SI unit names a dimension.
UNITS: dict[str, tuple[float, str]] = {
    # energy per action
    "fJ": (1e-15, "J"),
    "pJ": (1e-12, "J"),
    "nJ": (1e-9, "J"),
    "uJ": (1e-6, "J"),
    "mJ": (1e-3, "J"),
    "J": (1.0, "J"),
    # energy per byte or bit moved
    "pJ/byte": (1e-12, "J/byte"),
    "nJ/byte": (1e-9, "J/byte"),
    "J/byte": (1.0, "J/byte"),
    "pJ/bit": (8e-12, "J/byte"),
    # power
    "uW": (1e-6, "W"),
    "mW": (1e-3, "W"),
    "W": (1.0, "W"),
    # time per action
    "ps": (1e-12, "s"),
    "ns": (1e-9, "s"),
    "us": (1e-6, "s"),
    "ms": (1e-3, "s"),
    "s": (1.0, "s"),
    # throughput (operations are FLOPs, integer ops or synaptic ops; the entry says which)
    "op/s": (1.0, "op/s"),
    "GOP/s": (1e9, "op/s"),
    "TOP/s": (1e12, "op/s"),
    "TOPS": (1e12, "op/s"),
    "GFLOP/s": (1e9, "op/s"),
    "TFLOP/s": (1e12, "op/s"),
    "GSOP/s": (1e9, "op/s"),
    # bandwidth and capacity
    "GB/s": (1e9, "byte/s"),
    "TB/s": (1e12, "byte/s"),
    "byte": (1.0, "byte"),
    "KB": (1e3, "byte"),
    "MB": (1e6, "byte"),
    "GB": (1e9, "byte"),
    "GiB": (float(2**30), "byte"),
    # plain numbers: fractions, counts, ratios
    "1": (1.0, "1"),
    "%": (1e-2, "1"),
    # training throughput (tokens per device per second)
    "token/s": (1.0, "token/s"),
}

#: The SI units that :data:`UNITS` maps onto.
SI_UNITS: frozenset[str] = frozenset(si for _, si in UNITS.values())


def unit_dimension(unit: str) -> str:
    """SI unit (dimension) of ``unit``; raises :class:`InputError` for an unknown unit."""
    try:
        return UNITS[unit][1]
    except KeyError:
        msg = f"unknown unit {unit!r}; expected one of {', '.join(sorted(UNITS))}"
        raise InputError(msg) from None


def to_si(value: float, unit: str) -> float:
    """Convert ``value`` given in ``unit`` to the SI unit of :func:`unit_dimension`.

    Examples
    --------
    >>> to_si(1.5, "pJ")
    1.5e-12
    """
    factor, _ = UNITS.get(unit, (None, ""))
    if factor is None:
        unit_dimension(unit)  # raises with the list of known units
    return float(value) * factor  # type: ignore[operator]


def format_energy(joules: float, *, digits: int = 4) -> str:
    """Energy as a display string with an SI prefix chosen for readability (``"33.9 fJ"``, ``"1.5 pJ"``).

    Parameters
    ----------
    joules : float
        Energy in J.
    digits : int
        Significant digits.
    """
    if not math.isfinite(joules):
        return f"{joules} J"
    if joules == 0:
        return "0 J"
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(joules) >= factor:
            return f"{joules / factor:.{digits}g} {prefix}J"
    return f"{joules / 1e-15:.{digits}g} fJ"


def format_power(watts: float, *, digits: int = 4) -> str:
    """Power as a display string (``"104 mW"``)."""
    if watts == 0 or not math.isfinite(watts):
        return f"{watts} W"
    for factor, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "u")):
        if abs(watts) >= factor:
            return f"{watts / factor:.{digits}g} {prefix}W"
    return f"{watts / 1e-9:.{digits}g} nW"
