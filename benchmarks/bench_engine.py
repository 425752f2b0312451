"""Event-driven W8ASpike projection versus the best dense INT8 kernel torch offers, torch float32 and the
machine's memory bandwidth, at the SpikingBrain-7B gate shape.

Reproduce (from the repository root, with the project's virtualenv)::

    python benchmarks/bench_engine.py                 # 3584 -> 18944, group 128, 1/8/64 tokens, + 7B layers
    python benchmarks/bench_engine.py --no-layer      # the projection only (about 2-4 minutes)
    python benchmarks/bench_engine.py --quick --no-layer  # small shape, a smoke run of a few seconds

What is measured (best of the repeats after one warm-up call, wall clock, ``time.perf_counter``), all
in one process with one thread count (``torch.set_num_threads(numba.get_num_threads())``); the
contenders alternate within every repeat so machine load (the development machine is shared) hits
them alike:

* ``event``: the event path from activations to output: adaptive threshold and spike counts
  (``spike_counts``), integer accumulation and float scaling (``project_counts(..., path="event")``,
  ``kernel="auto"``: at 1 token the event walk, which adds the weight rows of firing channels times
  their merged multipliers (the counts); from 2 tokens on the multiply-add-bytes token-block kernel
  on counts split to fit its int16 lanes plus the rare remainders; see ``neurosim.engine``). One-off
  weight quantisation, transposition and packing are excluded (model-load cost); the profiling tally
  is timed separately as ``event_call_s``.
* where the multi-token time goes: ``multiply_add_floor``, the engine's int8 multiply-add kernel alone
  on the same counts (same intrinsic, layout and blocking; no remainders, offset correction or float
  scaling), ``multiply_add_scale_floor``, the same plus the engine's per-group float64 scaling, and
  ``spike_counts`` alone, all timed cold and interleaved with the event path and the INT8 peer in the
  same rounds (their ratios to the peer, ``*_vs_int8``, come from those rounds).
* INT8 peers: torch's dynamic-quantised ``nn.Linear`` (``torch.ao.quantization.quantize_dynamic``,
  qint8 weights, activations re-quantised to uint8 per call; the ``x86``/fbgemm engine) and weight-only
  ``torch._weight_int8pack_mm`` (int8 weights, per-channel scales, float activations). The faster at
  each token count is ``int8_peer``. Bit-exactness against the engine's integers is checked for
  ``_weight_int8pack_mm`` fed the spike counts with unit scales (float32 holds these sums exactly, all
  below 2**24); the dynamic-quantised Linear re-quantises activations with its own scale, so it
  computes different integers (not checked).
* ``torch f32``: ``torch.nn.functional.linear`` in float32, same shapes.
* Cache: by default (``--cache cold``) every timed call of every contender starts after streaming a
  buffer of 4x the last-level cache, so the weights come from DRAM, as in a model whose weights are
  far larger than the cache; ``--cache warm`` times back-to-back calls instead.
* Read bandwidth: a streaming read (``numpy.sum`` over an int8 buffer of 8x the last-level cache
  viewed as int64, one and ``threads`` threads), best of several, measured before and after the
  projections; the larger is the machine's figure. The event path's weight bytes moved (int8 rows any
  token of the batch needs, plus the float64 scales of the groups it scales) per second, divided by it,
  is ``bandwidth_fraction``.
* halved spikes: half of the nonzero counts zeroed at random; time of ``project_counts`` on the
  halved counts divided by its time on the full counts (1 token: it reads half the rows).

Activations: ``calibrated`` (``neurosim.analysis.calibration.calibrated_activations``, the Laplace
mixture matching the report's published spike statistics at k = 3; the targets of issue 14 refer to
these) and ``student-t`` (``--df``, default 2, heavier tailed), printed separately; the top-level JSON
keys are those of the first set (``--activations``, default calibrated first).
Peak memory is the process's ``ru_maxrss`` (whole process, torch weights included) plus the
``tracemalloc`` peak of one event call (NumPy allocations; Numba's in-kernel scratch is not traced).

The last line printed is one JSON object. It never asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402
import numpy as np  # noqa: E402

from neurosim import engine  # noqa: E402
from neurosim.adaptive import spike_counts  # noqa: E402
from neurosim.analysis.calibration import calibrated_activations  # noqa: E402
from neurosim.engine import (  # noqa: E402
    DEFAULT_COLUMN_BLOCK,
    integer_accumulate,
    project_counts,
    w8aspike_linear,
)
from neurosim.quant import quantize_weight  # noqa: E402
from neurosim.token_events import token_events  # noqa: E402

__all__ = ["main", "measure_layer", "measure_projection"]


def _llc_bytes() -> int:
    """Last-level cache size from sysfs (32 MiB if unreadable)."""
    best = 0
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for idx in base.glob("index*"):
        try:
            text = (idx / "size").read_text().strip()
        except OSError:
            continue
        mult = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        best = max(best, int(text.rstrip("KMG")) * mult)
    return best or 32 * 2**20


def cpu_vector_flags() -> list[str]:
    """The CPU's SIMD extensions relevant to int8 kernels (from /proc/cpuinfo; empty if unreadable)."""
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
              "amx_int8", "avx512_bf16")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


