"""Per-token energy of a whole model, per execution mode and hardware profile.

These are the per-action (work) figures at batch 1 with no time model. The system figure -- static
power x time, batch and phase, chips needed -- is :func:`neurosim.energy.system.system_records`, which
the ``energy`` subcommand and the reports use.

The model side comes from :func:`neurosim.counts.analytical_counts` (projection shapes and attention
MACs at a context length); the activity side from :class:`~neurosim.energy.workload.SpikeActivity`, measured
(``SpikeActivity.from_tally``) or stated (``SpikeActivity.paper()``). Each (mode, profile) pair gives
compute, memory and static energy per token and the ratio to the FP16 dense baseline, taken on the same
profile when it runs FP16, else on ``baseline_profile`` (the 45 nm table by default); the ``baseline``
column says which. Pairs that cannot run are left out of the rows and listed with their reason.

Examples
--------
>>> frame = energy_frame("spikingbrain-7b", profiles=["paper-45nm"], scope="spiked")
>>> sorted(frame["mode"])   # doctest: +NORMALIZE_WHITESPACE
['fp16-dense', 'int8-dense', 'w8aspike-event', 'w8aspike-gpu']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from neurosim.counts import ModelCounts, analytical_counts
from neurosim.energy.modes import EXECUTION_MODES, ModeResult, Scope, mode_energy
from neurosim.energy.profiles import HardwareProfile, get_profile, list_profiles
from neurosim.energy.workload import SpikeActivity, Workload
from neurosim.exceptions import InputError
from neurosim.models import ModelConfig, get_model_config

__all__ = [
    "DEFAULT_CONTEXT_LENGTH",
    "RECORD_COLUMNS",
    "energy_frame",
    "energy_records",
    "model_energy",
    "model_workload",
]

#: Context length (tokens) of the default per-token figures: the SWA window of SpikingBrain-7B.
DEFAULT_CONTEXT_LENGTH = 4096

RECORD_COLUMNS: tuple[str, ...] = (
    "model", "mode", "profile", "scope", "compute_j", "memory_j", "static_j", "total_j",
    "ratio_vs_fp16", "baseline",
)


def model_workload(model: Any, *, context_length: int = DEFAULT_CONTEXT_LENGTH) -> Workload:
    """Per-token :class:`Workload` of a model name, a ``ModelConfig``, ``ModelCounts`` or a Workload."""
    if isinstance(model, Workload):
        return model
    if isinstance(model, str):
        model = get_model_config(model)
    if isinstance(model, ModelConfig):
        model = analytical_counts(model, context_length=context_length)
    if not isinstance(model, ModelCounts):
        raise InputError(f"'model' must be a model name, ModelConfig, ModelCounts or Workload "
                         f"(got {type(model).__name__}); see neurosim.models.list_models()")
    return Workload.from_model_counts(model)


def _profile(p: str | HardwareProfile) -> HardwareProfile:
    return p if isinstance(p, HardwareProfile) else get_profile(p)


def model_energy(model: Any, *, mode: str, profile: str | HardwareProfile,
                 stats: SpikeActivity | None = None, context_length: int = DEFAULT_CONTEXT_LENGTH,
                 block_size: int = 1, weight_reuse: float = 1.0, scope: Scope = "all",
                 shift_energy: float | None = None, event_overhead: float | None = None) -> ModeResult:
    """Per-token energy of ``model`` in ``mode`` on ``profile``.

    Parameters
    ----------
    model : str, ModelConfig, ModelCounts or Workload
    mode : str
        One of :data:`neurosim.energy.modes.EXECUTION_MODES`.
    profile : str or HardwareProfile
    stats : SpikeActivity, optional
        Default: the report's stated statistics.
    context_length : int
        Tokens of context (sets the attention MACs and state read per token).
    block_size, weight_reuse, scope, shift_energy, event_overhead
        See :func:`neurosim.energy.modes.mode_energy`.

    Returns
    -------
    ModeResult
        Energies in J per token, or the reason the pair does not apply.
    """
    workload = model_workload(model, context_length=context_length)
    return mode_energy(mode, workload, _profile(profile), stats, block_size=block_size,
                       weight_reuse=weight_reuse, scope=scope, shift_energy=shift_energy,
                       event_overhead=event_overhead)


def energy_records(models: str | Iterable[Any] = "spikingbrain-7b", *,
                   modes: Sequence[str] = EXECUTION_MODES, profiles: Sequence[str | HardwareProfile] | None = None,
                   stats: SpikeActivity | None = None, context_length: int = DEFAULT_CONTEXT_LENGTH,
                   block_size: int = 1, weight_reuse: float = 1.0, scope: Scope = "all",
                   baseline_profile: str = "paper-45nm", shift_energy: float | None = None,
                   event_overhead: float | None = None) -> dict[str, Any]:
    """JSON-ready per-token energy records for every (model, mode, profile).

    Returns
    -------
    dict
        ``rows``: list of dicts with :data:`RECORD_COLUMNS` (J per token) plus ``by_action_j`` and
        ``notes``; ``skipped``: list of ``{model, mode, profile, reason}``; ``assumptions``: the
        statistics and options used.
    """
    if isinstance(models, str) or not isinstance(models, Iterable):
        models = [models]
    stats = SpikeActivity.paper() if stats is None else stats
    plist = [_profile(p) for p in (list_profiles() if profiles is None else profiles)]
    kw = dict(block_size=block_size, weight_reuse=weight_reuse, scope=scope,
              shift_energy=shift_energy, event_overhead=event_overhead)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    base_prof = _profile(baseline_profile)
    for m in models:
        workload = model_workload(m, context_length=context_length)
        fp16_base = mode_energy("fp16-dense", workload, base_prof, stats, **kw)
        for prof in plist:
            own = mode_energy("fp16-dense", workload, prof, stats, **kw)
            base = own if own.applicable else fp16_base
            for mode in modes:
                res = own if mode == "fp16-dense" else mode_energy(mode, workload, prof, stats, **kw)
                if res.breakdown is None:
                    skipped.append({"model": workload.name, "mode": mode, "profile": prof.name,
                                    "reason": res.reason})
                    continue
                b = res.breakdown
                ratio = (b.total_j / base.breakdown.total_j
                         if base.breakdown is not None and base.breakdown.total_j > 0 else None)
                rows.append({
                    "model": workload.name, "mode": mode, "profile": prof.name, "scope": scope,
                    "compute_j": b.compute_j, "memory_j": b.memory_j, "static_j": b.static_j,
                    "total_j": b.total_j, "ratio_vs_fp16": ratio,
                    "baseline": f"fp16-dense@{base.profile}" if base.breakdown is not None else "none",
                    "by_action_j": dict(b.by_action), "notes": list(b.notes),
                })
    return {
        "rows": rows,
        "skipped": skipped,
        "assumptions": {
            "stats": stats.to_dict(), "context_length": context_length, "block_size": block_size,
            "weight_reuse": weight_reuse, "scope": scope, "baseline_profile": base_prof.name,
            "profile_versions": {p.name: p.version for p in plist},
        },
    }


def energy_frame(models: str | Iterable[Any] = "spikingbrain-7b", **options: Any) -> pd.DataFrame:
    """:func:`energy_records` rows as a DataFrame with :data:`RECORD_COLUMNS`.

    Skipped pairs and the assumptions are kept in ``frame.attrs["skipped"]`` and
    ``frame.attrs["assumptions"]``.
    """
    rec = energy_records(models, **options)
    frame = pd.DataFrame([{k: r[k] for k in RECORD_COLUMNS} for r in rec["rows"]], columns=list(RECORD_COLUMNS))
    frame.attrs["skipped"] = rec["skipped"]
    frame.attrs["assumptions"] = rec["assumptions"]
    return frame
