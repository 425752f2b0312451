"""`energy-report hf DIR` and `profile_hf_directory` on real transformers models built and saved here.

A tiny encoder (BERT) and a tiny decoder (Llama) are created with random weights and a word-level
tokenizer, saved with ``save_pretrained`` and loaded back offline, exactly as a user's local directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

pytestmark = pytest.mark.torch

WORDS = "the a of to and in is it that spiking neurons energy model tokens hardware chip sparse event memory".split()


def _tokenizer() -> object:
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, **{w: i + 4 for i, w in enumerate(WORDS)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]")


@pytest.fixture
def hf_dirs(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    torch.manual_seed(0)
    common = dict(vocab_size=len(WORDS) + 4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=64, max_position_embeddings=64)
    models = {
        "bert": transformers.BertModel(transformers.BertConfig(**common)),
        "llama": transformers.LlamaForCausalLM(transformers.LlamaConfig(num_key_value_heads=2, **common)),
    }
    out = {}
    for name, model in models.items():
        folder = tmp_path / name
        model.eval().save_pretrained(folder)
        _tokenizer().save_pretrained(folder)
        out[name] = folder
    return out


def test_profile_encoder_and_decoder_directories(hf_dirs) -> None:
    from neurosim.analysis.model_loading import profile_hf_directory

    for name, n_linear in (("bert", 2 * 6 + 1), ("llama", 2 * 7 + 1)):  # per layer q k v o + ffn, + pooler/lm_head
        prof = profile_hf_directory(hf_dirs[name], profiles=("paper-45nm",), k=3.0)
        assert len(prof.layers) == n_linear, [lay.name for lay in prof.layers]
        assert 0.9 < prof.fidelity["cosine_similarity"] <= 1.0
        assert all(s["reason"] for s in prof.skipped)  # norms and embeddings listed with a reason
        records = [r for r in prof.energy if r["total_j"] is not None]
        assert {r["mode"] for r in records} == {"fp16-dense", "int8-dense", "w8aspike-gpu", "w8aspike-event"}


def test_hf_subcommand_writes_profile_report(hf_dirs, tmp_path, capsys) -> None:
    from neurosim.reports.cli import main

    out = tmp_path / "report"
    code = main(["hf", str(hf_dirs["llama"]), "--out", str(out), "--profiles", "paper-45nm,nvidia-h100"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema"] == "neurosim-model-profile"
    names = [rec["name"] for rec in summary["layers"]]
    assert "lm_head" in names and any(n.endswith("q_proj") for n in names)
    assert set(summary["fidelity"]) >= {"cosine_similarity", "relative_error"}
    assert (out / "index.html").exists() and "fidelity" in captured.out
