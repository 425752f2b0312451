"""Cross-check of spike-traffic energy against SANA-FE (optional extra ``neurosim[validate]``).

SANA-FE (SLAM-Lab, PyPI ``sanafe``; Boyle et al., IEEE TCAD 2025) simulates a spiking network on an
architecture description and sums per-event energies; its Loihi description is calibrated to silicon
(within 12% of measured energy on three applications). :func:`sanafe_crosscheck` builds one seeded
feed-forward LIF network (default 784-256-10, T = 8, Bernoulli input spikes) in SANA-FE and here,
feeds both the same input spikes and compares:

* the events: neurosim counts synaptic events, neuron updates, spikes out and messages from the spike
  trains (:func:`neurosim.energy.spike_traffic.count_spike_traffic`); SANA-FE reports its own;
* the energy per time step: neurosim prices its counts on the matching profile
  (:func:`neurosim.energy.spike_traffic.price_spike_traffic`), twice: with the profile's default
  figures and with the profile's figures whose source is SANA-FE (its ``alternatives``), so the second
  ratio tests the counting and the pricing, the first the choice of per-event figures.

On Loihi the spike trains come from a NumPy twin of SANA-FE's Loihi LIF (1/64 potential quantisation,
leak before input, one-step synaptic delay), checked spike for spike against SANA-FE's trace. SANA-FE's
TrueNorth description has no input unit and no energy figures (every energy attribute is 0 J): an input
unit with zero energies is added to a copy, the counts are taken from SANA-FE's own spike trace, and
SANA-FE's energy is reported as 0 (not comparable).

Examples
--------
>>> res = sanafe_crosscheck("loihi")                     # doctest: +SKIP
>>> round(res.ratio_sanafe_figures, 2)                   # doctest: +SKIP
1.0
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import sys
import tempfile
from typing import Any

import numpy as np

from neurosim.energy.profiles import get_profile
from neurosim.energy.spike_traffic import SpikeTraffic, count_spike_traffic, price_spike_traffic
from neurosim.exceptions import DependencyError, InputError

__all__ = ["ARCHITECTURES", "SanafeComparison", "sanafe_crosscheck"]

#: SANA-FE architecture -> neurosim profile.
ARCHITECTURES: dict[str, str] = {"loihi": "loihi", "truenorth": "truenorth"}

# Profile parameter -> spike-traffic term, for picking the SANA-FE-sourced figures of a profile.
_TERM_PARAMS = {"synaptic_events": "synop_energy", "neuron_updates": "neuron_update_energy",
                "spikes_out": "spike_out_energy", "messages": "message_energy"}


@dataclass(frozen=True)
class SanafeComparison:
    """One architecture: SANA-FE's counts and energy beside neurosim's (energies in J per step)."""

    architecture: str
    profile: str
    steps: int
    sizes: tuple[int, ...]
    neurosim_traffic: SpikeTraffic
    sanafe_counts: dict[str, float]
    sanafe_j_per_step: float
    sanafe_breakdown_j: dict[str, float]
    neurosim_j_per_step: float
    neurosim_sanafe_figures_j_per_step: float | None
    spikes_match: bool | None
    notes: tuple[str, ...] = ()
    by_term_j: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """neurosim (profile defaults) / SANA-FE; None where SANA-FE gives no energy."""
        return self.neurosim_j_per_step / self.sanafe_j_per_step if self.sanafe_j_per_step > 0 else None

    @property
    def ratio_sanafe_figures(self) -> float | None:
        """neurosim priced with the profile's SANA-FE-sourced figures / SANA-FE."""
        if self.neurosim_sanafe_figures_j_per_step is None or self.sanafe_j_per_step <= 0:
            return None
        return self.neurosim_sanafe_figures_j_per_step / self.sanafe_j_per_step

    def to_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture, "profile": self.profile, "steps": self.steps,
            "sizes": list(self.sizes), "neurosim_counts": self.neurosim_traffic.to_dict(),
            "sanafe_counts": dict(self.sanafe_counts), "sanafe_j_per_step": self.sanafe_j_per_step,
            "sanafe_breakdown_j": dict(self.sanafe_breakdown_j),
            "neurosim_j_per_step": self.neurosim_j_per_step,
            "neurosim_sanafe_figures_j_per_step": self.neurosim_sanafe_figures_j_per_step,
            "ratio": self.ratio, "ratio_sanafe_figures": self.ratio_sanafe_figures,
            "spikes_match": self.spikes_match, "by_term_j": dict(self.by_term_j), "notes": list(self.notes),
        }


def _sanafe() -> Any:
    try:
        import sanafe
    except ImportError as exc:
        msg = ("the SANA-FE cross-check needs the optional 'sanafe' package: "
               "pip install \"neurosim[validate]\"")
        raise DependencyError(msg) from exc
    return sanafe


