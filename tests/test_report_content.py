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


# --- item 6: provenance and compare -----------------------------------------------------------------------


def test_provenance_recorded(checkpoint, tmp_path, capsys) -> None:
    import importlib.metadata as md
    import subprocess

    from neurosim.energy.profiles import get_profile

    out = tmp_path / "r"
    code, _, err = run(capsys, *job(checkpoint, out, "--format", "json,html", "--set", "loihi.synop_energy=23.6pJ"))
    assert code == 0, err
    prov = json.loads((out / "summary.json").read_text())["provenance"]
    assert prov["libraries"]["numpy"] == md.version("numpy")
    assert prov["overrides"] == ["loihi.synop_energy=23.6pJ"]
    consts = {(c["profile"], c["action"]): c for c in prov["constants"]}
    assert consts["loihi", "add_int8"]["value"] == pytest.approx(23.6e-12)
    assert "override" in consts["loihi", "add_int8"]["sources"]
    ref = get_profile("paper-45nm")
    assert consts["paper-45nm", "add_int8"]["value"] == pytest.approx(ref.costs.add_int8)
    assert "Horowitz" in consts["paper-45nm", "add_int8"]["sources"] or consts["paper-45nm", "add_int8"]["sources"]
    assert "checkpoint" in json.dumps(prov["inputs"])
    full = json.loads((out / "provenance.json").read_text())
    assert "--tokens 12" in full["command_line"] and full["timestamp"].endswith("Z")
    root = Path(__file__).parents[1]
    if (root / ".git").exists():
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        assert prov["git"]["commit"] == head.strip()
    html = (out / "index.html").read_text()
    assert "Per-operation constants used" in html and "23.6 pJ" in html


def test_compare_two_reports(checkpoint, tmp_path, capsys) -> None:
    for k in ("2", "4"):
        code, _, err = run(capsys, *job(checkpoint, tmp_path / f"k{k}", "--k", k, "--format", "json"))
        assert code == 0, err
    out = tmp_path / "cmp"
    code, stdout, err = run(capsys, "compare", str(tmp_path / "k2"), str(tmp_path / "k4"), "--out", str(out))
    assert code == 0, err
    a = json.loads((tmp_path / "k2" / "summary.json").read_text())
    b = json.loads((tmp_path / "k4" / "summary.json").read_text())
    rows = {(r["section"], r["item"]): r for r in json.loads((out / "compare.json").read_text())}
    k_row = rows["settings", "k"]
    assert (k_row["A"], k_row["B"]) == (2.0, 4.0)
    spc = rows["statistics", "spikes_per_channel"]
    assert spc["B - A"] == pytest.approx(b["sparsity"]["spikes_per_channel"] - a["sparsity"]["spikes_per_channel"])
    ev = next(r for r in rows.values() if r["item"] == "w8aspike-event | loihi: total_j")
    loihi = [r["total_j"] for s in (a, b) for r in s["energy"]["measured"]
             if r["profile"] == "loihi" and r["mode"] == "w8aspike-event"]
    assert ev["B / A"] == pytest.approx(loihi[1] / loihi[0])
    assert "spikes_per_channel" in stdout and {"compare.csv", "compare.tex", "compare.md"} <= {
        p.name for p in out.iterdir()}
    code, _, err = run(capsys, "compare", str(tmp_path / "k2"), str(tmp_path / "nothing"), "--out", str(out))
    assert code == 1 and "does not exist" in err


# --- item 7: publishable figures and tables --------------------------------------------------------------


def test_vector_figures_and_latex_tables(checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "r"
    code, _, err = run(capsys, *job(checkpoint, out, "--format", "md,svg,pdf,tex,csv"))
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    for stem in ("energy", "k_sweep", "count_histogram"):
        assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf"} <= names, stem
    assert (out / "energy.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert (out / "energy.pdf").read_bytes().startswith(b"%PDF")
    tex = [p for p in out.iterdir() if p.suffix == ".tex"]
    assert tex and all("\\toprule" in p.read_text() and "\\bottomrule" in p.read_text() for p in tex)
    layers = (out / "layers.csv").read_text().splitlines()[0]
    assert "energy" in layers  # energy per layer
    claims = (out / "claims.csv").read_text()
    md = (out / "index.md").read_text()
    assert "e-14 J" not in md and "pJ" in md
    assert ">100" in md  # ttft-4m speed-up shown as a lower bound


# --- item 8: terminal tables never drop columns silently ------------------------------------------------


def test_terminal_table_keeps_every_column() -> None:
    import pandas as pd

    from neurosim.reports.render import format_terminal_table

    frame = pd.DataFrame({"name": ["a", "b"], **{f"column_{i}": [1.5 * i, 2.0] for i in range(12)},
                          "reason": ["x" * 200, "short"]})
    text = format_terminal_table(frame, max_width=80, csv_hint="t.csv")
    assert all(len(line) <= 80 for line in text.splitlines())
    for col in frame.columns:
        assert col in text, col
    assert "t.csv" in text and "shortened" in text


def test_terminal_by_layer_cells_carry_their_interval() -> None:
    import pandas as pd

    from neurosim.reports.document import _interval_cells

    table = pd.DataFrame({"layer": [0, 1], "silent_fraction": [0.2, 0.25], "silent_fraction_low": [0.19, 0.24],
                          "silent_fraction_high": [0.21, 0.26], "note": ["a", "b"]})
    cells = _interval_cells(table)
    assert list(cells.columns) == ["layer", "silent_fraction", "note"]
    assert list(cells["silent_fraction"]) == ["0.2 [0.19, 0.21]", "0.25 [0.24, 0.26]"]
    assert list(table.columns)[-1] == "note"  # the caller's table (also written as CSV) is left as it was
