"""Every input of issue 12 ends in a one-line typed error or a correct result, in bounded memory and time.

Memory refusals are checked against an explicit limit (``NEUROSIM_MEMORY_LIMIT``) so that the outcome does
not depend on the machine's free memory; each refused case must not have allocated what it refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import struct
import threading
import warnings

import numpy as np
from numpy.lib import format as npformat
import pytest

from ckpt_helpers import CONFIG_JSON, make_folder, tiny_config
from neurosim.budget import ENV_VAR, check_memory, memory_limit, parse_size
from neurosim.checkpoint import load_checkpoint, read_safetensors
from neurosim.coding import encode, encode_events
from neurosim.exceptions import (CheckpointError, CodingRangeError, ConfigError, InputError, ResourceLimitError,
                                 ShapeError)
from neurosim.init import init_params
from neurosim.reports.cli import main
from neurosim.validation import load_npy_rows


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> bool:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return len(lines) == 1 and "error:" in lines[0] and "bug" not in err and "Traceback" not in err


@pytest.fixture
def limit_1g(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "1G")


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    params = init_params(tiny_config(), rng=np.random.default_rng(3), std=0.1)
    return make_folder(tmp_path / "ckpt", params)


def finishes(fn, seconds: float = 60.0) -> BaseException | None:
    """Run ``fn`` in a thread; fail the test if it has not returned (a hang) after ``seconds``."""
    box: dict[str, BaseException | None] = {"exc": None}

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["exc"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "call did not return (blocked)"
    return box["exc"]


# ------------------------------------------------------------------------------------------ the budget


def test_parse_size_and_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_size("64G") == 64 * 2**30 and parse_size("512MiB") == 512 * 2**20 and parse_size("2e9") == 2 * 10**9
    assert parse_size("none") is None
    for bad in ("", "-1G", "lots", "0"):
        with pytest.raises(InputError):
            parse_size(bad)
    monkeypatch.setenv(ENV_VAR, "1M")
    assert memory_limit() == 2**20
    with pytest.raises(ResourceLimitError, match=r"would need about 2 MiB, above the memory limit of 1 MiB"):
        check_memory(2 * 2**20, "a test step")
    check_memory(2**20, "a test step")
    monkeypatch.setenv(ENV_VAR, "none")
    check_memory(10**30, "anything")
    monkeypatch.delenv(ENV_VAR)
    assert 0 < memory_limit() < 2**60  # a fraction of what the machine has


def test_bad_memory_limit_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "sweep-k", "--memory-limit", "lots")
    assert code == 2 and "--memory-limit" in err


# ------------------------------------------------------------------------------------------ CLI sizes


@pytest.mark.parametrize("tokens", ["10000000", str(10**30)])
def test_huge_tokens_refused_before_allocating(capsys, monkeypatch, tmp_path, tokens: str) -> None:
    monkeypatch.setenv(ENV_VAR, "8G")
    code, _, err = run_cli(capsys, "--tokens", tokens, "--out", str(tmp_path / "r"))
    assert code == 1 and one_line_error(err) and "memory limit" in err and f"{tokens} tokens" in err
    assert not (tmp_path / "r").exists()


def test_ternary_k1000_refused_before_simulating(capsys, tmp_path) -> None:
    # Vth = mean|x| / k makes every token's unary events (k + 1/2) * features at most: on SpikingBrain-7B
    # the FFN down projection's input alone (18944 channels, 32 tokens) needs 606 M events (9.6 GiB;
    # measured 606,207,646 when it ran). Refused before any layer is simulated.
    code, _, err = run_cli(capsys, "--coding", "ternary", "--k", "1000", "--memory-limit", "4G",
                           "--out", str(tmp_path / "r"), "--no-progress", "--profiles", "paper-45nm")
    assert code == 1 and one_line_error(err) and "ternary coding at k = 1000" in err and "memory limit" in err
    assert not (tmp_path / "r").exists()


def test_unary_event_bound_holds() -> None:
    from neurosim.adaptive import spike_counts
    from neurosim.budget import unary_events

    x = np.random.default_rng(1).standard_t(3, size=(16, 300))
    for k in (0.5, 3.0, 1000.0):
        counts, _ = spike_counts(x, k)
        assert np.abs(counts).sum() <= unary_events(k, 16, 300)


def test_token_events_budget_before_allocating(limit_1g) -> None:
    from neurosim.token_events import token_events

    counts = np.full((64, 4096), 5000, dtype=np.int64)  # 1.3 G unary events, 22 GB if materialised
    with pytest.raises(ResourceLimitError, match="spike events"):
        token_events(counts, "ternary")
    assert token_events(counts, "bidirectional").n_events > 0  # a bitwise code of the same counts fits


@pytest.mark.parametrize("key,value", [("hidden_size", 40_000_000), ("num_hidden_layers", 10**9)])
def test_absurd_config_sizes_refused(capsys, tmp_path, ckpt, monkeypatch, key: str, value: int) -> None:
    monkeypatch.setenv(ENV_VAR, "8G")
    cfg = dict(CONFIG_JSON)
    cfg[key] = value
    if key == "hidden_size":
        cfg["num_attention_heads"] = 4
    (ckpt / "config.json").write_text(json.dumps(cfg))
    code, _, err = run_cli(capsys, "--checkpoint", str(ckpt), "--out", str(tmp_path / "r"), "--no-progress")
    assert code == 1 and one_line_error(err) and "memory limit" in err


# ------------------------------------------------------------------------------------------ .npy inputs


def write_header_only(path: Path, shape: tuple[int, ...], data: bytes = b"", dtype: str = "<f4") -> Path:
    with open(path, "wb") as fh:
        npformat.write_array_header_1_0(fh, {"descr": dtype, "fortran_order": False, "shape": shape})
        fh.write(data)
    return path


def test_npy_header_claiming_terabytes_is_not_loaded(tmp_path: Path, capsys) -> None:
    f = write_header_only(tmp_path / "big.npy", (10**12, 64), b"\0" * 1024)
    with pytest.raises(InputError, match=r"truncated: its header claims shape \(1000000000000, 64\)"):
        load_npy_rows(f, max_rows=32)
    code, _, err = run_cli(capsys, "sweep-k", "--activations", str(f), "--out", str(tmp_path / "r"))
    assert code == 1 and one_line_error(err) and "truncated" in err


def test_sparse_npy_reads_only_the_rows_used(tmp_path: Path, limit_1g) -> None:
    # A 256 GB array (sparse on disk): only the first rows are read, within a 1 GiB limit.
    f = write_header_only(tmp_path / "sparse.npy", (10**9, 64))
    with open(f, "r+b") as fh:
        fh.truncate(os.path.getsize(f) + 10**9 * 64 * 4)
    rows = load_npy_rows(f, max_rows=32)
    assert rows.shape == (32, 64) and not rows.any()
    with pytest.raises(ResourceLimitError):
        load_npy_rows(f, max_rows=10**8)


def test_empty_npz_and_pickle_npy_are_typed(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    npz = tmp_path / "arch.npy"
    np.savez(tmp_path / "arch.npz", a=np.zeros((2, 3584)))
    os.replace(tmp_path / "arch.npz", npz)
    pick = tmp_path / "obj.npy"
    np.save(pick, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for f, words in ((empty, "0 bytes"), (npz, ".npz"), (pick, "objects")):
        code, _, err = run_cli(capsys, "sweep-k", "--activations", str(f), "--out", str(tmp_path / "r"))
        assert code == 1 and one_line_error(err) and words in err, err


def test_fifo_activations_do_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "acts.npy"
    os.mkfifo(fifo)
    exc = finishes(lambda: load_npy_rows(fifo, max_rows=4))
    assert isinstance(exc, InputError) and "FIFO" in str(exc)


def test_large_float_activations_fail_early_and_typed(tmp_path: Path, capsys) -> None:
    f = tmp_path / "big.npy"
    np.save(f, np.full((4, 3584), 1e38, dtype=np.float32))
    code, _, err = run_cli(capsys, "sweep-k", "--activations", str(f), "--out", str(tmp_path / "r"))
    assert code == 1 and one_line_error(err)


# ------------------------------------------------------------------------------------------ coders


def test_unary_coders_on_huge_counts(limit_1g) -> None:
    for fn in (encode, encode_events):
        with pytest.raises(ResourceLimitError, match="memory limit"):
            fn([300_000_000], "binary")
        with pytest.raises(CodingRangeError, match="time steps"):
            fn([2**40], "ternary")
    assert encode([5], "binary").shape == (5, 1)  # small counts still work under the same limit


# ------------------------------------------------------------------------------------------ checkpoints


def _raw_safetensors(path: Path, entries: dict[str, dict], data: bytes) -> Path:
    h = json.dumps(entries).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)
    return path


@pytest.mark.parametrize("entries,data,match", [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12, "overlaps"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12, "hole"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 12, "trailing"),
    ({"a": {"dtype": "F32", "shape": [True, 64], "data_offsets": [0, 256]}}, b"\0" * 256, "shape must be"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8.0]}}, b"\0" * 8, "data_offsets two integers"),
])
def test_safetensors_spec_violations(tmp_path: Path, entries: dict, data: bytes, match: str) -> None:
    f = _raw_safetensors(tmp_path / "m.safetensors", entries, data)
    with pytest.raises(CheckpointError, match=match):
        read_safetensors(f)


def test_header_errors_never_echo_file_contents(tmp_path: Path) -> None:
    f = tmp_path / "model.safetensors"
    secret = b"root:x:0:0:root:/root:/bin/bash\n" * 4
    f.write_bytes(secret)
    with pytest.raises(CheckpointError) as info:
        read_safetensors(f)
    msg = str(info.value)
    assert str(int.from_bytes(secret[:8], "little")) not in msg and "root" not in msg.replace(str(f), "")


@pytest.mark.parametrize("target", ["../../other/model.safetensors", "/etc/passwd", "../outside.safetensors"])
def test_shard_index_must_stay_inside_the_folder(tmp_path: Path, ckpt: Path, target: str) -> None:
    (tmp_path / "outside.safetensors").write_bytes((ckpt / "model.safetensors").read_bytes())
    (ckpt / "model.safetensors").unlink()
    (ckpt / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"model.norm.weight": target}}))
    with pytest.raises(CheckpointError, match="inside the checkpoint folder"):
        load_checkpoint(ckpt)


def test_shard_index_pointing_at_a_fifo_does_not_hang(ckpt: Path) -> None:
    os.mkfifo(ckpt / "shard.safetensors")
    (ckpt / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"model.norm.weight": "shard.safetensors"}}))
    exc = finishes(lambda: load_checkpoint(ckpt))
    assert isinstance(exc, CheckpointError) and "FIFO" in str(exc)


def test_checkpoint_reads_only_tensors_looked_up(ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import neurosim.checkpoint as mod

    read: list[tuple[int, ...]] = []
    real = mod._read_entry
    monkeypatch.setattr(mod, "_read_entry", lambda f, e: read.append(e.shape) or real(f, e))
    ck = load_checkpoint(ckpt)
    assert read == [] and len(ck.params) > 10
    w = ck.params["model.norm.weight"]
    assert read == [(64,)] and w.dtype == np.float32 and w.flags.owndata


def test_bf16_widening_is_exact_and_chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import neurosim.checkpoint as mod

    monkeypatch.setattr(mod, "_CHUNK", 64)  # many chunks for a small tensor
    bits = np.random.default_rng(0).integers(0, 2**16, size=(7, 33), dtype=np.uint16)
    bits[(bits & 0x7F80) == 0x7F80] = 0x3F80  # no NaN/inf patterns: compare values exactly
    f = _raw_safetensors(tmp_path / "b.safetensors",
                         {"w": {"dtype": "BF16", "shape": [7, 33], "data_offsets": [0, bits.nbytes]}},
                         bits.astype("<u2").tobytes())
    got = read_safetensors(f)["w"]
    np.testing.assert_array_equal(got.view(np.uint32), bits.astype(np.uint32) << 16)


def test_checkpoint_and_config_paths(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "--checkpoint", "", "--out", str(tmp_path / "r"))
    assert code == 2 and "--checkpoint" in err
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(CheckpointError, match="not a folder"):
        load_checkpoint(f)


# ------------------------------------------------------------------------------------------ typed errors


@pytest.mark.parametrize("argv,words", [
    (("--seed", "-1"), "--seed"),
    (("--profiles", ","), "--profiles"),
    (("--layers", "0,0"), "--layers"),
])
def test_parse_time_rejections(capsys, tmp_path: Path, argv: tuple[str, ...], words: str) -> None:
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path / "r"))
    assert code == 2 and words in err and "looks like a bug" not in err


def test_memory_error_is_one_line(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from neurosim.reports import jobs

    def boom(command, args):
        raise MemoryError

    monkeypatch.setattr(jobs, "dispatch", boom)
    code, _, err = run_cli(capsys, "sweep-k", "--out", str(tmp_path / "r"))
    assert code == 1 and one_line_error(err) and "out of memory" in err


def test_load_profile_on_folder_and_non_utf8(tmp_path: Path) -> None:
    from neurosim.energy.profiles import load_profile

    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe name = 'x'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_profile(bad)
    with pytest.raises(ConfigError, match="folder"):
        load_profile(tmp_path)


@pytest.mark.parametrize("tiny", [5e-324, 1e-310, 1e-320])
def test_quantize_subnormal_weights(tiny: float) -> None:
    from neurosim.quant import quantize_weight

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="too small to quantise"):
            quantize_weight(np.full((2, 4), tiny))
        q = quantize_weight(np.array([[1e-300, 1.0]]))  # a normal scale still works
    assert q.q.tolist() == [[0, 127]]


def test_lif_threshold_checked_in_computation_dtype() -> None:
    from neurosim.lif import LIFParameters, simulate_lif

    with pytest.raises(InputError, match="float32"):
        simulate_lif(np.ones((3, 2)), LIFParameters(threshold=1e39))
    r = simulate_lif(np.ones((3, 2)), LIFParameters(threshold=1e39, convention="report"))  # float64: fine
    assert not r.spikes.any()


def test_no_runtime_warning_reaches_stderr(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from neurosim.reports import jobs

    def noisy(command, args):
        np.log(np.zeros(1))  # divide-by-zero RuntimeWarning
        return 0

    monkeypatch.setattr(jobs, "dispatch", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        code, _, err = run_cli(capsys, "sweep-k", "--out", str(tmp_path / "r"))
    assert code == 0 and "RuntimeWarning" not in err


def test_devices_and_wrong_ranks_are_typed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="device"):
        load_npy_rows(os.devnull, max_rows=1)
    np.save(tmp_path / "scalar.npy", np.float32(1.0))
    np.save(tmp_path / "four.npy", np.zeros((1, 1, 1, 4), dtype=np.float32))
    for name in ("scalar.npy", "four.npy"):
        with pytest.raises(ShapeError):
            load_npy_rows(tmp_path / name, max_rows=1, ndims=(2, 3))


# ------------------------------------------------------------------------------------------ torch / hf loading


def test_factory_needing_arguments_is_typed(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from neurosim.analysis.model_loading import load_factory

    f = tmp_path / "fac.py"
    f.write_text("def make(width, *, depth):\n    raise AssertionError('must not be called')\n")
    with pytest.raises(InputError, match="needs argument.*width, depth"):
        load_factory(f"{f}:make")


def test_hf_on_a_file_says_not_a_directory(tmp_path: Path, capsys) -> None:
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    code, _, err = run_cli(capsys, "hf", str(f), "--out", str(tmp_path / "r"))
    assert code == 1 and one_line_error(err) and "not a directory" in err


def test_hf_reads_pickles_only_when_allowed(tmp_path: Path) -> None:
    from neurosim.analysis.model_loading import load_hf_directory

    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (d / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(InputError, match="--allow-pickle"):
        load_hf_directory(d)


def test_hf_on_a_spikingbrain_checkpoint_points_to_checkpoint(ckpt: Path) -> None:
    pytest.importorskip("transformers")
    from neurosim.analysis.model_loading import load_hf_directory

    with pytest.raises(InputError, match="--checkpoint"):
        load_hf_directory(ckpt)


def test_hf_pickle_rejected_by_torch_unpickler_is_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from neurosim.analysis.model_loading import load_hf_directory

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    d = tmp_path / "bert"
    cfg = transformers.BertConfig(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=16, max_position_embeddings=16)
    transformers.BertModel(cfg).save_pretrained(d, safe_serialization=False)
    for f in d.glob("*.safetensors"):
        f.unlink()
    torch.save({"evil": os.getcwd}, d / "pytorch_model.bin")  # a global the weights-only unpickler refuses
    with pytest.raises(InputError, match="cannot load the model") as info:
        load_hf_directory(d, allow_pickle=True)
    assert "getcwd" in str(info.value) or "pickl" in str(info.value).lower()


def test_default_job_rejects_uncountable_activations_before_simulating(tmp_path: Path, capsys,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from neurosim.reports import pipeline

    def never(*args, **kwargs):
        raise AssertionError("the simulation ran before the activations were checked")

    monkeypatch.setattr(pipeline, "simulate_layers", never)
    f = tmp_path / "big.npy"
    np.save(f, np.full((4, 3584), 1e38, dtype=np.float32))
    code, _, err = run_cli(capsys, "--activations", str(f), "--out", str(tmp_path / "r"), "--no-progress")
    assert code == 1 and one_line_error(err) and "beyond int64" in err


def test_raster_k1000_finishes_with_bounded_ticks(tmp_path: Path, capsys) -> None:
    # k = 1000 gives counts in the thousands: a unary train of thousands of steps. The raster labels at
    # most a dozen time steps (it used to draw one tick per step and never finish).
    from neurosim.analysis.plots import plot_raster

    code, _, err = run_cli(capsys, "raster", "--k", "1000", "--tokens", "2", "--neurons", "16",
                           "--out", str(tmp_path / "r"), "--no-progress", "--profiles", "paper-45nm")
    assert code == 0, err
    assert (tmp_path / "r" / "raster.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = plot_raster(np.array([3000, -2500, 0, 17]), "ternary")
    assert len(ax.get_xticks()) <= 13
