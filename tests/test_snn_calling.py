"""snnTorch networks written the tutorial way (time loop inside forward, input [batch, features]) are
profiled with their true shapes (issue 15 item 1): 256 neurons, 25 steps, batch 16, not 1 neuron x 400
steps x batch 256. The truth is what the network itself records, not our own output."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")

from neurosim.analysis.snn_profile import profile_snn  # noqa: E402
from neurosim.exceptions import InputError  # noqa: E402
from neurosim.reports.cli import main  # noqa: E402

NET_FILE = Path(__file__).parent / "data" / "snn_tutorial_net.py"


def _tutorial():
    spec = importlib.util.spec_from_file_location("snn_tutorial_net", NET_FILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _truth(model, x):
    """lif1's spikes as the network records them itself: [T, batch, 256]."""
    with torch.no_grad():
        model(x)
    return model.spk1_rec.to(torch.float64)


@pytest.mark.parametrize("calling", ["auto", "sequence"])
def test_tutorial_network_true_shapes(calling: str) -> None:
    mod = _tutorial()
    model, x = mod.build()
    spk = _truth(model, x)
    prof = profile_snn(model, x, calling=calling, profiles=())
    lif1 = next(n for n in prof.neurons if n.name == "lif1")
    assert (lif1.neurons, lif1.time_steps, lif1.batch) == (model.fc1.out_features, mod.NUM_STEPS, mod.BATCH)
    assert lif1.spikes_per_neuron == pytest.approx(float(spk.sum()) / (256 * mod.BATCH))
    assert lif1.silent_fraction == pytest.approx(1.0 - float((spk.sum(0) > 0).double().mean()))
    lif2 = next(n for n in prof.neurons if n.name == "lif2")
    assert lif2.neurons == model.fc2.out_features
    assert prof.settings["calling"] == "sequence"
    assert prof.time_steps == mod.NUM_STEPS and prof.batch == mod.BATCH


def test_step_calling_on_tutorial_network_is_refused() -> None:
    model, x = _tutorial().build()
    with pytest.raises(InputError, match="time loop is inside forward"):
        profile_snn(model, x, calling="step", profiles=())


class _StepNet(torch.nn.Module):
    """One time step per call (init_hidden=True keeps the state in the neurons)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(20, 12)
        self.lif1 = snn.Leaky(beta=0.9, init_hidden=True)

    def forward(self, x):
        return self.lif1(self.fc1(x))


def test_step_network_ambiguous_static_input_asks() -> None:
    torch.manual_seed(1)
    net, x = _StepNet(), torch.rand(8, 20) * 3
    with pytest.raises(InputError, match="num_steps"):
        profile_snn(net, x, profiles=())
    prof = profile_snn(net, x, num_steps=5, profiles=())
    assert (prof.neurons[0].neurons, prof.neurons[0].time_steps, prof.neurons[0].batch) == (12, 5, 8)


def test_step_network_sequence_input_detected() -> None:
    torch.manual_seed(2)
    net, x = _StepNet(), torch.rand(7, 4, 20) * 3
    prof = profile_snn(net, x, profiles=())
    assert prof.settings["calling"] == "step"
    assert (prof.neurons[0].neurons, prof.neurons[0].time_steps, prof.neurons[0].batch) == (12, 7, 4)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("option", [["--k", "4"], ["--coding", "binary"], ["--max-tokens", "8"], ["--seed", "3"]])
def test_cli_refuses_ann_options_for_snn(capsys, tmp_path, option) -> None:
    code, _, err = _run(capsys, "torch", f"{NET_FILE}:build", "--out", str(tmp_path / "r"), "--no-progress",
                        *option)
    assert code == 2, err
    assert option[0] in err and "snntorch" in err
    assert not (tmp_path / "r").exists()


def test_cli_tutorial_network_report(capsys, tmp_path) -> None:
    out = tmp_path / "r"
    code, stdout, err = _run(capsys, "torch", f"{NET_FILE}:build", "--out", str(out), "--no-progress",
                             "--format", "json", "--profiles", "loihi")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    lif1 = next(n for n in summary["neurons"] if n["name"] == "lif1")
    assert (lif1["neurons"], lif1["time_steps"], lif1["batch"]) == (256, 25, 16)
    code, _, err = _run(capsys, "torch", f"{NET_FILE}:build", "--out", str(out), "--calling", "step")
    assert code == 1 and "--calling sequence" in err
