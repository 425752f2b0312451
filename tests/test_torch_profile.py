"""profile_model / profile_snn on small models built here: fidelity and sparsity trends over k, the
model left untouched (hooks, training flags, outputs, neuron state), skipped layers, CLI helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from neurosim.analysis import snn_profile as sp  # noqa: E402
from neurosim.analysis import model_loading as ml  # noqa: E402
from neurosim.analysis import torch_profile as tp  # noqa: E402
from neurosim.adaptive import spike_counts  # noqa: E402
from neurosim.exceptions import DependencyError, InputError, NotFoundError, ShapeError  # noqa: E402

KS = (1.0, 2.0, 3.0, 4.0, 6.0)
ROOT = Path(__file__).resolve().parents[1]


# -- models -------------------------------------------------------------------------------------


def make_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(48, 96), nn.GELU(), nn.Linear(96, 24), nn.LayerNorm(24))


class Attention(nn.Module):
    """Multi-head attention with nn.Linear q/k/v/o, optionally causal."""

    def __init__(self, d: int, heads: int, *, causal: bool) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.heads, self.causal = heads, causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        h = self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, h, d // h).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.o(att.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, d: int = 32, *, causal: bool) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d, 4, causal=causal)
        self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class Decoder(nn.Module):
    """Token embedding, two causal blocks, LM head; returns a dict with logits (HF style)."""

    def __init__(self, vocab: int = 50, d: int = 32) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList([Block(d, causal=True) for _ in range(2)])
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.emb(input_ids)
        for blk in self.blocks:
            x = blk(x)
        return {"logits": self.head(x), "hidden": x}


class Exploding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.a(x)
        raise RuntimeError("boom mid-forward")


def hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def run_trend(model: nn.Module, inputs: object) -> list[tp.ModelProfile]:
    return [tp.profile_model(model, inputs, k=k, profiles=(), modes=()) for k in KS]


# -- profile_model ------------------------------------------------------------------------------


def test_mlp_layer_statistics_match_spike_counts() -> None:
    model = make_mlp()
    x = torch.randn(3, 10, 48, generator=torch.Generator().manual_seed(1))
    prof = tp.profile_model(model, x, k=3.0, profiles=(), modes=(), spike_outputs=False)
    assert [lay.name for lay in prof.layers] == ["0", "2"]
    first = prof.layers[0]
    # Recompute the first layer's statistics from its input (the model input) independently.
    counts, _ = spike_counts(x.double().numpy().reshape(-1, 48), 3.0)
    assert first.tokens == first.tokens_profiled == 30
    assert first.macs == 30 * 48 * 96
    assert first.silent_fraction == pytest.approx(np.mean(counts == 0))
    assert first.tally.nonzero_inputs == np.count_nonzero(counts)
    assert 0.0 < first.window_sparsity < 1.0
    assert first.cosine_similarity > 0.99 and first.relative_error < 0.15
    assert prof.fidelity == {"cosine_similarity": None, "relative_error": None}
    kinds = {s["kind"] for s in prof.skipped}
    assert kinds == {"LayerNorm"}


def test_shared_layer_accumulates_calls_and_window_sparsity() -> None:
    from neurosim.analysis.sparsity import window_sparsity

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(16)
            self.lin = nn.Linear(16, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(self.lin(x))

    x = torch.randn(5, 16, generator=torch.Generator().manual_seed(17))
    prof = tp.profile_model(Twice(), x, profiles=(), modes=(), spike_outputs=False)
    (lay,) = prof.layers
    with torch.no_grad():
        h = Twice().lin(x)  # same seed, same weights: the second call's float input
    both = np.concatenate([spike_counts(x.double().numpy(), 3.0)[0], spike_counts(h.double().numpy(), 3.0)[0]])
    assert (lay.calls, lay.tokens, lay.macs) == (2, 10, 10 * 16 * 16)
    assert lay.window_sparsity == pytest.approx(window_sparsity(both, 3, mode="exclude").sparsity)
    assert lay.silent_fraction == pytest.approx(np.mean(both == 0))


def test_spiked_forward_replaces_outputs() -> None:
    """Fidelity equals a hand-built W8ASpike forward pass of the MLP (quantise, spike, matmul)."""
    from neurosim.quant import quantize_weight

    model = make_mlp()
    x = torch.randn(4, 48, generator=torch.Generator().manual_seed(2))
    prof = tp.profile_model(model, x, k=3.0, profiles=(), modes=(), group_size=32)

    def spiked(h: np.ndarray, lin: nn.Linear) -> np.ndarray:
        wq = quantize_weight(lin.weight.detach().double().numpy(), group_size=32).dequantize()
        c, vth = spike_counts(h, 3.0)
        return (c * vth) @ wq.T + lin.bias.detach().double().numpy()

    with torch.no_grad():
        ref = model(x).double().numpy()
        h = spiked(x.double().numpy(), model[0])
        h = model[1](torch.from_numpy(h).float()).double().numpy()
        h = spiked(h, model[2])
        y = model[3](torch.from_numpy(h).float()).double().numpy()
    rel = np.linalg.norm(y - ref) / np.linalg.norm(ref)
    cos = float((y * ref).sum() / np.linalg.norm(y) / np.linalg.norm(ref))
    assert prof.fidelity["relative_error"] == pytest.approx(rel, rel=1e-4)
    assert prof.fidelity["cosine_similarity"] == pytest.approx(cos, rel=1e-6)
    assert 0.0 < rel < 0.5


@pytest.mark.parametrize("factory", ["mlp", "encoder", "decoder"])
def test_fidelity_improves_and_sparsity_falls_with_k(factory: str) -> None:
    g = torch.Generator().manual_seed(3)
    if factory == "mlp":
        model, inputs = make_mlp(), torch.randn(4, 12, 48, generator=g)
    elif factory == "encoder":
        torch.manual_seed(4)
        model, inputs = Block(32, causal=False), torch.randn(2, 12, 32, generator=g)
    else:
        torch.manual_seed(5)
        model, inputs = Decoder(), torch.randint(0, 50, (2, 12), generator=g)
    profs = run_trend(model, inputs)
    rel = [p.fidelity["relative_error"] for p in profs]
    cos = [p.fidelity["cosine_similarity"] for p in profs]
    silent = [p.total_tally.silent_fraction for p in profs]
    window = [float(np.mean([lay.window_sparsity for lay in p.layers])) for p in profs]
    assert all(a > b for a, b in zip(rel, rel[1:])), rel
    assert all(a < b for a, b in zip(cos, cos[1:])), cos
    assert all(a > b for a, b in zip(silent, silent[1:])), silent
    assert all(a > b for a, b in zip(window, window[1:])), window


def test_model_left_untouched_hooks_flags_outputs() -> None:
    model = make_mlp()
    model.train()
    model[2].eval()  # mixed flags must come back per module
    flags = [m.training for m in model.modules()]
    x = torch.randn(5, 48)
    with torch.no_grad():
        before = model(x).clone()
    tp.profile_model(model, x, profiles=(), modes=())
    assert hook_count(model) == 0
    assert [m.training for m in model.modules()] == flags
    with torch.no_grad():
        assert torch.equal(model(x), before)


def test_hooks_removed_and_flags_restored_when_forward_raises() -> None:
    model = Exploding()
    model.train()
    with pytest.raises(RuntimeError, match="boom"):
        tp.profile_model(model, torch.randn(2, 8), profiles=(), modes=())
    assert hook_count(model) == 0
    assert all(m.training for m in model.modules())


def test_transformer_encoder_layer_coverage_is_reported() -> None:
    torch.manual_seed(6)
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, dropout=0.0)
    prof = tp.profile_model(layer, torch.randn(2, 6, 16), profiles=(), modes=())
    assert [lay.name for lay in prof.layers] == ["linear1", "linear2"]
    skipped = {s["name"]: s for s in prof.skipped}
    assert "in_proj_weight" in skipped["self_attn"]["reason"]
    assert "never called" in skipped["self_attn.out_proj"]["reason"]
    assert {"norm1", "norm2"} <= set(skipped)
    assert prof.fidelity["cosine_similarity"] > 0.9


def test_unsupported_layers_listed_not_crashing() -> None:
    torch.manual_seed(7)
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.Flatten(), nn.Linear(4 * 6, 5), nn.GRU(5, 3))
    model = nn.Sequential(*list(model)[:3])  # GRU only listed via a separate holder below
    holder = nn.ModuleDict({"net": model, "rnn": nn.GRU(5, 3), "emb": nn.Embedding(4, 2)})

    class Wrap(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.h = holder

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.h["net"](x)

    prof = tp.profile_model(Wrap(), torch.randn(3, 2, 8), profiles=(), modes=())
    assert [lay.name for lay in prof.layers] == ["h.net.2"]
    reasons = {s["name"]: s["reason"] for s in prof.skipped}
    assert "convolution" in reasons["h.net.0"]
    assert "recurrent" in reasons["h.rnn"]
    assert "lookup" in reasons["h.emb"]


def test_max_tokens_samples_rows_and_keeps_full_output() -> None:
    model = make_mlp()
    x = torch.randn(40, 48, generator=torch.Generator().manual_seed(8))
    full = tp.profile_model(model, x, profiles=(), modes=())
    a = tp.profile_model(model, x, profiles=(), modes=(), max_tokens=7, seed=1)
    b = tp.profile_model(model, x, profiles=(), modes=(), max_tokens=7, seed=1)
    c = tp.profile_model(model, x, profiles=(), modes=(), max_tokens=7, seed=2)
    assert [lay.tokens_profiled for lay in a.layers] == [7, 7]
    assert [lay.tokens for lay in a.layers] == [40, 40]
    assert a.layers[0].scale == pytest.approx(40 / 7)
    assert a.layers[0].events == b.layers[0].events
    assert a.layers[0].events != c.layers[0].events
    # Rows outside the sample are still spiked: the final output equals the unsampled run's.
    assert a.fidelity["relative_error"] == pytest.approx(full.fidelity["relative_error"], rel=1e-9)


def test_engine_paths_agree() -> None:
    model = make_mlp()
    x = torch.randn(6, 48)
    res = {p: tp.profile_model(model, x, path=p, profiles=(), modes=()) for p in ("event", "dense", "float")}
    assert {r.layers[1].events for r in res.values()} == {res["event"].layers[1].events}
    for r in res.values():
        assert r.fidelity["relative_error"] == pytest.approx(res["event"].fidelity["relative_error"], rel=1e-9)


def test_summary_is_json_ready_and_frame_has_layer_columns() -> None:
    prof = tp.profile_model(make_mlp(), torch.randn(3, 48), profiles=(), modes=())
    summary = json.loads(json.dumps(prof.to_summary()))
    assert {"layers", "fidelity", "energy", "skipped", "settings", "totals"} <= set(summary)
    rec = summary["layers"][0]
    for key in ("name", "in_features", "out_features", "spikes_per_channel", "silent_fraction",
                "window_sparsity", "events", "macs"):
        assert key in rec
    frame = prof.layer_frame()
    assert list(frame["name"]) == ["0", "2"] and frame["macs"].iloc[0] == 3 * 48 * 96


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"k": 0}, InputError, "'k'"),
        ({"max_tokens": 0}, InputError, "'max_tokens'"),
        ({"seed": -1}, InputError, "'seed'"),
        ({"coding": "morse"}, NotFoundError, "morse"),
        ({"path": "gpu"}, NotFoundError, "gpu"),
    ],
)
def test_bad_options(kwargs: dict[str, object], err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        tp.profile_model(make_mlp(), torch.randn(2, 48), profiles=(), modes=(), **kwargs)


def test_not_a_module() -> None:
    with pytest.raises(InputError, match="'model' must be a torch.nn.Module"):
        tp.profile_model(lambda x: x, torch.randn(2, 3))


def test_output_without_tensor() -> None:
    class NoTensor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> str:
            self.l(x)
            return "nothing"

    with pytest.raises(InputError, match="no tensor"):
        tp.profile_model(NoTensor(), torch.randn(2, 4), profiles=(), modes=())


def test_import_does_not_import_torch() -> None:
    code = ("import sys; import neurosim.analysis.torch_profile, neurosim.analysis.model_loading, neurosim.analysis.pricing, "
            "neurosim.analysis.snn_profile, neurosim.analysis._torch_hooks; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_energy_records_recomputed_from_counts() -> None:
    """fp16-dense compute = MACs x E_MAC; event compute on the ideal 45 nm profile = synaptic ops x
    E_add (its shift/event/neuron costs are zero); a mode Loihi cannot run has None and a reason."""
    from neurosim.energy.profiles import get_profile

    model = make_mlp()
    x = torch.randn(30, 48, generator=torch.Generator().manual_seed(14))
    prof = tp.profile_model(model, x, profiles=("paper-45nm", "loihi"), max_tokens=10)
    rec = {(r["mode"], r["profile"]): r for r in prof.energy}
    assert len(rec) == 8
    costs = get_profile("paper-45nm").costs
    macs = sum(lay.macs for lay in prof.layers)
    assert rec["fp16-dense", "paper-45nm"]["compute_j"] == pytest.approx(macs * costs.mac_fp16)
    assert rec["int8-dense", "paper-45nm"]["compute_j"] == pytest.approx(macs * costs.mac_int8)
    synops = sum(lay.tally.synaptic_ops * lay.scale for lay in prof.layers)
    assert rec["w8aspike-event", "paper-45nm"]["compute_j"] == pytest.approx(synops * costs.add_int8)
    for r in prof.energy:
        if r["total_j"] is not None:
            assert r["total_j"] == pytest.approx(r["compute_j"] + r["memory_j"] + r["static_j"])
    assert rec["fp16-dense", "loihi"]["total_j"] is None and "FP16" in rec["fp16-dense", "loihi"]["reason"]
    assert rec["w8aspike-event", "loihi"]["total_j"] > 0
    only = tp.profile_model(model, x, profiles="paper-45nm", modes="w8aspike-event")
    assert [(r["mode"], r["profile"]) for r in only.energy] == [("w8aspike-event", "paper-45nm")]
    with pytest.raises(NotFoundError, match="paper-45nm"):
        tp.profile_model(model, x, profiles=("paper-45mn",))
    with pytest.raises(NotFoundError, match="execution mode"):
        tp.profile_model(model, x, modes=("fp8-dense",))


# -- profile_snn --------------------------------------------------------------------------------


def make_snn(seed: int = 0) -> nn.Module:
    snn = pytest.importorskip("snntorch")
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(20, 32), snn.Leaky(beta=0.9, init_hidden=True),
        nn.Linear(32, 10), snn.Leaky(beta=0.8, init_hidden=True),
    )


def manual_run(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference loop: explicit per-step forward with hooks-free recording of both neuron layers."""
    spikes: dict[int, list[torch.Tensor]] = {1: [], 3: []}
    with torch.no_grad():
        for m in (net[1], net[3]):
            m.mem = torch.zeros(0)
        for t in range(x.shape[0]):
            h = net[0](x[t])
            s1 = net[1](h)
            s2 = net[3](net[2](s1))
            spikes[1].append(s1)
            spikes[3].append(s2)
    return torch.stack(spikes[1]), torch.stack(spikes[3])


