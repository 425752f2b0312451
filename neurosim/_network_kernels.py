"""Numba kernels of :mod:`neurosim.network`: neuron populations, event-driven and dense synapses.

Private: :mod:`neurosim.network` checks every argument before calling them. All arithmetic is float32
in the operation order snnTorch uses (``beta * v + x``; ``alpha * i + x``, ``beta * v + i``), so a
network whose discretised gains are exactly 1 reproduces snnTorch bit for bit.
"""

from __future__ import annotations

import functools
from typing import Any

import numba
import numpy as np

from neurosim._config import njit_options, parallel_options

__all__: list[str] = []

_MIN_BLOCK = 2048


def n_blocks(n: int, min_block: int = _MIN_BLOCK) -> int:
    """Blocks of work for one parallel region: a few per thread, none smaller than ``min_block``."""
    return max(1, min(n // min_block, 4 * numba.get_num_threads()))


# --------------------------------------------------------------------------- neuron populations


@functools.cache
def population_kernel(has_syn: bool, spiking: bool, record: bool) -> Any:
    """Kernel for one population over T steps; flags are closure constants (branch-free loops).

    Update per neuron ``i`` (parameter index ``j = i % n_per``), float32:

    * synaptic current (``has_syn``): ``I = alpha[j] * I + gsyn[j] * x``; the membrane input is ``I``;
    * membrane: ``v = (beta[j] * v + gain[j] * in) + c[j]``;
    * ``spiking``: ``s = v > thr[j]``; where ``s``, ``v = v_reset[j]`` (hard reset, same step).

    ``out`` receives spikes (int8) when ``spiking`` else the membrane (float32).
    """

    @numba.njit(**parallel_options())
    def kernel(x, v, cur, alpha, gsyn, beta, gain, c, thr, vr, spikes, vout, mem, nb):  # pragma: no cover
        n_steps, n = x.shape
        n_per = beta.shape[0]
        for b in numba.prange(nb):
            lo = b * n // nb
            hi = (b + 1) * n // nb
            for t in range(n_steps):
                xt = x[t]
                for i in range(lo, hi):
                    j = i % n_per
                    inp = xt[i]
                    if has_syn:
                        ci = alpha[j] * cur[i] + gsyn[j] * inp
                        cur[i] = ci
                        inp = ci
                    u = (beta[j] * v[i] + gain[j] * inp) + c[j]
                    if spiking:
                        if u > thr[j]:
                            spikes[t, i] = 1
                            u = vr[j]
                        else:
                            spikes[t, i] = 0
                    else:
                        vout[t, i] = u
                    v[i] = u
                    if record:
                        mem[t, i] = u

    return kernel


@numba.njit(**parallel_options())
def threshold_kernel(x, thr, out, nb):  # pragma: no cover
    """``out = x > thr[i % n_per]`` as int8 (NIR Threshold: Heaviside of ``x - theta``)."""
    n_steps, n = x.shape
    n_per = thr.shape[0]
    for b in numba.prange(nb):
        lo = b * n // nb
        hi = (b + 1) * n // nb
        for t in range(n_steps):
            for i in range(lo, hi):
                out[t, i] = 1 if x[t, i] > thr[i % n_per] else 0


# --------------------------------------------------------------------------- dense synapses


@numba.njit(**parallel_options())
def linear_events(s, packed, bias, out, rb):  # pragma: no cover
    """Event-driven linear layer: for each input spike, add its weight row to the targets.

    ``s`` [R, n_in] holds the binary input (one row per step and sample); ``packed`` is the
    transposed weight cut into column chunks, [n_chunks, n_in, chunk] (zero padded past n_out), so
    that the chunk of one weight row is contiguous; ``out`` is [R, n_chunks * chunk]. Rows go in
    blocks of ``rb``: per block the spikes are sorted by input (counting sort), then for each chunk
    and each input that spiked, its weight-row chunk is loaded once and added to every row of the
    block that received the spike, while the block's output tile stays in cache. Work is
    proportional to spikes x fan-out, and each weight is fetched once per block, not once per spike.
    Summation order per output: inputs in increasing index from 0, then the bias (all zeros for a
    Linear node).
    """
    n_rows, n_in = s.shape
    n_chunks, _, chunk = packed.shape
    n_blk = (n_rows + rb - 1) // rb
    for blk in numba.prange(n_blk):
        lo = blk * rb
        hi = min(lo + rb, n_rows)
        start = np.zeros(n_in + 1, dtype=np.int64)
        for r in range(lo, hi):
            sr = s[r]
            for i in range(n_in):
                start[i + 1] += 1 if sr[i] != 0 else 0
        for i in range(n_in):
            start[i + 1] += start[i]
        fill = start[:n_in].copy()
        rows = np.empty(start[n_in], dtype=np.int64)
        for r in range(lo, hi):
            sr = s[r]
            for i in range(n_in):
                if sr[i] != 0:
                    rows[fill[i]] = r
                    fill[i] += 1
        for c in range(n_chunks):
            wc = packed[c]
            c0 = c * chunk
            for r in range(lo, hi):
                o = out[r, c0:c0 + chunk]
                for j in range(chunk):
                    o[j] = np.float32(0.0)
            for i in range(n_in):
                if start[i] == start[i + 1]:
                    continue
                w = wc[i]
                for p in range(start[i], start[i + 1]):
                    o = out[rows[p], c0:c0 + chunk]
                    for j in range(chunk):
                        o[j] += w[j]
            bc = bias[c0:c0 + chunk]
            for r in range(lo, hi):
                o = out[r, c0:c0 + chunk]
                for j in range(chunk):
                    o[j] += bc[j]


# --------------------------------------------------------------------------- convolution and pooling
# Layout: x [R, C, H, W] (R = steps x batch), weight [O, C/groups, KH, KW]; 1-d convolutions use H = 1.


@numba.njit(**parallel_options())
def conv2d_dense(x, w, bias, sh, sw, ph, pw, dh, dw, groups, out):  # pragma: no cover
    """Direct (gather) convolution with zero padding; ``out`` [R, O, OH, OW] is overwritten."""
    n_rows, _, h, wd = x.shape
    n_o, cpg, kh, kw = w.shape
    oh, ow = out.shape[2], out.shape[3]
    opg = n_o // groups
    for r in numba.prange(n_rows):
        for o in range(n_o):
            g = o // opg
            for y in range(oh):
                for xx in range(ow):
                    acc = np.float32(0.0)
                    for cl in range(cpg):
                        c = g * cpg + cl
                        for ky in range(kh):
                            iy = y * sh - ph + ky * dh
                            if iy < 0 or iy >= h:
                                continue
                            for kx in range(kw):
                                ix = xx * sw - pw + kx * dw
                                if ix < 0 or ix >= wd:
                                    continue
                                acc += x[r, c, iy, ix] * w[o, cl, ky, kx]
                    out[r, o, y, xx] = acc + bias[o]


@numba.njit(**parallel_options())
def conv2d_events(s, w, bias, sh, sw, ph, pw, dh, dw, groups, out):  # pragma: no cover
    """Event-driven (scatter) convolution of binary input: each spike adds its kernel taps to the targets."""
    n_rows, n_c, h, wd = s.shape
    n_o, cpg, kh, kw = w.shape
    oh, ow = out.shape[2], out.shape[3]
    opg = n_o // groups
    for r in numba.prange(n_rows):
        for o in range(n_o):
            for y in range(oh):
                for xx in range(ow):
                    out[r, o, y, xx] = 0.0
        for c in range(n_c):
            g = c // cpg
            cl = c - g * cpg
            for iy in range(h):
                for ix in range(wd):
                    if s[r, c, iy, ix] == 0:
                        continue
                    for ky in range(kh):
                        ny = iy + ph - ky * dh
                        if ny < 0 or ny % sh != 0:
                            continue
                        y = ny // sh
                        if y >= oh:
                            continue
                        for kx in range(kw):
                            nx = ix + pw - kx * dw
                            if nx < 0 or nx % sw != 0:
                                continue
                            xx = nx // sw
                            if xx >= ow:
                                continue
                            for o in range(g * opg, (g + 1) * opg):
                                out[r, o, y, xx] += w[o, cl, ky, kx]
        for o in range(n_o):
            for y in range(oh):
                for xx in range(ow):
                    out[r, o, y, xx] += bias[o]


@numba.njit(**njit_options())
def conv2d_fanout(nonzero, h, wd, sh, sw, ph, pw, dh, dw, groups, oh, ow, fan):  # pragma: no cover
    """Per input position [C, H, W]: how many (output, tap) pairs with a nonzero weight it feeds."""
    n_o, cpg, kh, kw = nonzero.shape
    opg = n_o // groups
    for o in range(n_o):
        g = o // opg
        for cl in range(cpg):
            c = g * cpg + cl
            for ky in range(kh):
                for kx in range(kw):
                    if not nonzero[o, cl, ky, kx]:
                        continue
                    for y in range(oh):
                        iy = y * sh - ph + ky * dh
                        if iy < 0 or iy >= h:
                            continue
                        for xx in range(ow):
                            ix = xx * sw - pw + kx * dw
                            if 0 <= ix < wd:
                                fan[c, iy, ix] += 1


@numba.njit(**parallel_options())
def pool2d(x, kh, kw, sh, sw, ph, pw, divisor, out):  # pragma: no cover
    """Sum pooling divided by ``divisor`` (1 for SumPool2d, kh kw for AvgPool2d, as torch) with zero padding."""
    n_rows, n_c, h, wd = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for r in numba.prange(n_rows):
        for c in range(n_c):
            for y in range(oh):
                for xx in range(ow):
                    acc = np.float32(0.0)
                    for ky in range(kh):
                        iy = y * sh - ph + ky
                        if iy < 0 or iy >= h:
                            continue
                        for kx in range(kw):
                            ix = xx * sw - pw + kx
                            if 0 <= ix < wd:
                                acc += x[r, c, iy, ix]
                    out[r, c, y, xx] = acc / divisor
