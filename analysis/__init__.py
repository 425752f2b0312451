"""analysis: spike statistics, calibration, k sweeps, the claims audit and model profiling.

Plots are in :mod:`neurosim.analysis.plots` (not imported here, so importing analysis does not load
matplotlib). Profiling of PyTorch models is in :mod:`neurosim.analysis.torch_profile` (loading in
:mod:`neurosim.analysis.model_loading`, pricing in :mod:`neurosim.analysis.pricing`), of snntorch networks in
:mod:`neurosim.analysis.snn_profile` (torch is imported only when a profiling function is called).
"""

from typing import TYPE_CHECKING

from neurosim._lazy import lazy_exports

# Public name -> defining module, imported on first access (see neurosim._lazy).
_EXPORTS = {
    "CalibrationFit": "neurosim.analysis.calibration",
    "CalibrationTarget": "neurosim.analysis.calibration",
    "Claim": "neurosim.analysis.claim_record",
    "CountDistribution": "neurosim.analysis.sparsity",
    "FiringRate": "neurosim.analysis.sparsity",
    "ModelProfile": "neurosim.analysis.torch_profile",
    "REPORT_TABLE_11": "neurosim.analysis.sweep",
    "SNNProfile": "neurosim.analysis.snn_profile",
    "SpikeStatistics": "neurosim.analysis.sparsity",
    "TABLE_7": "neurosim.analysis.ttft",
    "WindowSparsity": "neurosim.analysis.sparsity",
    "audit_claims": "neurosim.analysis.claims",
    "calibrated_activations": "neurosim.analysis.calibration",
    "claims_frame": "neurosim.analysis.claims",
    "count_distribution": "neurosim.analysis.sparsity",
    "firing_rate_per_step": "neurosim.analysis.sparsity",
    "fit_baseline": "neurosim.analysis.ttft",
    "fit_calibration": "neurosim.analysis.calibration",
    "k_sweep": "neurosim.analysis.sweep",
    "layer_table": "neurosim.analysis.sweep",
    "load_factory": "neurosim.analysis.model_loading",
    "neurobench_activation_sparsity": "neurosim.analysis.sparsity",
    "profile_hf_directory": "neurosim.analysis.model_loading",
    "profile_model": "neurosim.analysis.torch_profile",
    "profile_snn": "neurosim.analysis.snn_profile",
    "silent_fraction": "neurosim.analysis.sparsity",
    "sparsity_bounds": "neurosim.analysis.sparsity_bounds",
    "spikes_per_channel": "neurosim.analysis.sparsity",
    "summarize": "neurosim.analysis.sparsity",
    "window_sparsity": "neurosim.analysis.sparsity",
}

if TYPE_CHECKING:  # static checkers see the real imports
    from neurosim.analysis.calibration import CalibrationFit, CalibrationTarget, calibrated_activations, fit_calibration
    from neurosim.analysis.claim_record import Claim
    from neurosim.analysis.claims import audit_claims, claims_frame
    from neurosim.analysis.sparsity import (
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
    from neurosim.analysis.sparsity_bounds import sparsity_bounds
    from neurosim.analysis.sweep import REPORT_TABLE_11, k_sweep, layer_table
    from neurosim.analysis.snn_profile import SNNProfile, profile_snn
    from neurosim.analysis.model_loading import load_factory, profile_hf_directory
    from neurosim.analysis.torch_profile import ModelProfile, profile_model
    from neurosim.analysis.ttft import TABLE_7, fit_baseline

__all__ = [
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

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