def test_snn_counts_match_manual_loop() -> None:
    net = make_snn()
    x = torch.rand(15, 4, 20, generator=torch.Generator().manual_seed(9)) * 0.6
    s1, s2 = manual_run(net, x)
    prof = sp.profile_snn(net, x, profiles=())
    n1, n2 = prof.neurons
    assert (prof.time_steps, prof.batch) == (15, 4)
    assert n1.spikes == float(s1.sum()) and n2.spikes == float(s2.sum())
    assert n1.firing_rate == pytest.approx(float(s1.mean()))
    assert n1.spikes_per_neuron == pytest.approx(n1.firing_rate * 15)
    assert n1.neuron_updates == 32 * 15 * 4
    assert n1.silent_fraction == pytest.approx(float((s1.sum(0) == 0).double().mean()))
    fc1, fc2 = prof.synapses
    assert fc1.input_kind == "dense" and fc2.input_kind == "spikes"
    assert fc2.synops == int(s1.sum()) * 10
    assert fc2.effective_acs == int(s1.sum()) * 10  # no zero weights in a fresh Linear
    assert fc1.dense == 15 * 4 * 20 * 32 and fc1.effective_macs == int((x != 0).sum()) * 32
    assert prof.neurobench["Effective_ACs"] == pytest.approx(fc2.effective_acs / 4)
    # Same figures as the energy package's NeuroBench counter fed the recorded spikes.
    from neurosim.energy.neurobench import neurobench_counts

    nb = neurobench_counts(s1.reshape(-1, 32).numpy().astype(np.int64), weights=net[2].weight.detach().numpy())
    assert (nb.dense, nb.effective_acs, nb.spiking_input) == (fc2.dense, fc2.effective_acs, True)
    nonzero = float((s1 != 0).sum() + (s2 != 0).sum())
    assert prof.neurobench["activation_sparsity"] == pytest.approx(1 - nonzero / (s1.numel() + s2.numel()))


