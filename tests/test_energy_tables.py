"""Energy tables and hardware profiles: data integrity, unit conversion, validation errors."""

from __future__ import annotations

from pathlib import Path
import re
import shutil
import tomllib

import pytest

from neurosim.energy._units import format_energy, to_si
from neurosim.energy.actions import ACTIONS
from neurosim.energy.profiles import get_profile, list_profiles, load_profile
from neurosim.energy.tables import get_table, list_tables, load_table
from neurosim.exceptions import ConfigError, InputError, NotFoundError

DATA = Path(__file__).parent / "data" / "energy"
TABLE_FILE = Path(get_table("horowitz-45nm").path)
CONFIDENCES = {"measured", "datasheet", "derived", "estimate"}


# ---- shipped data --------------------------------------------------------------------------------
def test_every_table_entry_has_unit_source_and_confidence():
    table = get_table("horowitz-45nm")
    assert len(table.keys()) >= 20
    for key in table.keys():
        e = table[key]
        assert e.unit in {"J", "J/byte"}, key
        assert e.source_unit.startswith(("pJ", "nJ")), key
        assert e.source.strip(), key
        assert e.confidence in CONFIDENCES, key
        assert e.value >= 0, key


def test_raw_file_entries_all_state_unit_and_source():
    # Check the file itself, not only what the loader made of it.
    raw = tomllib.loads(TABLE_FILE.read_text())
    for comp, actions in raw["entries"].items():
        for action, body in actions.items():
            assert "unit" in body and "source" in body and "confidence" in body, f"{comp}.{action}"


def test_horowitz_values_converted_to_si():
    t = get_table("horowitz-45nm")
    raw = tomllib.loads(TABLE_FILE.read_text())["entries"]
    for comp, action in [("int8", "add"), ("fp16", "mult"), ("fp32", "add"), ("sram_1mb", "read_64b")]:
        assert t.energy(f"{comp}.{action}") == pytest.approx(raw[comp][action]["value"] * 1e-12, rel=1e-12)


def test_derived_entries_are_sums_of_their_parts():
    t = get_table("horowitz-45nm")
    for key in t.keys():
        e = t[key]
        if e.derived_from:
            parts = sum(t.energy(k) for k in e.derived_from)
            scale = 8 if e.unit == "J/byte" else 1
            assert e.value == pytest.approx(parts / scale, rel=1e-12), key
            assert e.confidence == "derived"
    # the report's conventions, compared with the published figures (pJ, as printed)
    assert t.energy("fp16.mac") * 1e12 == pytest.approx(1.5, rel=1e-9)
    assert t.energy("int8.mac") * 1e12 == pytest.approx(0.23, rel=1e-9)
    assert t.energy("fp32.mac") * 1e12 == pytest.approx(4.6, rel=1e-9)


def test_derived_value_is_computed_at_load_not_typed(tmp_path):
    # Change a component: the derived MAC follows it, so nothing downstream is a typed-in sum.
    text = TABLE_FILE.read_text()
    text = text.replace('[entries.fp16.mult]\nvalue = 1.1', '[entries.fp16.mult]\nvalue = 2.1')
    text = re.sub(r'(derived_from = \["fp16.mult", "fp16.add"\]\n)published = 1.5\n', r"\1", text)
    f = tmp_path / "t.toml"
    f.write_text(text)
    t = load_table(f)
    assert t.energy("fp16.mac") == pytest.approx(2.5e-12)


def test_dram_range_kept_with_default():
    e = get_table("horowitz-45nm")["dram.read_64b"]
    assert e.value_range == pytest.approx((1.3e-9, 2.6e-9))
    assert e.value_range[0] <= e.value <= e.value_range[1]
    assert "default" in e.note


def test_list_tables_and_unknown_table():
    assert "horowitz-45nm" in list_tables()
    with pytest.raises(NotFoundError, match="horowitz-45nm"):
        get_table("horowitz-45")


def test_unknown_table_entry_lists_entries():
    with pytest.raises(NotFoundError, match="int8.add"):
        get_table("horowitz-45nm")["int8.ad"]


# ---- table validation -----------------------------------------------------------------------------
def _broken_table(tmp_path, old, new):
    text = TABLE_FILE.read_text()
    assert old in text
    f = tmp_path / "broken-table.toml"
    f.write_text(text.replace(old, new, 1))
    return f


