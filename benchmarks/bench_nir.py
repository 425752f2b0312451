"""NIR networks: neurosim's event-driven simulation versus snnTorch running the same network.

Reproduce (from the repository root, with the project's virtualenv and the nir extra)::

    python benchmarks/bench_nir.py            # full run (about a minute on 2 cores)
    python benchmarks/bench_nir.py --quick    # small shapes, a smoke run
    python benchmarks/bench_nir.py --threads 1 --no-step   # one thread each, snnTorch layer at once only

Workloads (float32; weights seeded N(0, s) rounded to multiples of 2^-7, so every sum is exact in
float32 in any order and the spikes can be compared bit for bit; LIF beta 0.9, threshold 1,
``reset_mechanism="zero"``, ``reset_delay=False``: NIR's hard reset):

* ``mlp``: 784-256-10 LIF network (Linear+Leaky twice), Bernoulli input spikes at 10% per input and
  step, T = 100, batch 32. Exported with snnTorch's NIR exporter (``export_to_nir``), read by
  :func:`neurosim.nir_io.read_nir` and simulated by :func:`neurosim.network.simulate` (event-driven
  synapses: cost proportional to spikes x fan-out; counts of every node included in the time).
* ``linear_lif``: Linear 4096 -> LIF 4096 (the Open Neuromorphic benchmark's shape) fed binary spikes
  at 5, 10 and 20%, T = 100, batch 16.

snnTorch is timed two ways and the faster one is the peer: ``step`` calls the network once per step
(the documented idiom) and ``layer`` applies each Linear to all T x batch rows at once and then
loops the Leaky over steps (possible because the nets are feed-forward). Both run under
``torch.no_grad()`` with ``torch.set_num_threads(numba.get_num_threads())``; Numba uses the
``workqueue`` threading layer (see bench_neurons.py). Timing: best of ``--repeats`` after a warm-up,
implementations alternating, 0.25 s pause before each; the load average is printed because the
machine is shared. Spikes of every spiking layer must be identical to snnTorch's.

The last line printed is one JSON object. The script never asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402
import numpy as np  # noqa: E402


def _q(a: np.ndarray) -> np.ndarray:
    return (np.round(a * 128) / 128).astype(np.float32)


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        time.sleep(0.25)
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _build(torch: Any, snn: Any, sizes: list[int], seed: int) -> Any:
    rng = np.random.default_rng(seed)
    mods: list[Any] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        fc = torch.nn.Linear(n_in, n_out, bias=False)
        with torch.no_grad():
            fc.weight.copy_(torch.from_numpy(_q(rng.normal(0, 1.5 / np.sqrt(n_in * 0.1), (n_out, n_in)))))
        lif = snn.Leaky(beta=torch.full((n_out,), 0.9), threshold=torch.ones(n_out), reset_mechanism="zero",
                        reset_delay=False, init_hidden=True, output=False)
        mods += [fc, lif]
    return torch.nn.Sequential(*mods)


def _snn_step(torch: Any, net: Any, x: Any) -> list[np.ndarray]:
    from snntorch import utils

    utils.reset(net)
    lifs = [m for m in net if not isinstance(m, torch.nn.Linear)]
    recs: list[list[Any]] = [[] for _ in lifs]
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = x[t]
            for m in net:
                h = m(h)
                if not isinstance(m, torch.nn.Linear):
                    recs[lifs.index(m)].append(h)
    return [torch.stack(r).numpy() for r in recs]


def _snn_layer(torch: Any, net: Any, x: Any) -> list[np.ndarray]:
    from snntorch import utils

    utils.reset(net)
    outs: list[np.ndarray] = []
    h = x
    with torch.no_grad():
        mods = list(net)
        for fc, lif in zip(mods[::2], mods[1::2]):
            cur = fc(h)
            h = torch.stack([lif(cur[t]) for t in range(cur.shape[0])])
            outs.append(h.numpy())
    return outs


def _workload(torch: Any, snn: Any, sizes: list[int], steps: int, batch: int, rate: float, repeats: int,
              seed: int, step_mode: bool = True) -> dict[str, Any]:
    from snntorch.export_nir import export_to_nir

    from neurosim.network import bernoulli_spikes, simulate
    from neurosim.nir_io import read_nir

    net = _build(torch, snn, sizes, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = read_nir(export_to_nir(net, torch.zeros(sizes[0])))
    lifs = [n for n in network.order if network.nodes[n].kind == "lif"]
    x = bernoulli_spikes((steps, batch, sizes[0]), rate, seed=seed + 1)
    xt = torch.from_numpy(x.astype(np.float32))
    simulate(network, x[:2], dt=1e-4)  # compile
    _snn_step(torch, net, xt[:2])
    t_ns, res = _best(lambda: simulate(network, x, dt=1e-4), repeats)
    t_layer, ref_layer = _best(lambda: _snn_layer(torch, net, xt), repeats)
    identical = all(np.array_equal(res.outputs[n], r) for n, r in zip(lifs, ref_layer))
    t_step = float("nan")
    if step_mode:
        t_step, ref_step = _best(lambda: _snn_step(torch, net, xt), repeats)
        identical = identical and all(np.array_equal(res.outputs[n], r) for n, r in zip(lifs, ref_step))
    peer = min(t_layer, t_step) if step_mode else t_layer
    events = sum(c.synaptic_events for c in res.counts.values())
    return {"sizes": sizes, "steps": steps, "batch": batch, "input_rate": rate, "neurosim_s": t_ns,
            "snntorch_step_s": t_step if step_mode else None, "snntorch_layer_s": t_layer, "speedup_vs_snntorch": peer / t_ns,
            "spikes_identical": bool(identical), "synaptic_events": int(events),
            "spike_rates": [float(res.outputs[n].mean()) for n in lifs]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small shapes (smoke run)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="threads for both (default: numba's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-step", action="store_true",
                    help="time snnTorch only layer at once (its faster way; step by step takes minutes at 4096)")
    args = ap.parse_args()
    numba.config.THREADING_LAYER = "workqueue"
    import torch
    import snntorch as snn

    if args.threads:
        numba.set_num_threads(args.threads)
    threads = numba.get_num_threads()
    torch.set_num_threads(threads)
    load_before = os.getloadavg()
    if args.quick:
        mlp = dict(sizes=[784, 256, 10], steps=20, batch=8)
        lin = dict(sizes=[1024, 1024], steps=20, batch=8)
    else:
        mlp = dict(sizes=[784, 256, 10], steps=100, batch=32)
        lin = dict(sizes=[4096, 4096], steps=100, batch=16)
    print(f"neurosim vs snnTorch {snn.__version__} (torch {torch.__version__}), {threads} threads each, "
          f"numba layer {numba.config.THREADING_LAYER}; load average before {load_before[0]:.2f}")
    results: dict[str, Any] = {"mlp": _workload(torch, snn, rate=0.1, repeats=args.repeats, seed=args.seed,
                                                step_mode=not args.no_step, **mlp)}
    r = results["mlp"]
    print(f"mlp {r['sizes']} T={r['steps']} batch={r['batch']} rate 0.10: neurosim {r['neurosim_s'] * 1e3:.1f} ms, "
          f"snnTorch step {(r['snntorch_step_s'] or float('nan')) * 1e3:.1f} ms / layer {r['snntorch_layer_s'] * 1e3:.1f} ms -> "
          f"{r['speedup_vs_snntorch']:.2f}x, spikes identical: {r['spikes_identical']}")
    for rate in (0.05, 0.1, 0.2):
        key = f"linear_lif_{int(rate * 100)}pct"
        results[key] = r = _workload(torch, snn, rate=rate, repeats=args.repeats, seed=args.seed,
                                     step_mode=not args.no_step, **lin)
        print(f"linear_lif {r['sizes']} T={r['steps']} batch={r['batch']} rate {rate:.2f}: neurosim "
              f"{r['neurosim_s'] * 1e3:.1f} ms, snnTorch step {(r['snntorch_step_s'] or float('nan')) * 1e3:.1f} ms / layer "
              f"{r['snntorch_layer_s'] * 1e3:.1f} ms -> {r['speedup_vs_snntorch']:.2f}x, "
              f"spikes identical: {r['spikes_identical']}")
    load_after = os.getloadavg()
    cmd = " ".join(["python benchmarks/bench_nir.py"] + sys.argv[1:])
    print(f"load average after {load_after[0]:.2f}; command: {cmd}")
    summary = {
        "mlp_speedup_vs_snntorch": results["mlp"]["speedup_vs_snntorch"],
        "linear_lif_spiking_speedup_vs_snntorch": results["linear_lif_10pct"]["speedup_vs_snntorch"],
        "linear_lif_speedups_by_rate": {k: v["speedup_vs_snntorch"] for k, v in results.items() if k != "mlp"},
        "spikes_identical": all(v["spikes_identical"] for v in results.values()),
        "threads": threads, "load_average": [load_before[0], load_after[0]], "quick": bool(args.quick),
        "command": cmd, "results": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