def test_snn_energy_recomputed_from_counts() -> None:
    from neurosim.energy.profiles import get_profile

    net = make_snn()
    x = torch.rand(10, 3, 20, generator=torch.Generator().manual_seed(15))
    prof = sp.profile_snn(net, x)
    rec = {r["profile"]: r for r in prof.energy}
    assert set(rec) == {"loihi", "speck", "paper-45nm"}
    synops = sum(s.synops for s in prof.synapses)
    spikes = sum(n.spikes for n in prof.neurons)
    updates = sum(n.neuron_updates for n in prof.neurons)
    macs = prof.synapses[0].effective_macs
    lo = get_profile("loihi").costs
    assert rec["loihi"]["compute_j"] == pytest.approx(
        synops * lo.add_int8 + spikes * lo.spike_events + updates * lo.neuron_updates)
    assert rec["loihi"]["unpriced_macs"] == macs and "not priced" in rec["loihi"]["notes"][-1]
    p45 = get_profile("paper-45nm").costs
    assert rec["paper-45nm"]["unpriced_macs"] == 0
    assert rec["paper-45nm"]["compute_j"] == pytest.approx(synops * p45.add_int8 + macs * p45.mac_fp16)
    with pytest.raises(NotFoundError, match="hardware profile"):
        sp.profile_snn(net, x, profiles=("loihi3",))


