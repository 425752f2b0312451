"""NeuroBench-compatible operation counts beside the event counts this project uses.

NeuroBench (``SynapticOperations``, NeuroBench/neurobench @ e521c28) reports three numbers per
connection layer:

* ``Dense``: inputs and weights all set to one, i.e. every multiply-accumulate of a dense layer;
* ``Effective_MACs`` / ``Effective_ACs``: operations whose input AND weight are nonzero (inputs and
  weights binarised, forward re-run, outputs summed). They are ACs when every input element is in
  {-1, 0, 1} (a "spiking" input), MACs otherwise.

Where multi-valued spike counts make this undercount: NeuroBench sees the integer count tensor, so a
channel with count 5 is ONE nonzero input and the layer, having a value outside {-1, 0, 1}, is
classified as MAC work. Event-driven hardware instead does one weight addition per spike EVENT: the
count 5 is 2 events under bitwise coding (101b) or 5 under ternary/binary coding. This module
reports both: NeuroBench's ``effective`` count and ``synaptic_ops`` = sum over events of the fan-out
(nonzero weights) of the event's input channel. Fed the spike train (T steps of {-1, 0, 1}) instead
of the counts, NeuroBench would count ACs per step and agree with ``synaptic_ops``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from neurosim.validation import as_int_counts
from neurosim.coding import check_coding, encode_events
from neurosim.exceptions import InputError, ShapeError
from neurosim.tally import ProjectionTally

__all__ = [
    "NeuroBenchCounts",
    "OperationComparison",
    "compare_operations",
    "neurobench_counts",
    "neurobench_from_tally",
]


@dataclass(frozen=True)
class NeuroBenchCounts:
    """NeuroBench ``SynapticOperations`` of one layer input (not averaged per sample)."""

    dense: float
    effective_macs: float
    effective_acs: float
    spiking_input: bool

    @property
    def effective(self) -> float:
        """Effective operations, MACs or ACs."""
        return self.effective_macs + self.effective_acs

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict with NeuroBench's key names."""
        return {"Dense": self.dense, "Effective_MACs": self.effective_macs,
                "Effective_ACs": self.effective_acs, "spiking_input": self.spiking_input}


@dataclass(frozen=True)
class OperationComparison:
    """NeuroBench counts and event-driven counts of the same layer input."""

    neurobench: NeuroBenchCounts
    coding: str
    nonzero_inputs: int
    spike_events: int
    synaptic_ops: float

    @property
    def undercount_factor(self) -> float:
        """``synaptic_ops / NeuroBench effective``: how many weight additions each counted op hides."""
        eff = self.neurobench.effective
        return self.synaptic_ops / eff if eff > 0 else (1.0 if self.synaptic_ops == 0 else float("inf"))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        out = asdict(self)
        out["neurobench"] = self.neurobench.to_dict()
        out["undercount_factor"] = self.undercount_factor
        return out


def _fan_out(weights: np.ndarray | None, in_features: int, out_features: int) -> np.ndarray:
    """Nonzero weights per input channel (NeuroBench binarises the weights)."""
    if weights is None:
        return np.full(in_features, out_features, dtype=np.int64)
    w = np.asarray(weights)
    if w.shape != (out_features, in_features):
        raise ShapeError(f"'weights' must have shape (out_features, in_features) = "
                         f"({out_features}, {in_features}) (got {w.shape})")
    return np.count_nonzero(w, axis=0).astype(np.int64)


def _prepare(counts: object, out_features: int | None, weights: np.ndarray | None) -> tuple[np.ndarray, int]:
    x = as_int_counts(counts, "counts")
    if x.ndim < 1:
        raise ShapeError(f"'counts' must be [..., in_features] (got shape {x.shape})")
    x = x.reshape(-1, x.shape[-1])
    if out_features is None:
        if weights is None:
            raise InputError("give 'out_features' or 'weights'")
        out_features = int(np.asarray(weights).shape[0])
    if isinstance(out_features, bool) or not isinstance(out_features, int | np.integer) or out_features < 1:
        raise InputError(f"'out_features' must be an int >= 1 (got {out_features!r})")
    return x, int(out_features)


def neurobench_counts(counts: object, out_features: int | None = None, *,
                      weights: np.ndarray | None = None) -> NeuroBenchCounts:
    """NeuroBench's Dense / Effective_MACs / Effective_ACs for a linear layer fed ``counts``.

    Parameters
    ----------
    counts : array_like of int, shape [..., in_features]
        The layer input as NeuroBench sees it (integer spike counts, or spikes in {-1, 0, 1}).
    out_features : int, optional
        Fan-out; taken from ``weights`` when omitted.
    weights : array_like, shape [out_features, in_features], optional, keyword-only
        Weights; zeros reduce the effective count. Default: all nonzero.

    Returns
    -------
    NeuroBenchCounts
    """
    x, out = _prepare(counts, out_features, weights)
    fan = _fan_out(weights, x.shape[1], out)
    effective = float(((x != 0) * fan).sum())
    spiking = bool(np.isin(x, (-1, 0, 1)).all())
    return NeuroBenchCounts(
        dense=float(x.shape[0] * x.shape[1] * out),
        effective_macs=0.0 if spiking else effective,
        effective_acs=effective if spiking else 0.0,
        spiking_input=spiking,
    )


def compare_operations(counts: object, out_features: int | None = None, *, coding: str = "bidirectional",
                       weights: np.ndarray | None = None) -> OperationComparison:
    """NeuroBench counts next to event-driven synaptic ops under spike ``coding``.

    ``synaptic_ops`` = sum over spike events of the nonzero weights of the event's input channel
    (events from :func:`neurosim.coding.encode_events`).
    """
    check_coding(coding)
    x, out = _prepare(counts, out_features, weights)
    nb = neurobench_counts(x, out, weights=weights)
    fan = _fan_out(weights, x.shape[1], out)
    ev = encode_events(x, coding)
    channel = np.asarray(ev.index, dtype=np.int64) % x.shape[1]
    synops = float(fan[channel].sum())
    return OperationComparison(neurobench=nb, coding=coding, nonzero_inputs=int(np.count_nonzero(x)),
                               spike_events=len(ev), synaptic_ops=synops)


def neurobench_from_tally(tally: ProjectionTally) -> NeuroBenchCounts:
    """NeuroBench counts from an engine tally (all weights taken as nonzero).

    The input was "spiking" in NeuroBench's sense exactly when every nonzero count had magnitude 1,
    i.e. when ``sum_abs_counts == nonzero_inputs``.
    """
    if not isinstance(tally, ProjectionTally):
        raise InputError(f"'tally' must be a ProjectionTally (got {type(tally).__name__})")
    spiking = tally.sum_abs_counts == tally.nonzero_inputs
    if not tally.out_features:
        raise InputError(f"tally {tally.name!r} sums projections of different widths (out_features=0); "
                         "take NeuroBench counts per projection")
    eff = float(tally.effective_macs)
    return NeuroBenchCounts(dense=float(tally.dense_macs), effective_macs=0.0 if spiking else eff,
                            effective_acs=eff if spiking else 0.0, spiking_input=spiking)