class CacheFlusher:
    """Streams a buffer of 4x the last-level cache, so the next call finds no weights in cache."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.buf = np.ones(4 * _llc_bytes(), dtype=np.int8).view(np.int64) if enabled else None

    def __call__(self) -> None:
        if self.enabled:
            self.buf.sum()


def read_bandwidth(threads: int, *, repeats: int = 7) -> dict[str, float]:
    """Streaming-read bandwidth (bytes/s): numpy sum of an int8 buffer of 8x the LLC viewed as int64."""
    buf = np.ones(max(8 * _llc_bytes(), 256 * 2**20), dtype=np.int8)
    view = buf.view(np.int64)
    parts = np.array_split(view, threads)
    out = {}
    with ThreadPoolExecutor(threads) as pool:
        for name, fn in (("numpy_1_thread", view.sum),
                         (f"numpy_{threads}_threads", lambda: sum(pool.map(np.sum, parts)))):
            fn()
            best = min(_timed(fn) for _ in range(repeats))
            out[name] = buf.nbytes / best
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _timed_cold(fn, flush: CacheFlusher) -> float:
    flush()
    return _timed(fn)


def _best(fn, repeats: int) -> float:
    fn()  # warm-up (JIT compile, caches, page faults)
    return min(_timed(fn) for _ in range(repeats))


def _best_interleaved(fns: dict, repeats: int, flush: CacheFlusher, *, min_seconds: float = 1.5,
                      medians: dict | None = None) -> dict[str, float]:
    """Best time of each function, timed round-robin so all see the same machine load (the
    development machine is shared; interleaving keeps a burst of load from favouring one side).
    Runs at least ``repeats`` rounds and, for millisecond calls, enough rounds to fill ``min_seconds``
    (at most 100), so the minimum is not one unlucky sample. ``flush`` runs (untimed) before each call."""
    for fn in fns.values():
        fn()
    t0 = time.perf_counter()
    for fn in fns.values():
        fn()
    per_round = time.perf_counter() - t0
    rounds = int(min(100, max(repeats, min_seconds / max(per_round, 1e-6))))
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            flush()
            times[name].append(_timed(fn))
    if medians is not None:
        medians.update({name: float(np.median(ts)) for name, ts in times.items()})
    return {name: min(ts) for name, ts in times.items()}


def _halve(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    half = counts.copy()
    nz = np.flatnonzero(half)
    half.reshape(-1)[rng.choice(nz, size=nz.size // 2, replace=False)] = 0
    return half


class Int8Peers:
    """torch's dense INT8 CPU kernels for one weight, built once (model-load cost, not timed)."""

    def __init__(self, w: np.ndarray, qw) -> None:
        import torch

        self.torch = torch
        lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
            self.dynamic = torch.ao.quantization.quantize_dynamic(
                torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8)
        self.engine = torch.backends.quantized.engine
        # weight-only int8: the engine's own int8 rows, per-output-channel float scales
        self.q = torch.from_numpy(np.array(qw.q, copy=True))  # writable copy (torch wants one)
        self.row_scale = torch.from_numpy(qw.scales.max(axis=1).astype(np.float32))
        self.unit = torch.ones(w.shape[0], dtype=torch.float32)

    def names(self) -> dict[str, str]:
        return {"dynamic_int8": f"torch.ao quantize_dynamic Linear (qint8, {self.engine} engine)",
                "weight_int8pack": "torch._weight_int8pack_mm (int8 weights, float activations)"}

    def functions(self, x: np.ndarray) -> dict:
        torch = self.torch
        xt = torch.from_numpy(x.astype(np.float32))

        def dynamic_int8():
            with torch.inference_mode():
                return self.dynamic(xt)

        def weight_int8pack():
            with torch.inference_mode():
                return torch._weight_int8pack_mm(xt, self.q, self.row_scale)

        return {"dynamic_int8": dynamic_int8, "weight_int8pack": weight_int8pack}

    def int8pack_integers(self, counts: np.ndarray) -> np.ndarray:
        """``sum_i q[o, i] * counts[t, i]`` by ``_weight_int8pack_mm`` (exact below 2**24)."""
        torch = self.torch
        with torch.inference_mode():
            out = torch._weight_int8pack_mm(torch.from_numpy(counts.astype(np.float32)), self.q, self.unit)
        return out.numpy().astype(np.int64)


