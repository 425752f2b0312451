"""LIF neuron (neurosim/lif.py): snntorch 1.0.0 parity, published trajectories, report eq. 9, bad input.

The snntorch parity tests drive ``snn.Leaky`` itself (skipped when snntorch is absent); the report
convention is checked against the step-by-step twin in tests/naive.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from naive import naive_lif_report, naive_lif_snntorch
from neurosim.exceptions import InputError, NotFoundError, ShapeError
from neurosim.lif import LIFParameters, LIFResult, LIFState, lif_step, simulate_lif

RESETS = ["subtract", "zero", "none"]
DELAYS = [True, False]
SHAPES = [(200, 37), (240, 4, 9), (200, 2, 3, 5)]


def _random_inputs(rng: np.random.Generator, shape: tuple[int, ...], *, drive: float = 0.3) -> np.ndarray:
    # Mean drive near threshold/3 with unit-scale noise: neurons fire, stay silent and (for
    # reset_delay=False) sometimes remain above threshold after a reset, so every branch runs.
    return (drive + 0.6 * rng.standard_normal(shape)).astype(np.float32)


def _snntorch_run(x: np.ndarray, beta: float, threshold: float, reset: str, delay: bool, mem0=None):
    torch = pytest.importorskip("torch")
    snn = pytest.importorskip("snntorch")
    lif = snn.Leaky(beta=beta, threshold=threshold, reset_mechanism=reset, reset_delay=delay)
    mem = torch.zeros(x.shape[1:]) if mem0 is None else torch.from_numpy(np.array(mem0, dtype=np.float32))
    spikes, mems = [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            spk, mem = lif(torch.from_numpy(x[t]), mem)
            spikes.append(spk.numpy().copy())
            mems.append(mem.numpy().copy())
    return np.stack(spikes), np.stack(mems)


# --------------------------------------------------------------------------- snntorch parity


@pytest.mark.torch
@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("delay", DELAYS)
@pytest.mark.parametrize("shape", SHAPES)
def test_snntorch_parity_random_inputs(reset: str, delay: bool, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(shape) + 7 * RESETS.index(reset) + delay)
    beta = float(rng.uniform(0.6, 0.99))
    threshold = float(rng.uniform(0.5, 1.5))
    # without a reset a positive mean drive saturates the membrane: drive 0 keeps it crossing
    x = _random_inputs(rng, shape, drive=0.0 if reset == "none" else 0.3)
    ref_spk, ref_mem = _snntorch_run(x, beta, threshold, reset, delay)
    res = simulate_lif(
        x, LIFParameters(beta=beta, threshold=threshold, reset=reset, reset_delay=delay), record_membrane=True
    )
    assert 0.02 < ref_spk.mean() < 0.98  # the comparison covers firing and silence
    assert res.spikes.dtype == np.int8 and res.spikes.shape == shape
    assert_array_equal(res.spikes, ref_spk.astype(np.int8))
    assert_allclose(res.membrane, ref_mem, rtol=0, atol=1e-6)
    assert_allclose(res.final_state.v, ref_mem[-1], rtol=0, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("delay", DELAYS)
def test_snntorch_parity_large_drive_and_initial_state(reset: str, delay: bool) -> None:
    # Drive above threshold keeps the post-reset membrane above it: the do_reset = -1 path of
    # reset_delay=False and repeated resets of reset_delay=True.
    rng = np.random.default_rng(11)
    x = (1.2 + 1.5 * rng.standard_normal((220, 3, 8))).astype(np.float32)
    mem0 = rng.uniform(-1, 3, size=(3, 8)).astype(np.float32)
    ref_spk, ref_mem = _snntorch_run(x, 0.7, 1.0, reset, delay, mem0=mem0)
    res = simulate_lif(
        x,
        LIFParameters(beta=0.7, threshold=1.0, reset=reset, reset_delay=delay),
        state=LIFState(mem0),
        record_membrane=True,
    )
    assert_array_equal(res.spikes, ref_spk.astype(np.int8))
    assert_allclose(res.membrane, ref_mem, rtol=0, atol=1e-6)


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("delay", DELAYS)
def test_snntorch_convention_matches_naive_twin(reset: str, delay: bool) -> None:
    # Runs without torch: the float32 transcription of Leaky.forward in tests/naive.py.
    rng = np.random.default_rng(3 + 2 * RESETS.index(reset) + delay)
    x = _random_inputs(rng, (300, 64), drive=0.5)
    ref_spk, ref_mem = naive_lif_snntorch(x, beta=0.85, threshold=0.9, reset=reset, reset_delay=delay)
    res = simulate_lif(x, LIFParameters(0.85, 0.9, reset, reset_delay=delay), record_membrane=True)
    assert ref_spk.any()
    assert_array_equal(res.spikes, ref_spk)
    assert_array_equal(res.membrane, ref_mem)  # same float32 operations in the same order


# --------------------------------------------------------------------------- published trajectories
# simulator-anchors.md section 3.1: snntorch 1.0.0 run with beta 0.8, theta 1, constant I 0.3, mem0 0.


def _anchor(reset: str, delay: bool, *, beta: float = 0.8, current: float = 0.3, steps: int = 7) -> LIFResult:
    x = np.full((steps, 1), current, dtype=np.float32)
    return simulate_lif(x, LIFParameters(beta, 1.0, reset, reset_delay=delay), record_membrane=True)


def test_anchor_subtract_delayed() -> None:
    res = _anchor("subtract", True)
    assert res.spikes[:, 0].tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert_allclose(res.membrane[:, 0], [0.3, 0.54, 0.732, 0.8856, 1.0085, 0.1068, 0.3854], atol=1e-4)


def test_anchor_subtract_same_step() -> None:
    res = _anchor("subtract", False)
    assert res.spikes[:, 0].tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert_allclose(res.membrane[:, 0], [0.3, 0.54, 0.732, 0.8856, 0.0085, 0.3068, 0.5454], atol=1e-4)


def test_anchor_zero_delayed() -> None:
    res = _anchor("zero", True)
    assert res.spikes[:, 0].tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert_allclose(res.membrane[:, 0], [0.3, 0.54, 0.732, 0.8856, 1.0085, 0.3, 0.54], atol=1e-4)


def test_anchor_zero_same_step() -> None:
    res = _anchor("zero", False, steps=6)
    assert res.spikes[:, 0].tolist() == [0, 0, 0, 0, 1, 0]
    assert_allclose(res.membrane[:, 0], [0.3, 0.54, 0.732, 0.8856, 0.0, 0.3], atol=1e-4)


def test_anchor_membrane_equal_to_threshold_does_not_fire() -> None:
    # beta = 1, I = 1: U == theta exactly at step 1; snntorch's spike is strict (U > theta).
    res = _anchor("subtract", True, beta=1.0, current=1.0, steps=1)
    assert res.membrane[0, 0] == 1.0 and res.spikes[0, 0] == 0
    # ... while the report's equation 9 fires at v >= Vth.
    rep = simulate_lif(np.ones((1, 1)), LIFParameters(1.0, 1.0, convention="report"))
    assert rep.spikes[0, 0] == 1


def test_anchor_large_drive() -> None:
    delayed = _anchor("subtract", True, beta=0.5, current=2.5, steps=3)
    same = _anchor("subtract", False, beta=0.5, current=2.5, steps=3)
    assert delayed.spikes[:, 0].tolist() == [1, 1, 1]
    assert same.spikes[:, 0].tolist() == [1, 1, 1]
    assert_allclose(delayed.membrane[:, 0], [2.5, 2.75, 2.875], atol=1e-6)
    assert_allclose(same.membrane[:, 0], [1.5, 2.25, 2.625], atol=1e-6)


# --------------------------------------------------------------------------- report convention


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("delay", DELAYS)
@pytest.mark.parametrize("shape", [(150, 40), (120, 3, 7)])
def test_report_convention_matches_naive_twin(reset: str, delay: bool, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(100 + RESETS.index(reset) + 3 * delay + len(shape))
    x = 0.4 + 0.8 * rng.standard_normal(shape)
    v0 = rng.uniform(-1, 2, size=shape[1:])
    params = LIFParameters(beta=0.9, threshold=1.25, reset=reset, v_reset=-0.2, convention="report", reset_delay=delay)
    res = simulate_lif(x, params, state=LIFState(v0), record_membrane=True)
    ref_spk, ref_mem = naive_lif_report(x, lam=0.9, vth=1.25, reset=reset, v_reset=-0.2, reset_delay=delay, v0=v0)
    assert 0.02 < ref_spk.mean() < 0.98
    assert res.membrane.dtype == np.float64
    assert_array_equal(res.spikes, ref_spk)
    assert_allclose(res.membrane, ref_mem, rtol=1e-12, atol=1e-12)
    assert_allclose(res.final_state.v, ref_mem[-1], rtol=1e-12, atol=1e-12)


def test_report_equation_9_soft_reset_is_not_decayed() -> None:
    # lambda 0.5, Vth 1, x = [1, 0]: v1 = 1 fires; eq. 9 gives v2 = 0.5*1 - 1 + 0 = -0.5, the
    # same-step form decays the reset: v2 = 0.5 * (1 - 1) = 0.
    x = np.array([[1.0], [0.0]])
    eq9 = simulate_lif(x, LIFParameters(0.5, 1.0, "subtract", convention="report"), record_membrane=True)
    same = simulate_lif(
        x, LIFParameters(0.5, 1.0, "subtract", convention="report", reset_delay=False), record_membrane=True
    )
    assert_allclose(eq9.membrane[:, 0], [1.0, -0.5])
    assert_allclose(same.membrane[:, 0], [0.0, 0.0])


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_report_forms_fire_identically_without_leak(reset: str) -> None:
    # With lambda = 1 (and v_reset 0) delaying the reset only shifts when it is booked.
    rng = np.random.default_rng(5)
    x = 0.3 + rng.standard_normal((200, 50))
    a = simulate_lif(x, LIFParameters(1.0, 1.0, reset, convention="report", reset_delay=True))
    b = simulate_lif(x, LIFParameters(1.0, 1.0, reset, convention="report", reset_delay=False))
    assert a.spikes.any()
    assert_array_equal(a.spikes, b.spikes)


# --------------------------------------------------------------------------- state handling


@pytest.mark.parametrize("convention", ["snntorch", "report"])
@pytest.mark.parametrize("delay", DELAYS)
def test_steps_and_chunks_continue_the_full_run(convention: str, delay: bool) -> None:
    rng = np.random.default_rng(21)
    x = _random_inputs(rng, (60, 2, 6), drive=0.6)
    params = LIFParameters(0.8, 1.0, "subtract", convention=convention, reset_delay=delay)
    full = simulate_lif(x, params, record_membrane=True)
    first = simulate_lif(x[:25], params)
    second = simulate_lif(x[25:], params, state=first.final_state)
    assert_array_equal(np.concatenate([first.spikes, second.spikes]), full.spikes)
    assert_array_equal(second.final_state.v, full.final_state.v)
    state = None
    for t in range(x.shape[0]):
        spk, state = lif_step(state, x[t], params)
        assert_array_equal(spk, full.spikes[t])
        assert_array_equal(state.v, full.membrane[t])


def test_state_is_not_modified_and_one_neuron_works() -> None:
    v0 = np.array(0.5, dtype=np.float32)
    res = simulate_lif(np.full(5, 0.6), LIFParameters(0.9, 1.0), state=LIFState(v0))
    assert v0 == 0.5
    assert res.spikes.shape == (5,) and res.final_state.v.shape == ()
    assert res.membrane is None
    spk, state = lif_step(None, 1.5, LIFParameters(0.5))  # a 0-d input is one neuron
    assert spk.shape == () and spk == 1 and state.v.shape == ()


# --------------------------------------------------------------------------- bad input

GOOD = np.zeros((4, 3))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"beta": -0.1}, InputError, r"'beta' must be in \[0, 1\] \(got -0.1\)"),
        ({"beta": 1.5}, InputError, r"'beta' must be in \[0, 1\] \(got 1.5\)"),
        ({"beta": float("nan")}, InputError, r"'beta' must be in \[0, 1\] \(got nan\)"),
        ({"beta": "fast"}, InputError, r"'beta' must be a number"),
        ({"threshold": 0.0}, InputError, r"'threshold' must be a finite number > 0 \(got 0.0\)"),
        ({"threshold": -1.0}, InputError, r"'threshold' must be a finite number > 0 \(got -1.0\)"),
        ({"threshold": float("inf")}, InputError, r"'threshold' must be a finite number > 0 \(got inf\)"),
        ({"reset": "soft"}, NotFoundError, r"unknown reset mechanism 'soft'.*Known: none, subtract, zero"),
        ({"reset": "substract"}, NotFoundError, r"did you mean 'subtract'"),
        ({"convention": "norse"}, NotFoundError, r"unknown LIF convention 'norse'.*Known: report, snntorch"),
        ({"v_reset": 0.5}, InputError, r"'v_reset' must be 0 for convention 'snntorch' \(got 0.5\)"),
        ({"v_reset": float("nan"), "convention": "report"}, InputError, r"'v_reset' must be a finite number"),
        ({"reset_delay": "yes"}, InputError, r"'reset_delay' must be a bool \(got 'yes'\)"),
    ],
)
def test_bad_parameters(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        simulate_lif(GOOD, LIFParameters(**kwargs))
    with pytest.raises(error, match=match):
        lif_step(None, GOOD[0], LIFParameters(**kwargs))


@pytest.mark.parametrize(
    ("inputs", "error", "match"),
    [
        (np.array([[0.1, np.nan]]), InputError, r"'inputs' must be finite \(got 1 NaN and 0 inf"),
        (np.array([[np.inf, 0.1]]), InputError, r"'inputs' must be finite \(got 0 NaN and 1 inf"),
        (np.array([[1e39]]), InputError, r"'inputs' must be finite"),  # overflows float32
        (np.zeros((0, 4)), ShapeError, r"'inputs' must not be empty \(got shape \(0, 4\)\)"),
        (np.zeros((5, 0)), ShapeError, r"'inputs' must not be empty"),
        (np.float64(1.0), ShapeError, r"'inputs' must have at least 1 dimension\(s\) \(got shape \(\)\)"),
        (np.array([[1 + 1j]]), InputError, r"'inputs' must be a real numeric array \(got dtype complex128\)"),
    ],
)
def test_bad_inputs(inputs, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        simulate_lif(inputs)


def test_bad_state_and_flags() -> None:
    shape_msg = r"'state.v' must have the neuron shape \(3,\) of the input \(got shape "
    with pytest.raises(ShapeError, match=shape_msg + r"\(4,\)\)"):
        simulate_lif(GOOD, state=LIFState(np.zeros(4)))
    with pytest.raises(ShapeError, match=shape_msg + r"\(1, 3\)\)"):
        lif_step(LIFState(np.zeros((1, 3))), GOOD[0])  # wrong rank
    with pytest.raises(InputError, match=r"'state.v' must be finite \(got 1 NaN"):
        simulate_lif(GOOD, state=LIFState(np.array([0.0, np.nan, 0.0])))
    with pytest.raises(InputError, match=r"'state' must be a LIFState or None \(got ndarray\)"):
        simulate_lif(GOOD, state=np.zeros(3))
    with pytest.raises(InputError, match=r"'params' must be a LIFParameters \(got dict\)"):
        simulate_lif(GOOD, {"beta": 0.5})
    with pytest.raises(InputError, match=r"'record_membrane' must be a bool \(got 1\)"):
        simulate_lif(GOOD, record_membrane=1)
    with pytest.raises(ShapeError, match=r"'input' must not be empty"):
        lif_step(None, [])
    with pytest.raises(InputError, match=r"'input' must be finite"):
        lif_step(None, [np.inf])