@pytest.mark.parametrize(("old", "new", "match"), [
    ('[entries.int8.add]\nvalue = 0.03\nunit = "pJ"\n', '[entries.int8.add]\nvalue = 0.03\n',
     r"entries\.int8\.add\.unit: missing"),
    ('[entries.int16.add]\nvalue = 0.05\nunit = "pJ"\nsource = "horowitz2014"\n',
     '[entries.int16.add]\nvalue = 0.05\nunit = "pJ"\n', r"entries\.int16\.add\.source: missing"),
    ('[entries.int32.add]\nvalue = 0.1\n', '[entries.int32.add]\nvalue = -0.1\n',
     r"entries\.int32\.add\.value: expected a finite number >= 0"),
    ('[entries.int8.mult]\nvalue = 0.2\nunit = "pJ"', '[entries.int8.mult]\nvalue = 0.2\nunit = "pj"',
     r"entries\.int8\.mult\.unit: unknown unit 'pj'"),
    ('derived_from = ["int8.mult", "int8.add"]', 'derived_from = ["int8.mul", "int8.add"]',
     r"entries\.int8\.mac\.derived_from: references unknown entry 'int8.mul'"),
    ('[entries.fp16.add]\nvalue = 0.4\nunit = "pJ"\nsource = "horowitz2014"\nconfidence = "datasheet"',
     '[entries.fp16.add]\nvalue = 0.4\nunit = "pJ"\nsource = "horowitz2014"\nconfidence = "guess"',
     r"entries\.fp16\.add\.confidence: confidence must be one of"),
    ('source = "horowitz2014"\nconfidence = "datasheet"\n\n[entries.int16',
     'source = "horowitz2015"\nconfidence = "datasheet"\n\n[entries.int16',
     r"entries\.int8\.add\.source: unknown source 'horowitz2015'"),
    ('derived_from = ["fp16.mult", "fp16.add"]\npublished = 1.5',
     'derived_from = ["fp16.mult", "fp16.add"]\npublished = 1.6',
     r"entries\.fp16\.mac\.published: computed 1\.5 pJ"),
    ('derived_from = ["fp32.add"]\npublished = 0.9', 'derived_from = ["fp32.add"]\nvalue = 0.9',
     r"entries\.fp32\.ac\.value: a derived entry must not type in its value"),
    ('[entries.int8.add]\nvalue = 0.03\n', '[entries.int8.add]\nvaule = 0.03\n',
     r"entries\.int8\.add\.vaule: unknown key"),
])
def test_malformed_table_names_file_and_key(tmp_path, old, new, match):
    f = _broken_table(tmp_path, old, new)
    with pytest.raises(ConfigError, match=match) as info:
        load_table(f)
    assert "broken-table.toml" in str(info.value)


def test_derivation_cycle_is_rejected(tmp_path):
    f = _broken_table(tmp_path, 'derived_from = ["fp16.add"]\npublished = 0.4',
                      'derived_from = ["fp16.ac"]')
    with pytest.raises(ConfigError, match=r"fp16\.ac\.derived_from: derivation cycle"):
        load_table(f)


def test_invalid_toml_names_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("schema = \n")
    with pytest.raises(ConfigError, match=r"bad\.toml.*not valid TOML"):
        load_table(f)


# ---- units ----------------------------------------------------------------------------------------
def test_units_to_si_and_display():
    assert to_si(1.5, "pJ") == pytest.approx(1.5e-12)
    assert to_si(3.9, "pJ/bit") == pytest.approx(3.12e-11)
    assert to_si(989.4, "TFLOP/s") == pytest.approx(9.894e14)
    assert to_si(104, "mW") == pytest.approx(0.104)
    assert format_energy(3.39e-14) == "33.9 fJ"
    assert format_energy(1.5e-12) == "1.5 pJ"
    with pytest.raises(InputError, match="unknown unit 'pj'"):
        to_si(1.0, "pj")


# ---- shipped profiles -----------------------------------------------------------------------------
EXPECTED_PROFILES = {"paper-45nm", "metax-c550", "nvidia-a100", "nvidia-h100", "loihi", "truenorth",
                     "spinnaker2", "speck"}


