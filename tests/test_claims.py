"""Tests of neurosim.analysis.claims: each claim recomputed independently from the published inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.analysis.calibration import calibrated_activations
from neurosim.analysis.claim_record import CLAIM_STATUSES, Claim
from neurosim.analysis.claims import audit_claims, claims_frame
from neurosim.analysis.sparsity_bounds import WINDOW_DEFINITIONS, sparsity_bounds
from neurosim.analysis.ttft import TABLE_7, fit_baseline
from neurosim.energy.report_figures import report_figures
from neurosim.energy.tables import get_table
from neurosim.adaptive import spike_counts
from neurosim.exceptions import InputError, NotFoundError

REQUIRED = {"spiking-mac-energy", "reduction-vs-fp16", "reduction-vs-int8", "ratio-vs-fp16",
            "ratio-vs-int8", "sparsity-69", "ttft-1m", "ttft-4m", "c550-peak"}


@pytest.fixture(scope="module")
def claims():
    # Module scope: the claims are immutable records and the audit takes a second or two.
    return {c.id: c for c in audit_claims()}


def test_required_ids_and_statuses(claims):
    assert REQUIRED <= set(claims)
    assert all(c.status in CLAIM_STATUSES for c in claims.values())


def test_energy_claims_recomputed_from_the_table(claims):
    t = get_table("horowitz-45nm")
    e = 1.13 * t.energy("int8.add")
    assert claims["spiking-mac-energy"].recomputed == pytest.approx(e)
    assert claims["spiking-mac-energy"].status == "reproduced"
    assert claims["reduction-vs-fp16"].recomputed == pytest.approx(1 - e / t.energy("fp16.mac"))
    assert claims["reduction-vs-fp16"].status == "reproduced"
    assert claims["ratio-vs-fp16"].recomputed == pytest.approx(t.energy("fp16.mac") / e)
    assert round(claims["ratio-vs-fp16"].recomputed, 1) == 44.2
    assert round(1 / (1 - report_figures()["reduction_vs_fp16"].value), 2) == 43.48
    assert claims["ratio-vs-fp16"].status == "rounding difference"
    assert "rounded" in claims["ratio-vs-fp16"].reason
    assert round(claims["ratio-vs-int8"].recomputed, 2) == 6.78
    assert claims["ratio-vs-int8"].status == "rounding difference"
    # 1 - 0.0339/0.23 = 85.26 % prints as 85.3 %; only the rounded 0.034 pJ gives 85.2 %.
    assert claims["reduction-vs-int8"].status == "rounding difference"


def test_ttft_claims(claims):
    assert claims["ttft-1m"].recomputed == pytest.approx(27.929 / 1.054)
    assert claims["ttft-1m"].status == "reproduced"
    c = claims["ttft-4m"]
    assert c.status == "depends on unpublished data"
    ratios = c.inputs["extrapolated_ratio"]
    assert set(ratios) == {"affine", "power", "quadratic"}
    # An affine fit through three points: check it by hand with the first and last points.
    n, t = TABLE_7.measured_qwen()
    assert fit_baseline("affine").predict(n) == pytest.approx(t, rel=0.02)
    assert fit_baseline("power").params["b"] == pytest.approx(np.log(t[2] / t[0]) / np.log(4), abs=0.01)
    assert c.recomputed == pytest.approx(ratios["affine"])


def test_sparsity_claim_inputs(claims):
    c = claims["sparsity-69"]
    counts, _ = spike_counts(calibrated_activations(64, 3584, seed=0), 3.0)
    a = np.abs(counts).ravel()
    inside = a[a <= 7]
    pop = np.array([bin(int(v)).count("1") for v in inside])
    assert c.recomputed == pytest.approx(1 - pop.sum() / (3 * inside.size))
    assert c.inputs["naive_1_minus_spc_over_3"] == pytest.approx(1 - 1.13 / 3)
    lo, hi = c.inputs["feasible_range"]["exclude"]
    assert lo <= c.recomputed <= hi


def test_sparsity_bounds_contain_the_naive_reading():
    # "all-3bit" is 1 - spikes/3 with spikes pinned to 1.13 +- 0.005: the range is exactly that.
    lo, hi = sparsity_bounds("all-3bit")
    assert lo == pytest.approx(1 - 1.135 / 3, abs=1e-6)
    assert hi == pytest.approx(1 - 1.125 / 3, abs=1e-6)
    for name in WINDOW_DEFINITIONS:
        lo, hi = sparsity_bounds(name)
        assert 0.0 <= lo <= hi <= 1.0


def test_sparsity_bounds_infeasible_constraints_give_nan():
    # Mean |count| within 0.5 of k = 0.5 cannot hold with only 18.4 % zeros and 1 % above 16.
    lo, hi = sparsity_bounds("exclude", k=0.5)
    assert np.isnan(lo) and np.isnan(hi)


def test_run_counts_are_reported():
    counts = np.array([[0, 1, 2, 3, 7, 9]])
    c = {x.id: x for x in audit_claims(counts=counts)}["sparsity-69"]
    # Values <= 7: 0,1,2,3,7 -> popcounts 0,1,1,2,3 = 7 of 15 bits.
    assert c.inputs["run_window_sparsity"] == pytest.approx(1 - 7 / 15)


def test_records_are_json_ready(claims):
    for c in claims.values():
        d = c.to_dict()
        assert set(d) == {"id", "claim", "reported", "recomputed", "status", "reason", "unit", "inputs"}
        json.dumps(d, allow_nan=False)
    df = claims_frame(list(claims.values()))
    assert list(df["id"]) == list(claims)


def test_report_figures_carry_sources_and_printed_precision():
    for fig in report_figures().values():
        assert fig.source.startswith("Pan et al.") and fig.digits is not None
        assert fig.rounds_to(fig.value)


def test_bad_inputs():
    with pytest.raises(InputError, match="'k' must be a finite number > 0"):
        audit_claims(k=-1)
    with pytest.raises(InputError, match="'counts' must hold whole numbers"):
        audit_claims(counts=np.array([0.5, 1.0]))
    with pytest.raises(NotFoundError, match="unknown window definition"):
        sparsity_bounds("windowed")
    with pytest.raises(InputError, match="'status' must be one of"):
        Claim("x", "y", 1.0, 1.0, "x", {}, "ok", "z")
    with pytest.raises(NotFoundError, match="unknown TTFT baseline model"):
        fit_baseline("cubic")
