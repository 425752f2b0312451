"""The curated public surface: each package's __all__ is pinned and importable, and
importing the core packages does no heavy work (no torch, no matplotlib)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = {
    "neurosim": [
        "CODINGS", "AdaptiveIFResult", "Checkpoint", "LIFParameters", "LIFResult", "LIFState", "ModelConfig",
        "ModelCounts", "NeurosimError", "ProjectionSpec", "ProjectionTally", "QuantizedWeight", "SpikeEvents",
        "SpikingLinearResult", "__version__", "adaptive_threshold", "analytical_counts", "config_from_hf",
        "decode", "decode_events", "encode", "encode_events", "get_model_config", "init_layer_weights", "init_params",
        "integer_accumulate", "lif_step", "list_models", "load_checkpoint", "load_model", "prefill_flops",
        "project_counts", "quantize_weight", "quantized_from_checkpoint", "read_safetensors",
        "representable_range", "simulate_adaptive_if", "simulate_lif", "spike_counts", "sum_tallies",
        "tally_frame", "time_steps_needed", "w8aspike_linear",
    ],
    "neurosim.energy": [
        "ACTIONS", "EXECUTION_MODES", "ActionCosts", "ActionCounts", "CitedValue", "EnergyBreakdown", "EnergyTable",
        "ExecutionMode", "HardwareProfile",
        "ModeResult", "NeuroBenchCounts", "OperationComparison", "PaperClaims", "SpikeActivity", "StackPreset",
        "SystemEnergy", "Workload", "compare_operations", "energy_frame", "energy_records",
        "evaluate", "format_energy", "format_power", "get_profile", "get_stack", "get_table", "list_profiles",
        "list_stacks", "list_tables",
        "load_profile", "load_table", "mode_counts", "mode_energy", "model_energy", "model_workload",
        "neurobench_counts", "neurobench_from_tally", "paper_claims", "report_figure", "report_figures",
        "report_table", "system_energy", "system_frame",
        "system_records",
    ],
    "neurosim.analysis": [
        "REPORT_TABLE_11", "TABLE_7", "CalibrationFit", "CalibrationTarget", "Claim",
        "CountDistribution", "FiringRate", "ModelProfile", "SNNProfile", "SpikeStatistics", "WindowSparsity",
        "audit_claims", "calibrated_activations", "claims_frame", "count_distribution", "firing_rate_per_step",
        "fit_baseline", "fit_calibration", "k_sweep", "layer_table", "load_factory",
        "neurobench_activation_sparsity", "profile_hf_directory", "profile_model", "profile_snn",
        "silent_fraction", "sparsity_bounds", "spikes_per_channel", "summarize", "window_sparsity",
    ],
    "neurosim.reports": ["JobResult", "JobSettings", "main", "run_job"],
}


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_exports_are_pinned_and_importable(package: str) -> None:
    mod = importlib.import_module(package)
    assert list(mod.__all__) == EXPECTED[package]
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def test_every_module_declares_all() -> None:
    missing = []
    for pkg in ("neurosim", "energy", "analysis", "reports"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.name == "__main__.py":
                continue
            if "__all__" not in path.read_text():
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_core_imports_do_not_load_torch_or_matplotlib() -> None:
    code = ("import sys, neurosim, neurosim.layers, neurosim.energy, neurosim.analysis, neurosim.reports, neurosim.reports.jobs; "
            "heavy = [m for m in ('torch', 'snntorch', 'matplotlib', 'transformers') if m in sys.modules]; "
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