def test_shipped_profiles_load_and_cite_every_number():
    assert EXPECTED_PROFILES <= set(list_profiles())
    for name in list_profiles():
        p = get_profile(name)
        assert p.version and p.kind in {"ideal-asynchronous", "gpu", "neuromorphic"}
        for param in p.params.values():
            assert param.source.strip() and param.confidence in CONFIDENCES, (name, param.name)
            for alt in param.alternatives:
                assert alt.source.strip() and alt.confidence in CONFIDENCES
        # every mode is either run or explained
        for mode in ("fp16-dense", "int8-dense", "w8aspike-gpu", "w8aspike-event"):
            assert mode in p.modes or p.not_applicable[mode].strip()
        # every action priced at zero says why
        for action in ACTIONS:
            if getattr(p.costs, action) == 0.0:
                assert p.costs.notes[action].strip(), (name, action)


def test_paper_profile_uses_the_45nm_table():
    p, t = get_profile("paper-45nm"), get_table("horowitz-45nm")
    assert p.costs.mac_fp16 == t.energy("fp16.mac")
    assert p.costs.mac_int8 == t.energy("int8.mac")
    assert p.costs.add_int8 == t.energy("int8.add")
    assert p.costs.static_power_w == 0 and p.costs.spike_events == 0


def test_gpu_per_op_energy_is_dynamic_power_at_peak():
    # v2.0 profiles: dynamic energy per op = (board - idle) / peak; the idle power is charged over time by
    # the system model (it used to sit inside an all-in board-power/(peak x utilisation) figure).
    for name in ("nvidia-h100", "nvidia-a100", "metax-c550"):
        p = get_profile(name)
        prm = p.params
        dyn = prm["board_power"].value - prm["idle_power"].value
        want = 2 * dyn / prm["peak_fp16"].value
        assert p.costs.mac_fp16 == pytest.approx(want, rel=1e-12)
        assert p.costs.static_power_w == prm["idle_power"].value
        # and per byte streamed from HBM: the same dynamic power at full bandwidth
        assert p.costs.dram_bytes == pytest.approx(dyn / prm["hbm_bandwidth"].value, rel=1e-12)
        # a higher idle power leaves less dynamic energy per op
        q = p.with_params(idle_power=prm["idle_power"].value + dyn / 2)
        assert q.costs.mac_fp16 == pytest.approx(want / 2, rel=1e-12)


def test_unconfirmed_figures_are_marked_estimate():
    metax = get_profile("metax-c550")
    assert metax.params["peak_int8"].confidence == "estimate"
    assert "UNCONFIRMED" in metax.params["peak_int8"].note
    assert metax.params["utilisation"].raw_value == pytest.approx(0.234)
    assert metax.cost_confidence["mac_int8"] == "estimate"
    speck = get_profile("speck")
    assert speck.params["synop_energy"].confidence == "estimate"
    assert "UNCONFIRMED" in speck.params["synop_energy"].note


@pytest.mark.parametrize(("profile", "param", "values_pj"), [
    ("spinnaker2", "synop_energy", {10.0, 450.0}),
    ("truenorth", "synop_energy", {26.0, 2.5, 2.3}),
    ("loihi", "synop_energy", {23.6, 35.5}),
])
def test_disagreeing_sources_keep_both_values(profile, param, values_pj):
    p = get_profile(profile).params[param]
    got = {p.raw_value} | {a.raw_value for a in p.alternatives}
    assert got == values_pj
    assert "Default" in p.note


def test_with_params_rederives_costs_and_rejects_unknown():
    loihi = get_profile("loihi")
    davies = loihi.with_params(synop_energy=23.6e-12)
    assert davies.costs.add_int8 == pytest.approx(23.6e-12)
    assert loihi.costs.add_int8 == pytest.approx(35.5e-12)  # original untouched
    with pytest.raises(NotFoundError, match="synop_energy"):
        loihi.with_params(synop_enrgy=1e-12)


def test_unknown_profile_lists_known_ones():
    with pytest.raises(NotFoundError) as info:
        get_profile("loihi3")
    msg = str(info.value)
    assert "'loihi'" in msg and "nvidia-h100" in msg and "energy-report --list-profiles" in msg


