"""Slow, obviously-correct pure-NumPy/Python twins of the library's kernels, for tests only.

Each twin transcribes the documented equations step by step, without blocking, in-place tricks
or dtype shortcuts beyond what the equations state. Every naive twin of the test suite lives here
(grouped by the module it checks), each in its own clearly named function.
"""

from __future__ import annotations

import numpy as np

from neurosim.coding import encode_events
from neurosim.tally import BLOCK_SIZES, ProjectionTally

__all__ = [
    "naive_accumulate",
    "naive_count_stats",
    "naive_gla",
    "naive_lif_report",
    "naive_lif_snntorch",
    "naive_place_value",
    "naive_popcounts",
    "naive_projection_tally",
    "naive_rms",
    "naive_rope",
    "naive_softmax_attention",
    "naive_spikes",
    "naive_tally",
    "naive_train",
]

_UNARY = ("binary", "ternary")


# ---- neurosim.coding ------------------------------------------------------------------------------
def naive_train(counts: np.ndarray, coding: str, t_steps: int) -> np.ndarray:
    """Dense train from the coder definitions, one Python int at a time."""
    flat = [int(c) for c in counts.reshape(-1)]
    out = np.zeros((t_steps, len(flat)), dtype=np.int64)
    for i, c in enumerate(flat):
        for t in range(t_steps):
            if coding in _UNARY:
                out[t, i] = (1 if c > 0 else -1) if t < abs(c) else 0
            elif coding == "twos-complement":
                out[t, i] = ((c % 2**t_steps) >> (t_steps - 1 - t)) & 1
            else:
                out[t, i] = ((abs(c) >> (t_steps - 1 - t)) & 1) * (1 if c > 0 else -1)
    return out.reshape((t_steps, *counts.shape))


def naive_place_value(coding: str, t: int, t_steps: int) -> int:
    """Place value of time step ``t`` of a ``t_steps``-step code (MSB first; two's complement sign bit negative)."""
    if coding in _UNARY:
        return 1
    if coding == "twos-complement" and t == 0:
        return -(2 ** (t_steps - 1))
    return 2 ** (t_steps - 1 - t)


def naive_spikes(c: int, coding: str, t_steps: int) -> int:
    """Spike events of one count: ``|c|`` (unary), 1-bits of ``|c|`` or of ``c mod 2**T`` (two's complement)."""
    if coding in _UNARY:
        return abs(c)
    if coding == "twos-complement":
        return bin(c % 2**t_steps).count("1")
    return bin(abs(c)).count("1")


def naive_popcounts(counts) -> np.ndarray:
    """Bidirectional spikes of every count (flattened): the 1-bits of ``|c|``, one Python int at a time."""
    return np.array([bin(abs(int(v))).count("1") for v in np.asarray(counts).ravel()], dtype=np.int64)


def naive_count_stats(counts: np.ndarray) -> dict[str, float]:
    """The report's four statistics of integer counts (bidirectional coding), by their definitions."""
    a = np.abs(counts).ravel()
    return {
        "spikes_per_channel": naive_popcounts(a).mean(),
        "silent_fraction": np.mean(a == 0),
        "within_7_fraction": np.mean(a <= 7),
        "above_16_fraction": np.mean(a > 16),
    }


