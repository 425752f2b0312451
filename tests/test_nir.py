"""NIR import/export and the network simulator (neurosim/nir_io.py, neurosim/network.py).

Parity: snnTorch networks are exported with snnTorch's own NIR exporter and simulated by neurosim; the
spikes are compared with snnTorch running the same network on the same input. Weights are seeded and
rounded to multiples of 2^-7 (int8-style), so every sum is exact in float32 whatever order the BLAS
or the event-driven kernel adds in: the comparison then tests the neuron semantics, not rounding.
Tests that need nir/snntorch are skipped only when those packages are not importable.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from neurosim.exceptions import GraphError, InputError, NeurosimError, ShapeError, UnsupportedNodeError
from neurosim.network import Network, Node, bernoulli_spikes, simulate

nir = pytest.importorskip("nir")
# snnTorch 1.0's exporter calls nirtorch's deprecated extractor; that is snnTorch's business, not ours
pytestmark = pytest.mark.filterwarnings("ignore:nirtorch.extract_nir_graph is being deprecated:DeprecationWarning")


def _q(a: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(a) * 128) / 128


def _lif(n: int | tuple[int, ...], tau: float = 1e-3, thr: float = 1.0) -> Node:
    shape = (n,) if isinstance(n, int) else n
    return Node("lif", {"tau": np.full(shape, tau), "r": np.full(shape, tau / 1e-4), "v_leak": np.zeros(shape),
                        "v_threshold": np.full(shape, thr), "v_reset": np.zeros(shape)})


def _mlp(n_in: int = 40, n_h: int = 32, n_out: int = 6, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    w1, w2 = _q(rng.normal(0, 0.3, (n_h, n_in))), _q(rng.normal(0, 0.4, (n_out, n_h)))
    return Network({"in": Node("input", {"shape": (n_in,)}), "fc1": Node("linear", {"weight": w1}), "l1": _lif(n_h),
                    "fc2": Node("affine", {"weight": w2, "bias": _q(rng.normal(0, 0.1, n_out))}), "l2": _lif(n_out),
                    "out": Node("output")},
                   [("in", "fc1"), ("fc1", "l1"), ("l1", "fc2"), ("fc2", "l2"), ("l2", "out")])


# --------------------------------------------------------------------------- snnTorch parity


def _snn():
    torch = pytest.importorskip("torch")
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    from snntorch.export_nir import export_to_nir

    return torch, snn, export_to_nir


def _run_snntorch(torch, net, x: np.ndarray) -> list[np.ndarray]:
    """Run an snnTorch Sequential step by step; return every spiking layer's spikes [T, B, ...]."""
    import snntorch as snn
    from snntorch import utils

    utils.reset(net)
    spiking = [m for m in net if isinstance(m, (snn.Leaky, snn.Synaptic))]
    recs: list[list[np.ndarray]] = [[] for _ in spiking]
    xt = torch.from_numpy(x.astype(np.float32))
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = xt[t]
            for m in net:
                h = m(h)
                if isinstance(h, tuple):
                    h = h[0]
                if m in spiking:
                    recs[spiking.index(m)].append(h.numpy().copy())
    return [np.stack(r) for r in recs]


def _spiking_nodes(network: Network) -> list[str]:
    return [n for n in network.order if network.nodes[n].kind in ("lif", "cubalif", "if")]


def _leaky_net(torch, snn, *, reset: str, n_in=50, n_h=40, n_out=8, seed=0):
    torch.manual_seed(seed)
    fc1, fc2 = torch.nn.Linear(n_in, n_h), torch.nn.Linear(n_h, n_out)
    with torch.no_grad():
        for fc in (fc1, fc2):
            fc.weight.copy_(torch.from_numpy(_q(np.random.default_rng(seed).normal(0, 0.35, tuple(fc.weight.shape)))))
            fc.bias.copy_(torch.from_numpy(_q(np.random.default_rng(seed + 1).normal(0, 0.1, tuple(fc.bias.shape)))))
    kw = {"reset_mechanism": reset, "reset_delay": False, "init_hidden": True}
    l1 = snn.Leaky(beta=torch.full((n_h,), 0.9), threshold=torch.ones(n_h), **kw)
    l2 = snn.Leaky(beta=torch.full((n_out,), 0.8), threshold=torch.full((n_out,), 0.5), output=True, **kw)
    return torch.nn.Sequential(fc1, l1, fc2, l2)