def _network(sizes: tuple[int, ...], steps: int, rate: float, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    # Gains chosen so the hidden layer fires at a few percent per step: a sparse but non-trivial trace.
    weights = [rng.normal(0.0, g, (n_in, n_out)) for (n_in, n_out), g in
               zip(zip(sizes[:-1], sizes[1:], strict=True), (0.1, 0.3, 0.3, 0.3), strict=False)]
    x = rng.random((steps, sizes[0])) < rate
    return weights, x


def _loihi_lif(current: np.ndarray, *, threshold: float, decay: float) -> np.ndarray:
    """NumPy twin of SANA-FE's LoihiLifModel.update (soft reset, no input decay, 1/64 quantisation)."""
    v = np.zeros(current.shape[1])
    out = np.zeros(current.shape, dtype=bool)
    for t in range(current.shape[0]):
        if t > 0:
            v *= decay
        v = np.trunc(v * 64.0) / 64.0
        v += current[t]
        fired = v > threshold
        v[fired] -= threshold
        out[t] = fired
    return out


def _twin_spikes(weights: list[np.ndarray], x: np.ndarray, *, threshold: float, decay: float) -> list[np.ndarray]:
    trains = [x]
    for w in weights:
        cur = np.zeros((x.shape[0], w.shape[1]))
        cur[1:] = trains[-1][:-1].astype(float) @ w  # spikes of step t arrive at step t + 1
        trains.append(_loihi_lif(cur, threshold=threshold, decay=decay))
    return trains


def _truenorth_arch_with_inputs(sanafe: Any) -> Path:
    src = Path(sanafe.__file__).parent / "examples" / "truenorth.yaml"
    text = src.read_text(encoding="utf-8")
    unit = ("            - name: core_inputs[0..255]\n              attributes:\n                model: input\n"
            + "".join(f"                {k}: 0.0\n" for k in (
                "energy_access_neuron", "latency_access_neuron", "energy_update_neuron",
                "latency_update_neuron", "energy_spike_out", "latency_spike_out")))
    anchor = "          synapse:\n"
    if anchor not in text:
        raise InputError(f"unexpected layout of SANA-FE's {src}; cannot add an input unit")
    text = text.replace(anchor, unit + anchor, 1)
    # A 4096-core chip takes a minute to build; 8 cores (a 4 x 2 mesh) hold this network and every
    # figure of the description is per event, so the smaller chip changes no count and no energy.
    for full, small in (("width: 64", "width: 4"), ("height: 64", "height: 2"),
                        ("truenorth_tile[0..4095]", "truenorth_tile[0..7]")):
        if full not in text:
            raise InputError(f"unexpected layout of SANA-FE's {src}: no {full!r}")
        text = text.replace(full, small, 1)
    fd, tmp = tempfile.mkstemp(prefix="neurosim-truenorth-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(tmp)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """SANA-FE's C++ core prints progress on file descriptor 1; keep it off stdout (JSON goes there)."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # stdout replaced by an object without a descriptor
        yield
        return
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno() if hasattr(sys.stderr, "fileno") else saved, fd)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)


