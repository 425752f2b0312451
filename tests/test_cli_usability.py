"""CLI usability (issue 15 item 10): the factory advice works, transformers' progress bars stay silent,
skipped modules are all named."""

from __future__ import annotations

import sys

import pytest

from neurosim.reports.profile_report import format_skipped


def test_factory_module_found_in_current_directory(tmp_path, monkeypatch) -> None:
    pytest.importorskip("torch")
    from neurosim.analysis.model_loading import load_factory

    (tmp_path / "snnnet_cwd_probe.py").write_text(
        "import torch\n\ndef build():\n    return torch.nn.Linear(3, 2), torch.zeros(1, 3)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "snnnet_cwd_probe", raising=False)
    path_before = list(sys.path)
    model, inputs = load_factory("snnnet_cwd_probe:build")
    assert model.in_features == 3 and tuple(inputs.shape) == (1, 3)
    assert sys.path == path_before  # the current directory is searched, not left on sys.path
    sys.modules.pop("snnnet_cwd_probe", None)


def test_transformers_progress_bars_silenced_while_loading(tmp_path, monkeypatch) -> None:
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from neurosim.analysis import model_loading

    cfg = transformers.BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=16, max_position_embeddings=16)
    cfg.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")  # present for the weights policy; loading is faked
    seen: list[bool] = []

    def fake_load(*args, **kwargs):
        seen.append(transformers.utils.logging.is_progress_bar_enabled())
        return object()

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", fake_load)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake_load)
    transformers.utils.logging.enable_progress_bar()
    model_loading.load_hf_directory(tmp_path)
    assert seen == [False, False]
    assert transformers.utils.logging.is_progress_bar_enabled()  # the caller's setting is restored


def test_skipped_modules_all_named_or_counted() -> None:
    skipped = [{"name": f"layers.{i}.norm", "kind": "LayerNorm", "reason": "normalisation"} for i in range(16)]
    skipped += [{"name": "embed", "kind": "Embedding", "reason": "table lookup"}]
    text = format_skipped(skipped, max_names=12)
    assert "skipped 17 module(s)" in text
    assert all(f"layers.{i}.norm" in text for i in range(12)) and "and 4 more" in text
    assert "embed" in text
    full = format_skipped(skipped, max_names=100)
    assert all(s["name"] in full for s in skipped)