def test_snn_zero_weights_and_conv_fanout() -> None:
    snn = pytest.importorskip("snntorch")
    torch.manual_seed(10)
    net = nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), snn.Leaky(beta=0.5, init_hidden=True),
                        nn.Conv1d(2, 3, 3, padding=1), snn.Leaky(beta=0.5, init_hidden=True))
    with torch.no_grad():
        net[2].weight[0] = 0.0  # output channel 0 has no connections: Effective_ACs skips them
    x = (torch.rand(6, 2, 1, 9, generator=torch.Generator().manual_seed(11)) > 0.5).float() * 3
    prof = sp.profile_snn(net, x, profiles=())
    conv2 = prof.synapses[1]
    assert conv2.input_kind == "spikes"
    # Naive connection count: every spike at position p reaches 3 outputs x (kernel taps inside).
    spikes = []
    with torch.no_grad():
        for m in (net[1], net[3]):
            m.mem = torch.zeros(0)
        for t in range(6):
            spikes.append(net[1](net[0](x[t])))
            net[3](net[2](spikes[-1]))
    synops = 0
    for s in spikes:
        for b, c, p in zip(*torch.nonzero(s, as_tuple=True)):
            taps = sum(1 for q in (p - 1, p, p + 1) if 0 <= q < 9)
            synops += 3 * taps
    assert conv2.synops == synops
    assert conv2.effective_acs == synops * 2 // 3