def test_leaky_export_gives_snntorch_spikes_and_membranes():
    torch, snn, export_to_nir = _snn()
    from neurosim.nir_io import read_nir

    net = _leaky_net(torch, snn, reset="zero")
    network = read_nir(export_to_nir(net, torch.zeros(50)))
    x = bernoulli_spikes((60, 5, 50), 0.2, seed=3)
    res = simulate(network, x, dt=1e-4, record_membrane=True)
    ref = _run_snntorch(torch, net, x)
    names = _spiking_nodes(network)
    assert len(names) == 2
    for name, spk in zip(names, ref):
        assert spk.sum() > 10  # the comparison is not vacuous
        assert_array_equal(res.outputs[name], spk)
    # membranes: snnTorch's last layer returns its (post-reset) membrane; equal to the last bit
    utils = pytest.importorskip("snntorch.utils")
    utils.reset(net)
    with torch.no_grad():
        mems = [net(torch.from_numpy(x[t].astype(np.float32)))[1].numpy().copy() for t in range(x.shape[0])]
    assert_array_equal(res.membranes[names[1]], np.stack(mems))


def test_subtract_reset_is_lost_on_export_and_the_difference_shows():
    """snnTorch's default subtract reset exports as NIR's hard reset: neurosim reproduces the zero-reset net."""
    torch, snn, export_to_nir = _snn()
    from neurosim.nir_io import read_nir

    sub = _leaky_net(torch, snn, reset="subtract")
    zero = _leaky_net(torch, snn, reset="zero")
    network = read_nir(export_to_nir(sub, torch.zeros(50)))
    x = bernoulli_spikes((60, 5, 50), 0.3, seed=4)
    got = simulate(network, x, dt=1e-4).outputs[_spiking_nodes(network)[0]]
    ref_sub = _run_snntorch(torch, sub, x)[0]
    ref_zero = _run_snntorch(torch, zero, x)[0]
    assert_array_equal(got, ref_zero)
    differ = int(np.count_nonzero(got != ref_sub))
    assert differ > 0  # the information NIR loses changes the spikes
    # a subtract reset keeps the excess above threshold, so it fires at least as often
    assert ref_sub.sum() > got.sum()


def test_synaptic_cubalif_parity():
    torch, snn, export_to_nir = _snn()
    from neurosim.nir_io import read_nir

    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    fc1, fc2 = torch.nn.Linear(30, 24), torch.nn.Linear(24, 6)
    with torch.no_grad():
        for fc in (fc1, fc2):
            fc.weight.copy_(torch.from_numpy(_q(rng.normal(0, 0.3, tuple(fc.weight.shape)))))
            fc.bias.zero_()
    kw = {"reset_mechanism": "zero", "reset_delay": False, "init_hidden": True}
    s1 = snn.Synaptic(alpha=torch.full((24,), 0.5), beta=torch.full((24,), 0.75), threshold=torch.ones(24), **kw)
    s2 = snn.Synaptic(alpha=torch.full((6,), 0.5), beta=torch.full((6,), 0.875), threshold=torch.ones(6),
                      output=True, **kw)
    net = torch.nn.Sequential(fc1, s1, fc2, s2)
    network = read_nir(export_to_nir(net, torch.zeros(30)))
    assert [network.nodes[n].kind for n in _spiking_nodes(network)] == ["cubalif", "cubalif"]
    x = bernoulli_spikes((50, 4, 30), 0.25, seed=5)
    res = simulate(network, x, dt=1e-4)
    for name, spk in zip(_spiking_nodes(network), _run_snntorch(torch, net, x)):
        assert spk.sum() > 5
        assert_array_equal(res.outputs[name], spk)


