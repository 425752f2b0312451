"""Statistics of a default job's simulated layers, and the published figures they are compared with.

Computed here (analysis) rather than in the report renderer (:mod:`neurosim.reports.document`), which only
formats them. Functions take the simulated layers of :class:`neurosim.reports.pipeline.JobResult` duck-typed
(``.layer``, ``.layer_type``, ``.tallies``, ``.counts``), so analysis never imports reports.

Which published figure a statistic is compared with depends on k: the report's text states spikes per
channel (1.13), silent fraction (18.4%), window sparsity (69.15%) and ``|count| <= 7`` (94.1%) at k = 3
only; its table 11 gives window sparsity and ``|count| <= 7`` for k = 2, 2.5, 3, 3.5, 4. At any other k there
is no published figure, and :func:`published_figures` says so instead of comparing with k = 3.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from neurosim.analysis.pricing import price_layers
from neurosim.analysis.sensitivity import energy_sensitivity
from neurosim.analysis.snn_profile import _snn_energy
from neurosim.analysis.sparsity import window_sparsity
from neurosim.analysis.sweep import REPORT_TABLE_11
from neurosim.energy.modes import EXECUTION_MODES, mode_energy
from neurosim.energy.neurobench import neurobench_from_tally
from neurosim.energy.profile_overrides import as_profile
from neurosim.energy.workload import SpikeActivity, Workload

__all__ = [
    "PublishedFigure",
    "WINDOW_SPARSITY_SAMPLES",
    "format_published",
    "layer_energy",
    "layer_records",
    "profile_layer_energy",
    "profile_sensitivity",
    "neurobench_totals",
    "per_token_events",
    "published_figures",
]

_TEXT_SOURCE = "SpikingBrain report (arXiv 2509.05276), section 5.5 / figure 9, k = 3"
#: The report's text figures, all at k = 3 (window sparsity 69.15% is the text's; table 11 rounds it to 69.2%).
_TEXT_AT_K3 = {"spikes_per_channel": 1.13, "silent_fraction": 0.184, "window_sparsity": 0.6915,
               "within_0_7": 0.941, "above_16": 0.01}

#: What each window-sparsity figure of a report is computed on: the same definition over different samples
#: gives different numbers (e.g. 65.5%, 64.4%, 64.3% at k = 3), so every figure carries its sample.
WINDOW_SPARSITY_SAMPLES = {
    "statistics": "every simulated projection input of every simulated layer, pooled",
    "k_sweep": "the first simulated layer's input activations (tokens x hidden) only, re-thresholded at each k",
    "layers": "this projection's own inputs",
}


@dataclass(frozen=True)
class PublishedFigure:
    """A published value to compare one statistic with, or None with the reason.

    Attributes
    ----------
    value : float or None
        Fraction or count in the report's unit; None when nothing is published at this k.
    source : str
        Where the value is published, or why there is none.
    """

    value: float | None
    source: str


def published_figures(k: float) -> dict[str, PublishedFigure]:
    """The report's figure for each summary statistic at threshold divisor ``k``.

    Parameters
    ----------
    k : float
        Threshold divisor of the run.

    Returns
    -------
    dict of str to PublishedFigure
        Keys ``spikes_per_channel``, ``silent_fraction``, ``window_sparsity``, ``within_0_7``, ``above_16``.
        At k = 3 the report's text figures; at another k of table 11 its window sparsity and ``|count| <= 7``
        and "no published figure" for the rest; elsewhere "no published figure" for all.
    """
    k = float(k)
    none = PublishedFigure(None, f"no published figure at k = {k:g}")
    if k == 3.0:
        return {name: PublishedFigure(v, _TEXT_SOURCE) for name, v in _TEXT_AT_K3.items()}
    out = {name: none for name in _TEXT_AT_K3}
    row = REPORT_TABLE_11.rows.get(k)
    if row is not None:
        src = f"report table 11, k = {k:g}"
        out["window_sparsity"] = PublishedFigure(row[0], src)
        out["within_0_7"] = PublishedFigure(row[1], src)
    return out


def format_published(fig: PublishedFigure, *, percent: bool = True) -> str:
    """``"report 69.15%"``-style text, ``"table 11, k = 4: 66.4%"``, or ``"no published figure at k = 5"``."""
    if fig.value is None:
        return fig.source
    value = f"{fig.value:.4g}" if not percent else f"{100 * fig.value:.4g}%"
    where = "report" if fig.source == _TEXT_SOURCE else fig.source.replace("report ", "")
    return f"{where}: {value}" if where != "report" else f"report {value}"


def layer_records(simulated: Iterable[Any], *, window: int = 3) -> list[dict[str, Any]]:
    """One record per simulated projection (the ``layers`` list of summary.json and layers.csv).

    Parameters
    ----------
    simulated : iterable of simulated layers
        Each with ``layer``, ``layer_type``, ``tallies`` (engine tallies) and ``counts`` (name -> counts).
    window : int
        Window (steps) of the window sparsity (the report's 3).

    Returns
    -------
    list of dict
        Name, layer, shape, spike statistics, window sparsity over this projection's inputs, events,
        synaptic ops, MACs and NeuroBench Dense / Effective_MACs / Effective_ACs.
    """
    recs = []
    for sim in simulated:
        for tally in sim.tallies:
            c = sim.counts[tally.name]
            nb = neurobench_from_tally(tally)
            recs.append({
                "name": tally.name,
                "layer": sim.layer,
                "layer_type": sim.layer_type,
                "in_features": tally.in_features,
                "out_features": tally.out_features,
                "tokens": tally.tokens,
                "spikes_per_channel": tally.spikes_per_channel,
                "silent_fraction": tally.silent_fraction,
                "window_sparsity": window_sparsity(c, window).sparsity,
                "events": tally.spike_events,
                "synaptic_ops": tally.synaptic_ops,
                "macs": tally.dense_macs,
                "time_steps": tally.time_steps,
                # NeuroBench SynapticOperations beside ours: a count of 5 is one "effective" op there but
                # two bitwise events (101) here, each a weight-row addition.
                "neurobench_dense": nb.dense,
                "neurobench_effective_macs": nb.effective_macs,
                "neurobench_effective_acs": nb.effective_acs,
            })
    return recs


def per_token_events(model_counts: Any, spikes_per_channel: float) -> dict[str, float]:
    """Events and MACs per token of the whole model: measured spike rate x analytical shapes."""
    spiked = [p for p in model_counts.projections if p.spiked]
    inputs = sum(p.in_features * p.calls_per_token for p in spiked)
    fanout = sum(p.in_features * p.out_features * p.calls_per_token for p in spiked)
    return {
        "spike_events": spikes_per_channel * inputs,
        "synaptic_ops": spikes_per_channel * fanout,
        "spiked_projection_inputs": float(inputs),
        "dense_projection_macs": float(model_counts.projection_macs_per_token),
        "attention_macs": float(model_counts.attention_macs_per_token),
        "context_length": float(model_counts.context_length),
    }


def neurobench_totals(simulated: Iterable[Any], synaptic_ops: float) -> dict[str, float]:
    """NeuroBench Dense / Effective_MACs / Effective_ACs summed over the sample, and our synaptic ops.

    NeuroBench calls an input spiking only when every value is in {-1, 0, 1}; multi-valued counts are
    MACs there, and one nonzero count is one operation however many spike events it codes.
    """
    nbs = [neurobench_from_tally(t) for s in simulated for t in s.tallies]
    effective = sum(n.effective for n in nbs)
    syn = float(synaptic_ops)
    return {
        "Dense": sum(n.dense for n in nbs),
        "Effective_MACs": sum(n.effective_macs for n in nbs),
        "Effective_ACs": sum(n.effective_acs for n in nbs),
        "synaptic_ops": syn,
        "synaptic_ops_per_effective_op": syn / effective if effective else float("nan"),
    }


def layer_energy(simulated: Iterable[Any], profiles: Sequence[Any], *, mode: str = "w8aspike-event"
                 ) -> list[dict[str, float | None]]:
    """Energy per token of each simulated projection on each profile (J), in :func:`layer_records` order.

    Each projection is priced alone (its own measured spike statistics, one call per token) with
    :func:`neurosim.energy.modes.mode_energy`; a profile that cannot run ``mode`` gives None.
    Returns one dict per projection: ``"energy {mode} {profile} [J/token]"`` -> value.
    """
    profs = [as_profile(p) for p in profiles]
    out = []
    for sim in simulated:
        for tally in sim.tallies:
            wl = Workload.single(tally.in_features, tally.out_features, name=tally.name)
            stats = SpikeActivity.from_tally(tally)
            rec: dict[str, float | None] = {}
            for prof in profs:
                res = mode_energy(mode, wl, prof, stats)
                rec[f"energy {mode} {prof.name} [J/token]"] = (None if res.breakdown is None
                                                               else float(res.breakdown.total_j))
            out.append(rec)
    return out


def profile_layer_energy(profile: Any, profiles: Sequence[Any]) -> list[dict[str, float | None]]:
    """Energy of each layer of a torch/snntorch profile (J for the whole profiled input), in the order of
    ``profile.layer_frame()``: ``"energy {mode} {profile} [J]"`` -> value (None where not priced).

    ANN layers are priced like the profile's totals (:func:`neurosim.analysis.pricing.price_layers` on that
    layer alone); snntorch neuron layers carry their updates and emitted spikes, connection layers their
    synaptic ops and dense MACs (:func:`neurosim.analysis.snn_profile` pricing on that layer alone).
    """
    if not profiles:
        return [{} for _ in range(len(profile.layer_frame()))]
    if hasattr(profile, "synapses"):  # snntorch: neuron layers first, then connection layers
        parts = [((n,), ()) for n in profile.neurons] + [((), (c,)) for c in profile.synapses]
        out = []
        for neurons, synapses in parts:
            recs = _snn_energy(profile.model, neurons, synapses, profiles)
            out.append({f"energy snn-event {r['profile']} [J]": r.get("total_j") for r in recs})
        return out
    modes = sorted({r["mode"] for r in profile.energy if "mode" in r}, key=list(EXECUTION_MODES).index)
    out = []
    for layer in profile.layers:
        recs = price_layers(profile.model, [layer], modes, profiles)
        out.append({f"energy {r['mode']} {r['profile']} [J]": r.get("total_j") for r in recs})
    return out


def profile_sensitivity(profile: Any, profiles: Sequence[Any]) -> list[dict[str, Any]]:
    """:func:`neurosim.analysis.sensitivity.energy_sensitivity` of a torch/snntorch profile's totals (J for the
    whole profiled input), priced the same way as the profile's own energy records."""
    if hasattr(profile, "synapses"):
        def price(ps: Sequence[Any]) -> Sequence[Any]:
            return _snn_energy(profile.model, profile.neurons, profile.synapses, ps)
    else:
        modes = sorted({r["mode"] for r in profile.energy if "mode" in r}, key=list(EXECUTION_MODES).index)

        def price(ps: Sequence[Any]) -> Sequence[Any]:
            return price_layers(profile.model, list(profile.layers), modes, ps)

    return energy_sensitivity(price, profiles)