@numba.njit(parallel=True)
def _multiply_adds_only(small, packed, qoff, n_out, n_tok, scale, corr, scales_blk, sink):
    # The engine's quad kernel with everything but the int8 multiply-adds removed (no remainders, no
    # store of the output), and with the per-group float scaling only when `scale`: the same
    # intrinsic, layout, blocking, token chunks, work split and scaling step.
    n_groups = qoff.shape[0] - 1
    n_quads = qoff[n_groups]
    out = engine._PAIR_OUT
    no_acc = np.zeros((1, 1, 1), dtype=np.int32)
    chunk = min(n_tok, engine._QUAD_TOKEN_CHUNK)
    for ob in numba.prange((n_out + out - 1) // out):
        buf = np.empty(chunk * out, dtype=np.int32)
        yb = np.zeros(chunk * out, dtype=np.float64)
        sl = np.empty(out, dtype=np.float64)
        width = min(n_out, ob * out + out) - ob * out
        for t_lo in range(0, n_tok, chunk):
            nt = min(n_tok, t_lo + chunk) - t_lo
            for g in range(n_groups):
                qg = qoff[g + 1] - qoff[g]
                gbase = ob * out * n_quads * 4 + 8 * qoff[g] * 32
                for v0 in range(0, out // 8, engine._QUAD_VECS):
                    w_off = gbase + v0 * qg * 32
                    t0 = 0
                    while t0 + engine._QUAD_TOKS <= nt:
                        engine._quads_main(packed, w_off, qg * 32, small, (t_lo + t0) * n_quads + qoff[g], n_quads,
                                           qg, buf, t0 * out + v0 * 8, out)
                        t0 += engine._QUAD_TOKS
                    while t0 < nt:
                        engine._quads_tail(packed, w_off, qg * 32, small, (t_lo + t0) * n_quads + qoff[g], n_quads,
                                           qg, buf, t0 * out + v0 * 8, out)
                        t0 += 1
                if scale:
                    engine._finish_group(buf, corr[t_lo:t_lo + nt], g, ob, width, scales_blk, False, no_acc, sl, yb)
        sink[ob] = buf[0] + yb[0]


def multiply_add_floor(qw, counts: np.ndarray, flush: CacheFlusher, repeats: int,
                       others: dict) -> dict[str, float]:
    """Best seconds of the engine's int8 multiply-adds alone on ``counts`` (``multiply_adds``), of the
    same with the per-group scaling (``multiply_adds_scaled``), and of each of ``others`` (name ->
    function), all timed cold and interleaved in the same rounds, so their ratios see the same machine
    load. The floors are what no rearrangement of the rest (spike counts, kernel choice, count split,
    remainders) can go below with this kernel. Benchmark-only, it uses the engine's private quad
    kernel pieces.
    """
    packed, qoff, _ = engine._quad_layout(qw)
    n_tok = counts.shape[0]
    n_groups = qw.n_groups
    small = np.zeros(n_tok * 4 * int(qoff[-1]), dtype=np.int8)
    corr = np.empty((n_tok, n_groups), dtype=np.int32)
    large_ptr = np.zeros(n_tok * n_groups + 1, dtype=np.int64)
    large_ch = np.empty(counts.size, dtype=np.int64)
    large_r = np.empty(counts.size, dtype=np.int32)
    engine._split_counts_kernel(counts, qw.group_bounds, qoff, engine._LANE_CHANNELS, engine._QUAD_STEPS,
                                engine.QUAD_LANE_BUDGET, small, corr, large_ptr, large_ch, large_r)
    scales_blk = engine._block_scales(qw)
    sink = np.zeros(-(-qw.out_features // engine._PAIR_OUT), dtype=np.float64)

    def floor(scale: bool):
        return lambda: _multiply_adds_only(small, packed, qoff, qw.out_features, n_tok, scale, corr, scales_blk,
                                           sink)

    return _best_interleaved({"multiply_adds": floor(False), "multiply_adds_scaled": floor(True), **others},
                             repeats, flush)


def measure_projection(qw, w32, x: np.ndarray, *, k: float, coding: str, repeats: int,
                       column_block: int | None, rng: np.random.Generator, peers: Int8Peers,
                       flush: CacheFlusher) -> dict[str, object]:
    """Time one token batch ``x [tokens, in]`` through the event path, torch's INT8 kernels and float32."""
    import torch

    counts, vth = spike_counts(x, k)
    ev = token_events(counts, coding, group_size=qw.group_size)

    def event() -> np.ndarray:
        c, v = spike_counts(x, k)
        return project_counts(c, v, qw, coding=coding, column_block=column_block)

    xt = torch.from_numpy(x.astype(np.float32))

    def dense() -> object:
        with torch.inference_mode():
            return torch.nn.functional.linear(xt, w32)

    peer_fns = peers.functions(x)
    fns = {"event": event, "torch_f32": dense, "dynamic_int8": peer_fns["dynamic_int8"]}
    medians: dict[str, float] = {}
    best = _best_interleaved(fns, repeats, flush, medians=medians)
    # _weight_int8pack_mm is 5-60x slower than the others here (seconds at 64 tokens): best of 3
    # cold calls, not interleaved; it still becomes the INT8 peer if it is faster.
    pack = peer_fns["weight_int8pack"]
    pack()  # warm-up
    best["weight_int8pack"] = min(_timed_cold(pack, flush) for _ in range(3))
    t_event = best["event"]
    int8_times = {name: best[name] for name in peers.names()}
    int8_name = min(int8_times, key=int8_times.get)
    t_call = _best(lambda: w8aspike_linear(x, qw, k=k, coding=coding, column_block=column_block),
                   repeats)

    # where the multi-token time goes: the int8 multiply-adds alone, with the scaling, and the spike
    # counts alone, interleaved with the event path and the INT8 peer
    split = None
    if counts.shape[0] >= 2 and engine._quads_apply(engine._count_stats(counts, qw.group_bounds)):
        split = multiply_add_floor(qw, counts, flush, repeats, {
            "event": event, "int8": peer_fns[int8_name],
            "spike_counts": lambda: spike_counts(x, k)})
    t_spikes = (split["spike_counts"] if split else
                min(_timed_cold(lambda: spike_counts(x, k), flush) for _ in range(repeats)))

    half = _halve(counts, rng)
    ev_half = token_events(half, coding, group_size=qw.group_size)
    half_medians: dict[str, float] = {}
    halves = _best_interleaved({
        "full": lambda: project_counts(counts, vth, qw, coding=coding, column_block=column_block),
        "half": lambda: project_counts(half, vth, qw, coding=coding, column_block=column_block),
    }, repeats, flush, medians=half_medians)

    y_event = project_counts(counts, vth, qw, coding=coding, column_block=column_block)
    y_dense = project_counts(counts, vth, qw, coding=coding, path="dense", column_block=column_block)
    acc, _ = integer_accumulate(counts, qw, coding=coding)
    int8pack_exact = bool(np.array_equal(acc.sum(axis=1, dtype=np.int64), peers.int8pack_integers(counts)))
    tracemalloc.start()
    event()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows_batch = int((counts != 0).any(axis=0).sum())
    bounds = qw.group_bounds
    groups_used = int(sum((counts[:, bounds[g]:bounds[g + 1]] != 0).any() for g in range(qw.n_groups)))
    weight_bytes = rows_batch * qw.out_features + groups_used * qw.out_features * 8
    return {
        "tokens": int(x.shape[0]),
        "spikes_per_channel": ev.n_events / counts.size,
        "silent_fraction": float((counts == 0).mean()),
        "max_abs_count": int(np.abs(counts).max()),
        "events": ev.n_events,
        "event_s": t_event,
        "event_call_s": t_call,
        "dense_torch_f32_s": best["torch_f32"],
        "int8_seconds": int8_times,
        "int8_peer": int8_name,
        "int8_s": int8_times[int8_name],
        "ratio": t_event / best["torch_f32"],
        "ratio_vs_int8": t_event / int8_times[int8_name],
        # the same ratio from median times (the machine is shared: min and median bracket the truth)
        "ratio_vs_int8_median": medians["event"] / medians["dynamic_int8"],
        "ratio_median": medians["event"] / medians["torch_f32"],
        "events_per_s": ev.n_events / t_event,
        "weight_bytes_moved": weight_bytes,
        "weight_bytes_per_s": weight_bytes / t_event,
        "halved_events": ev_half.n_events,
        # distinct weight rows any token of the batch needs: what a batch must fetch from memory
        "rows_fetched_batch": rows_batch,
        "halved_rows_fetched_batch": int((half != 0).any(axis=0).sum()),
        "halved_time_fraction": halves["half"] / halves["full"],
        "halved_time_fraction_median": half_medians["half"] / half_medians["full"],
        "bit_exact": bool(np.array_equal(y_event, y_dense)),
        "int8pack_integers_exact": int8pack_exact,
        "event_tracemalloc_peak_bytes": traced_peak,
        "multiply_add_floor_s": split["multiply_adds"] if split else None,
        "multiply_add_scale_floor_s": split["multiply_adds_scaled"] if split else None,
        # the event path and the INT8 peer timed in the same rounds as the floors
        "split_event_s": split["event"] if split else None,
        "split_int8_s": split["int8"] if split else None,
        "spike_counts_s": t_spikes,
    }


_LAYER_SCRIPT = """
import json, sys
from benchmarks.layer_harness import run_decoder_layer_benchmark
r = run_decoder_layer_benchmark(sys.argv[1], tokens=int(sys.argv[2]), k=float(sys.argv[3]), coding=sys.argv[4],
                                seed=int(sys.argv[5]), trace_memory=False)
print(json.dumps({"layer": r.layer, "run_s": r.run_s, "setup_s": r.setup_s, "max_rss_bytes": r.max_rss_bytes,
                  "events": int(r.tally.spike_events), "spikes_per_channel": r.tally.spikes_per_channel}))
"""


def measure_layer(args: argparse.Namespace) -> tuple[float | None, float | None, str]:
    """Whole-decoder-layer timing: returns (seconds, peak GB, note).

    Each layer type runs ``benchmarks/layer_harness.py`` (``run_decoder_layer_benchmark``: one SpikingBrain-7B
    decoder layer of real size, random INT8 weights, spiking path, event engine) in a fresh Python
    process, so its peak resident memory (``ru_maxrss``) is the layer's own: weights, activations and
    the interpreter, not this script's dense baseline. Seconds are the timed forward of the slowest
    layer type; peak GB the largest process peak. ``--no-layer`` skips it.
    """
    if not args.layer:
        return None, None, "layer timing skipped (--no-layer)"
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    parts = []
    worst, peak = 0.0, 0.0
    for layer_type in args.layer:
        proc = subprocess.run([sys.executable, "-c", _LAYER_SCRIPT, layer_type, str(args.layer_tokens),
                               str(args.k), args.coding, str(args.seed)],
                              capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            return None, None, f"layer timing failed for {layer_type}: {proc.stderr.strip()[-300:]}"
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        worst = max(worst, r["run_s"])
        peak = max(peak, r["max_rss_bytes"] / 1e9)
        parts.append(f"{layer_type} layer {r['layer']}: {r['run_s']:.2f} s forward, setup {r['setup_s']:.1f} s, "
                     f"peak {r['max_rss_bytes'] / 1e9:.2f} GB")
        print(f"# decoder layer ({args.layer_tokens} tokens, spiking, event path): {parts[-1]}, "
              f"{r['events']} events, {r['spikes_per_channel']:.3f} spikes/channel")
    return worst, peak, "; ".join(parts) + " (peak: ru_maxrss of a process running only that layer, GB)"


def _activations(kind: str, n_tok: int, n_in: int, args: argparse.Namespace,
                 rng: np.random.Generator) -> np.ndarray:
    if kind == "calibrated":
        return calibrated_activations(n_tok, n_in, seed=args.seed + n_tok)
    return rng.standard_t(args.df, size=(n_tok, n_in))


def _print_row(kind: str, r: dict, bandwidth: float) -> None:
    int8 = "  ".join(f"{name}={t * 1e3:.2f} ms" for name, t in r["int8_seconds"].items())
    print(f"[{kind}] tokens={r['tokens']:3d}  spikes/ch={r['spikes_per_channel']:.3f}  "
          f"silent={r['silent_fraction']:.3f}  max|c|={r['max_abs_count']}  events={r['events']}\n"
          f"    event={r['event_s'] * 1e3:.2f} ms (whole call with tally {r['event_call_s'] * 1e3:.2f} ms)  "
          f"{int8}  torch f32={r['dense_torch_f32_s'] * 1e3:.2f} ms\n"
          f"    event / best INT8 ({r['int8_peer']}) = {r['ratio_vs_int8']:.3f} (medians: event / "
          f"dynamic_int8 {r['ratio_vs_int8_median']:.3f})  "
          f"event / f32 = {r['ratio']:.3f}  weight bytes moved {r['weight_bytes_moved'] / 1e6:.1f} MB "
          f"= {r['weight_bytes_per_s'] / 1e9:.2f} GB/s = {r['weight_bytes_per_s'] / bandwidth:.2f} of the read "
          f"bandwidth\n    halved-spikes time fraction={r['halved_time_fraction']:.3f} (medians "
          f"{r['halved_time_fraction_median']:.3f}; events "
          f"{r['halved_events'] / max(1, r['events']):.2f}x, batch weight rows "
          f"{r['halved_rows_fetched_batch'] / max(1, r['rows_fetched_batch']):.2f}x)  "
          f"bit_exact(event == dense)={r['bit_exact']}  "
          f"integers == _weight_int8pack_mm: {r['int8pack_integers_exact']}")
    if r["multiply_add_floor_s"] is not None:
        floor = r["multiply_add_floor_s"]
        both = r["multiply_add_scale_floor_s"]
        int8 = r["split_int8_s"]
        print(f"    where the event time goes (timed in the same rounds: event {r['split_event_s'] * 1e3:.2f} ms, "
              f"{r['int8_peer']} {int8 * 1e3:.2f} ms): int8 multiply-adds alone {floor * 1e3:.2f} ms "
              f"({floor / int8:.2f} of {r['int8_peer']}), with the per-group float scaling "
              f"{both * 1e3:.2f} ms ({both / int8:.2f}), spike counts {r['spike_counts_s'] * 1e3:.2f} ms "
              f"({r['spike_counts_s'] / int8:.2f}), the rest (checks, kernel choice, count split, remainders, "
              f"output) {(r['split_event_s'] - both - r['spike_counts_s']) * 1e3:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--in-features", type=int, default=3584)
    parser.add_argument("--out-features", type=int, default=18944)
    parser.add_argument("--group-size", type=int, default=128)
    parser.add_argument("--tokens", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--k", type=float, default=3.0)
    parser.add_argument("--activations", nargs="+", choices=["calibrated", "student-t"],
                        default=["calibrated", "student-t"],
                        help="activation sets (the first one gives the top-level JSON keys)")
    parser.add_argument("--df", type=float, default=2.0, help="Student-t degrees of freedom")
    parser.add_argument("--coding", default="bidirectional")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--cache", choices=["cold", "warm"], default="cold",
                        help="cold: stream 4x the LLC before every timed call (default); warm: back to back")
    parser.add_argument("--column-block", type=int, default=None,
                        help=f"output columns per work item (default: auto; {DEFAULT_COLUMN_BLOCK} above 16 tokens)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small shape smoke run")
    parser.add_argument("--layer", nargs="*", default=["gla", "swa"], metavar="TYPE",
                        help="whole SpikingBrain-7B decoder layer types to time (default: gla swa)")
    parser.add_argument("--no-layer", dest="layer", action="store_const", const=[],
                        help="skip the whole-decoder-layer timing")
    parser.add_argument("--layer-tokens", type=int, default=64)
    args = parser.parse_args(argv)
    if args.quick:
        args.in_features, args.out_features, args.repeats = 512, 1024, 3
        args.layer_tokens = min(args.layer_tokens, 8)

    import torch

    threads = numba.get_num_threads()
    torch.set_num_threads(threads)
    rng = np.random.default_rng(args.seed)
    flags = cpu_vector_flags()
    load_start = os.getloadavg()
    print(f"# bench_engine: {args.in_features} -> {args.out_features}, group {args.group_size}, "
          f"k={args.k}, coding={args.coding}, activations {args.activations}, threads={threads}, "
          f"cache={args.cache}, numpy {np.__version__}, numba {numba.__version__}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, vector extensions {' '.join(flags) or 'unknown'}, "
          f"LLC {_llc_bytes() / 2**20:.0f} MiB, load average {load_start[0]:.2f} "
          f"(shared machine: timings vary; ratios are measured in one run)")
    w = (rng.standard_normal((args.out_features, args.in_features)) * 0.02).astype(np.float32)
    t0 = time.perf_counter()
    qw = quantize_weight(w, group_size=args.group_size)
    qw.q_t, qw.scales_t  # noqa: B018 - build the transposed int8 rows once (model-load cost)
    for packed_kernel in ("pairs", "quads"):  # pair and quad weight packing (model-load cost)
        project_counts(np.ones((2, args.in_features), np.int64), np.ones(2), qw, kernel=packed_kernel)
    print(f"# one-off quantisation, transposition and pair packing: {time.perf_counter() - t0:.2f} s "
          "(not timed below)")
    w32 = torch.from_numpy(w)
    peers = Int8Peers(w, qw)
    flush = CacheFlusher(args.cache == "cold")
    bw_before = read_bandwidth(threads)

    results: dict[str, list[dict]] = {}
    for kind in args.activations:
        rows = []
        for n_tok in args.tokens:
            x = _activations(kind, n_tok, args.in_features, args, rng)
            rows.append(measure_projection(qw, w32, x, k=args.k, coding=args.coding, repeats=args.repeats,
                                           column_block=args.column_block, rng=rng, peers=peers,
                                           flush=flush))
        results[kind] = rows
    bw_after = read_bandwidth(threads)
    bandwidth = max(*bw_before.values(), *bw_after.values())
    print(f"# read bandwidth (streaming numpy sum of {max(8 * _llc_bytes(), 256 * 2**20) / 2**20:.0f} MiB, best of 7): "
          + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bw_before.items()) + " before; "
          + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bw_after.items())
          + f" after; using {bandwidth / 1e9:.1f} GB/s")
    for kind, rows in results.items():
        for r in rows:
            _print_row(kind, r, bandwidth)
    rows = results[args.activations[0]]
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(f"# peak memory: ru_maxrss {maxrss / 2**30:.3f} GiB (whole process, float32 torch weight "
          f"{w.nbytes / 2**30:.3f} GiB, int8 copies and torch's packed INT8 weights included); tracemalloc "
          f"peak of one event call at {rows[-1]['tokens']} tokens: "
          f"{rows[-1]['event_tracemalloc_peak_bytes'] / 2**20:.2f} MiB")
    layer_s, layer_gb, layer_note = measure_layer(args)
    load_end = os.getloadavg()
    print(f"# load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f} (2-core machine shared "
          "with other jobs)")
    print(f"# reproduce: python benchmarks/bench_engine.py {' '.join(argv or sys.argv[1:])}".rstrip())

    def summarise(rows: list[dict]) -> dict[str, object]:
        by_tok = {r["tokens"]: r for r in rows}

        def pick(n: int, key: str) -> object:
            return by_tok[n][key] if n in by_tok else None

        peer_votes = [r["int8_peer"] for r in rows]
        return {
            "ratio_1_token": pick(1, "ratio"),
            "ratio_8_tokens": pick(8, "ratio"),
            "ratio_64_tokens": pick(64, "ratio"),
            "ratio_vs_int8_1_token": pick(1, "ratio_vs_int8"),
            "ratio_vs_int8_8_tokens": pick(8, "ratio_vs_int8"),
            "ratio_vs_int8_64_tokens": pick(64, "ratio_vs_int8"),
            "ratio_vs_int8_median_by_tokens": {str(r["tokens"]): r["ratio_vs_int8_median"] for r in rows},
            "int8_peer": max(set(peer_votes), key=peer_votes.count),
            "int8_peer_by_tokens": {str(r["tokens"]): r["int8_peer"] for r in rows},
            "int8_seconds": {str(r["tokens"]): r["int8_seconds"] for r in rows},
            "bandwidth_fraction_1_token": (pick(1, "weight_bytes_per_s") / bandwidth
                                           if 1 in by_tok else None),
            "bandwidth_fraction_8_tokens": (pick(8, "weight_bytes_per_s") / bandwidth
                                            if 8 in by_tok else None),
            "halved_spikes_time_fraction": rows[-1]["halved_time_fraction"],
            "halved_spikes_tokens": rows[-1]["tokens"],
            "halved_fraction_by_tokens": {str(r["tokens"]): r["halved_time_fraction"] for r in rows},
            "halved_fraction_median_by_tokens": {str(r["tokens"]): r["halved_time_fraction_median"]
                                                 for r in rows},
            "halved_rows_fetched_batch_fraction": {
                str(r["tokens"]): r["halved_rows_fetched_batch"] / max(1, r["rows_fetched_batch"])
                for r in rows},
            "spikes_per_channel": {str(r["tokens"]): r["spikes_per_channel"] for r in rows},
            "silent_fraction": {str(r["tokens"]): r["silent_fraction"] for r in rows},
            "event_seconds": {str(r["tokens"]): r["event_s"] for r in rows},
            "dense_torch_f32_seconds": {str(r["tokens"]): r["dense_torch_f32_s"] for r in rows},
            "events_per_second": {str(r["tokens"]): r["events_per_s"] for r in rows},
            "multiply_add_floor_vs_int8": {str(r["tokens"]): r["multiply_add_floor_s"] / r["split_int8_s"]
                                           for r in rows if r["multiply_add_floor_s"] is not None},
            "multiply_add_scale_floor_vs_int8": {str(r["tokens"]): r["multiply_add_scale_floor_s"] / r["split_int8_s"]
                                                 for r in rows if r["multiply_add_scale_floor_s"] is not None},
            "spike_counts_seconds": {str(r["tokens"]): r["spike_counts_s"] for r in rows},
            "bit_exact": all(r["bit_exact"] for r in rows),
            "int8pack_integers_exact": all(r["int8pack_integers_exact"] for r in rows),
        }

    summary = {
        "shape": [args.in_features, args.out_features],
        "group_size": args.group_size,
        "threads": threads,
        "activations": args.activations[0],
        **summarise(rows),
        "by_activations": {kind: summarise(rs) for kind, rs in results.items()},
        "int8_peer_kernels": peers.names(),
        "read_bandwidth_bytes_per_s": bandwidth,
        "cache": args.cache,
        "cpu_vector_flags": flags,
        "load_average": [load_start[0], load_end[0]],
        "peak_rss_bytes": maxrss,
        "peak_memory_method": "resource.getrusage ru_maxrss (whole process)",
        "layer_seconds": layer_s,
        "layer_peak_gb": layer_gb,
        "layer_note": layer_note,
        "pid": os.getpid(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