def _conv_net(torch, snn):
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    conv = torch.nn.Conv2d(2, 4, 3, padding=1)
    fc = torch.nn.Linear(4 * 4 * 4, 5)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(_q(rng.normal(0, 0.5, tuple(conv.weight.shape)))))
        conv.bias.copy_(torch.from_numpy(_q(rng.normal(0, 0.1, 4))))
        fc.weight.copy_(torch.from_numpy(_q(rng.normal(0, 0.5, tuple(fc.weight.shape)))))
        fc.bias.zero_()
    kw = {"reset_mechanism": "zero", "reset_delay": False, "init_hidden": True}
    l1 = snn.Leaky(beta=torch.full((4, 8, 8), 0.9), threshold=torch.ones((4, 8, 8)), **kw)
    l2 = snn.Leaky(beta=torch.full((5,), 0.9), threshold=torch.full((5,), 0.5), output=True, **kw)
    return torch.nn.Sequential(conv, l1, torch.nn.AvgPool2d(2), torch.nn.Flatten(), fc, l2)


def test_conv2d_pooling_parity():
    torch, snn, export_to_nir = _snn()
    from neurosim.nir_io import read_nir

    net = _conv_net(torch, snn)
    network = read_nir(export_to_nir(net, torch.zeros(1, 2, 8, 8), ignore_dims=[0]))
    kinds = {network.nodes[n].kind for n in network.order}
    assert {"conv2d", "avgpool2d", "flatten", "lif"} <= kinds
    x = bernoulli_spikes((40, 3, 2, 8, 8), 0.2, seed=6)
    res = simulate(network, x, dt=1e-4)
    for name, spk in zip(_spiking_nodes(network), _run_snntorch(torch, net, x)):
        assert spk.sum() > 5
        assert_array_equal(res.outputs[name], spk)
    conv = next(n for n in network.order if network.nodes[n].kind == "conv2d")
    assert res.counts[conv].path == "event"  # binary input: scatter kernel


def test_round_trip_write_read_gives_same_spikes(tmp_path):
    from neurosim.nir_io import read_nir, write_nir

    network = _mlp()
    path = tmp_path / "mlp.nir"
    write_nir(network, path)
    again = read_nir(path)
    assert [again.nodes[n].kind for n in again.order] == [network.nodes[n].kind for n in network.order]
    x = bernoulli_spikes((30, 4, 40), 0.3, seed=7)
    a, b = simulate(network, x, dt=1e-4), simulate(again, x, dt=1e-4)
    for n in ("l1", "l2"):
        assert a.outputs[n].sum() > 0
        assert_array_equal(a.outputs[n], b.outputs[n])


def test_round_trip_of_a_snntorch_export(tmp_path):
    torch, snn, export_to_nir = _snn()
    from neurosim.nir_io import read_nir, write_nir

    net = _conv_net(torch, snn)
    first = read_nir(export_to_nir(net, torch.zeros(1, 2, 8, 8), ignore_dims=[0]))
    write_nir(first, tmp_path / "conv.nir")
    second = read_nir(tmp_path / "conv.nir")
    x = bernoulli_spikes((20, 2, 2, 8, 8), 0.2, seed=8)
    a, b = simulate(first, x, dt=1e-4), simulate(second, x, dt=1e-4)
    for n in _spiking_nodes(first):
        assert_array_equal(a.outputs[n], b.outputs[n])


# --------------------------------------------------------------------------- kernels against plain numpy


