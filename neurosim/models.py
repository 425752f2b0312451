"""Model catalogue: the shape of a decoder-only language model (:class:`ModelConfig`) and the built-ins.

A :class:`ModelConfig` describes sizes, per-layer attention type and mixture-of-experts layout.
:mod:`neurosim.counts` turns one into per-token operation counts; :mod:`neurosim.hf_config` builds one
from a HuggingFace ``config.json``.

Layer types (``ModelConfig.layer_types``, one per layer)
-------------------------------------------------------
``"gla"``
    gated linear attention, recurrent state ``S_t = diag(exp(g_t)) S_{t-1} + k_t^T v_t``, ``o_t = q_t S_t``.
``"swa"``
    grouped-query softmax attention over the last ``window`` positions (RoPE).
``"full"``
    grouped-query softmax attention over the whole context.
``"gla+swa"``, ``"gla+full"``
    intra-layer parallel hybrid (SpikingBrain-76B): a GLA branch and a softmax branch on the same normed
    input, outputs summed; each branch has its own q/k/v/o projections.

Built-in configurations and where their numbers come from are in ``ModelConfig.source``; sizes
marked "estimate" are ours, chosen to reproduce published totals, not published values.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurosim.exceptions import ConfigError, unknown_name

__all__ = [
    "ATTENTION_TYPES",
    "ModelConfig",
    "get_model_config",
    "list_models",
]

#: Layer types the configurations and the layer simulator understand.
ATTENTION_TYPES: tuple[str, ...] = ("gla", "swa", "full", "gla+swa", "gla+full")

_GATE_TYPES = ("lowrank", "tied_key")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a decoder-only language model.

    Attributes
    ----------
    name, family : str
        Registry name (``"spikingbrain-7b"``) and architecture family (``"gla_swa"``, ``"qwen2"``...).
    n_layers, hidden, intermediate : int
        Decoder layers, model width and dense SwiGLU FFN width.
    n_heads, n_kv_heads, head_dim : int
        Query heads, key/value heads (grouped-query attention) and head size. GLA layers use the same
        head layout: k/v (and the gate) have ``n_kv_heads`` heads repeated to ``n_heads``.
    vocab : int
        Vocabulary size.
    layer_types : tuple of str
        Attention type per layer, one of :data:`ATTENTION_TYPES`.
    window : int or None
        Sliding window in tokens for ``"swa"`` layers (None when there are none).
    rms_eps, rope_theta : float
        RMSNorm epsilon and RoPE base.
    gla_gate_rank : int
        Rank of the low-rank GLA gate projection (``hidden -> rank -> n_kv_heads*head_dim``).
    gla_gate : str
        ``"lowrank"`` (SpikingBrain-7B public code) or ``"tied_key"`` (76B: gate derived from the key,
        no gate parameters).
    qkv_bias : bool
        Whether q/k/v projections carry a bias (Qwen-style); o_proj and FFN never do.
    tie_embeddings : bool
        Whether ``lm_head`` shares the embedding matrix.
    n_experts, experts_per_token, n_shared_experts, moe_intermediate : int
        Routed experts, experts used per token (top-k), shared experts and expert FFN width; 0 experts
        means a dense model.
    dense_ffn_layers : tuple of int
        0-based layers that keep a dense FFN in a MoE model.
    n_sink_tokens : int
        Learnable sink key/value positions every softmax query also attends to.
    source : str
        Where the numbers come from; says which are estimates.
    """

    name: str
    family: str
    n_layers: int
    hidden: int
    intermediate: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab: int
    layer_types: tuple[str, ...]
    window: int | None = None
    rms_eps: float = 1e-6
    rope_theta: float = 1e6
    gla_gate_rank: int = 16
    gla_gate: str = "lowrank"
    qkv_bias: bool = True
    tie_embeddings: bool = False
    n_experts: int = 0
    experts_per_token: int = 0
    n_shared_experts: int = 0
    moe_intermediate: int = 0
    dense_ffn_layers: tuple[int, ...] = ()
    n_sink_tokens: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        for f in ("n_layers", "hidden", "intermediate", "n_heads", "n_kv_heads", "head_dim", "vocab"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"model {self.name!r}: {f!r} must be a positive int (got {v!r})")
        if self.n_heads % self.n_kv_heads:
            raise ConfigError(
                f"model {self.name!r}: 'n_heads' ({self.n_heads}) must be a multiple of 'n_kv_heads' "
                f"({self.n_kv_heads})"
            )
        object.__setattr__(self, "layer_types", tuple(self.layer_types))
        object.__setattr__(self, "dense_ffn_layers", tuple(sorted(self.dense_ffn_layers)))
        if len(self.layer_types) != self.n_layers:
            raise ConfigError(
                f"model {self.name!r}: 'layer_types' must have n_layers={self.n_layers} entries "
                f"(got {len(self.layer_types)})"
            )
        for i, t in enumerate(self.layer_types):
            if t not in ATTENTION_TYPES:
                raise ConfigError(
                    f"model {self.name!r}: layer {i} has unknown type {t!r}; expected one of {ATTENTION_TYPES}"
                )
        if any("swa" in t for t in self.layer_types) and (self.window is None or self.window <= 0):
            raise ConfigError(f"model {self.name!r}: 'window' must be a positive int for SWA layers "
                              f"(got {self.window!r})")
        if self.gla_gate not in _GATE_TYPES:
            raise ConfigError(f"model {self.name!r}: 'gla_gate' must be one of {_GATE_TYPES} "
                              f"(got {self.gla_gate!r})")
        if self.n_experts:
            if not 0 < self.experts_per_token <= self.n_experts or self.moe_intermediate <= 0:
                raise ConfigError(
                    f"model {self.name!r}: MoE needs 0 < experts_per_token <= n_experts and "
                    f"moe_intermediate > 0 (got {self.experts_per_token}, {self.n_experts}, "
                    f"{self.moe_intermediate})"
                )
        bad = [i for i in self.dense_ffn_layers if not 0 <= i < self.n_layers]
        if bad:
            raise ConfigError(f"model {self.name!r}: 'dense_ffn_layers' out of range 0..{self.n_layers - 1}: {bad}")

    @property
    def q_dim(self) -> int:
        """Width of the query projection output, ``n_heads * head_dim``."""
        return self.n_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of the key (and value) projection output, ``n_kv_heads * head_dim``."""
        return self.n_kv_heads * self.head_dim

    def is_moe_layer(self, layer: int) -> bool:
        """True when ``layer`` (0-based) has a mixture-of-experts FFN."""
        return self.n_experts > 0 and layer not in self.dense_ffn_layers


# ---------------------------------------------------------------------------------------------
# Built-in configurations
# ---------------------------------------------------------------------------------------------
def _alternating(n_layers: int) -> tuple[str, ...]:
    # Public SpikingBrain-7B config: attn_layers (SWA) at odd 0-based indices, GLA at even ones.
    return tuple("swa" if i % 2 else "gla" for i in range(n_layers))


def _builtin() -> dict[str, ModelConfig]:
    cfgs = [
        ModelConfig(
            name="spikingbrain-7b", family="gla_swa", n_layers=28, hidden=3584, intermediate=18944,
            n_heads=28, n_kv_heads=4, head_dim=128, vocab=152064, layer_types=_alternating(28),
            window=4096, rms_eps=1e-6, rope_theta=1e6, gla_gate_rank=16, qkv_bias=True,
            tie_embeddings=False,
            source="public config of BICLab/SpikingBrain-7B (hf_7B_model, model_type gla_swa) and report "
                   "section 2.2: SWA (window 4096) at odd layers, GLA with rank-16 gate at even layers",
        ),
        ModelConfig(
            name="spikingbrain-76b", family="gla_swa_moe", n_layers=28, hidden=3584, intermediate=18944,
            n_heads=28, n_kv_heads=4, head_dim=128, vocab=152064,
            layer_types=tuple("gla+full" if i in (6, 13, 20, 27) else "gla+swa" for i in range(28)),
            window=4096, rms_eps=1e-6, rope_theta=1e6, gla_gate_rank=0, gla_gate="tied_key",
            qkv_bias=True, tie_embeddings=True, n_experts=16, experts_per_token=1, n_shared_experts=1,
            moe_intermediate=18944, dense_ffn_layers=(0, 1, 2, 4, 6, 8, 10), n_sink_tokens=128,
            source="report section 2.2 for the layout (28 layers; parallel LA+SWA, LA+full at layers "
                   "7/14/21/28; 128 sink tokens; gate tied to key; 16 routed top-1 + 1 shared expert; dense "
                   "FFN at layers 1,2,3,5,7,9,11, all 1-based). ESTIMATE: widths are not published; we assume "
                   "the Qwen2.5-7B widths (hidden 3584, experts upcycled from its 18944-wide FFN), separate "
                   "q/k/v/o per branch and tied embeddings, which reproduce ~76.3B total and ~12.2B active",
        ),
        ModelConfig(
            name="spikingbrain-1b", family="gla_swa", n_layers=16, hidden=2048, intermediate=8192,
            n_heads=32, n_kv_heads=8, head_dim=64, vocab=128256, layer_types=_alternating(16),
            window=4096, rms_eps=1e-5, rope_theta=5e5, gla_gate_rank=16, qkv_bias=False,
            tie_embeddings=True,
            source="ESTIMATE: SpikingBrain-1B-like linear GLA+SWA model sized like its Llama3.2-1B baseline "
                   "(report section 2.2 names the baseline only); GLA/SWA alternation and window 4096 copied "
                   "from SpikingBrain-7B; Llama has no q/k/v bias",
        ),
        ModelConfig(
            name="qwen2.5-7b", family="qwen2", n_layers=28, hidden=3584, intermediate=18944,
            n_heads=28, n_kv_heads=4, head_dim=128, vocab=152064, layer_types=("full",) * 28,
            window=None, rms_eps=1e-6, rope_theta=1e6, gla_gate_rank=0, qkv_bias=True,
            tie_embeddings=False,
            source="public Qwen/Qwen2.5-7B config.json (7.62B parameters)",
        ),
        ModelConfig(
            name="llama3.2-1b", family="llama", n_layers=16, hidden=2048, intermediate=8192,
            n_heads=32, n_kv_heads=8, head_dim=64, vocab=128256, layer_types=("full",) * 16,
            window=None, rms_eps=1e-5, rope_theta=5e5, gla_gate_rank=0, qkv_bias=False,
            tie_embeddings=True,
            source="public meta-llama/Llama-3.2-1B config.json (1.24B parameters)",
        ),
    ]
    return {c.name: c for c in cfgs}


_MODELS: dict[str, ModelConfig] = _builtin()


def list_models() -> list[str]:
    """Names of the built-in model configurations, sorted."""
    return sorted(_MODELS)


def get_model_config(name: str) -> ModelConfig:
    """Return the built-in configuration called ``name``.

    Raises
    ------
    NotFoundError
        For an unknown name; the message lists the known ones and near matches.
    """
    try:
        return _MODELS[name]
    except (KeyError, TypeError):
        raise unknown_name("model", str(name), _MODELS, hint="energy-report --list-models") from None