def _run_sanafe(arch_name: str, weights: list[np.ndarray], x: np.ndarray, *, threshold: float,
                decay: float) -> tuple[dict[str, Any], list[np.ndarray]]:
    sanafe = _sanafe()
    sizes = [x.shape[1]] + [w.shape[1] for w in weights]
    tmp: Path | None = None
    if arch_name == "loihi":
        arch = sanafe.load_loihi()
        cores = arch.cores()
        per_core, input_soma = 1024, "loihi_inputs"
        model = {"threshold": threshold, "leak_decay": decay, "reset_mode": "soft"}
        soma = None
    else:
        tmp = _truenorth_arch_with_inputs(sanafe)
        try:
            arch = sanafe.load_arch(str(tmp))
        finally:
            tmp.unlink(missing_ok=True)
        cores = arch.cores()
        per_core, input_soma = 256, "core_inputs"
        model = {"threshold": threshold, "leak": 1.0 - decay, "reset_mode": "hard"}
        soma = "core_soma"
    net = sanafe.Network()
    groups = [net.create_neuron_group("g0", sizes[0])]
    groups += [net.create_neuron_group(f"g{i}", n, model) for i, n in enumerate(sizes[1:], start=1)]
    core = 0
    for i, nrn in enumerate(groups[0]):
        nrn.set_attributes(soma_hw_name=f"{input_soma}[{i % per_core}]", log_spikes=True)
        nrn.map_to_core(cores[core + i // per_core])
    core += -(-sizes[0] // per_core)
    for g, w, dst in zip(groups[:-1], weights, groups[1:], strict=True):
        g.connect_neurons_dense(dst, {"weight": w.ravel().tolist()})
    for g, n in zip(groups[1:], sizes[1:], strict=True):
        if n > per_core:
            raise InputError(f"layer of {n} neurons does not fit one {arch_name} core ({per_core})")
        for nrn in g:
            if soma is not None:
                nrn.set_attributes(soma_hw_name=soma, log_spikes=True)
            else:
                nrn.set_attributes(log_spikes=True)
            nrn.map_to_core(cores[core])
        core += 1
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    for i, mapped in enumerate(chip.mapped_neuron_groups["g0"]):
        mapped.set_attributes(model_attributes={"spikes": x[:, i].tolist()})
    # one processing thread: the figures do not depend on it and shared machines stay responsive
    with _stdout_to_stderr():
        res = chip.sim(x.shape[0], spike_trace=True, processing_threads=1)
    trains = [np.zeros((x.shape[0], n), dtype=bool) for n in sizes]
    for t, fired in enumerate(res["spike_trace"]):
        for addr in fired:
            trains[int(addr.group_name[1:])][t, addr.neuron_offset] = True
    return res, trains


def _sanafe_figures(profile: Any) -> dict[str, float]:
    """Per-term energies of ``profile`` whose source is SANA-FE (default or alternative)."""
    out: dict[str, float] = {}
    for term, pname in _TERM_PARAMS.items():
        p = profile.params.get(pname)
        if p is None:
            continue
        for cand in (p, *p.alternatives):
            # the citation proper, not its "[via: ...]" tail (Davies' figures were cross-checked there)
            if "SANA-FE" in cand.source.split(" [via:")[0]:
                out[term] = cand.value
                break
    return out


def sanafe_crosscheck(architecture: str = "loihi", *, sizes: tuple[int, ...] = (784, 256, 10), steps: int = 8,
                      rate: float = 0.1, seed: int = 0, threshold: float = 1.0,
                      decay: float = 0.9) -> SanafeComparison:
    """Run the same seeded network in SANA-FE and count and price it here.

    Parameters
    ----------
    architecture : {"loihi", "truenorth"}
        SANA-FE architecture; priced on the neurosim profile of the same name.
    sizes : tuple of int
        Population sizes, input first (each non-input layer must fit one core).
    steps : int
        Time steps T.
    rate : float
        Probability of an input spike per neuron per step.
    seed : int
        Seed of the weights and input spikes.
    threshold, decay : float
        LIF threshold and per-step leak factor of the non-input neurons.

    Raises
    ------
    DependencyError
        ``sanafe`` is not installed.
    InputError
        Unknown architecture or bad sizes.
    """
    if architecture not in ARCHITECTURES:
        raise InputError(f"unknown SANA-FE architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    if len(sizes) < 2 or any(int(n) <= 0 for n in sizes) or steps <= 1 or not 0 < rate <= 1:
        raise InputError(f"need >= 2 positive layer sizes, steps > 1 and 0 < rate <= 1 "
                         f"(got sizes={sizes}, steps={steps}, rate={rate})")
    weights, x = _network(tuple(sizes), steps, rate, seed)
    res, sf_trains = _run_sanafe(architecture, weights, x, threshold=threshold, decay=decay)
    notes: list[str] = []
    if architecture == "loihi":
        trains = _twin_spikes(weights, x, threshold=threshold, decay=decay)
        match: bool | None = all(np.array_equal(a, b) for a, b in zip(trains, sf_trains, strict=True))
    else:
        trains, match = sf_trains, None
        notes.append("SANA-FE's truenorth.yaml gives every event 0 J and has no input unit (one with zero "
                     "energies was added); counts come from SANA-FE's spike trace, energies are not comparable")
    fan_out = [w.shape[1] for w in weights] + [0]
    traffic = count_spike_traffic(trains, fan_out)
    profile = get_profile(ARCHITECTURES[architecture])
    priced = price_spike_traffic(traffic, profile)
    figures = _sanafe_figures(profile)
    alt = price_spike_traffic(traffic, profile, overrides=figures) if figures else None
    if alt is None:
        notes.append(f"profile {profile.name!r} has no SANA-FE-sourced figures")
    energy = res["energy"]
    return SanafeComparison(
        architecture=architecture, profile=profile.name, steps=steps, sizes=tuple(int(n) for n in sizes),
        neurosim_traffic=traffic,
        sanafe_counts={"synaptic_events": float(res["spikes"]), "messages": float(res["packets_sent"]),
                       "neurons_updated": float(res["neurons_updated"]), "neurons_fired": float(res["neurons_fired"])},
        sanafe_j_per_step=float(energy["total"]) / steps,
        sanafe_breakdown_j={k: float(v) for k, v in energy.items()},
        neurosim_j_per_step=priced.per_step_j,
        neurosim_sanafe_figures_j_per_step=None if alt is None else alt.per_step_j,
        spikes_match=match, notes=tuple(notes) + priced.notes,
        by_term_j=dict(priced.by_term),
    )