def _naive(kind: str, x: np.ndarray, p: dict, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Forward Euler written out in float64 from NIR's equations (no shared code with the kernels)."""
    v = np.zeros(x.shape[1:])
    cur = np.zeros(x.shape[1:])
    outs, mems = [], []
    for t in range(x.shape[0]):
        inp = x[t]
        if kind in ("cubalif", "cubali"):
            cur = cur + dt / p["tau_syn"] * (-cur + p["w_in"] * inp)
            inp = cur
        if kind in ("if", "i"):
            v = v + dt * p["r"] * inp
        else:
            tau = p["tau_mem"] if "tau_mem" in p else p["tau"]
            v = v + dt / tau * (p["v_leak"] - v + p["r"] * inp)
        if kind in ("lif", "cubalif", "if"):
            s = v > p["v_threshold"]
            v = np.where(s, p["v_reset"], v)
            outs.append(s.astype(np.int8))
        else:
            outs.append(v.copy())
        mems.append(v.copy())
    return np.stack(outs), np.stack(mems)


@pytest.mark.parametrize("kind,params", [
    ("lif", {"tau": 2e-3, "r": 3.0, "v_leak": 0.1, "v_threshold": 0.6, "v_reset": -0.2}),
    ("cubalif", {"tau_syn": 1e-3, "tau_mem": 4e-3, "r": 2.0, "v_leak": 0.0, "v_threshold": 0.4, "v_reset": 0.0,
                 "w_in": 1.5}),
    ("if", {"r": 400.0, "v_threshold": 0.7, "v_reset": 0.1}),
    ("li", {"tau": 3e-3, "r": 1.0, "v_leak": 0.2}),
    ("cubali", {"tau_syn": 2e-3, "tau_mem": 5e-3, "r": 1.0, "v_leak": 0.0, "w_in": 1.0}),
    ("i", {"r": 50.0}),
])
def test_neuron_kinds_follow_forward_euler(kind, params):
    rng = np.random.default_rng(9)
    x = rng.normal(0.3, 0.5, (80, 3, 7))
    node = Node(kind, {k: np.full(7, v) for k, v in params.items()})
    net = Network({"in": Node("input", {"shape": (7,)}), "n": node}, [("in", "n")])
    res = simulate(net, x, dt=1e-4, record_membrane=True)
    want, want_v = _naive(kind, x, {k: float(v) for k, v in params.items()}, 1e-4)
    np.testing.assert_allclose(res.membranes["n"], want_v, rtol=1e-4, atol=1e-4)
    if kind in ("lif", "cubalif", "if"):
        assert want.sum() > 0
        assert np.mean(res.outputs["n"] != want) < 0.002  # float32 vs float64 near threshold only
    else:
        np.testing.assert_allclose(res.outputs["n"], want, rtol=1e-4, atol=1e-4)


def test_threshold_delay_scale_sumpool_conv1d():
    rng = np.random.default_rng(10)
    nodes = {"in": Node("input", {"shape": (2, 12)}),
             "c1": Node("conv1d", {"weight": _q(rng.normal(0, 0.5, (3, 2, 3))), "bias": np.zeros(3), "stride": 1,
                                   "padding": 1, "dilation": 1, "groups": 1}),
             "sc": Node("scale", {"scale": np.full((3, 12), 2.0)}),
             "th": Node("threshold", {"threshold": np.full((3, 12), 0.5)}),
             "dl": Node("delay", {"delay": np.full((3, 12), 3e-4)})}
    net = Network(nodes, [("in", "c1"), ("c1", "sc"), ("sc", "th"), ("th", "dl")])
    x = bernoulli_spikes((20, 2, 2, 12), 0.4, seed=11)
    res = simulate(net, x, dt=1e-4)
    w = nodes["c1"].params["weight"]
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (0, 0), (1, 1)))
    conv = np.zeros((20, 2, 3, 12))
    for o in range(3):
        for k in range(3):
            conv[:, :, o] += np.einsum("tbcl,c->tbl", xp[..., k:k + 12], w[o, :, k])
    assert_array_equal(res.outputs["c1"], conv.astype(np.float32))
    th = (2 * conv > 0.5).astype(np.int8)
    assert_array_equal(res.outputs["th"], th)
    assert_array_equal(res.outputs["dl"][3:], th[:-3])
    assert not res.outputs["dl"][:3].any()
    pool = Network({"in": Node("input", {"shape": (1, 4, 4)}),
                    "p": Node("sumpool2d", {"kernel_size": (2, 2), "stride": (2, 2), "padding": (0, 0)})},
                   [("in", "p")])
    xx = rng.random((2, 1, 1, 4, 4)).astype(np.float32)
    want = xx.reshape(2, 1, 1, 2, 2, 2, 2).sum(axis=(4, 6))
    np.testing.assert_allclose(simulate(pool, xx, dt=1.0).outputs["p"], want, rtol=1e-6)


