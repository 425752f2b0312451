"""What a model does per token: projection shapes, attention MACs, and spike activity.

:class:`Workload` is the shape side: :class:`~neurosim.counts.ProjectionSpec` objects (from
:func:`neurosim.counts.analytical_counts` or built by hand) plus attention MACs and state bytes.
:class:`SpikeActivity` is the activity side, the input the execution modes price: either measured
(:meth:`SpikeActivity.from_tally`, from the engine's :class:`~neurosim.tally.ProjectionTally`) or
stated (:meth:`SpikeActivity.paper`, the report's 1.13 spikes per channel and 18.4% silent channels).
The full statistics of a count array (window sparsity, histograms...) are
:class:`neurosim.analysis.sparsity.SpikeStatistics`.

Block-granular weight fetching
------------------------------
An event-driven memory can skip the weight rows of silent input channels, but only in blocks of ``b``
rows. The fraction of weight rows fetched for one token is the share of rows that sit in a block with
at least one active channel. Measured statistics take it from ``ProjectionTally.active_blocks``. For
stated statistics (a silent fraction ``p`` only) channels are ASSUMED to fall silent independently,
so a block of ``b`` channels is active with probability ``1 - p**b``; real silence is correlated
across neighbouring channels and tokens, which makes skipping work better than this estimate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
import math
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any

from neurosim.counts import ModelCounts, ProjectionSpec
from neurosim.energy.report_figures import report_figure
from neurosim.exceptions import InputError
from neurosim.tally import ProjectionTally

__all__ = [
    "PAPER_SILENT_FRACTION",
    "PAPER_SPIKES_PER_CHANNEL",
    "SpikeActivity",
    "Workload",
]

#: Report section 5.5: average spike count per channel (silent channels included), 1.13.
PAPER_SPIKES_PER_CHANNEL: float = report_figure("spikes_per_channel").value
#: Report section 5.5: share of channels that emit no spike at all, 0.184.
PAPER_SILENT_FRACTION: float = report_figure("silent_fraction").value


def _check_count(value: Any, name: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise InputError(f"{name!r} must be a finite number {bound} (got {value!r})")
    return float(value)


def _check_block(block_size: Any) -> int:
    if isinstance(block_size, bool) or not isinstance(block_size, Integral) or block_size < 1:
        raise InputError(f"'block_size' must be an int >= 1 channels (got {block_size!r})")
    return int(block_size)


@dataclass(frozen=True)
class SpikeActivity:
    """Spike activity of the spiked projections' inputs: what the execution modes price.

    Attributes
    ----------
    spikes_per_channel : float
        Spike events per (token, input channel), silent channels included (the report's 1.13).
    silent_fraction : float
        Share of (token, channel) inputs with no spike, in [0, 1] (the report's 18.4%).
    active_block_fraction : Mapping[int, float]
        Measured share of (token, block) pairs with a spike, per block size; empty for stated stats.
    source : str
        Where the numbers come from.
    """

    spikes_per_channel: float
    silent_fraction: float
    active_block_fraction: Mapping[int, float] = field(default_factory=dict)
    source: str = "stated"

    def __post_init__(self) -> None:
        object.__setattr__(self, "spikes_per_channel", _check_count(self.spikes_per_channel, "spikes_per_channel"))
        p = _check_count(self.silent_fraction, "silent_fraction")
        object.__setattr__(self, "silent_fraction", p)
        if p > 1:
            raise InputError(f"'silent_fraction' must lie in [0, 1] (got {p!r})")
        if p == 1 and self.spikes_per_channel > 0:
            raise InputError("'silent_fraction' = 1 means no spikes, but 'spikes_per_channel' "
                             f"= {self.spikes_per_channel!r}")
        fr = {}
        for b, f in dict(self.active_block_fraction).items():
            b = _check_block(b)
            if not 0 <= _check_count(f, f"active_block_fraction[{b}]") <= 1:
                raise InputError(f"'active_block_fraction[{b}]' must lie in [0, 1] (got {f!r})")
            fr[b] = float(f)
        object.__setattr__(self, "active_block_fraction", MappingProxyType(fr))

    @classmethod
    def paper(cls) -> SpikeActivity:
        """The report's stated statistics: 1.13 spikes per channel, 18.4% silent channels."""
        return cls(PAPER_SPIKES_PER_CHANNEL, PAPER_SILENT_FRACTION,
                   source="SpikingBrain report section 5.5 (stated)")

    @classmethod
    def from_tally(cls, tally: ProjectionTally) -> SpikeActivity:
        """Measured statistics from an engine tally (or a sum of tallies).

        Active-block fractions are ``active_blocks[b] / total blocks`` where total blocks is
        ``rows x ceil(in_features / b)`` with ``rows = input_slots / in_features``; for a sum over
        projections of different widths (``in_features == 0``) it is ``input_slots / b``, exact when
        every width is a multiple of ``b`` (true for the shipped models at b <= 128).
        """
        if not isinstance(tally, ProjectionTally):
            raise InputError(f"'tally' must be a ProjectionTally (got {type(tally).__name__})")
        if tally.input_slots <= 0:
            raise InputError(f"'tally' has no input slots (input_slots={tally.input_slots}); nothing was counted")
        fractions = {}
        for b, active in tally.active_blocks.items():
            if tally.in_features > 0:
                total = tally.input_slots / tally.in_features * math.ceil(tally.in_features / b)
            else:
                total = tally.input_slots / b
            fractions[b] = min(1.0, active / total)
        return cls(tally.spikes_per_channel, tally.silent_fraction, fractions,
                   source=f"measured: tally {tally.name!r} ({tally.projections} projection call(s), {tally.coding})")

    def block_active_fraction(self, block_size: int, in_features: int | None = None) -> float:
        """Share of weight rows fetched per token at a block granularity of ``block_size`` channels.

        Measured fractions are used when available for this block size; otherwise channels are assumed
        silent independently (``P(block active) = 1 - p**b``), with a short last block when
        ``in_features`` is not a multiple of ``block_size`` (rows weighted by block length).
        """
        b = _check_block(block_size)
        if b in self.active_block_fraction:
            return self.active_block_fraction[b]
        p = self.silent_fraction
        if in_features is None or in_features % b == 0:
            return 1.0 - p**b
        full, rest = divmod(int(in_features), b)
        return (full * b * (1.0 - p**b) + rest * (1.0 - p**rest)) / in_features

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {"spikes_per_channel": self.spikes_per_channel, "silent_fraction": self.silent_fraction,
                "active_block_fraction": {str(b): f for b, f in sorted(self.active_block_fraction.items())},
                "source": self.source}


@dataclass(frozen=True)
class Workload:
    """Per-token work of a model: projections, dense attention MACs and attention-state bytes read.

    Attributes
    ----------
    name : str
    projections : tuple of neurosim.counts.ProjectionSpec
    attention_macs : float
        Activation x activation MACs per token (always dense, at the mode's precision).
    state_bytes : float
        Attention state (KV cache and GLA state, stored bf16) read per decoded token, bytes.
    """

    name: str
    projections: tuple[ProjectionSpec, ...]
    attention_macs: float = 0.0
    state_bytes: float = 0.0

    def __post_init__(self) -> None:
        projs = tuple(self.projections)
        if not projs or not all(isinstance(p, ProjectionSpec) for p in projs):
            raise InputError("'projections' must be a non-empty sequence of ProjectionSpec")
        object.__setattr__(self, "projections", projs)
        object.__setattr__(self, "attention_macs", _check_count(self.attention_macs, "attention_macs"))
        object.__setattr__(self, "state_bytes", _check_count(self.state_bytes, "state_bytes"))

    @classmethod
    def from_model_counts(cls, counts: Any) -> Workload:
        """From :class:`neurosim.counts.ModelCounts`: its projections, attention MACs and state bytes."""
        if not isinstance(counts, ModelCounts):
            raise InputError(f"'counts' must be a neurosim.counts.ModelCounts (got {type(counts).__name__})")
        return cls(counts.config.name, counts.projections, counts.attention_macs_per_token, counts.state_bytes)

    @classmethod
    def single(cls, in_features: int, out_features: int, *, name: str = "projection",
               spiked: bool = True) -> Workload:
        """One projection called once per token (tests, examples)."""
        return cls(name, (ProjectionSpec(name, in_features, out_features, spiked=spiked),))

    def select(self, projections: Iterable[ProjectionSpec]) -> Workload:
        """The same workload restricted to ``projections`` (attention and state dropped)."""
        return Workload(self.name, tuple(projections))

    @property
    def projection_macs(self) -> float:
        """Dense projection MACs per token."""
        return math.fsum(p.macs_per_token for p in self.projections)

    @property
    def spiked_macs(self) -> float:
        """Dense MACs per token of projections with spike-coded input."""
        return math.fsum(p.macs_per_token for p in self.projections if p.spiked)
