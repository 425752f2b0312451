r"""Leaky integrate-and-fire (LIF) neuron: SpikingBrain report equation 9 and snntorch ``snn.Leaky``.

Discrete time, one update per step, no ``dt``: the leak is the per-step decay factor
:math:`\beta` (the report's :math:`\lambda`), the input :math:`x[t]` is the membrane increment of
step :math:`t` and the membrane, input, threshold and reset value share one unit (volts, or the
dimensionless units of an activation). Two conventions are implemented; they differ in the spike
condition (``>`` or ``>=``), in the arithmetic precision and in what ``reset_delay=False`` means.

Convention ``"snntorch"`` (float32, bit-for-bit snntorch 1.0.0 ``snn.Leaky``)
-----------------------------------------------------------------------------
With the default ``reset_delay=True`` the reset is decided from the *previous* membrane and applied
inside the next update; the returned membrane is the post-integration, pre-reset value:

.. math::

    R[t] &= \mathbb{1}[U[t-1] > \theta] \\
    \text{subtract:}\quad U[t] &= \beta U[t-1] + x[t] - R[t]\,\theta \\
    \text{zero:}\quad U[t] &= \beta \,(1 - R[t])\, U[t-1] + x[t] \\
    \text{none:}\quad U[t] &= \beta U[t-1] + x[t] \\
    S[t] &= \mathbb{1}[U[t] > \theta] \quad\text{(strict)}

With ``reset_delay=False`` snntorch then also resets the *returned* membrane in the same step,
minus the reset already applied (``do_reset = S[t] - R[t]``; subtract: :math:`U \mathrel{-}= d\,\theta`,
zero: :math:`U \mathrel{-}= d\,U`). Under a drive large enough that the post-reset membrane still
exceeds :math:`\theta`, ``d`` can be :math:`-1` and the membrane *gains* :math:`\theta` back; this
is what snntorch does and it is reproduced. Everything is computed in float32 in snntorch's operation
order (``(beta*U + x) - R*theta``; ``beta`` and ``theta`` rounded to float32 as ``torch.as_tensor``
does), so spikes are identical and membranes equal to the last bit. ``v_reset`` must be 0 (snntorch's
``zero`` resets to 0).

Convention ``"report"`` (float64, SpikingBrain report equation 9)
-----------------------------------------------------------------
With ``reset_delay=True`` (default) the report's equation 9 literally, spike condition ``>=``:

.. math::

    s[t] &= \mathbb{1}[v[t] \ge V_{th}] \\
    \text{soft (subtract):}\quad v[t+1] &= \lambda v[t] - V_{th}\, s[t] + x[t+1] \\
    \text{hard (zero):}\quad v[t+1] &= \lambda (1 - s[t])\, v[t] + v_{reset}\, s[t] + x[t+1] \\
    \text{none:}\quad v[t+1] &= \lambda v[t] + x[t+1]

Note that the reset acts outside the leak: the subtracted :math:`V_{th}` and the hard-reset value
:math:`v_{reset}` are not decayed. The recorded membrane is :math:`v[t]`, the value compared with
the threshold.

With ``reset_delay=False`` the reset is applied in the same step, after the comparison, and the next
step decays the post-reset membrane (the common "integrate, fire, reset" loop):

.. math::

    u[t] &= \lambda v[t-1] + x[t], \qquad s[t] = \mathbb{1}[u[t] \ge V_{th}] \\
    v[t] &= u[t] - V_{th} s[t] \;\text{(soft)}, \quad
    v[t] = v_{reset} \text{ if } s[t] \text{ else } u[t] \;\text{(hard)}, \quad v[t] = u[t] \;\text{(none)}

and the recorded membrane is the post-reset :math:`v[t]`. The two forms agree for
:math:`\lambda = 1` (the report's integrate-and-fire neuron) and differ by a factor :math:`\lambda`
on the reset term otherwise.

In both conventions the state carries only the membrane: the pending reset is recomputed from it.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal, NamedTuple

import numba
import numpy as np

from neurosim._config import parallel_options
from neurosim.validation import as_float_array, nonfinite_error
from neurosim.exceptions import InputError, ShapeError, unknown_name

__all__ = [
    "CONVENTIONS",
    "RESETS",
    "Convention",
    "LIFParameters",
    "LIFResult",
    "LIFState",
    "Reset",
    "lif_step",
    "simulate_lif",
]

Reset = Literal["subtract", "zero", "none"]
Convention = Literal["snntorch", "report"]

#: Reset mechanisms, in the order of the kernels' integer codes.
RESETS: tuple[str, ...] = ("subtract", "zero", "none")
#: Update conventions; see the module docstring.
CONVENTIONS: tuple[str, ...] = ("snntorch", "report")


class LIFParameters(NamedTuple):
    """Parameters of the LIF neuron (frozen).

    Attributes
    ----------
    beta : float
        Membrane decay per step (the report's lambda), dimensionless, in [0, 1]. 1 = no leak.
    threshold : float
        Firing threshold, same unit as the membrane and the input; > 0.
    reset : {"subtract", "zero", "none"}
        After a spike: subtract ``threshold`` (soft reset), set the membrane to ``v_reset`` (hard
        reset; snntorch's ``"zero"``), or leave it.
    v_reset : float
        Hard-reset value, membrane unit. Must be 0 for the snntorch convention.
    convention : {"snntorch", "report"}
        Update equations; see the module docstring.
    reset_delay : bool
        True: the reset decided at step t acts in the update of step t+1 (snntorch's default, and
        the report's equation 9 taken literally). False: it acts on the membrane of step t itself
        (snntorch's ``reset_delay=False``; for the report convention the "integrate, fire, reset"
        loop whose next step decays the post-reset membrane). Meaningful for both conventions.
    """

    beta: float = 0.9
    threshold: float = 1.0
    reset: Reset = "subtract"
    v_reset: float = 0.0
    convention: Convention = "snntorch"
    reset_delay: bool = True


class LIFState(NamedTuple):
    """State of a LIF population.

    Attributes
    ----------
    v : numpy.ndarray, shape (...)
        Membrane potential per neuron, membrane unit; float32 for the snntorch convention and
        float64 for the report convention. For ``reset_delay=True`` it is the pre-reset membrane
        of the last step (the reset it implies is applied by the next step).
    """

    v: np.ndarray


class LIFResult(NamedTuple):
    """Output of :func:`simulate_lif`.

    Attributes
    ----------
    spikes : numpy.ndarray, shape (T, ...), int8
        1 where a neuron fired at a step, else 0.
    membrane : numpy.ndarray, shape (T, ...), or None
        Membrane after each step (see the module docstring for pre/post reset); None unless
        ``record_membrane=True``.
    final_state : LIFState
        State after the last step; pass it back as ``state`` to continue the simulation.
    """

    spikes: np.ndarray
    membrane: np.ndarray | None
    final_state: LIFState


# --------------------------------------------------------------------------- kernels


# One kernel is compiled per (reset, reset_delay, record) combination: the flags are closure
# constants, so Numba removes the untaken branches and every loop body stays branch-free and
# vectorised (a runtime `if record:` store or data-dependent reset branches cost up to 3x).
# Layout: one parallel region over blocks of neurons; each thread runs all steps of its block,
# streaming a contiguous segment of every row of the C-ordered [T, N] input while its membranes
# stay in cache. One region rather than a prange per step, because 500 barriers per call made a
# run 50x slower whenever another process took a core. Neuron indices are unsigned so Numba
# drops its negative-index wraparound, which otherwise blocks vectorisation (4x, measured).
_MIN_BLOCK = 2048


def _n_blocks(n: int) -> int:
    # a few blocks per thread balance the load; blocks under ~2k neurons cost more than they share
    return max(1, min(n // _MIN_BLOCK, 4 * numba.get_num_threads()))


@functools.cache
def _snntorch_kernel(reset_mode: int, delay: bool, record: bool) -> Any:
    subtract = reset_mode == 0
    to_zero = reset_mode == 1

    @numba.njit(**parallel_options())
    def kernel(x, v, beta, theta, spikes, mem, n_blocks, bad):
        # float32 throughout, in snntorch's operation order: a float64 literal here would promote
        # the arithmetic and break bit-exact parity.
        n_steps, n = x.shape
        zero = np.float32(0.0)
        one = np.float32(1.0)
        inf = np.float32(np.inf)
        for b in numba.prange(n_blocks):
            lo = np.uint64(b * n // n_blocks)
            hi = np.uint64((b + 1) * n // n_blocks)
            nonfinite = np.int32(0)
            for t in range(n_steps):
                xt = x[t]
                st = spikes[t]
                for i in range(lo, hi):
                    xi = xt[i]
                    nonfinite |= np.int32(0) if abs(xi) < inf else np.int32(1)  # NaN and inf fail
                    m = v[i]
                    r = one if m > theta else zero  # detached reset from the previous membrane
                    if subtract:
                        u = (beta * m + xi) - r * theta
                    elif to_zero:
                        u = beta * ((one - r) * m) + xi
                    else:
                        u = beta * m + xi
                    s = one if u > theta else zero
                    if not delay:
                        d = s - r  # snntorch's do_reset in {-1, 0, 1}: "avoid double reset"
                        if subtract:
                            u = u - d * theta
                        elif to_zero:
                            u = u - d * u
                    v[i] = u
                    st[i] = np.int8(s)
                    if record:
                        mem[t, i] = u
            bad[b] = nonfinite

    return kernel


@functools.cache
def _report_kernel(reset_mode: int, delay: bool, record: bool) -> Any:
    subtract = reset_mode == 0
    to_value = reset_mode == 1

    @numba.njit(**parallel_options())
    def kernel(x, v, lam, vth, v_reset, spikes, mem, n_blocks, bad):
        n_steps, n = x.shape
        zero = lam - lam
        inf = np.inf
        for b in numba.prange(n_blocks):
            lo = np.uint64(b * n // n_blocks)
            hi = np.uint64((b + 1) * n // n_blocks)
            nonfinite = np.int32(0)
            for t in range(n_steps):
                xt = x[t]
                st = spikes[t]
                for i in range(lo, hi):
                    xi = xt[i]
                    nonfinite |= np.int32(0) if abs(xi) < inf else np.int32(1)  # NaN and inf fail
                    m = v[i]
                    if delay:
                        # equation 9: the previous step's spike resets outside the leak
                        fired = m >= vth
                        if subtract:
                            u = (lam * m - (vth if fired else zero)) + xi
                        elif to_value:
                            u = (v_reset + xi) if fired else (lam * m + xi)
                        else:
                            u = lam * m + xi
                        s = u >= vth
                    else:
                        u = lam * m + xi
                        s = u >= vth
                        if subtract:
                            u = u - (vth if s else zero)
                        elif to_value:
                            u = v_reset if s else u
                    v[i] = u
                    st[i] = 1 if s else 0
                    if record:
                        mem[t, i] = u
            bad[b] = nonfinite

    return kernel


# --------------------------------------------------------------------------- checks


def _check_params(params: Any) -> LIFParameters:
    if not isinstance(params, LIFParameters):
        msg = f"'params' must be a LIFParameters (got {type(params).__name__}); build one with LIFParameters(beta=...)"
        raise InputError(msg)
    try:
        beta = float(params.beta)
    except (TypeError, ValueError):
        raise InputError(f"'beta' must be a number in [0, 1] (got {params.beta!r})") from None
    if not 0.0 <= beta <= 1.0:  # also rejects NaN
        raise InputError(f"'beta' must be in [0, 1] (got {params.beta!r}); it is the per-step decay factor")
    try:
        theta = float(params.threshold)
    except (TypeError, ValueError):
        raise InputError(f"'threshold' must be a finite number > 0 (got {params.threshold!r})") from None
    if not math.isfinite(theta) or theta <= 0:
        raise InputError(f"'threshold' must be a finite number > 0 (got {params.threshold!r})")
    if params.reset not in RESETS:
        raise unknown_name("reset mechanism", str(params.reset), RESETS)
    if params.convention not in CONVENTIONS:
        raise unknown_name("LIF convention", str(params.convention), CONVENTIONS)
    try:
        v_reset = float(params.v_reset)
    except (TypeError, ValueError):
        raise InputError(f"'v_reset' must be a finite number (got {params.v_reset!r})") from None
    if not math.isfinite(v_reset):
        raise InputError(f"'v_reset' must be a finite number (got {params.v_reset!r})")
    if params.convention == "snntorch" and v_reset != 0.0:
        msg = f"'v_reset' must be 0 for convention 'snntorch' (got {params.v_reset!r}); use convention='report'"
        raise InputError(msg)
    if not isinstance(params.reset_delay, (bool, np.bool_)):
        raise InputError(f"'reset_delay' must be a bool (got {params.reset_delay!r})")
    # Check in the dtype the kernel computes in: 1e39 is finite in float64 but inf in float32 (and
    # 1e-50 is 0), which would turn every membrane into NaN silently.
    dt = np.float32 if params.convention == "snntorch" else np.float64
    with np.errstate(over="ignore", under="ignore"):
        theta_c, beta_c, v_reset_c = dt(theta), dt(beta), dt(v_reset)
    if not (np.isfinite(theta_c) and theta_c > 0):
        raise InputError(f"'threshold' {params.threshold!r} is not a finite number > 0 in {np.dtype(dt).name}, "
                         f"the dtype of convention {params.convention!r} (range {np.finfo(dt).tiny:.3g} to "
                         f"{np.finfo(dt).max:.3g})")
    if not np.isfinite(v_reset_c) or not np.isfinite(beta_c):
        raise InputError(f"'v_reset' {params.v_reset!r} is not finite in {np.dtype(dt).name}, the dtype of "
                         f"convention {params.convention!r}")
    return LIFParameters(beta, theta, params.reset, v_reset, params.convention, bool(params.reset_delay))


def _dtype(params: LIFParameters) -> type:
    # snntorch works in torch's default float32; the report convention is a reference model.
    return np.float32 if params.convention == "snntorch" else np.float64


def _initial_v(state: Any, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    if state is None:
        return np.zeros(shape, dtype=dtype)
    if not isinstance(state, LIFState):
        raise InputError(f"'state' must be a LIFState or None (got {type(state).__name__})")
    v = as_float_array(state.v, "state.v", min_ndim=0, dtype=dtype)
    if v.shape != shape:
        msg = f"'state.v' must have the neuron shape {shape} of the input (got shape {v.shape})"
        raise ShapeError(msg)
    # the kernel updates the membrane in place: never write into the caller's array
    return np.array(v, dtype=dtype, order="C", copy=True)


def _run(x: np.ndarray, v: np.ndarray, p: LIFParameters, record: bool) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Run the kernel on a [T, N] float array; ``v`` ([N]) is updated in place.

    Returns spikes, membrane (or None) and the number of blocks of neurons that met a NaN or inf
    input (0 when all inputs are finite).
    """
    n_steps, n = x.shape
    spikes = np.empty((n_steps, n), dtype=np.int8)
    mem = np.empty((n_steps, n) if record else (0, 0), dtype=x.dtype)
    mode = RESETS.index(p.reset)
    n_blocks = _n_blocks(n)
    bad = np.zeros(n_blocks, dtype=np.int64)
    if p.convention == "snntorch":
        kernel = _snntorch_kernel(mode, p.reset_delay, record)
        kernel(x, v, np.float32(p.beta), np.float32(p.threshold), spikes, mem, n_blocks, bad)
    else:
        kernel = _report_kernel(mode, p.reset_delay, record)
        kernel(x, v, p.beta, p.threshold, p.v_reset, spikes, mem, n_blocks, bad)
    return spikes, (mem if record else None), int(bad.sum())


# --------------------------------------------------------------------------- public


def simulate_lif(
    inputs: Any,
    params: LIFParameters = LIFParameters(),
    *,
    state: LIFState | None = None,
    record_membrane: bool = False,
) -> LIFResult:
    """Run a LIF population over ``T`` steps.

    Parameters
    ----------
    inputs : array_like, shape (T, ...)
        Input per step and neuron (membrane increment, membrane unit); finite. Axis 0 is time; any
        trailing shape (batch, features, ...) is a population of independent neurons. Cast to
        float32 (snntorch convention) or float64 (report convention).
    params : LIFParameters
        Neuron parameters and convention.
    state : LIFState, optional
        Initial membrane, shape ``inputs.shape[1:]``; zeros when None. Not modified.
    record_membrane : bool
        Also return the membrane of every step (costs ``T * N`` floats).

    Returns
    -------
    LIFResult
        ``spikes`` int8 of shape (T, ...), ``membrane`` (or None) and ``final_state``.

    Raises
    ------
    InputError
        NaN or inf in ``inputs`` or ``state``, beta outside [0, 1], threshold <= 0, nonzero
        ``v_reset`` with the snntorch convention, non-bool flags.
    ShapeError
        Empty or 0-d ``inputs``, or a ``state`` whose shape is not ``inputs.shape[1:]``.
    NotFoundError
        Unknown ``reset`` or ``convention``.

    Examples
    --------
    >>> import numpy as np
    >>> res = simulate_lif(np.full((6, 1), 0.3), LIFParameters(beta=0.8))
    >>> res.spikes[:, 0].tolist()
    [0, 0, 0, 0, 1, 0]
    """
    p = _check_params(params)
    if not isinstance(record_membrane, (bool, np.bool_)):
        raise InputError(f"'record_membrane' must be a bool (got {record_membrane!r})")
    dtype = _dtype(p)
    # The kernel flags NaN/inf while it streams the inputs: a separate isfinite pass would cost half
    # as much as the LIF update itself on a 100k x 500 input. The caller's state is copied, so an
    # aborted run leaks nothing.
    x = as_float_array(inputs, "inputs", min_ndim=1, dtype=dtype, check_finite=False)
    n_steps, shape = x.shape[0], x.shape[1:]
    v = _initial_v(state, shape, dtype)
    flat_v = v.reshape(-1)
    spikes, mem, n_bad = _run(x.reshape(n_steps, -1), flat_v, p, bool(record_membrane))
    if n_bad:
        raise nonfinite_error(x, "inputs")
    return LIFResult(
        spikes=spikes.reshape(x.shape),
        membrane=None if mem is None else mem.reshape(x.shape),
        final_state=LIFState(flat_v.reshape(shape)),
    )


def lif_step(
    state: LIFState | None, input: Any, params: LIFParameters = LIFParameters()
) -> tuple[np.ndarray, LIFState]:
    """Advance a LIF population by one step (pure: ``state`` is not modified).

    Parameters
    ----------
    state : LIFState or None
        Current membrane, same shape as ``input``; None means zeros.
    input : array_like, shape (...)
        Input of this step per neuron, membrane unit; finite, at least one element.
    params : LIFParameters
        Neuron parameters and convention.

    Returns
    -------
    spikes : numpy.ndarray, shape (...), int8
        1 where the neuron fired at this step.
    state : LIFState
        The new state; ``state.v`` is the membrane that ``simulate_lif(record_membrane=True)``
        would record for this step.

    Raises
    ------
    InputError, ShapeError, NotFoundError
        As :func:`simulate_lif`; ShapeError also when ``state.v`` and ``input`` differ in shape.

    Examples
    --------
    >>> spk, st = lif_step(None, [0.5, 1.5], LIFParameters(beta=0.5))
    >>> spk.tolist(), st.v.tolist()
    ([0, 1], [0.5, 1.5])
    """
    p = _check_params(params)
    dtype = _dtype(p)
    x = as_float_array(input, "input", min_ndim=0, dtype=dtype, check_finite=False)
    v = _initial_v(state, x.shape, dtype)
    flat_v = v.reshape(-1)
    spikes, _, n_bad = _run(x.reshape(1, -1), flat_v, p, False)
    if n_bad:
        raise nonfinite_error(x, "input")
    return spikes.reshape(x.shape), LIFState(flat_v.reshape(x.shape))