def test_event_counts_and_neurobench_columns():
    network = _mlp()
    x = bernoulli_spikes((25, 6, 40), 0.15, seed=12)
    res = simulate(network, x, dt=1e-4)
    w1 = network.nodes["fc1"].params["weight"]
    c = res.counts["fc1"]
    flat = x.reshape(-1, 40).astype(np.int64)
    assert c.path == "event"
    assert c.input_events == int(flat.sum())
    assert c.synaptic_events == int((flat @ (w1 != 0).T.astype(np.int64)).sum())
    assert c.dense_ops == 25 * 6 * 40 * 32 and c.effective_acs == c.synaptic_events and c.effective_macs == 0
    assert res.counts["l1"].neuron_updates == 25 * 6 * 32
    assert res.counts["l1"].output_spikes == int(res.outputs["l1"].sum())
    # the event path equals a plain matmul (exact: weights on a 2^-7 grid)
    assert_array_equal(res.outputs["fc1"].reshape(-1, 32), (flat @ w1.T).astype(np.float32))
    dense = simulate(network, x.astype(np.float32) * 0.5 + 0.25, dt=1e-4)  # not binary: dense kernel
    assert dense.counts["fc1"].path == "dense" and dense.counts["fc1"].effective_macs > 0


def test_nested_subgraph_is_flattened():
    from neurosim.nir_io import read_nir

    rng = np.random.default_rng(13)
    w = _q(rng.normal(0, 0.5, (6, 6))).astype(np.float32)
    inner = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([6])}),
                                "lin": nir.Linear(weight=w),
                                "output": nir.Output(output_type={"output": np.array([6])})},
                         edges=[("input", "lin"), ("lin", "output")])
    lif = nir.LIF(tau=np.full(6, 1e-3, np.float32), r=np.full(6, 10.0, np.float32), v_leak=np.zeros(6, np.float32),
                  v_threshold=np.full(6, 0.5, np.float32), v_reset=np.zeros(6, np.float32))
    outer = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([6])}), "sub": inner, "lif": lif,
                                "output": nir.Output(output_type={"output": np.array([6])})},
                         edges=[("input", "sub"), ("sub", "lif"), ("lif", "output")], type_check=False)
    network = read_nir(outer)
    assert "sub.lin" in network.nodes
    x = bernoulli_spikes((10, 2, 6), 0.5, seed=14)
    assert_array_equal(simulate(network, x, dt=1e-4).outputs["sub.lin"].reshape(-1, 6),
                       (x.reshape(-1, 6) @ w.T.astype(np.float64)).astype(np.float32))


# --------------------------------------------------------------------------- bad input


def test_not_hdf5_and_not_nir_files(tmp_path):
    from neurosim.nir_io import read_nir

    text = tmp_path / "net.nir"
    text.write_text("not a graph")
    with pytest.raises(GraphError, match="not an HDF5 file"):
        read_nir(text)
    import h5py

    other = tmp_path / "other.nir"
    with h5py.File(other, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(GraphError, match="not a NIR graph"):
        read_nir(other)
    with pytest.raises(InputError, match="does not exist"):
        read_nir(tmp_path / "missing.nir")


def test_cycle_is_refused_with_its_nodes_named():
    lif = nir.LIF(tau=np.full(4, 1e-3), r=np.full(4, 10.0), v_leak=np.zeros(4), v_threshold=np.ones(4),
                  v_reset=np.zeros(4))
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([4])}),
                            "lif": lif, "w_rec": nir.Linear(weight=np.eye(4)),
                            "output": nir.Output(output_type={"output": np.array([4])})},
                     edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    from neurosim.nir_io import read_nir

    with pytest.raises(GraphError, match=r"cycle \((lif -> w_rec -> lif|w_rec -> lif -> w_rec)\)"):
        read_nir(g)


def test_shape_mismatch_names_both_nodes():
    with pytest.raises(ShapeError, match=r"node 'l1' outputs shape \(32,\) but node 'fc2'"):
        Network({"in": Node("input", {"shape": (40,)}), "fc1": Node("linear", {"weight": np.ones((32, 40))}),
                 "l1": _lif(32), "fc2": Node("linear", {"weight": np.ones((4, 30))})},
                [("in", "fc1"), ("fc1", "l1"), ("l1", "fc2")])


def test_unsupported_node_is_named():
    from neurosim.nir_io import read_nir

    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([4])}),
                            "odd": nir.NIRGraphData(nodes={}) if hasattr(nir, "NIRGraphData") else object()},
                     edges=[("input", "odd")], type_check=False)
    with pytest.raises(UnsupportedNodeError, match="'odd' has type"):
        read_nir(g)
    with pytest.raises(UnsupportedNodeError, match="maxpool"):
        Node("maxpool")


