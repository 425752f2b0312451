"""The SpikingBrain report's energy claims (section 5.5), recomputed from their inputs.

The report prices one multiply-accumulate three ways at 45 nm (Horowitz 2014, cited via Yao et al.
2024b): FP16 MAC 1.5 pJ (= 1.1 mult + 0.4 add), INT8 MAC 0.23 pJ (= 0.2 + 0.03), and a spiking
"MAC" as average spikes x INT8 add = 1.13 x 0.03 = 0.0339 pJ ("about 0.034 pJ"). From these it states
reductions of 97.7% (vs FP16) and 85.2% (vs INT8) and "43.48x and 6.76x".

What the recomputation shows (:func:`paper_claims`):

* 97.7% and 85.2% follow from the ROUNDED spike energy 0.034 pJ: 1 - 0.034/1.5 = 97.73%,
  1 - 0.034/0.23 = 85.22%. With the unrounded 0.0339 pJ the INT8 figure is 85.26%, i.e. 85.3%.
* 43.48x and 6.76x are 1 / (1 - 0.977) and 1 / (1 - 0.852): ratios recovered from the rounded
  percentages, not energy ratios. The energy ratios are 1.5/0.0339 = 44.2x and 0.23/0.0339 = 6.78x.

All energies are in J; the ``*_pj`` helpers exist for display and comparison with the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
import math
from numbers import Real
from types import MappingProxyType

from neurosim.energy.cited import CitedValue
from neurosim.energy.report_figures import report_figure
from neurosim.energy.tables import EnergyTable, get_table
from neurosim.energy.workload import PAPER_SPIKES_PER_CHANNEL
from neurosim.exceptions import InputError

__all__ = [
    "PUBLISHED",
    "PaperClaims",
    "mac_energy",
    "paper_claims",
    "ratio_from_reduction",
    "reduction",
    "round_sig",
    "spiking_mac_energy",
]

#: The section-5.5 figures as printed in the report, with the decimals it printed (read from
#: ``energy/data/report-spikingbrain.toml``). Comparison targets, never inputs of the computation.
PUBLISHED: Mapping[str, CitedValue] = MappingProxyType({
    name: report_figure(name)
    for name in ("fp16_mac_energy", "int8_mac_energy", "int8_add_energy", "spiking_mac_energy",
                 "reduction_vs_fp16", "reduction_vs_int8", "ratio_vs_fp16", "ratio_vs_int8")
})


def round_sig(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant figures (the report's rounding of pJ figures)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def mac_energy(table: EnergyTable, precision: str) -> float:
    """Energy of one MAC as multiply + add of ``precision`` (``"fp16"``, ``"int8"``, ``"fp32"``), J."""
    return table.energy(f"{precision}.mult") + table.energy(f"{precision}.add")


def spiking_mac_energy(spikes_per_channel: float, add_energy: float) -> float:
    """The report's spiking MAC-equivalent: average spikes x energy of one INT8 weight addition, J.

    Each spike of an input channel triggers one addition of the (INT8) weight into the accumulator,
    so a MAC's worth of work costs ``spikes_per_channel`` additions on average.
    """
    for name, v in (("spikes_per_channel", spikes_per_channel), ("add_energy", add_energy)):
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v) or v < 0:
            raise InputError(f"{name!r} must be a finite number >= 0 (got {v!r})")
    return spikes_per_channel * add_energy


def reduction(energy: float, reference: float) -> float:
    """Fractional energy reduction ``1 - energy / reference`` (0.977 means 97.7%)."""
    if not reference > 0:
        raise InputError(f"'reference' must be > 0 (got {reference!r})")
    return 1.0 - energy / reference


def ratio_from_reduction(fraction: float) -> float:
    """``1 / (1 - fraction)``: the efficiency ratio implied by a fractional reduction."""
    if not 0 <= fraction < 1:
        raise InputError(f"'fraction' must lie in [0, 1) (got {fraction!r})")
    return 1.0 / (1.0 - fraction)


@dataclass(frozen=True)
class PaperClaims:
    """Every section-5.5 figure, computed (energies in J, reductions as fractions)."""

    fp16_mac_j: float
    int8_mac_j: float
    int8_add_j: float
    spikes_per_channel: float
    spike_mac_j: float
    spike_mac_rounded_j: float
    reduction_vs_fp16: float
    reduction_vs_int8: float
    reduction_vs_fp16_unrounded: float
    reduction_vs_int8_unrounded: float
    ratio_vs_fp16_from_percentage: float
    ratio_vs_int8_from_percentage: float
    ratio_vs_fp16: float
    ratio_vs_int8: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dict."""
        return asdict(self)


def paper_claims(table: EnergyTable | None = None, *,
                 spikes_per_channel: float = PAPER_SPIKES_PER_CHANNEL) -> PaperClaims:
    """Recompute the report's energy claims from the 45 nm table and the spike statistic.

    Parameters
    ----------
    table : EnergyTable, optional
        Default: ``get_table("horowitz-45nm")``.
    spikes_per_channel : float, keyword-only
        Average spikes per channel (the report's 1.13).

    Returns
    -------
    PaperClaims
        ``reduction_vs_*`` use the spike energy rounded to 2 significant figures as the report did;
        ``*_unrounded`` use the exact product. ``ratio_vs_*_from_percentage`` is 1/(1 - reduction
        rounded to 0.1%), the report's "43.48x and 6.76x"; ``ratio_vs_*`` are the energy ratios.
    """
    table = get_table("horowitz-45nm") if table is None else table
    fp16 = mac_energy(table, "fp16")
    int8 = mac_energy(table, "int8")
    add = table.energy("int8.add")
    spike = spiking_mac_energy(spikes_per_channel, add)
    spike_rounded = round_sig(spike * 1e12, 2) * 1e-12  # the report rounds in pJ
    red16, red8 = reduction(spike_rounded, fp16), reduction(spike_rounded, int8)
    return PaperClaims(
        fp16_mac_j=fp16, int8_mac_j=int8, int8_add_j=add, spikes_per_channel=float(spikes_per_channel),
        spike_mac_j=spike, spike_mac_rounded_j=spike_rounded,
        reduction_vs_fp16=red16, reduction_vs_int8=red8,
        reduction_vs_fp16_unrounded=reduction(spike, fp16), reduction_vs_int8_unrounded=reduction(spike, int8),
        ratio_vs_fp16_from_percentage=ratio_from_reduction(round(red16, 3)),
        ratio_vs_int8_from_percentage=ratio_from_reduction(round(red8, 3)),
        ratio_vs_fp16=fp16 / spike if spike > 0 else math.inf,
        ratio_vs_int8=int8 / spike if spike > 0 else math.inf,
    )
