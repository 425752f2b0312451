"""LIF neuron throughput: neurosim's Numba kernel versus snntorch ``snn.Leaky`` versus a NumPy loop.

Reproduce (from the repository root, with the project's virtualenv)::

    python benchmarks/bench_neurons.py            # full run (needs ~3 GB of memory, about 2 minutes)
    python benchmarks/bench_neurons.py --quick    # small shapes, a smoke run of a few seconds

Workloads (float32, snntorch semantics: ``beta`` 0.9, threshold 1, reset by subtraction,
``reset_delay=True``, zero initial membrane; the same input arrays go to every implementation):

* ``population``: 100,000 independent neurons, 500 steps, input current ``0.3 + 0.6 N(0, 1)`` per
  neuron and step, spikes of every step stored (``[T, N]``).
* ``linear_lif``: one Linear layer (``n -> n``, weights ``N(0, 1/n)``, bias 0) feeding one LIF layer
  of ``n`` = 4,096 and 8,192 neurons, batch 16, 500 steps, input uniform in [0, 1), forward only
  (the Open Neuromorphic SNN library benchmark's shape). The Linear layer is applied once to all
  ``T x batch`` rows by each side's own BLAS (``torch.nn.Linear`` for snntorch, ``numpy.matmul``
  for neurosim and the NumPy loop) and is timed as part of the workload; the LIF part is
  ``neurosim.lif.simulate_lif``.

Implementations:

* ``numba``: ``neurosim.lif.simulate_lif`` (input validation included in the time).
* ``snntorch``: ``snn.Leaky`` called once per step under ``torch.no_grad()``, spikes collected in a
  list and stacked (the library's documented idiom); ``torch.set_num_threads(numba.get_num_threads())``.
* ``numpy``: the same float32 update written as a vectorised NumPy loop over steps.

Timing: wall clock (``time.perf_counter``), best of ``--repeats`` (default 3) after a warm-up that
compiles the Numba kernels and runs snntorch once; the implementations alternate within each repeat,
with a 0.25 s pause before each so that no runtime's spinning worker threads slow the next one, and
the load average is printed: on a shared machine, load from other processes slows torch's per-op
thread pool far more than one Numba parallel region, which inflates the ratios. Numba runs on the
``workqueue`` threading layer by default (``--threading-layer``): with ``omp`` a kernel started right
after a NumPy BLAS call ran 10-20x slower on a 2-core machine. Rates are
neuron updates per second: ``T x neurons`` (x batch). Spike identity: the population spikes of all
three implementations must be equal; for ``linear_lif`` the two BLAS libraries round the layer
currents differently, so the LIF kernels are compared on identical currents (neurosim's kernel run on
torch's currents against snntorch, the NumPy loop against neurosim on NumPy's currents) and the
end-to-end mismatch fraction is reported separately.

The last line printed is one JSON object. The script never asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402
import numpy as np  # noqa: E402

from neurosim.lif import LIFParameters, simulate_lif  # noqa: E402

__all__ = ["main"]

BETA = 0.9
THRESHOLD = 1.0


def _numpy_lif(currents: np.ndarray, beta: float = BETA, threshold: float = THRESHOLD) -> np.ndarray:
    """snntorch's subtract / reset_delay=True update as a NumPy loop over steps (float32)."""
    b = np.float32(beta)
    th = np.float32(threshold)
    mem = np.zeros(currents.shape[1:], dtype=np.float32)
    spikes = np.empty(currents.shape, dtype=np.int8)
    for t in range(currents.shape[0]):
        reset = (mem > th).astype(np.float32)
        mem = b * mem + currents[t] - reset * th
        spikes[t] = mem > th
    return spikes


