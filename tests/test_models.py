"""Model configurations and analytical counts against published totals and hand counts."""

from __future__ import annotations

import json

import pytest

from neurosim.exceptions import ConfigError, InputError, NotFoundError
from neurosim.counts import analytical_counts, prefill_flops
from neurosim.hf_config import config_from_hf
from neurosim.models import ModelConfig, get_model_config, list_models

# Published parameter totals (model cards / report section 2.2), in parameters.
PUBLISHED_TOTALS = {"qwen2.5-7b": 7.62e9, "llama3.2-1b": 1.24e9, "spikingbrain-76b": 76e9}


def test_list_models_has_builtins() -> None:
    names = list_models()
    assert names == sorted(names)
    for n in ("spikingbrain-7b", "spikingbrain-76b", "spikingbrain-1b", "qwen2.5-7b", "llama3.2-1b"):
        assert n in names
        assert get_model_config(n).source


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_parameter_totals_within_5_percent(name: str) -> None:
    counts = analytical_counts(get_model_config(name), context_length=1)
    assert counts.parameters == pytest.approx(PUBLISHED_TOTALS[name], rel=0.05)


def test_76b_active_parameters_about_12b() -> None:
    counts = analytical_counts(get_model_config("spikingbrain-76b"), context_length=1)
    assert counts.active_parameters == pytest.approx(12e9, rel=0.05)
    # the report: about 15% of parameters active per token
    assert counts.active_parameters / counts.parameters == pytest.approx(0.15, abs=0.02)


def test_7b_is_qwen_plus_gla_gate_parameters() -> None:
    sb = get_model_config("spikingbrain-7b")
    qw = get_model_config("qwen2.5-7b")
    n_gla = sum(t == "gla" for t in sb.layer_types)
    assert n_gla == 14
    gate = sb.hidden * sb.gla_gate_rank + sb.gla_gate_rank * sb.kv_dim + sb.kv_dim  # gk_proj.0, .1 (+bias)
    g_norm = sb.head_dim
    diff = analytical_counts(sb, context_length=1).parameters - analytical_counts(qw, context_length=1).parameters
    assert diff == n_gla * (gate + g_norm)


def test_7b_layer_layout() -> None:
    cfg = get_model_config("spikingbrain-7b")
    assert cfg.layer_types[1::2] == ("swa",) * 14
    assert cfg.layer_types[0::2] == ("gla",) * 14
    names = {p.name for p in analytical_counts(cfg, context_length=1).projections if p.layer == 0}
    assert {"gla.q_proj", "gla.gk_proj.0", "gla.gk_proj.1", "gla.o_proj", "mlp.down_proj"} <= names


def test_76b_layout() -> None:
    cfg = get_model_config("spikingbrain-76b")
    full = [i + 1 for i, t in enumerate(cfg.layer_types) if t == "gla+full"]
    assert full == [7, 14, 21, 28]
    dense = [i + 1 for i in range(cfg.n_layers) if not cfg.is_moe_layer(i)]
    assert dense == [1, 2, 3, 5, 7, 9, 11]
    assert "ESTIMATE" in cfg.source
    counts = analytical_counts(cfg, context_length=1)
    routed = [p for p in counts.projections if p.name == "moe.expert.up_proj"]
    assert len(routed) == 21 and all(p.calls_per_token == 1 and p.instances == 16 for p in routed)


def test_macs_per_token_hand_count_qwen() -> None:
    cfg = get_model_config("qwen2.5-7b")
    h, i, kv, v = 3584, 18944, 512, 152064
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * i
    counts = analytical_counts(cfg, context_length=1000)
    assert counts.projection_macs_per_token == 28 * per_layer + h * v
    assert counts.attention_macs_per_token == 28 * 2 * 28 * 128 * 1000
    assert counts.total_macs_per_token == counts.projection_macs_per_token + counts.attention_macs_per_token
    kinds = counts.macs_by_kind
    assert kinds["lm_head"] == h * v and kinds["attention_core"] == counts.attention_macs_per_token


def test_attention_macs_scaling_with_context() -> None:
    sb = get_model_config("spikingbrain-7b")
    qw = get_model_config("qwen2.5-7b")
    a = {L: analytical_counts(sb, context_length=L).attention_macs for L in (1000, 4096, 8192, 65536)}
    for layer in (0, 2):  # GLA: constant
        assert a[1000][layer] == a[65536][layer] == 3 * 28 * 128 * 128
    # SWA: linear up to the window, constant beyond
    assert a[4096][1] == a[8192][1] == a[65536][1] == 2 * 28 * 128 * 4096
    assert a[1000][1] == 2 * 28 * 128 * 1000
    q1 = analytical_counts(qw, context_length=8192).attention_macs[0]
    q2 = analytical_counts(qw, context_length=16384).attention_macs[0]
    assert q2 == pytest.approx(2 * q1)


