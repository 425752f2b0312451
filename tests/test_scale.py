"""Real prompts at scale: corpora, padding exclusion, exact merges, bootstrap, Dask shards (issue 10).

The Dask tests start real worker processes (LocalCluster) and one of them kills a worker mid-run; they
are marked slow but run in CI.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path
import signal
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neurosim.analysis.bootstrap import interval, replicates
from neurosim.analysis.corpus import load_corpus
from neurosim.analysis.mergeable import PROMPT_FIELDS, CorpusStats, StatsBuilder, merge
from neurosim.engine import w8aspike_linear
from neurosim.exceptions import CorpusError, DistributedError, InputError, ShardFailedError
from neurosim.quant import quantize_weight

sys.path.insert(0, str(Path(__file__).parent))
from scale_helpers import make_hf_dir, write_factory  # noqa: E402

# -- corpus -------------------------------------------------------------------------------------


def test_default_corpus_ships_with_the_package() -> None:
    c = load_corpus()
    assert len(c.texts) >= 300 and c.format == "text"
    assert all(t.strip() for t in c.texts)
    assert load_corpus(max_prompts=5).texts == c.texts[:5]
    assert load_corpus(max_prompts=5).to_dict()["prompts_in_file"] == len(c.texts)


def test_plain_and_jsonl_files(tmp_path: Path) -> None:
    plain = tmp_path / "p.txt"
    plain.write_text("first prompt\n\n  second one\nthird\n")
    c = load_corpus(plain)
    assert c.texts == ("first prompt", "  second one", "third") and c.lines == (1, 3, 4)
    assert c.sha256 == hashlib.sha256(plain.read_bytes()).hexdigest()
    jl = tmp_path / "p.jsonl"
    jl.write_text('{"text": "alpha", "id": 1}\n\n{"text": "beta"}\n')
    c = load_corpus(jl)
    assert c.texts == ("alpha", "beta") and c.format == "jsonl" and c.lines == (1, 3)


@pytest.mark.parametrize(("content", "match"), [
    ("", "holds no prompt"),
    ("  \n\n \n", "holds no prompt"),
    ('{"text": "ok"}\n{"prompt": "no text"}\n', "line 2: JSON Lines record has no 'text'"),
    ('{"text": "ok"}\n{"text": \n', "line 2: not valid JSON"),
    ('{"text": ""}\n', "line 1: 'text' must be a non-empty string"),
])
def test_bad_corpus_files(tmp_path: Path, content: str, match: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(content)
    with pytest.raises(CorpusError, match=match):
        load_corpus(f)


def test_missing_unreadable_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope.txt")
    with pytest.raises(CorpusError, match="is a directory"):
        load_corpus(tmp_path)
    b = tmp_path / "b.txt"
    b.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match="not UTF-8"):
        load_corpus(b)
    with pytest.raises(InputError, match="max_prompts"):
        load_corpus(max_prompts=0)


# -- exact merge --------------------------------------------------------------------------------

def _shard_stats(x: np.ndarray, prompt_of_row: np.ndarray, rows: np.ndarray, weight, name: str = "p") -> CorpusStats:
    """Profile ``rows`` of ``x`` as one call (one shard) with the engine; per-row owners from ``prompt_of_row``."""
    res = w8aspike_linear(x[rows], weight, k=3.0, coding="bidirectional")
    b = StatsBuilder(name, "Linear", x.shape[1], res.output.shape[1], coding="bidirectional")
    owners = prompt_of_row[rows]
    b.add(res.counts, owners, res.tally, real_owners=owners)
    ids = np.unique(owners)
    return CorpusStats(projections={name: b.result()}, prompt_ids=ids,
                       prompt_tokens=np.array([np.count_nonzero(owners == i) for i in ids]))


def _same(a: CorpusStats, b: CorpusStats, *, batch_fields: bool = True, float_exact: bool = True) -> None:
    assert np.array_equal(a.prompt_ids, b.prompt_ids) and np.array_equal(a.prompt_tokens, b.prompt_tokens)
    for name in a.projections:
        p, q = a.projections[name], b.projections[name]
        assert np.array_equal(p.pos_hist, q.pos_hist) and np.array_equal(p.neg_hist, q.neg_hist)
        assert np.array_equal(p.events_by_step, q.events_by_step)
        assert np.array_equal(p.per_prompt, q.per_prompt) and np.array_equal(p.peak, q.peak)
        if float_exact:
            assert p.per_prompt_float.tobytes() == q.per_prompt_float.tobytes()
        else:  # float outputs of a differently shaped batch may differ in the last bits (matmul blocking)
            assert np.allclose(p.per_prompt_float, q.per_prompt_float, rtol=1e-12, atol=0)
        keep = [f for f in p.counters if batch_fields or f not in ("rows_fetched_batch", "weight_bytes_touched")]
        assert {f: p.counters[f] for f in keep} == {f: q.counters[f] for f in keep}
        assert p.figures() == q.figures()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n_prompts=st.integers(2, 9), cuts=st.lists(st.integers(1, 8), max_size=4),
       order=st.randoms(use_true_random=False))
def test_merge_is_exact_and_order_independent(seed: int, n_prompts: int, cuts: list[int], order) -> None:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, size=n_prompts)
    prompt_of_row = np.repeat(np.arange(n_prompts), lengths)
    x = rng.standard_t(3, size=(prompt_of_row.size, 16)) * rng.uniform(0.1, 10)
    weight = quantize_weight(rng.standard_normal((8, 16)), group_size=None)
    bounds = sorted({c for c in cuts if c < n_prompts} | {0, n_prompts})
    parts = [_shard_stats(x, prompt_of_row, np.flatnonzero((prompt_of_row >= lo) & (prompt_of_row < hi)), weight)
             for lo, hi in itertools.pairwise(bounds)]
    merged = merge(parts)
    shuffled = list(parts)
    order.shuffle(shuffled)
    _same(merged, merge(shuffled))  # order-independent, bit for bit
    if len(parts) >= 3:
        _same(merged, merge([merge(parts[:2]), merge(parts[2:])]))  # grouping-independent
    # One call over every row: the same histogram, events, per-prompt sums and counters (the rows fetched
    # per batch depend on how rows are batched, by definition).
    whole = _shard_stats(x, prompt_of_row, np.arange(prompt_of_row.size), weight)
    _same(merged, whole, batch_fields=False)
    p = merged.projections["p"]
    counts = w8aspike_linear(x, weight, k=3.0).counts
    assert np.array_equal(p.pos_hist, np.bincount(counts[counts >= 0]))
    assert int(p.totals()[PROMPT_FIELDS.index("silent")]) == int(np.count_nonzero(counts == 0))


def test_merge_refuses_a_shard_counted_twice() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 16))
    w = quantize_weight(rng.standard_normal((4, 16)), group_size=None)
    owners = np.array([0, 0, 1, 1, 2, 2])
    a = _shard_stats(x, owners, np.arange(4), w)
    with pytest.raises(InputError, match="counted twice"):
        merge([a, a])
    with pytest.raises(InputError, match="at least one"):
        merge([])


# -- bootstrap ------------------------------------------------------------------------------------

def test_bootstrap_is_seeded_and_resamples_prompts() -> None:
    a, b, c = replicates(50, n_boot=300, seed=3), replicates(50, n_boot=300, seed=3), replicates(50, n_boot=300, seed=4)
    assert a.weights.tobytes() == b.weights.tobytes()
    assert a.weights.tobytes() != c.weights.tobytes()
    assert (a.weights.sum(axis=1) == 50).all()
    rng = np.random.default_rng(0)
    per_prompt = rng.integers(0, 100, size=(50, 3))
    s1 = a.sums(per_prompt)
    assert s1.dtype == np.int64 and np.array_equal(s1, a.weights @ per_prompt)
    f = rng.standard_normal((50, 4))
    assert np.allclose(a.sums(f), a.weights @ f)
    # The interval of a mean brackets the point and shrinks with more prompts.
    x = rng.standard_normal(50)
    lo, hi = interval(a.sums(x[:, None])[:, 0] / 50)
    assert lo < x.mean() < hi
    with pytest.raises(InputError):
        replicates(0)


# -- padding ---------------------------------------------------------------------------------------

def _corpus_file(tmp_path: Path, lines: list[str]) -> Path:
    f = tmp_path / "prompts.txt"
    f.write_text("\n".join(lines) + "\n")
    return f


PROMPTS = ["a short one", "a considerably longer prompt with many more words in it", "mid length prompt",
           "x", "another prompt of some length", "spiking models count events", "tiny", "the end of the list"]


def test_padded_batch_equals_prompts_run_one_by_one(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from neurosim.analysis.corpus_profile import profile_corpus
    from neurosim.analysis.distributed import ProfileJob

    spec = write_factory(tmp_path)
    corpus = load_corpus(_corpus_file(tmp_path, PROMPTS))
    job = ProfileJob("torch", spec, max_length=40, max_tokens=None)
    padded = profile_corpus(job, corpus, batch_size=4, profiles=(), n_boot=50).stats
    alone = profile_corpus(job, corpus, batch_size=1, profiles=(), n_boot=50).stats
    # Every integer statistic is equal, bit for bit; the float fidelity sums to rounding.
    _same(padded, alone, batch_fields=False, float_exact=False)
    assert np.allclose(padded.output, alone.output, rtol=1e-12, atol=0)
    lengths = [min(40, len([c for c in t if c.isalpha() or c == " "])) for t in PROMPTS]  # --max-length 40
    assert padded.prompt_tokens.tolist() == lengths
    up = padded.projections["up"]
    # Only real tokens are counted: the batch of 4 is padded to its longest prompt, many slots are padding.
    assert int(up.totals()[PROMPT_FIELDS.index("slots")]) == sum(lengths) * 24
    assert up.counters["tokens"] == sum(lengths)


def test_prompt_that_tokenises_to_nothing(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from neurosim.analysis.corpus_profile import profile_corpus
    from neurosim.analysis.distributed import ProfileJob

    spec = write_factory(tmp_path)
    corpus = load_corpus(_corpus_file(tmp_path, ["fine words", "12345!!", "more words"]))
    with pytest.raises(CorpusError, match=r"line 2\) tokenises to nothing"):
        profile_corpus(ProfileJob("torch", spec), corpus, batch_size=2, profiles=())


# -- CLI -------------------------------------------------------------------------------------------

def _cli(*argv: str) -> tuple[int, str]:
    from neurosim.reports.cli import main

    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


@pytest.mark.parametrize(("setup", "extra", "code", "match"), [
    ("empty", [], 1, "holds no prompt"),
    ("jsonl", [], 1, "line 2: JSON Lines record has no 'text'"),
    ("ok", ["--workers", "0"], 2, "--workers must be an integer >= 1"),
    ("ok", ["--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "2"], 1, "cannot reach the Dask scheduler"),
])
def test_cli_bad_inputs_fail_in_one_line(tmp_path: Path, setup: str, extra: list[str], code: int, match: str) -> None:
    pytest.importorskip("torch")
    if "--scheduler" in extra:
        pytest.importorskip("distributed")
    spec = write_factory(tmp_path)
    f = tmp_path / "t.txt"
    f.write_text({"empty": "", "jsonl": '{"text": "a b"}\n{"txt": "c"}\n', "ok": "a b\nc d\n"}[setup])
    out = tmp_path / "report"
    t0 = time.monotonic()
    got, err = _cli("torch", spec, "--texts", str(f), "--out", str(out), "--no-progress", *extra)
    assert got == code, err
    assert match in err
    assert len([ln for ln in err.splitlines() if "error:" in ln]) == 1
    assert not out.exists()
    assert time.monotonic() - t0 < 120  # the scheduler timeout is honoured (generous bound, not a benchmark)


def test_workers_without_dask_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "distributed" else real(n, *a))
    spec = write_factory(tmp_path)
    f = _corpus_file(tmp_path, ["a b", "c d"])
    code, err = _cli("torch", spec, "--texts", str(f), "--out", str(tmp_path / "r"), "--workers", "2")
    assert code == 1 and "pip install 'neurosim[distributed]'" in err


# -- Dask ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return make_hf_dir(tmp_path_factory.mktemp("hf") / "tiny-llama", layers=2, hidden=32)


@pytest.mark.slow
def test_workers_2_gives_the_same_summary_as_workers_1(tmp_path: Path, llama_dir: Path) -> None:
    pytest.importorskip("distributed")
    texts = _corpus_file(tmp_path, list(load_corpus().texts[:40]))
    common = ["hf", str(llama_dir), "--texts", str(texts), "--profiles", "paper-45nm", "--bootstrap", "200",
              "--batch-size", "5", "--no-progress", "--format", "json"]
    code1, err1 = _cli(*common, "--out", str(tmp_path / "w1"))
    code2, err2 = _cli(*common, "--out", str(tmp_path / "w2"), "--workers", "2")
    assert code1 == 0 and code2 == 0, err1 + err2
    one = (tmp_path / "w1" / "summary.json").read_bytes()
    two = (tmp_path / "w2" / "summary.json").read_bytes()
    if one != two:  # allowed to differ: the git commit of the provenance record, if a commit landed between
        a, b = json.loads(one), json.loads(two)
        a.get("provenance", {}).pop("git", None)
        b.get("provenance", {}).pop("git", None)
        assert a == b
        assert one.replace(b"\n", b"").__len__() == two.replace(b"\n", b"").__len__()
    summary = json.loads(one)
    assert summary["corpus"]["prompts"] == 40 and summary["corpus"]["sha256"] == hashlib.sha256(
        texts.read_bytes()).hexdigest()
    spc = summary["intervals"]["totals"]["spikes_per_channel"]
    assert spc["low"] <= spc["value"] <= spc["high"]
    assert {g["layer"] for g in summary["layer_groups"]} == {"layer 0", "layer 1", "other"}


@pytest.mark.slow
def test_killing_a_worker_mid_run_loses_and_doubles_nothing(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("torch")
    from neurosim.analysis.corpus_profile import profile_corpus
    from neurosim.analysis.distributed import ProfileJob

    spec = write_factory(tmp_path)
    corpus = load_corpus(_corpus_file(tmp_path, [f"prompt number {w} with words" for w in
                                                  "abcdefghijklmnopqrstuvwx"]))
    job = ProfileJob("torch", spec, max_length=40)
    reference = profile_corpus(job, corpus, batch_size=2, profiles=("paper-45nm",), n_boot=100).to_summary()

    killed: list[int] = []
    seen: list[tuple[int, int, int]] = []

    def kill_one(result, client) -> None:
        seen.append((result.index, result.pid, result.loads))
        if not killed:
            pids = client.run(os.getpid)  # {worker address: pid}
            victim = next(p for p in pids.values() if p != result.pid) if len(pids) > 1 else result.pid
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  memory_limit=0) as cluster:
        got = profile_corpus(job, corpus, batch_size=2, profiles=("paper-45nm",), n_boot=100,
                             scheduler=cluster.scheduler_address, on_done=kill_one).to_summary()
    assert killed
    assert sorted(i for i, _, _ in seen) == list(range(12))  # every shard exactly once
    assert json.dumps(got, sort_keys=True) == json.dumps(reference, sort_keys=True)
    # The model is loaded once per worker process, not once per task.
    assert all(loads == 1 for _, _, loads in seen)


DYING_FACTORY = '''
import os
import torch
from char_model import CharTokenizer, TokenMLP


class Dies(TokenMLP):
    def forward(self, input_ids, attention_mask=None):
        if (input_ids == 26).any():  # the letter z: this worker dies, every time
            os._exit(3)
        return super().forward(input_ids, attention_mask)


def make():
    torch.manual_seed(7)
    return Dies().double(), CharTokenizer()
'''


@pytest.mark.slow
def test_a_shard_whose_worker_dies_repeatedly_fails_naming_it(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("distributed")
    pytest.importorskip("torch")
    write_factory(tmp_path)
    (tmp_path / "dying.py").write_text(DYING_FACTORY)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.syspath_prepend(str(tmp_path))
    f = _corpus_file(tmp_path, ["fine words", "more words", "lazy", "fine again"])
    out = tmp_path / "report"
    code, err = _cli("torch", f"{tmp_path / 'dying.py'}:make", "--texts", str(f), "--batch-size", "2",
                     "--workers", "2", "--out", str(out), "--no-progress")
    assert code == 1, err
    assert "shard 1 (prompts 2..3) failed" in err
    assert not out.exists()


def test_run_shards_checks_workers() -> None:
    from neurosim.analysis.distributed import ProfileJob, run_shards

    with pytest.raises(InputError, match="workers"):
        run_shards(ProfileJob("hf", "x"), [], workers=0)
    assert issubclass(ShardFailedError, DistributedError)


@pytest.mark.slow
def test_layers_all_on_workers_matches_one_process(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    pytest.importorskip("safetensors")
    from ckpt_helpers import make_folder, tiny_config
    from neurosim.init import init_params

    cfg = tiny_config()
    ckpt = make_folder(tmp_path / "tiny-ckpt", init_params(cfg, rng=np.random.default_rng(5), std=0.1))
    common = ["--checkpoint", str(ckpt), "--tokens", "12", "--layers", "all", "--profiles", "paper-45nm",
              "--format", "json", "--no-progress", "--bootstrap", "200"]
    code1, err1 = _cli(*common, "--out", str(tmp_path / "w1"))
    code2, err2 = _cli(*common, "--out", str(tmp_path / "w2"), "--workers", "2")
    assert code1 == 0 and code2 == 0, err1 + err2
    a = json.loads((tmp_path / "w1" / "summary.json").read_text())
    b = json.loads((tmp_path / "w2" / "summary.json").read_text())
    for s in (a, b):
        s.get("provenance", {}).pop("git", None)
    assert a == b
    assert [r["layer"] for r in a["by_layer"]] == list(range(cfg.n_layers))
    for r in a["by_layer"]:
        assert r["spikes_per_channel_low"] <= r["spikes_per_channel"] <= r["spikes_per_channel_high"]