def test_snn_static_input_and_state_restored() -> None:
    net = make_snn()
    x = torch.rand(4, 20) * 0.6
    with torch.no_grad():
        net[1].mem = torch.zeros(0)
        net[3].mem = torch.zeros(0)
        net[3](net[2](net[1](net[0](x))))  # leave some state behind
    mem_before = net[1].mem.clone()
    seq = sp.profile_snn(net, x.expand(8, 4, 20).clone(), profiles=())
    static = sp.profile_snn(net, x, num_steps=8, profiles=())
    assert [n.spikes for n in seq.neurons] == [n.spikes for n in static.neurons]
    assert torch.equal(net[1].mem, mem_before)
    assert hook_count(net) == 0


def test_snn_sequence_calling() -> None:
    snn = pytest.importorskip("snntorch")

    class TutorialNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(12)
            self.fc1, self.lif1 = nn.Linear(20, 16), snn.Leaky(beta=0.9)
            self.fc2, self.lif2 = nn.Linear(16, 4), snn.Leaky(beta=0.9)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
            out = []
            for t in range(x.shape[0]):
                s1, mem1 = self.lif1(self.fc1(x[t]), mem1)
                s2, mem2 = self.lif2(self.fc2(s1), mem2)
                out.append(s2)
            return torch.stack(out)

    net = TutorialNet()
    x = torch.rand(10, 3, 20)
    with torch.no_grad():
        out = net(x)
    prof = sp.profile_snn(net, x, calling="sequence", profiles=())
    assert prof.time_steps == 10 and prof.neurons[1].spikes == float(out.sum())