@pytest.mark.parametrize("dt", [0.0, -1e-4, float("nan")])
def test_dt_must_be_positive(dt):
    with pytest.raises(InputError, match="dt"):
        simulate(_mlp(), np.zeros((2, 1, 40)), dt=dt)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_rate_outside_unit_interval(rate):
    with pytest.raises(InputError, match="rate"):
        bernoulli_spikes((2, 2), rate, seed=0)


def test_input_shape_must_match_input_node():
    with pytest.raises(ShapeError, match=r"input of node 'in' must have shape \[T, batch, 40\]"):
        simulate(_mlp(), np.zeros((5, 2, 41)), dt=1e-4)


def test_dt_longer_than_tau_is_refused():
    with pytest.raises(InputError, match="unstable"):
        simulate(_mlp(), np.zeros((2, 1, 40)), dt=5e-3)


def test_same_seed_same_bytes():
    a = bernoulli_spikes((10, 3, 40), 0.2, seed=42)
    assert a.tobytes() == bernoulli_spikes((10, 3, 40), 0.2, seed=42).tobytes()
    r1, r2 = simulate(_mlp(), a, dt=1e-4), simulate(_mlp(), a, dt=1e-4)
    assert all(r1.outputs[n].tobytes() == r2.outputs[n].tobytes() for n in r1.outputs)


def test_errors_are_neurosim_errors():
    assert issubclass(GraphError, NeurosimError) and issubclass(UnsupportedNodeError, GraphError)


# --------------------------------------------------------------------------- CLI


def _cli(args: list[str]) -> int:
    from neurosim.reports.cli import main

    return main(args)


def test_cli_runs_on_a_neurosim_written_file_and_writes_the_report(tmp_path, capsys):
    from neurosim.nir_io import write_nir

    write_nir(_mlp(), tmp_path / "mlp.nir")
    out = tmp_path / "rep"
    rc = _cli(["nir", str(tmp_path / "mlp.nir"), "--rate", "0.2", "--steps", "20", "--batch", "3",
               "--out", str(out)])
    assert rc == 0
    names = {p.name for p in out.iterdir()}
    assert {"summary.json", "nodes.csv", "energy.csv", "report.md", "raster_l1.png", "raster_l2.png"} <= names
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 20 and summary["batch"] == 3
    assert {e["profile"] for e in summary["energy"]} >= {"loihi", "nvidia-h100", "paper-45nm"}
    assert all(e["total_j"] > 0 for e in summary["energy"])
    assert "synaptic events" in capsys.readouterr().out


def test_cli_runs_on_a_snntorch_export(tmp_path):
    torch, snn, export_to_nir = _snn()
    nir.write(tmp_path / "leaky.nir", export_to_nir(_leaky_net(torch, snn, reset="zero"), torch.zeros(50)))
    x = bernoulli_spikes((15, 2, 50), 0.2, seed=1)
    np.save(tmp_path / "x.npy", x)
    assert _cli(["nir", str(tmp_path / "leaky.nir"), "--input", str(tmp_path / "x.npy"), "--out",
                 str(tmp_path / "rep"), "--profiles", "loihi,nvidia-a100"]) == 0


