"""Validation against published GPU measurements (energy/data/measured-gpu-energy.toml, `energy-report validate`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
import re
import tomllib
from types import SimpleNamespace

import pytest

from neurosim.energy.validation import (
    MEASURED_FILE,
    TARGET_FACTOR,
    load_measured,
    shape_config,
    validate,
    validation_note,
)
from neurosim.exceptions import ConfigError
from neurosim.reports.cli import main

_RAW = MEASURED_FILE.read_text(encoding="utf-8")


def _edited(tmp_path: Path, old: str, new: str, *, count: int = 1) -> Path:
    assert old in _RAW, old
    p = tmp_path / "measured.toml"
    p.write_text(_RAW.replace(old, new, count), encoding="utf-8")
    return p


# ---- the shipped file -----------------------------------------------------------------------------
def test_shipped_points_cover_the_required_range() -> None:
    data = load_measured()
    pts = data.points
    assert len(pts) >= 8
    assert len({p.source for p in pts}) >= 3
    assert min(p.batch for p in pts) == 1 and max(p.batch for p in pts) >= 64
    assert {p.profile for p in pts} >= {"nvidia-a100", "nvidia-h100"}
    assert {p.stack for p in pts} == {"eager", "optimized"}
    assert all(p.confidence == "measured" and p.citation and p.where and p.derivation for p in pts)


def test_every_derivation_reproduces_its_measured_figure() -> None:
    # The derivation strings are read at the source; the per-token figure must follow from them:
    # "A J ... / B tokens" or "A J per 1000 ..." or "energy_per_token ... = P W / T tok/s".
    for p in load_measured().points:
        d = p.derivation
        m = re.search(r"([\d.]+) J per response / ([\d.]+) tokens", d)
        if m:
            want = float(m[1]) / float(m[2])
        elif (m := re.search(r"([\d.]+) J per 1000 generated tokens", d)):
            want = float(m[1]) / 1000
        else:
            m = re.search(r"= avg_power_watts ([\d.]+) W / output_throughput ([\d.]+) tok/s", d)
            assert m, d
            want = float(m[1]) / float(m[2])
        assert p.measured_j == pytest.approx(want, rel=2e-4), p.id


def test_shapes_give_the_published_parameter_counts() -> None:
    from neurosim.counts import analytical_counts

    data = load_measured()
    published = {"llama2-7b": 6.74e9, "llama2-13b": 13.0e9, "mistral-7b": 7.24e9, "qwen2.5-14b": 14.77e9,
                 "llama3.1-8b": 8.03e9, "qwen3-8b": 8.19e9}
    for p in data.points:
        n = analytical_counts(shape_config(data, p), context_length=p.context_tokens).parameters
        assert n == pytest.approx(published[p.shape], rel=0.01), p.shape


# ---- loader errors name the file and the field ----------------------------------------------------
def test_missing_measured_unit(tmp_path: Path) -> None:
    p = _edited(tmp_path, 'measured = { value = 4.3535, unit = "J" }', "measured = { value = 4.3535 }")
    with pytest.raises(ConfigError, match=r"measured\.toml: points\[0\]\.measured\.unit: missing unit"):
        load_measured(p)


def test_missing_column(tmp_path: Path) -> None:
    p = _edited(tmp_path, 'stack = "eager"\n', "")
    with pytest.raises(ConfigError, match=r"measured\.toml: points\[0\]\.stack: missing required column"):
        load_measured(p)


def test_unknown_unit_bad_number_and_unknown_shape(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"points\[0\]\.measured\.unit: unknown unit 'kWh'"):
        load_measured(_edited(tmp_path, 'unit = "J" }', 'unit = "kWh" }'))
    with pytest.raises(ConfigError, match=r"points\[0\]\.measured\.unit: expected an energy unit"):
        load_measured(_edited(tmp_path, 'unit = "J" }', 'unit = "W" }'))
    with pytest.raises(ConfigError, match=r"points\[0\]\.batch: expected an integer"):
        load_measured(_edited(tmp_path, "batch = 1\n", "batch = 1.5\n"))
    with pytest.raises(ConfigError, match=r"points\[0\]\.shape: unknown shape 'llama9'"):
        load_measured(_edited(tmp_path, 'shape = "llama2-7b"', 'shape = "llama9"'))
    with pytest.raises(ConfigError, match=r"points\[0\]\.source: unknown source"):
        load_measured(_edited(tmp_path, 'source = "mlenergy-v1"\nwhere', 'source = "nowhere"\nwhere'))


def test_duplicate_id_wrong_schema_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"duplicate id"):
        load_measured(_edited(tmp_path, 'id = "mlenergy-v1/vicuna-7b/a100/b1"',
                              'id = "mlenergy-v1/llama2-7b-chat/a100/b1"'))
    with pytest.raises(ConfigError, match=r"schema: expected 'neurosim-measured-energy'"):
        load_measured(_edited(tmp_path, 'schema = "neurosim-measured-energy"', 'schema = "other"'))
    with pytest.raises(ConfigError, match="file not found"):
        load_measured(tmp_path / "absent.toml")


# ---- ratios -------------------------------------------------------------------------------------
def _stub(total: float = 1.0):
    def predict(model, **kw):
        return SimpleNamespace(total_j=total * kw["batch"], compute_j=0.1, memory_j=0.2, static_j=0.3,
                               seconds_per_token=0.01, bound_by="memory")
    return predict


def test_ratios_recomputed_from_the_file() -> None:
    # With a stub predictor the ratios are exactly predicted / the file's own measured values.
    raw = tomllib.loads(_RAW)
    result = validate(predictor=_stub(0.5))
    by_id = {r.point.id: r for r in result.rows}
    for pt in raw["points"]:
        row = by_id[pt["id"]]
        assert row.ratio == pytest.approx(0.5 * pt["batch"] / pt["measured"]["value"], rel=1e-12)
    worst = max(result.rows, key=lambda r: abs(math.log(r.ratio)))
    assert result.worst is worst
    assert result.to_dict()["summary"]["worst_ratio"] == worst.ratio


def test_prompt_prefill_is_added_per_generated_token(tmp_path: Path) -> None:
    calls = []

    def predict(model, **kw):
        calls.append(kw)
        total = 2.0 if kw["phase"] == "prefill" else 1.0
        return SimpleNamespace(total_j=total, compute_j=total, memory_j=0.0, static_j=0.0,
                               seconds_per_token=0.001, bound_by="compute")

    f = _edited(tmp_path, "prompt_tokens = 0\noutput_tokens = 420.07", "prompt_tokens = 210.035\noutput_tokens = 420.07")
    rows = validate(f, predictor=predict).rows
    assert rows[0].predicted_j == pytest.approx(1.0 + 0.5 * 2.0)        # 210 prompt / 420 output tokens
    assert rows[1].predicted_j == pytest.approx(1.0)                    # no prompt length: decode only
    pre = [c for c in calls if c["phase"] == "prefill"]
    assert len(pre) == 1 and pre[0]["prompt_tokens"] == 210 and pre[0]["batch"] == 1


def test_time_and_power_split_of_a_miss() -> None:
    result = validate(predictor=_stub(100.0))
    r = result.rows[0]
    assert r.time_ratio == pytest.approx(0.01 * r.point.measured_tokens_per_s)
    assert r.time_ratio * r.power_ratio == pytest.approx(r.ratio)
    note = validation_note(result)
    assert "Worst ratio" in note and "Miss:" in note and "carries the miss" in note


def test_system_model_predictions_are_positive_and_reported_honestly() -> None:
    result = validate()
    assert all(r.predicted_j > 0 and r.bound_by for r in result.rows)
    note = validation_note(result)
    n_in = sum(r.within_target for r in result.rows)
    assert note.startswith(f"{n_in} of {len(result.rows)} predictions within a factor {TARGET_FACTOR:g}")
    # every miss is named in the note
    for r in result.misses:
        assert r.point.id in note


# ---- the command line -----------------------------------------------------------------------------
def test_cli_json_lists_every_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    assert main(["validate", "--format", "json", "--out", str(out)]) == 0
    rec = json.loads(capsys.readouterr().out)
    ids = {p.id for p in load_measured().points}
    assert {p["id"] for p in rec["points"]} == ids
    for p in rec["points"]:
        assert {"predicted_j", "measured_j", "ratio", "source"} <= set(p)
        assert p["ratio"] == pytest.approx(p["predicted_j"] / p["measured_j"])
    assert rec["summary"]["n_points"] == len(ids)
    written = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert written == rec
    assert (out / "validation.csv").read_text(encoding="utf-8").startswith("id,")
    assert "Worst ratio" in (out / "validation.md").read_text(encoding="utf-8")


def test_cli_table_and_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--out", str(tmp_path / "r")]) == 0
    text = capsys.readouterr().out
    assert "predicted / measured" in text and "Worst ratio" in text
    bad = _edited(tmp_path, 'measured = { value = 4.3535, unit = "J" }', "measured = { value = 4.3535 }")
    assert main(["validate", "--file", str(bad), "--out", str(tmp_path / "r2")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "points[0].measured.unit" in err[0]
