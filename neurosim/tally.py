"""Event tallies: what a spiking projection did, counted event by event.

A :class:`ProjectionTally` is produced by the event-driven engine for one projection call (all tokens
of a batch). Tallies add up across projections and layers (``a + b`` or :func:`sum_tallies`) and
convert to a pandas DataFrame (:func:`tally_frame`). The energy package multiplies these counts by
per-operation costs; it never re-derives them.

Definitions (``tokens`` rows of ``in_features`` counts feeding ``out_features`` outputs):

* ``input_slots`` = tokens x in_features: (token, channel) inputs; summed across projections.
* ``dense_macs`` = tokens x in_features x out_features: what a dense matmul would do.
* ``spike_events``: number of spike events after coding; ``events_by_step[t, 0]`` positive and
  ``events_by_step[t, 1]`` negative polarity events at step t.
* ``synaptic_ops`` = spike_events x out_features: one accumulate of a weight row entry per event and
  output (the sinabs/snntorch "synops" convention: events x fan-out).
* ``nonzero_inputs``: (token, channel) pairs with a nonzero count; NeuroBench's ``Effective`` count of
  a projection is nonzero_inputs x out_features (for dense, nonzero weights).
* ``sum_abs_counts``: sum of |count|; equals spike_events under binary or ternary coding.
* ``silent_inputs`` = tokens x in_features - nonzero_inputs: channels that fire no spike, summed over tokens.
* ``rows_fetched_token``: sum over tokens of the distinct weight rows (input channels) that the token's
  events touch; ``rows_fetched_batch``: distinct rows touched by any token of the batch.
* ``active_blocks``: for block size b, (token, block of b consecutive input channels) pairs with at
  least one spike; a memory that fetches weights in blocks of b rows fetches this many blocks.
* ``weight_bytes_touched``: bytes of weight rows fetched once per batch (rows_fetched_batch x
  out_features x bytes per weight).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from neurosim.exceptions import InputError

__all__ = ["BLOCK_SIZES", "ProjectionTally", "sum_tallies", "tally_frame"]

#: Block granularities (in input channels) for which active blocks are always tallied.
BLOCK_SIZES: tuple[int, ...] = (1, 8, 32, 128)

_SCALARS = (
    "tokens",
    "input_slots",
    "in_features",
    "out_features",
    "dense_macs",
    "spike_events",
    "synaptic_ops",
    "nonzero_inputs",
    "sum_abs_counts",
    "silent_inputs",
    "rows_fetched_token",
    "rows_fetched_batch",
    "weight_bytes_touched",
)


@dataclass(frozen=True, eq=False)
class ProjectionTally:
    """Counted events of one spiking projection (or a sum of several; see module docstring)."""

    name: str
    tokens: int
    input_slots: int
    in_features: int
    out_features: int
    dense_macs: int
    spike_events: int
    synaptic_ops: int
    nonzero_inputs: int
    sum_abs_counts: int
    silent_inputs: int
    rows_fetched_token: int
    rows_fetched_batch: int
    weight_bytes_touched: int
    time_steps: int
    events_by_step: np.ndarray = field(repr=False)  # int64 [time_steps, 2]: (+, -) polarity
    active_blocks: Mapping[int, int] = field(default_factory=dict)
    coding: str = "bidirectional"
    projections: int = 1

    def __post_init__(self) -> None:
        ebs = np.asarray(self.events_by_step, dtype=np.int64).reshape(-1, 2)
        object.__setattr__(self, "events_by_step", ebs)
        object.__setattr__(self, "active_blocks", MappingProxyType(dict(self.active_blocks)))

    # -- derived figures -------------------------------------------------------------------
    @property
    def silent_fraction(self) -> float:
        """Share of (token, channel) inputs that emit no spike."""
        return self.silent_inputs / self.input_slots if self.input_slots else 0.0

    @property
    def spikes_per_channel(self) -> float:
        """Spike events per (token, channel) input, silent ones included (the report's 1.13)."""
        return self.spike_events / self.input_slots if self.input_slots else 0.0

    @property
    def effective_macs(self) -> int:
        """NeuroBench-style effective operations: nonzero inputs x fan-out."""
        return self.nonzero_inputs * self.out_features

    # -- combination -----------------------------------------------------------------------
    def __add__(self, other: ProjectionTally) -> ProjectionTally:
        if not isinstance(other, ProjectionTally):
            return NotImplemented
        steps = max(self.time_steps, other.time_steps)
        ebs = np.zeros((steps, 2), dtype=np.int64)
        # Align on the last step (least significant bit) so bit planes of equal weight add up.
        ebs[steps - self.time_steps :] += self.events_by_step
        ebs[steps - other.time_steps :] += other.events_by_step
        blocks = {b: self.active_blocks.get(b, 0) + other.active_blocks.get(b, 0)
                  for b in set(self.active_blocks) & set(other.active_blocks)}
        summed = {f: getattr(self, f) + getattr(other, f) for f in _SCALARS}
        # Feature sizes lose meaning in a sum; keep them only when they agree.
        for f in ("in_features", "out_features"):
            if getattr(self, f) != getattr(other, f):
                summed[f] = 0
        summed["tokens"] = max(self.tokens, other.tokens) if self.tokens == other.tokens else (
            self.tokens + other.tokens
        )
        name = self.name if self.name == other.name else "total"
        coding = self.coding if self.coding == other.coding else "mixed"
        return replace(
            self, name=name, time_steps=steps, events_by_step=ebs, active_blocks=blocks,
            coding=coding, projections=self.projections + other.projections, **summed,
        )

    def scaled(self, factor: int) -> ProjectionTally:
        """This tally repeated ``factor`` times (e.g. one sampled layer standing for many)."""
        return replace(
            self,
            events_by_step=self.events_by_step * factor,
            active_blocks={b: v * factor for b, v in self.active_blocks.items()},
            projections=self.projections * factor,
            **{f: getattr(self, f) * factor for f in _SCALARS if f not in
               ("tokens", "in_features", "out_features")},
        )

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict (numbers as Python ints and floats)."""
        out: dict[str, object] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "events_by_step":
                out["events_by_step_pos"] = [int(a) for a in v[:, 0]]
                out["events_by_step_neg"] = [int(a) for a in v[:, 1]]
            elif f.name == "active_blocks":
                out["active_blocks"] = {str(b): int(n) for b, n in sorted(v.items())}
            else:
                out[f.name] = v if isinstance(v, str) else int(v)
        out["silent_fraction"] = self.silent_fraction
        out["spikes_per_channel"] = self.spikes_per_channel
        return out


def sum_tallies(tallies: Iterable[ProjectionTally]) -> ProjectionTally:
    """Sum of several tallies; raises InputError (a ValueError) on an empty iterable."""
    items = list(tallies)
    if not items:
        raise InputError("'tallies' must hold at least one ProjectionTally (got none)")
    total = items[0]
    for t in items[1:]:
        total = total + t
    return total


def tally_frame(tallies: Iterable[ProjectionTally]) -> pd.DataFrame:
    """One row per tally: scalar counts, derived fractions and active blocks per block size."""
    rows = []
    for t in tallies:
        row: dict[str, object] = {"name": t.name, "coding": t.coding, "time_steps": t.time_steps}
        row.update({f: getattr(t, f) for f in _SCALARS})
        row["silent_fraction"] = t.silent_fraction
        row["spikes_per_channel"] = t.spikes_per_channel
        for b, n in sorted(t.active_blocks.items()):
            row[f"active_blocks_{b}"] = n
        rows.append(row)
    return pd.DataFrame(rows)