@pytest.mark.parametrize("extra,needle", [
    (["--rate", "1.5"], "rate"), (["--dt", "0"], "dt"), (["--dt=-1e-4"], "dt"),
])
def test_cli_bad_values_give_one_line_and_exit_1(tmp_path, capsys, extra, needle):
    from neurosim.nir_io import write_nir

    write_nir(_mlp(), tmp_path / "mlp.nir")
    rc = _cli(["nir", str(tmp_path / "mlp.nir"), "--steps", "3", "--out", str(tmp_path / "rep"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and needle in err[0]


def test_cli_not_nir_and_wrong_input_shape(tmp_path, capsys):
    (tmp_path / "bad.nir").write_text("hello")
    assert _cli(["nir", str(tmp_path / "bad.nir"), "--out", str(tmp_path / "rep")]) == 1
    assert "not an HDF5 file" in capsys.readouterr().err
    from neurosim.nir_io import write_nir

    write_nir(_mlp(), tmp_path / "mlp.nir")
    np.save(tmp_path / "x.npy", np.zeros((4, 2, 39), dtype=np.int8))
    assert _cli(["nir", str(tmp_path / "mlp.nir"), "--input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must have shape [T, batch, 40]" in err[0]


def test_lif_population_on_lif_py_kernel_equals_the_generic_kernel(monkeypatch):
    import neurosim.network as network_mod

    x = bernoulli_spikes((40, 5, 40), 0.3, seed=15)
    a = simulate(_mlp(), x, dt=1e-4, record_membrane=True)
    monkeypatch.setattr(network_mod, "_REUSE_LIF", False)
    b = simulate(_mlp(), x, dt=1e-4, record_membrane=True)
    assert a.outputs["l1"].sum() > 0
    for n in ("l1", "l2"):
        assert_array_equal(a.outputs[n], b.outputs[n])
        assert_array_equal(a.membranes[n], b.membranes[n])


def test_simulate_neurons_wrapper_checks_kind_and_shape():
    from neurosim.network import simulate_neurons

    out, mem = simulate_neurons("if", np.full((5, 1, 2), 0.5), dt=1.0, record_membrane=True, r=1.0,
                                v_threshold=1.2, v_reset=0.0)
    assert out[:, 0, 0].tolist() == [0, 0, 1, 0, 0] and mem[2, 0, 0] == 0.0
    with pytest.raises(UnsupportedNodeError):
        simulate_neurons("adex", np.zeros((2, 1, 1)), dt=1.0)
    with pytest.raises(ShapeError):
        simulate_neurons("i", np.zeros((2, 3)), dt=1.0, r=1.0)


def test_memory_is_estimated_before_allocating(monkeypatch):
    from neurosim.exceptions import ResourceLimitError

    with pytest.raises(ResourceLimitError):
        simulate(_mlp(), np.zeros((10, 4, 40), np.int8), dt=1e-4, max_bytes=1000)
    monkeypatch.setenv("NEUROSIM_MEMORY_LIMIT", "1MB")
    with pytest.raises(ResourceLimitError, match="Bernoulli input"):
        bernoulli_spikes((10_000, 64, 784), 0.1, seed=0)


def test_network_larger_than_a_chip_spans_chips_and_sends_messages():
    from neurosim.analysis.network_profile import profile_network

    rng = np.random.default_rng(16)
    net = Network({"in": Node("input", {"shape": (1024,)}),
                   "fc": Node("linear", {"weight": _q(rng.normal(0, 0.1, (1024, 1024)))}), "l": _lif(1024)},
                  [("in", "fc"), ("fc", "l")])
    res = simulate(net, bernoulli_spikes((5, 2, 1024), 0.1, seed=17), dt=1e-4)
    prof = profile_network(net, res, profiles=["speck", "loihi"])
    speck = next(e for e in prof.energy if e["profile"] == "speck")
    loihi = next(e for e in prof.energy if e["profile"] == "loihi")
    # 1 MiB of INT8 weights: 3 chips of Speck's 500 kB synaptic memory, one Loihi (33 MB)
    assert speck["chips"] == 3 and speck["chips_limited_by"] == "synaptic_memory"
    assert loihi["chips"] == 1 and loihi["interchip_messages"] == 0
    # the input arrives on the first chip; its spikes are sent to the two others
    assert speck["interchip_messages"] == 2 * res.counts["fc"].input_events
    assert speck["interchip_j"] > 0 and speck["static_j"] > 0


def test_write_nir_never_replaces_a_file_unasked(tmp_path):
    from neurosim.exceptions import OutputPathError
    from neurosim.nir_io import read_nir, write_nir

    mine = tmp_path / "thesis.nir"
    mine.write_bytes(b"my own work")
    with pytest.raises(OutputPathError, match="exists"):
        write_nir(_mlp(), mine)
    assert mine.read_bytes() == b"my own work"
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputPathError, match="folder"):
        write_nir(_mlp(), tmp_path / "folder")
    link = tmp_path / "link.nir"
    link.symlink_to(mine)
    with pytest.raises(OutputPathError, match="symlink"):
        write_nir(_mlp(), link, overwrite=True)
    assert mine.read_bytes() == b"my own work"
    write_nir(_mlp(), mine, overwrite=True)  # asked for: replaced, and readable
    assert read_nir(mine).order