# ---- neurosim.engine and neurosim.tally: one event at a time, from neurosim.coding.encode_events ----
def naive_accumulate(counts2d, qw, coding, time_steps=None):
    """acc[token, group, :] += sign * place * q[:, channel] for every time-major event."""
    n_tok, n_in = counts2d.shape
    size = n_in if qw.group_size is None else qw.group_size
    acc = np.zeros((n_tok, qw.n_groups, qw.out_features), dtype=np.int64)
    ev = encode_events(counts2d, coding, time_steps=time_steps)
    q = qw.q.astype(np.int64)
    for idx, sign, place in zip(ev.index.tolist(), ev.sign.tolist(), ev.weight.tolist()):
        tok, ch = divmod(idx, n_in)
        acc[tok, ch // size] += sign * place * q[:, ch]
    return acc


def naive_tally(counts2d, out_features, coding, time_steps=None):
    """Every counted field of a projection's tally, from the events and plain loops (a dict)."""
    n_tok, n_in = counts2d.shape
    ev = encode_events(counts2d, coding, time_steps=time_steps)
    ebs = np.zeros((ev.time_steps, 2), dtype=np.int64)
    for t, s in zip(ev.t.tolist(), ev.sign.tolist()):
        ebs[t, 0 if s > 0 else 1] += 1
    active = counts2d != 0
    blocks = {
        b: sum(len({ch // b for ch in np.flatnonzero(active[tok])}) for tok in range(n_tok))
        for b in BLOCK_SIZES
    }
    rows_batch = int(active.any(axis=0).sum())
    return {
        "tokens": n_tok,
        "input_slots": n_tok * n_in,
        "dense_macs": n_tok * n_in * out_features,
        "spike_events": len(ev),
        "synaptic_ops": len(ev) * out_features,
        "nonzero_inputs": int(active.sum()),
        "sum_abs_counts": int(np.abs(counts2d).sum()),
        "silent_inputs": int((~active).sum()),
        "rows_fetched_token": int(active.sum()),
        "rows_fetched_batch": rows_batch,
        "weight_bytes_touched": rows_batch * out_features,
        "time_steps": ev.time_steps,
        "events_by_step": ebs,
        "active_blocks": blocks,
    }


def naive_projection_tally(counts: np.ndarray, out_features: int, name: str = "proj",
                           coding: str = "ternary") -> ProjectionTally:
    """A :class:`ProjectionTally` of a [tokens, in] count array built from :func:`naive_tally`."""
    fields = naive_tally(np.asarray(counts, dtype=np.int64), out_features, coding)
    return ProjectionTally(name=name, in_features=counts.shape[1], out_features=out_features, coding=coding,
                           **fields)


# ---- neurosim.layers -------------------------------------------------------------------------------
def naive_rms(x, w, eps):
    """RMSNorm row by row: ``w * r / sqrt(mean(r**2) + eps)``."""
    return np.array([[w[j] * r[j] / np.sqrt(sum(v * v for v in r) / len(r) + eps) for j in range(len(r))]
                     for r in x])


def naive_gla(q, k, v, g, s0=None):
    """Parallel form: o_t = sum_{s<=t} ((q_t * exp(G_t - G_s)) . k_s) v_s (+ q_t exp(G_t) S0)."""
    t_len, h, dk = q.shape
    cum = np.cumsum(g, axis=0)
    o = np.zeros((t_len, h, v.shape[2]))
    for t in range(t_len):
        for hh in range(h):
            for s in range(t + 1):
                o[t, hh] += np.dot(q[t, hh] * np.exp(cum[t, hh] - cum[s, hh]), k[s, hh]) * v[s, hh]
            if s0 is not None:
                o[t, hh] += (q[t, hh] * np.exp(cum[t, hh])) @ s0[hh]
    return o


def naive_rope(x, pos, theta):
    """Pairs (i, i + d/2) rotated by pos * theta^(-2i/d), as complex numbers."""
    d = x.shape[-1]
    half = d // 2
    z = x[..., :half] + 1j * x[..., half:]
    ang = pos[:, None, None] * theta ** (-2.0 * np.arange(half) / d)[None, None, :]
    r = z * np.exp(1j * ang)
    return np.concatenate([r.real, r.imag], axis=-1)


def naive_softmax_attention(q, k, v, window):
    """Causal softmax attention over the last ``window`` positions, one query and key at a time."""
    t_len, h, d = q.shape
    out = np.zeros_like(q)
    for i in range(t_len):
        for hh in range(h):
            keys = [j for j in range(t_len) if j <= i and (window is None or i - j < window)]
            s = np.array([q[i, hh] @ k[j, hh] / np.sqrt(d) for j in keys])
            p = np.exp(s - s.max())
            p /= p.sum()
            out[i, hh] = sum(pj * v[j, hh] for pj, j in zip(p, keys))
    return out


# ---- neurosim.lif ----------------------------------------------------------------------------------


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