def test_snn_bad_inputs() -> None:
    with pytest.raises(InputError, match="no snntorch SpikingNeuron"):
        sp.profile_snn(make_mlp(), torch.randn(3, 2, 48), profiles=())
    net = make_snn()
    with pytest.raises(InputError, match="'calling'"):
        sp.profile_snn(net, torch.rand(3, 2, 20), calling="batch", profiles=())
    with pytest.raises(ShapeError, match=r"\[T, batch"):
        sp.profile_snn(net, torch.rand(20), profiles=())
    with pytest.raises(InputError, match="'num_steps'"):
        sp.profile_snn(net, torch.rand(2, 20), num_steps=0, profiles=())


def test_contains_spiking_neurons() -> None:
    assert sp.contains_spiking_neurons(make_snn())
    assert not sp.contains_spiking_neurons(make_mlp())


# -- CLI helpers --------------------------------------------------------------------------------


def test_load_factory(tmp_path: Path) -> None:
    f = tmp_path / "my_models.py"
    f.write_text(
        "import torch\n"
        "def make():\n    return torch.nn.Linear(3, 2), torch.randn(4, 3)\n"
        "def bare():\n    return torch.nn.Linear(3, 2)\n"
        "def bad():\n    return 42\n"
        "VALUE = 3\n"
    )
    model, example = ml.load_factory(f"{f}:make")
    assert isinstance(model, nn.Linear) and example.shape == (4, 3)
    model, example = ml.load_factory(f"{f}:bare")
    assert example is None
    model, _ = ml.load_factory("torch.nn:Identity")
    assert isinstance(model, nn.Identity)
    with pytest.raises(InputError, match="MODULE:FACTORY"):
        ml.load_factory("no_colon_here")
    with pytest.raises(NotFoundError, match="not found"):
        ml.load_factory("surely_not_a_module_xyz:make")
    with pytest.raises(NotFoundError, match="does not exist"):
        ml.load_factory(f"{tmp_path / 'missing.py'}:make")
    with pytest.raises(NotFoundError, match="did you mean 'make'"):
        ml.load_factory(f"{f}:mkae")
    with pytest.raises(InputError, match="callable"):
        ml.load_factory(f"{f}:VALUE")
    with pytest.raises(InputError, match="must return a torch.nn.Module"):
        ml.load_factory(f"{f}:bad")


def test_load_factory_missing_dependency(tmp_path: Path) -> None:
    f = tmp_path / "needs_dep.py"
    f.write_text("import surely_missing_dependency_xyz\ndef make():\n    return None\n")
    with pytest.raises(DependencyError, match="surely_missing_dependency_xyz"):
        ml.load_factory(f"{f}:make")


def test_hf_directory_checks(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        ml.profile_hf_directory(tmp_path / "nope")
    with pytest.raises(NotFoundError, match="config.json"):
        ml.profile_hf_directory(tmp_path)


def test_hf_missing_transformers_gives_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "transformers", None)  # import now raises ImportError
    with pytest.raises(DependencyError, match=r"pip install 'neurosim\[hf\]'"):
        ml.profile_hf_directory(tmp_path)


def test_hf_directory_with_mocked_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.json").write_text("{}")
    torch.manual_seed(13)
    decoder = Decoder(vocab=50)

    class Tok:
        pad_token = None
        eos_token = "</s>"

        def __call__(self, texts, *, return_tensors, padding, truncation, max_length):  # noqa: ANN001
            assert return_tensors == "pt" and padding and truncation
            ids = [[ord(c) % 50 for c in t][:max_length] for t in texts]
            n = max(len(i) for i in ids)
            pad = [i + [0] * (n - len(i)) for i in ids]
            mask = [[1] * len(i) + [0] * (n - len(i)) for i in ids]
            return {"input_ids": torch.tensor(pad), "attention_mask": torch.tensor(mask)}

    tok = Tok()
    monkeypatch.setattr(ml, "load_hf_directory", lambda p: (MaskedDecoder(decoder), tok))
    prof = ml.profile_hf_directory(tmp_path, max_length=9, profiles=(), modes=())
    assert prof.model == tmp_path.name
    assert tok.pad_token == "</s>"
    assert prof.layers[0].tokens == len(ml.SAMPLE_TEXTS) * 9
    assert prof.fidelity["cosine_similarity"] > 0.9
    with pytest.raises(InputError, match="'texts'"):
        ml.profile_hf_directory(tmp_path, texts=[])


class MaskedDecoder(nn.Module):
    def __init__(self, inner: Decoder) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.inner(input_ids)


def test_missing_torch_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(DependencyError, match=r"pip install 'neurosim\[snn\]'"):
        tp.profile_model(object(), None)
