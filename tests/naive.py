"""Slow, obviously-correct pure-NumPy twins of the Numba kernels, for tests only.

Each twin transcribes the documented equations step by step, without blocking, in-place tricks
or dtype shortcuts beyond what the equations state. Other modules append their own twins here;
keep every twin in its own clearly named function.
"""

from __future__ import annotations

import numpy as np

__all__ = ["naive_lif_report", "naive_lif_snntorch"]


def naive_lif_report(
    inputs: np.ndarray,
    *,
    lam: float,
    vth: float,
    reset: str,
    v_reset: float = 0.0,
    reset_delay: bool = True,
    v0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """SpikingBrain report equation 9 (``reset_delay=True``) or same-step reset, float64.

    Returns ``(spikes int8 [T, ...], membrane float64 [T, ...])``; the membrane is ``v[t]`` as
    defined in ``neurosim.lif``'s module docstring.
    """
    x = np.asarray(inputs, dtype=np.float64)
    v = np.zeros(x.shape[1:]) if v0 is None else np.array(v0, dtype=np.float64)
    spikes = np.zeros(x.shape, dtype=np.int8)
    mem = np.zeros(x.shape)
    for t in range(x.shape[0]):
        if reset_delay:
            s_prev = (v >= vth).astype(np.float64)
            if reset == "subtract":
                v = lam * v - vth * s_prev + x[t]
            elif reset == "zero":
                v = lam * (1.0 - s_prev) * v + v_reset * s_prev + x[t]
            else:
                v = lam * v + x[t]
            s = v >= vth
        else:
            v = lam * v + x[t]
            s = v >= vth
            if reset == "subtract":
                v = v - vth * s
            elif reset == "zero":
                v = np.where(s, v_reset, v)
        spikes[t] = s
        mem[t] = v
    return spikes, mem


def naive_lif_snntorch(
    inputs: np.ndarray,
    *,
    beta: float,
    threshold: float,
    reset: str,
    reset_delay: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """snntorch 1.0.0 ``snn.Leaky.forward`` transcribed to float32 NumPy (zero initial membrane).

    Returns ``(spikes int8 [T, ...], membrane float32 [T, ...])``.
    """
    x = np.asarray(inputs, dtype=np.float32)
    b = np.float32(beta)
    th = np.float32(threshold)
    mem = np.zeros(x.shape[1:], dtype=np.float32)
    spikes = np.zeros(x.shape, dtype=np.int8)
    mems = np.zeros(x.shape, dtype=np.float32)
    for t in range(x.shape[0]):
        rst = (mem - th > 0).astype(np.float32)
        if reset == "subtract":
            mem = b * mem + x[t] - rst * th
        elif reset == "zero":
            mem = (np.float32(1) - rst) * mem
            mem = b * mem + x[t]
        else:
            mem = b * mem + x[t]
        spk = (mem - th > 0).astype(np.float32)
        if not reset_delay:
            do_reset = spk - rst
            if reset == "subtract":
                mem = mem - do_reset * th
            elif reset == "zero":
                mem = mem - do_reset * mem
        spikes[t] = spk
        mems[t] = mem
    return spikes, mems
