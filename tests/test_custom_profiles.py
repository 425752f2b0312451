"""Users' own hardware (issue 15 item 4): profile files by path, --set overrides with units checked,
near-match suggestions, loaded profiles accepted by every API, --list-profiles without cut words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurosim.energy.model_energy import energy_records
from neurosim.energy.profile_overrides import apply_overrides, as_profile, parse_override, resolve_profiles
from neurosim.energy.profiles import get_profile, load_profile
from neurosim.exceptions import ConfigError, InputError, NotFoundError
from neurosim.reports.cli import main

EXAMPLE = Path(__file__).parents[1] / "docs" / "examples" / "my-asic.toml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_documented_example_loads_and_prices() -> None:
    prof = as_profile(str(EXAMPLE))
    assert prof.name == "my-asic"
    assert prof.costs.add_int8 == pytest.approx(prof.params["synop_energy"].value)
    rec = energy_records(["spikingbrain-7b"], profiles=[prof], context_length=4096)
    assert {r["profile"] for r in rec["rows"]} == {"my-asic"}


def test_bad_user_file_validated_like_shipped(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('unit = "pJ"', 'unit = "pJoule"', 1))
    with pytest.raises(ConfigError, match=r"bad\.toml.*synop_energy"):
        as_profile(str(bad))
    with pytest.raises(NotFoundError, match="does not exist"):
        as_profile(str(tmp_path / "missing.toml"))


def test_near_match_suggestion_case_insensitive() -> None:
    with pytest.raises(NotFoundError, match="did you mean 'nvidia-h100'"):
        as_profile("H100")


def test_override_units_checked_and_costs_rederived() -> None:
    loihi = get_profile("loihi")
    (new,), (ov,) = apply_overrides([loihi], ["loihi.synop_energy=23.6pJ"])
    assert ov.si_value == pytest.approx(23.6e-12)
    assert new.costs.add_int8 == pytest.approx(23.6e-12)
    assert loihi.costs.add_int8 == pytest.approx(loihi.params["synop_energy"].value)  # the original is untouched
    with pytest.raises(InputError, match="needs a unit"):
        parse_override("loihi.synop_energy=35.5")
    with pytest.raises(InputError, match="mW is not a unit"):
        parse_override("loihi.synop_energy=35.5mW")
    with pytest.raises(NotFoundError, match="synop_energy"):
        parse_override("loihi.synop_energi=3pJ")
    with pytest.raises(InputError, match="not among the profiles"):
        apply_overrides([get_profile("speck")], ["loihi.synop_energy=23.6pJ"])


def test_duplicate_names_refused(tmp_path) -> None:
    clash = tmp_path / "clash.toml"
    clash.write_text(EXAMPLE.read_text().replace('name = "my-asic"', 'name = "loihi"'))
    with pytest.raises(InputError, match="two profiles are named 'loihi'"):
        resolve_profiles(["loihi", str(clash)])


def test_load_profile_result_accepted_by_profile_model_and_snn() -> None:
    torch = pytest.importorskip("torch")
    from neurosim.analysis.torch_profile import profile_model

    mine = load_profile(EXAMPLE)
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    prof = profile_model(mlp, torch.randn(5, 16), profiles=[mine, "paper-45nm"], max_tokens=5)
    assert {r["profile"] for r in prof.energy} == {"my-asic", "paper-45nm"}
    assert any(r["total_j"] for r in prof.energy if r["profile"] == "my-asic")
    pytest.importorskip("snntorch")
    from neurosim.analysis.snn_profile import profile_snn
    import importlib.util

    spec = importlib.util.spec_from_file_location("tut", Path(__file__).parent / "data" / "snn_tutorial_net.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net, x = mod.build()
    snn = profile_snn(net, x, profiles=[mine])
    assert snn.energy[0]["profile"] == "my-asic" and snn.energy[0]["total_j"] > 0


def test_cli_profile_path_set_and_suggestion(capsys) -> None:
    code, out, err = run(capsys, "energy", "--profiles", f"{EXAMPLE},paper-45nm", "--format", "json")
    assert code == 0, err
    base = {(r["profile"], r["mode"]): r for r in json.loads(out)}
    assert ("my-asic", "w8aspike-event") in base
    code, out, err = run(capsys, "energy", "--profiles", str(EXAMPLE), "--format", "json",
                         "--set", "my-asic.synop_energy=6.5pJ")
    assert code == 0, err
    over = {(r["profile"], r["mode"]): r for r in json.loads(out)}
    assert over["my-asic", "w8aspike-event"]["compute_j"] > base["my-asic", "w8aspike-event"]["compute_j"]
    code, _, err = run(capsys, "energy", "--profiles", "H100")
    assert code == 1 and "nvidia-h100" in err
    code, _, err = run(capsys, "energy", "--set", "loihi.synop_energy=35.5mW")
    assert code == 1 and "not a unit" in err


def test_list_profiles_never_cuts_words(capsys) -> None:
    code, out, _ = run(capsys, "--list-profiles", "--profiles", str(EXAMPLE))
    assert code == 0
    text = " ".join(out.split())
    for name in ("loihi", "nvidia-h100", "spinnaker2"):
        desc = " ".join(get_profile(name).description.split())
        assert desc in text, name
    assert " ".join(load_profile(EXAMPLE).description.split()) in text
