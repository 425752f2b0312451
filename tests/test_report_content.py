"""What a report says (issue 15): published figures at the run's k, labelled samples, axis units,
provenance, publishable figures and tables. Each test runs the real CLI on a tiny checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ckpt_helpers import make_folder, tiny_config
from neurosim.analysis.job_stats import published_figures
from neurosim.analysis.sweep import REPORT_TABLE_11
from neurosim.init import init_params
from neurosim.reports.cli import main


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    pytest.importorskip("safetensors")
    params = init_params(tiny_config(), rng=np.random.default_rng(5), std=0.1)
    return make_folder(tmp_path / "tiny-ckpt", params)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def job(checkpoint: Path, out: Path, *extra: str) -> list[str]:
    return ["--checkpoint", str(checkpoint), "--tokens", "12", "--out", str(out), "--no-progress",
            "--profiles", "paper-45nm,loihi", *extra]


# --- item 2: the summary compares with the published figure for the run's k -------------------------------


def test_published_figures_follow_table_11() -> None:
    at4 = published_figures(4.0)
    assert at4["window_sparsity"].value == REPORT_TABLE_11.rows[4.0][0]
    assert at4["within_0_7"].value == REPORT_TABLE_11.rows[4.0][1]
    assert at4["spikes_per_channel"].value is None
    assert all(f.value is None and "no published figure" in f.source for f in published_figures(3.3).values())


def test_summary_at_k4_compares_with_table_11_row(checkpoint, tmp_path, capsys) -> None:
    code, out, err = run(capsys, *job(checkpoint, tmp_path / "r", "--k", "4", "--format", "csv"))
    assert code == 0, err
    ws = f"{100 * REPORT_TABLE_11.rows[4.0][0]:.4g}%"
    assert f"table 11, k = 4: {ws}" in out
    assert "69.15" not in out and "report 1.13" not in out
    assert "no published figure at k = 4" in out
    # Every window sparsity figure says what sample it is over.
    stats = (tmp_path / "r" / "statistics.csv").read_text()
    assert "sample" in stats.splitlines()[0] and "pooled" in stats


def test_summary_at_unpublished_k(checkpoint, tmp_path, capsys) -> None:
    code, out, err = run(capsys, *job(checkpoint, tmp_path / "r", "--k", "3.3", "--format", "json"))
    assert code == 0, err
    assert "table 11" not in out and out.count("no published figure at k = 3.3") >= 4


def test_window_sparsity_sample_labels_in_page(checkpoint, tmp_path, capsys) -> None:
    code, _, err = run(capsys, *job(checkpoint, tmp_path / "r", "--format", "md"))
    assert code == 0, err
    md = (tmp_path / "r" / "index.md").read_text()
    assert "first simulated layer's input activations" in md and "this projection's own inputs" in md


# --- item 3: profile energy plots are per forward pass ---------------------------------------------------


def test_profile_energy_plot_axis_is_per_forward_pass(monkeypatch, tmp_path, capsys) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("snntorch")
    from neurosim.analysis import plots

    labels: list[str] = []
    real = plots.plot_energy

    def spy(*args, **kwargs):
        ax = real(*args, **kwargs)
        labels.append(ax.get_xlabel())
        return ax

    monkeypatch.setattr(plots, "plot_energy", spy)
    net = Path(__file__).parent / "data" / "snn_tutorial_net.py"
    code, _, err = run(capsys, "torch", f"{net}:build", "--out", str(tmp_path / "r"), "--no-progress",
                       "--profiles", "loihi", "--format", "md")
    assert code == 0, err
    assert labels and all("per forward pass" in s and "per token" not in s for s in labels)
    del torch
