"""The curated public surface: each package's __all__ is pinned and importable, every public module's
__all__ resolves, importing the core packages does no heavy work (no torch, no matplotlib, and no numba
for neurosim.energy), and the built wheel installs exactly one top-level import package, ``neurosim``."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tomllib
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
    "neurosim.layers": [
        "FORWARD_MODES", "AttentionWeights", "BlockWeights", "ForwardMode", "GLAWeights", "LayerRun", "Linear",
        "MLPWeights", "MoEWeights", "ModelWeights", "Projector", "apply_rope", "block_weights_from_params",
        "decoder_block", "gated_linear_attention", "gla_recurrence", "layer_parameter_shapes", "log_sigmoid",
        "moe_ffn", "parameter_shapes", "rms_norm", "route_top_k", "run_decoder_layer", "run_model", "silu",
        "softmax_attention", "swiglu_ffn", "weights_from_params", "window_attention_core",
    ],
    "neurosim.reports": ["JobResult", "JobSettings", "main", "run_job"],
}


def _packages() -> list[str]:
    """The import packages pyproject.toml installs (``[tool.setuptools] packages``)."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return list(tomllib.load(fh)["tool"]["setuptools"]["packages"])


def _public_modules() -> list[str]:
    """Every module of every installed package whose name has no private part (``_x``)."""
    names = []
    for package in _packages():
        path = importlib.import_module(package).__path__
        names += [info.name for info in pkgutil.iter_modules(path, package + ".")
                  if not info.ispkg and not info.name.rsplit(".", 1)[1].startswith("_")]
    return sorted(names)


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_exports_are_pinned_and_importable(package: str) -> None:
    mod = importlib.import_module(package)
    assert list(mod.__all__) == EXPECTED[package]
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def test_every_package_is_pinned() -> None:
    assert sorted(_packages()) == sorted(EXPECTED)


@pytest.mark.parametrize("module", _public_modules())
def test_every_public_module_declares_all_and_it_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    assert isinstance(getattr(mod, "__all__", None), list | tuple), f"{module} has no __all__"
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert missing == []


def test_no_package_imports_another_packages_private_module() -> None:
    # A private module (leading underscore) is imported only from its own folder; the package
    # __init__ machinery neurosim._lazy is the one shared exception.
    bad = []
    pattern = re.compile(r"^\s*(?:from|import) (neurosim(?:\.[a-z_]+)*)\.(_[a-z]\w*)", re.MULTILINE)
    folder_of = {"neurosim.energy": "energy", "neurosim.analysis": "analysis", "neurosim.reports": "reports",
                 "neurosim.layers": "neurosim/layers", "neurosim": "neurosim"}
    for path in sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv", "tests/", "build/")):
            continue
        for owner, private in pattern.findall(path.read_text()):
            if f"{owner}.{private}" == "neurosim._lazy":
                continue
            if path.parent.relative_to(ROOT).as_posix() != folder_of.get(owner):
                bad.append(f"{rel}: {owner}.{private}")
    assert bad == []


def test_core_imports_do_not_load_torch_or_matplotlib() -> None:
    code = ("import sys, neurosim, neurosim.layers, neurosim.energy, neurosim.analysis, neurosim.reports, neurosim.reports.jobs; "
            "heavy = [m for m in ('torch', 'snntorch', 'matplotlib', 'transformers') if m in sys.modules]; "
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_energy_import_loads_no_numba() -> None:
    code = "import sys, neurosim.energy; print('numba' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def _readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split(heading, 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_wheel_adds_only_neurosim_and_readme_snippet_works_beside_user_folders(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    wheels, site, user = tmp_path / "wheels", tmp_path / "site", tmp_path / "project"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    # Build from a copy of the source (setuptools writes build/ next to it; no build isolation: setuptools
    # is installed, nothing is downloaded).
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__",
                                                             "tests", "docs", "benchmarks", "energy-report"))
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", str(src), "-w", str(wheels)],
                   check=True, capture_output=True, timeout=300, cwd=tmp_path)
    (wheel,) = wheels.glob("neurosim-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--no-compile", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    top = {p.name for p in site.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin"}
    assert top == {"neurosim"}
    assert (site / "neurosim" / "energy" / "data" / "report-spikingbrain.toml").is_file()
    # A user's project with its own analysis/ and reports/ packages must not shadow ours (or be shadowed).
    for name in ("analysis", "reports"):
        (user / name).mkdir(parents=True)
        (user / name / "__init__.py").write_text(f"MINE = {name!r}\n")
    snippet = _readme_block("## Profile your own model")
    check = ("\nimport analysis, reports, neurosim\n"
             f"assert neurosim.__file__.startswith({str(site)!r}), neurosim.__file__\n"
             "assert analysis.MINE == 'analysis' and reports.MINE == 'reports'\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", snippet + check], capture_output=True, text=True, cwd=user,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "spikes_per_channel" in proc.stdout


def _module_graph() -> dict[str, set[str]]:
    """Module-level imports between project modules (function-local imports are not edges)."""
    import ast

    folders = {"neurosim": "neurosim", "energy": "neurosim.energy", "analysis": "neurosim.analysis",
               "reports": "neurosim.reports"}
    files = {}
    for folder, package in folders.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            files[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("neurosim"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in files else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("neurosim")}
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def test_no_import_cycles_and_no_back_edges() -> None:
    # Data flows neurosim -> energy -> analysis -> reports; a module never imports a later step, and no
    # chain of module-level imports comes back to where it started.
    graph = _module_graph()

    def step(module: str) -> int:
        for i, package in enumerate(("neurosim.reports", "neurosim.analysis", "neurosim.energy")):
            if module.startswith(package):
                return 3 - i
        return 0

    assert [(u, v) for u in graph for v in graph[u] if step(v) > step(u)] == []
    state: dict[str, int] = {}
    cycles = []

    def visit(u: str, path: list[str]) -> None:
        state[u] = 1
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                cycles.append(" -> ".join(path[path.index(v):] + [u, v]))
            elif v not in state:
                visit(v, path + [u])
        state[u] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert cycles == []


def test_project_imports_sit_at_the_top_unless_a_comment_says_why() -> None:
    # A function-local import of a project module hides the dependency graph; it is allowed only where a
    # cycle or an optional dependency requires it, and then a comment on the line says which. The command
    # dispatcher reports/jobs.py is the one module that imports per command (its docstring says why).
    import ast

    found = []
    for folder in ("neurosim", "energy", "analysis", "reports"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "reports/jobs.py":
                continue
            text = path.read_text()
            lines = text.splitlines()
            for func in ast.walk(ast.parse(text)):
                if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(func):
                    module = node.module if isinstance(node, ast.ImportFrom) else (
                        node.names[0].name if isinstance(node, ast.Import) else None)
                    if module and module.startswith("neurosim") and "#" not in lines[node.end_lineno - 1]:
                        found.append(f"{rel}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert sorted(set(found)) == []
