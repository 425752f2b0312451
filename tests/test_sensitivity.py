"""Sensitivity to disputed figures (issue 15 item 5): each profile's total spans a range over the
alternatives its data file keeps, and the report shows it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ckpt_helpers import make_folder, tiny_config
from neurosim.analysis.sensitivity import model_energy_sensitivity
from neurosim.energy.profiles import get_profile
from neurosim.energy.system import system_records
from neurosim.init import init_params
from neurosim.reports.cli import main


def test_spinnaker2_range_spans_its_two_figures() -> None:
    prof = get_profile("spinnaker2")
    values = sorted([prof.params["synop_energy"].value, *(a.value for a in prof.params["synop_energy"].alternatives)])
    rows = {r["mode"]: r for r in model_energy_sensitivity("spikingbrain-7b", ["spinnaker2"], scope="spiked")}
    ev = rows["w8aspike-event"]
    ends = []
    for v in (values[0], values[-1]):
        rec = system_records(["spikingbrain-7b"], profiles=[prof.with_params(synop_energy=v)], scope="spiked",
                             modes=("w8aspike-event",))
        ends.append(rec["rows"][0]["total_j"])
    assert ev["low_j"] == pytest.approx(min(ends)) and ev["high_j"] == pytest.approx(max(ends))
    assert ev["high_j"] > 5 * ev["low_j"]
    assert "synop_energy" in ev["disputed"]


def test_profile_without_alternatives_has_no_range() -> None:
    rows = model_energy_sensitivity("spikingbrain-7b", ["paper-45nm"], scope="spiked")
    assert rows and all(r["low_j"] == r["high_j"] == r["total_j"] and r["disputed"] == "none" for r in rows)


def test_report_shows_ranges(tmp_path: Path, capsys) -> None:
    pytest.importorskip("safetensors")
    ckpt = make_folder(tmp_path / "ckpt", init_params(tiny_config(), rng=np.random.default_rng(5), std=0.1))
    out = tmp_path / "r"
    code = main(["--checkpoint", str(ckpt), "--tokens", "8", "--out", str(out), "--no-progress",
                 "--profiles", "loihi,paper-45nm", "--format", "md,csv,json"])
    stdout = capsys.readouterr().out
    assert code == 0
    sens = json.loads((out / "summary.json").read_text())["energy"]["sensitivity"]
    loihi = next(r for r in sens if r["profile"] == "loihi")
    measured = next(r for r in json.loads((out / "summary.json").read_text())["energy"]["measured"]
                    if r["profile"] == "loihi" and r["mode"] == "w8aspike-event")
    assert loihi["total_j"] == pytest.approx(measured["total_j"])
    assert loihi["low_j"] <= loihi["total_j"] < loihi["high_j"]
    assert "sensitivity.csv" in {p.name for p in out.iterdir()}
    assert "Sensitivity" in (out / "index.md").read_text()
    assert "Contested figures" in stdout and "loihi" in stdout.split("Contested figures")[1]


def test_profile_report_shows_ranges(tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("snntorch")
    net = Path(__file__).parent / "data" / "snn_tutorial_net.py"
    out = tmp_path / "r"
    code = main(["torch", f"{net}:build", "--out", str(out), "--no-progress", "--profiles", "loihi,spinnaker2",
                 "--format", "md"])
    assert code == 0, capsys.readouterr().err
    sens = {r["profile"]: r for r in json.loads((out / "summary.json").read_text())["sensitivity"]}
    import importlib.util

    from neurosim.analysis.snn_profile import profile_snn

    spec = importlib.util.spec_from_file_location("tut_sens", net)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model, x = mod.build()
    sp2 = get_profile("spinnaker2")
    worst = max([sp2.params["synop_energy"].value, *(a.value for a in sp2.params["synop_energy"].alternatives)])
    high = profile_snn(model, x, profiles=[sp2.with_params(synop_energy=worst)]).energy[0]["total_j"]
    assert sens["spinnaker2"]["high_j"] == pytest.approx(high)
    assert sens["spinnaker2"]["low_j"] < sens["spinnaker2"]["total_j"] * 1.0001 < sens["spinnaker2"]["high_j"]
    assert "Sensitivity" in (out / "index.md").read_text()


def test_ann_options_refuse_snn_only_flags(tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch")
    factory = tmp_path / "mlp.py"
    factory.write_text("import torch\n\ndef build():\n    torch.manual_seed(0)\n"
                       "    return torch.nn.Sequential(torch.nn.Linear(8, 4)), torch.randn(3, 8)\n")
    code = main(["torch", f"{factory}:build", "--out", str(tmp_path / "r"), "--calling", "sequence"])
    assert code == 2 and "--calling" in capsys.readouterr().err