def test_state_bytes() -> None:
    sb = analytical_counts(get_model_config("spikingbrain-7b"), context_length=100_000)
    assert sb.state_bytes_per_token[0] == 0 and sb.state_bytes_per_token[1] == 2 * 512 * 2
    assert sb.fixed_state_bytes[0] == 28 * 128 * 128 * 2
    expected = 14 * 2 * 512 * 2 * 4096 + 14 * 28 * 128 * 128 * 2
    assert sb.state_bytes == expected
    qw = analytical_counts(get_model_config("qwen2.5-7b"), context_length=100_000)
    assert qw.state_bytes == 28 * 2 * 512 * 2 * 100_000


def test_spiked_flags() -> None:
    counts = analytical_counts(get_model_config("spikingbrain-76b"), context_length=10)
    assert all(p.spiked for p in counts.projections if p.kind != "lm_head")
    head = [p for p in counts.projections if p.kind == "lm_head"]
    assert len(head) == 1 and not head[0].spiked
    assert counts.spiked_macs_per_token == counts.projection_macs_per_token - head[0].macs_per_token


def test_prefill_flops_sums_positions() -> None:
    cfg = get_model_config("qwen2.5-7b")
    L = 10
    proj = analytical_counts(cfg, context_length=1).projection_macs_per_token
    attn = sum(analytical_counts(cfg, context_length=t).attention_macs_per_token for t in range(1, L + 1))
    assert prefill_flops(cfg, L) == pytest.approx(2 * (L * proj + attn))
    sb = get_model_config("spikingbrain-7b")
    L = 5000  # beyond the window: per-position SWA cost caps at 4096
    swa = sum(min(t, 4096) for t in range(1, L + 1)) * 2 * 28 * 128 * 14
    gla = L * 3 * 28 * 128 * 128 * 14
    proj = analytical_counts(sb, context_length=1).projection_macs_per_token
    assert prefill_flops(sb, L) == pytest.approx(2 * (L * proj + swa + gla))


def test_unknown_model() -> None:
    with pytest.raises(NotFoundError, match="spikingbrain-7b.*--list-models"):
        get_model_config("spikingbrain-7B")


def test_bad_context() -> None:
    cfg = get_model_config("qwen2.5-7b")
    with pytest.raises(InputError, match="'context_length' must be an int >= 1"):
        analytical_counts(cfg, context_length=0)
    with pytest.raises(InputError, match="ModelConfig"):
        analytical_counts("qwen2.5-7b", context_length=1)  # type: ignore[arg-type]


def test_bad_config_values() -> None:
    base = dict(name="x", family="f", n_layers=2, hidden=8, intermediate=16, n_heads=2, n_kv_heads=1,
                head_dim=4, vocab=10)
    with pytest.raises(ConfigError, match="unknown type 'mamba'"):
        ModelConfig(**base, layer_types=("gla", "mamba"))
    with pytest.raises(ConfigError, match="'layer_types' must have n_layers=2"):
        ModelConfig(**base, layer_types=("gla",))
    with pytest.raises(ConfigError, match="'window' must be a positive int"):
        ModelConfig(**base, layer_types=("gla", "swa"))
    with pytest.raises(ConfigError, match="'hidden' must be a positive int"):
        ModelConfig(**{**base, "hidden": 0}, layer_types=("gla", "gla"))


def _hf_dict() -> dict:
    return {"model_type": "gla_swa", "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
            "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064, "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0, "sliding_window": 4096, "attn_layers": list(range(1, 28, 2)),
            "tie_word_embeddings": False}


def test_config_from_hf_matches_builtin(tmp_path) -> None:
    p = tmp_path / "config.json"
    p.write_text(json.dumps(_hf_dict()))
    cfg = config_from_hf(tmp_path)
    ref = get_model_config("spikingbrain-7b")
    for f in ("n_layers", "hidden", "intermediate", "n_heads", "n_kv_heads", "head_dim", "vocab",
              "layer_types", "window", "gla_gate_rank", "tie_embeddings", "qkv_bias"):
        assert getattr(cfg, f) == getattr(ref, f), f
    assert analytical_counts(cfg, context_length=5).parameters == analytical_counts(ref, context_length=5).parameters


def test_config_from_hf_errors(tmp_path) -> None:
    d = _hf_dict()
    del d["attn_layers"]
    with pytest.raises(ConfigError, match="missing required key 'attn_layers'"):
        config_from_hf(d)
    p = tmp_path / "config.json"
    p.write_text("{not json")
    with pytest.raises(ConfigError, match=r"config\.json: invalid JSON"):
        config_from_hf(p)
    with pytest.raises(ConfigError, match="cannot read config"):
        config_from_hf(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="'model_type' must be one of"):
        config_from_hf({**_hf_dict(), "model_type": "mamba"})
    with pytest.raises(ConfigError, match="'hidden_size' must be"):
        config_from_hf({**_hf_dict(), "hidden_size": "big"})
    with pytest.raises(ConfigError, match="'attn_layers' must list layer indices"):
        config_from_hf({**_hf_dict(), "attn_layers": [1, 99]})