def _linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``x @ w.T + bias`` over all [T, batch] rows in one BLAS call, bias added in place."""
    steps, batch, n_in = x.shape
    cur = x.reshape(steps * batch, n_in) @ w.T
    cur += bias
    return cur.reshape(steps, batch, w.shape[0])


def _snntorch_lif(currents: Any, torch: Any, snn: Any) -> Any:
    """Run ``snn.Leaky`` over the steps of a [T, ...] float32 tensor; returns stacked spikes."""
    lif = snn.Leaky(beta=BETA, threshold=THRESHOLD, reset_mechanism="subtract", reset_delay=True)
    mem = lif.reset_mem()
    spikes = []
    for t in range(currents.shape[0]):
        spk, mem = lif(currents[t], mem)
        spikes.append(spk)
    return torch.stack(spikes)


def _best(fns: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Best wall time of each function over ``repeats`` rounds, alternating within each round."""
    best = {name: float("inf") for name in fns}
    out: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            # let the worker threads of the previous runtime (OpenMP, OpenBLAS, Numba) stop
            # spinning, so that no implementation pays for another one's idle threads
            time.sleep(0.25)
            t0 = time.perf_counter()
            out[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best, out


def population(n: int, steps: int, repeats: int, rng: np.random.Generator, torch: Any, snn: Any) -> dict[str, Any]:
    x = (0.3 + 0.6 * rng.standard_normal((steps, n), dtype=np.float32)).astype(np.float32)
    xt = torch.from_numpy(x)
    params = LIFParameters(beta=BETA, threshold=THRESHOLD, reset="subtract", convention="snntorch")
    simulate_lif(x[:2], params)  # compile (or load) the kernel
    with torch.no_grad():
        _snntorch_lif(xt[:2], torch, snn)
        best, out = _best(
            {
                "numba": lambda: simulate_lif(x, params).spikes,
                "snntorch": lambda: _snntorch_lif(xt, torch, snn),
                "numpy": lambda: _numpy_lif(x),
            },
            repeats,
        )
    ref = out["snntorch"].numpy().astype(np.int8)
    identical = bool(np.array_equal(out["numba"], ref) and np.array_equal(out["numpy"], ref))
    updates = steps * n
    return {
        "neurons": n,
        "steps": steps,
        "seconds": best,
        "rates": {k: updates / v for k, v in best.items()},
        "spike_rate": float(ref.mean()),
        "spikes_identical": identical,
    }


def linear_lif(
    n: int, batch: int, steps: int, repeats: int, rng: np.random.Generator, torch: Any, snn: Any
) -> dict[str, Any]:
    x = rng.random((steps, batch, n), dtype=np.float32)
    w = (rng.standard_normal((n, n), dtype=np.float32) / np.float32(np.sqrt(n))).astype(np.float32)
    bias = np.zeros(n, dtype=np.float32)
    params = LIFParameters(beta=BETA, threshold=THRESHOLD, reset="subtract", convention="snntorch")
    fc = torch.nn.Linear(n, n)
    with torch.no_grad():
        fc.weight.copy_(torch.from_numpy(w))
        fc.bias.copy_(torch.from_numpy(bias))
    xt = torch.from_numpy(x)
    parts: dict[str, dict[str, float]] = {"numba": {}, "snntorch": {}, "numpy": {}}

    def ours() -> np.ndarray:
        t0 = time.perf_counter()
        cur = _linear(x, w, bias)
        t1 = time.perf_counter()
        spikes = simulate_lif(cur, params).spikes
        _keep(parts["numba"], t1 - t0, time.perf_counter() - t1)
        ours.currents = cur  # type: ignore[attr-defined]
        return spikes

    def theirs() -> Any:
        t0 = time.perf_counter()
        cur = fc(xt)
        t1 = time.perf_counter()
        spikes = _snntorch_lif(cur, torch, snn)
        _keep(parts["snntorch"], t1 - t0, time.perf_counter() - t1)
        theirs.currents = cur  # type: ignore[attr-defined]
        return spikes

    def loop() -> np.ndarray:
        t0 = time.perf_counter()
        cur = _linear(x, w, bias)
        t1 = time.perf_counter()
        spikes = _numpy_lif(cur)
        _keep(parts["numpy"], t1 - t0, time.perf_counter() - t1)
        loop.currents = cur  # type: ignore[attr-defined]
        return spikes

    simulate_lif(x[:2], params)
    with torch.no_grad():
        _snntorch_lif(xt[:2], torch, snn)
        best, out = _best({"numba": ours, "snntorch": theirs, "numpy": loop}, repeats)
        torch_currents = theirs.currents.numpy()  # type: ignore[attr-defined]
    ref = out["snntorch"].numpy().astype(np.int8)
    kernel_on_torch_currents = simulate_lif(torch_currents, params).spikes
    identical = bool(
        np.array_equal(kernel_on_torch_currents, ref)
        and np.array_equal(out["numpy"], _numpy_lif(ours.currents))  # type: ignore[attr-defined]
        and np.array_equal(out["numba"], _numpy_lif(ours.currents))  # type: ignore[attr-defined]
    )
    updates = steps * batch * n
    return {
        "neurons": n,
        "batch": batch,
        "steps": steps,
        "seconds": best,
        "matmul_seconds": {k: v["matmul"] for k, v in parts.items()},
        "lif_seconds": {k: v["lif"] for k, v in parts.items()},
        "rates": {k: updates / v for k, v in best.items()},
        "lif_rates": {k: updates / v["lif"] for k, v in parts.items()},
        "spike_rate": float(ref.mean()),
        "spikes_identical": identical,
        "end_to_end_mismatch_fraction": float(np.mean(out["numba"] != ref)),
        "max_current_difference": float(np.abs(ours.currents - torch_currents).max()),  # type: ignore[attr-defined]
    }


def _keep(slot: dict[str, float], matmul: float, lif: float) -> None:
    # the parts of the fastest repeat are reported, so keep the pair with the smallest total
    if matmul + lif < slot.get("matmul", float("inf")) + slot.get("lif", float("inf")):
        slot["matmul"] = matmul
        slot["lif"] = lif


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes for a smoke run")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; the best is kept (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the input generator (default 0)")
    parser.add_argument(
        "--threading-layer",
        choices=("workqueue", "omp", "tbb", "default"),
        default="workqueue",
        help="Numba threading layer (default workqueue: with 'omp' a kernel that runs right after a "
        "NumPy BLAS call was measured 10-20x slower on a 2-core machine)",
    )
    args = parser.parse_args(argv)
    # must be set before the first parallel kernel runs
    numba.config.THREADING_LAYER = args.threading_layer
    try:
        import snntorch as snn
        import torch
    except ImportError:
        print("bench_neurons needs the optional extra: pip install 'neurosim[snn]' (torch, snntorch)", file=sys.stderr)
        return 1
    threads = numba.get_num_threads()
    torch.set_num_threads(threads)
    rng = np.random.default_rng(args.seed)
    if args.quick:
        pop_n, pop_t, sizes, lin_t = 20_000, 100, (512, 1024), 100
    else:
        pop_n, pop_t, sizes, lin_t = 100_000, 500, (4096, 8192), 500
    batch = 16

    load_before = os.getloadavg()
    command = f"python benchmarks/bench_neurons.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip()
    print(f"# reproduce: {command}")
    pop = population(pop_n, pop_t, args.repeats, rng, torch, snn)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numba {numba.__version__} "
        f"({threads} threads, layer {numba.threading_layer()}), torch {torch.__version__} ({torch.get_num_threads()} "
        f"threads), snntorch {snn.__version__}, numpy {np.__version__}"
    )
    print(f"population: {pop_n} neurons x {pop_t} steps, spike rate {pop['spike_rate']:.3f}")
    for k in ("numba", "snntorch", "numpy"):
        print(f"  {k:9s} {pop['seconds'][k] * 1e3:9.1f} ms  {pop['rates'][k] / 1e6:9.1f} M neuron-updates/s")
    pop_speed = pop["seconds"]["snntorch"] / pop["seconds"]["numba"]
    vs_numpy = pop["seconds"]["numpy"] / pop["seconds"]["numba"]
    identical = pop["spikes_identical"]
    print(f"  numba / snntorch {pop_speed:.1f}x, numba / numpy {vs_numpy:.1f}x, spikes identical: {identical}")

    lins = {}
    for n in sizes:
        r = linear_lif(n, batch, lin_t, args.repeats, rng, torch, snn)
        lins[n] = r
        print(f"linear_lif: Linear({n}->{n}) + LIF, batch {batch}, {lin_t} steps, spike rate {r['spike_rate']:.3f}")
        for k in ("numba", "snntorch", "numpy"):
            print(
                f"  {k:9s} {r['seconds'][k] * 1e3:9.1f} ms (matmul {r['matmul_seconds'][k] * 1e3:8.1f}, LIF "
                f"{r['lif_seconds'][k] * 1e3:7.1f})  {r['rates'][k] / 1e6:8.1f} M updates/s  LIF-only "
                f"{r['lif_rates'][k] / 1e6:8.1f} M/s"
            )
        print(
            f"  numba / snntorch {r['seconds']['snntorch'] / r['seconds']['numba']:.2f}x end to end, "
            f"{r['lif_seconds']['snntorch'] / r['lif_seconds']['numba']:.1f}x LIF part; kernels identical on "
            f"identical currents: {r['spikes_identical']}; end-to-end spike mismatch "
            f"{r['end_to_end_mismatch_fraction']:.2e} (max current difference {r['max_current_difference']:.1e})"
        )

    load_after = os.getloadavg()
    print(
        f"# load average (1, 5, 15 min) before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after "
        f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} on {os.cpu_count()} CPUs: figures taken under "
        "load from other processes are not comparable (torch's per-op thread pool suffers most)"
    )
    small, large = sizes
    summary = {
        "benchmark": "bench_neurons",
        "command": command,
        "quick": args.quick,
        "threads": threads,
        "numba_threading_layer": numba.threading_layer(),
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "population_speedup_vs_snntorch": pop_speed,
        "population_speedup_vs_numpy": pop["seconds"]["numpy"] / pop["seconds"]["numba"],
        "population_rates_per_s": pop["rates"],
        "linear_lif_speedup_vs_snntorch": lins[large]["seconds"]["snntorch"] / lins[large]["seconds"]["numba"],
        f"linear_lif_{small}_speedup_vs_snntorch": lins[small]["seconds"]["snntorch"] / lins[small]["seconds"]["numba"],
        "linear_lif_lif_part_speedup_vs_snntorch": lins[large]["lif_seconds"]["snntorch"]
        / lins[large]["lif_seconds"]["numba"],
        f"linear_lif_{small}_lif_part_speedup_vs_snntorch": lins[small]["lif_seconds"]["snntorch"]
        / lins[small]["lif_seconds"]["numba"],
        "linear_lif_rates_per_s": {str(n): lins[n]["rates"] for n in sizes},
        "linear_lif_lif_only_rates_per_s": {str(n): lins[n]["lif_rates"] for n in sizes},
        "linear_lif_matmul_seconds": {str(n): lins[n]["matmul_seconds"] for n in sizes},
        "linear_lif_end_to_end_mismatch_fraction": {str(n): lins[n]["end_to_end_mismatch_fraction"] for n in sizes},
        "spikes_identical": bool(pop["spikes_identical"] and all(r["spikes_identical"] for r in lins.values())),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