def test_user_profile_file_loads():
    p = load_profile(DATA / "profile-custom.toml")
    assert p.name == "custom-chip"
    assert p.costs.add_int8 == pytest.approx(2e-12)
    assert p.costs.mac_int8 == pytest.approx(16e-12)
    assert p.costs.seconds["add_int8"] == pytest.approx(1e-11)
    assert p.costs.static_power_w == pytest.approx(0.01)


# ---- profile validation ---------------------------------------------------------------------------
def _broken_profile(tmp_path, old, new, source=DATA / "profile-custom.toml"):
    text = Path(source).read_text()
    assert old in text, old
    f = tmp_path / "broken-profile.toml"
    f.write_text(text.replace(old, new, 1))
    return f


@pytest.mark.parametrize(("old", "new", "match"), [
    ('value = 2\nunit = "pJ"\n', 'value = 2\n', r"params\.synop_energy\.unit: missing"),
    ('value = 2\nunit = "pJ"\nsource = "test-fixture"\n', 'value = 2\nunit = "pJ"\n',
     r"params\.synop_energy\.source: missing"),
    ('value = 2\n', 'value = -2\n', r"params\.synop_energy\.value: expected a finite number >= 0"),
    ('value = 0.5\nunit = "pJ"', 'value = 0.5\nunit = "picojoule"', r"params\.route_energy\.unit: unknown unit"),
    ('value = 2\nunit = "pJ"\nsource = "test-fixture"\nconfidence = "estimate"',
     'value = 2\nunit = "pJ"\nsource = "test-fixture"\nconfidence = "probably"',
     r"params\.synop_energy\.confidence: confidence must be one of"),
    ('add_int8 = { param = "synop_energy" }', 'add_int8 = { param = "synop_energy_pj" }',
     r"costs\.add_int8\.param: references unknown parameter 'synop_energy_pj'"),
    ('add_int8 = { param = "synop_energy" }', 'add_int9 = { param = "synop_energy" }',
     r"costs\.add_int9: unknown action"),
    ('add_int8 = { param = "synop_energy" }', 'add_int8 = { param = "static_power" }',
     r"costs\.add_int8: resolves to a quantity in W, expected J"),
    ('modes = ["w8aspike-event"]', 'modes = ["w8aspike-events"]', r"modes: expected a list drawn from"),
    ('"w8aspike-gpu" = "not a GPU"\n', '', r"not_applicable\.w8aspike-gpu: every mode"),
    ('version = "0.1"\n', '', r"version: missing required key"),
    ('add_int8 = { param = "synop_energy" }', 'add_int8 = { table = "horowitz-45nm:int8.addd" }',
     r"costs\.add_int8\.table: unknown entry"),
    ('kind = "neuromorphic"', 'kind = "quantum"', r"kind: expected one of"),
])
def test_malformed_profile_names_file_and_key(tmp_path, old, new, match):
    f = _broken_profile(tmp_path, old, new)
    with pytest.raises(ConfigError, match=match) as info:
        load_profile(f)
    assert "broken-profile.toml" in str(info.value)


def test_missing_profile_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_profile(tmp_path / "nope.toml")


def test_shipped_profile_copy_round_trips(tmp_path):
    src = Path(get_profile("nvidia-h100").path)
    dst = tmp_path / "mine.toml"
    shutil.copy(src, dst)
    assert load_profile(dst).costs == get_profile("nvidia-h100").costs


def test_metax_cross_check_against_the_reports_measurements():
    # Achieved throughput implied by the profiles (peak x measured MFU) relative to the A100 should be
    # of the order of the report's measured C550/A100 forward-throughput ratio (0.769-0.928).
    metax, a100 = get_profile("metax-c550").params, get_profile("nvidia-a100").params
    implied = (metax["peak_fp16"].value * metax["utilisation"].value) / (
        a100["peak_fp16"].value * a100["utilisation"].value)
    low, high = metax["a100_throughput_ratio_low"].value, metax["a100_throughput_ratio_high"].value
    assert (low, high) == pytest.approx((0.769, 0.928))
    assert 0.8 * low < implied < high  # 0.70: the third-party 240 TFLOP/s peak is about right or low
