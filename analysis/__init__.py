"""analysis: spike statistics, calibration, k sweeps, the claims audit and model profiling.

Plots are in :mod:`analysis.plots` (not imported here, so importing analysis does not load
matplotlib). Profiling of PyTorch models is in :mod:`analysis.torch_profile`, of snntorch networks in
:mod:`analysis.snn_profile` (torch is imported only when a profiling function is called).
"""

from analysis.calibration import CalibrationFit, CalibrationTarget, calibrated_activations, fit_calibration
from analysis.claims import REPORT_FIGURES, Claim, audit_claims, claims_frame, sparsity_bounds
from analysis.sparsity import (
    CountDistribution,
    FiringRate,
    SpikeStatistics,
    WindowSparsity,
    count_distribution,
    firing_rate_per_step,
    neurobench_activation_sparsity,
    silent_fraction,
    spikes_per_channel,
    summarize,
    window_sparsity,
)
from analysis.sweep import REPORT_TABLE_11, k_sweep, layer_table
from analysis.snn_profile import SNNProfile, profile_snn
from analysis.torch_profile import ModelProfile, load_factory, profile_hf_directory, profile_model
from analysis.ttft import TABLE_7, fit_baseline

__all__ = [
    "REPORT_FIGURES",
    "REPORT_TABLE_11",
    "TABLE_7",
    "CalibrationFit",
    "CalibrationTarget",
    "Claim",
    "CountDistribution",
    "FiringRate",
    "ModelProfile",
    "SNNProfile",
    "SpikeStatistics",
    "WindowSparsity",
    "audit_claims",
    "calibrated_activations",
    "claims_frame",
    "count_distribution",
    "firing_rate_per_step",
    "fit_baseline",
    "fit_calibration",
    "k_sweep",
    "layer_table",
    "load_factory",
    "neurobench_activation_sparsity",
    "profile_hf_directory",
    "profile_model",
    "profile_snn",
    "silent_fraction",
    "sparsity_bounds",
    "spikes_per_channel",
    "summarize",
    "window_sparsity",
]
