"""Model configurations and analytical operation counts (no weights needed).

A :class:`ModelConfig` describes the shape of a decoder-only language model: sizes, per-layer attention
type and mixture-of-experts layout. :func:`analytical_counts` turns it into a :class:`ModelCounts`:
every linear projection with its size and calls per token (:class:`ProjectionSpec`), the
activation-by-activation multiply-accumulates inside attention, parameter totals and the size of the
attention state. Energy and report code multiply these counts by per-operation costs; they never
re-derive them.

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

Counting conventions
--------------------
* Projection MACs per token = ``in_features x out_features x calls_per_token`` summed over projections.
  Routed experts are listed once per role (``moe.expert.gate_proj`` ...) with ``calls_per_token =
  experts_per_token`` (the active copies) and ``instances = n_experts`` (the stored copies).
* Attention MACs are activation-by-activation products that W8ASpike does **not** spike-code (both
  operands are activations), counted as MACs per token at position ``context_length``:
  softmax attention ``2 x n_heads x head_dim x n_keys`` (``q.k`` and ``p.v``), with
  ``n_keys = min(context, window) + n_sink_tokens`` for SWA and ``context + n_sink_tokens`` for full;
  GLA ``3 x n_heads x d_k x d_v`` (decay of the state, outer product ``k^T v`` added in, readout
  ``q S``), independent of context. Softmax, exp, RoPE, norms and gates are elementwise and not counted.
  With ``batch_prefill=True`` the softmax figure is averaged over the positions ``1..context_length``
  of a prompt (what one prompt token costs on average during prefill).
* Attention state in bytes assumes **bfloat16** (2 bytes) for the KV cache and for the GLA state
  (:data:`STATE_BYTES_PER_VALUE`); fla kernels keep the recurrent state in float32, which doubles the
  GLA figure; the KV cache is what grows with context and is bf16 in the public checkpoints.
* Spiking (``ProjectionSpec.spiked``): per the report, W8ASpike spike-codes the input of every linear
  projection (q/k/v/o, GLA gate, FFN gate/up/down, router). The public W8ASpike code differs in one place:
  ``GLU.forward`` feeds ``down_proj`` through ``swiglu_linear`` with the un-spiked ``swish(gate)*up`` and
  the raw weight, so in the released code the MLP ``down_proj`` input is *not* spike coded. We follow the
  report and flag the difference here. The ``lm_head`` is left in floating point (``spiked=False``).

Built-in configurations and where their numbers come from are in ``ModelConfig.source``; sizes
marked "estimate" are ours, chosen to reproduce published totals, not published values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
from types import MappingProxyType
from typing import Any

from neurosim.exceptions import ConfigError, InputError, unknown_name

__all__ = [
    "ATTENTION_TYPES",
    "STATE_BYTES_PER_VALUE",
    "ModelConfig",
    "ModelCounts",
    "ProjectionSpec",
    "analytical_counts",
    "config_from_hf",
    "get_model_config",
    "layer_attention_macs",
    "layer_projections",
    "list_models",
    "prefill_flops",
]

#: Layer types the configurations and the layer simulator understand.
ATTENTION_TYPES: tuple[str, ...] = ("gla", "swa", "full", "gla+swa", "gla+full")

#: Bytes per stored value of the attention state (KV cache, GLA state): bfloat16.
STATE_BYTES_PER_VALUE: int = 2

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


@dataclass(frozen=True)
class ProjectionSpec:
    """One linear projection of a model, as counted per token.

    Attributes
    ----------
    layer : int
        0-based decoder layer; -1 for the ``lm_head``.
    name : str
        Role within the layer: ``"gla.q_proj"``, ``"swa.o_proj"``, ``"full.k_proj"``, ``"gla.gk_proj.0"``,
        ``"mlp.gate_proj"``, ``"moe.router"``, ``"moe.expert.up_proj"``, ``"moe.shared.down_proj"``,
        ``"lm_head"``.
    kind : str
        ``"attention"``, ``"ffn"``, ``"moe"``, ``"router"`` or ``"lm_head"``.
    in_features, out_features : int
        Weight shape is ``[out_features, in_features]``.
    calls_per_token : float
        How many times per token it runs (routed experts: ``experts_per_token``).
    spiked : bool
        Whether its input is spike coded under W8ASpike as the report states (see module docstring for
        where the public code differs).
    bias : bool
        Whether the projection has a bias vector.
    instances : int
        Stored copies of this weight (``n_experts`` for a routed expert role, else 1).
    """

    layer: int
    name: str
    kind: str
    in_features: int
    out_features: int
    calls_per_token: float = 1.0
    spiked: bool = True
    bias: bool = False
    instances: int = 1

    @property
    def macs_per_token(self) -> float:
        """Dense multiply-accumulates per token: ``in x out x calls_per_token``."""
        return self.in_features * self.out_features * self.calls_per_token

    @property
    def parameters(self) -> int:
        """Stored parameters: weights and bias of every instance."""
        return self.instances * (self.in_features * self.out_features + (self.out_features if self.bias else 0))

    @property
    def active_parameters(self) -> float:
        """Parameters used per token (``calls_per_token`` copies, at most ``instances``)."""
        per = self.in_features * self.out_features + (self.out_features if self.bias else 0)
        return per * min(self.calls_per_token, self.instances) if self.instances > 1 else per


@dataclass(frozen=True)
class ModelCounts:
    """Analytical per-token counts of a model at one context length (see module docstring).

    Attributes
    ----------
    config : ModelConfig
    context_length : int
        Tokens in the context (the KV length a decoded token attends to).
    batch_prefill : bool
        Whether attention MACs are averaged over prompt positions ``1..context_length``.
    projections : tuple of ProjectionSpec
        Every projection of every layer, then the ``lm_head`` (layer -1, kind ``"lm_head"``).
    attention_macs : Mapping[int, float]
        Per layer: activation-by-activation MACs per token (not spike coded).
    parameters, active_parameters : int
        Total stored parameters, and those used per token (routed experts counted ``experts_per_token``
        times; embedding table included in both, as is usual for MoE totals).
    state_bytes_per_token : Mapping[int, float]
        Per layer: KV-cache bytes added per cached token (0 for a pure GLA layer), bf16.
    fixed_state_bytes : Mapping[int, float]
        Per layer: context-independent state bytes (GLA state ``n_heads*d_k*d_v``, sink KV), bf16.
    """

    config: ModelConfig
    context_length: int
    batch_prefill: bool
    projections: tuple[ProjectionSpec, ...]
    attention_macs: Mapping[int, float]
    parameters: int
    active_parameters: int
    state_bytes_per_token: Mapping[int, float]
    fixed_state_bytes: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in ("attention_macs", "state_bytes_per_token", "fixed_state_bytes"):
            object.__setattr__(self, f, MappingProxyType(dict(getattr(self, f))))

    @property
    def projection_macs_per_token(self) -> float:
        """Dense MACs of all linear projections (lm_head included) per token."""
        return float(sum(p.macs_per_token for p in self.projections))

    @property
    def spiked_macs_per_token(self) -> float:
        """MACs per token of projections whose input is spike coded."""
        return float(sum(p.macs_per_token for p in self.projections if p.spiked))

    @property
    def attention_macs_per_token(self) -> float:
        """Activation-by-activation attention MACs per token, all layers."""
        return float(sum(self.attention_macs.values()))

    @property
    def total_macs_per_token(self) -> float:
        """Projection plus attention MACs per token."""
        return self.projection_macs_per_token + self.attention_macs_per_token

    @property
    def macs_by_kind(self) -> dict[str, float]:
        """MACs per token by projection kind, plus ``"attention_core"`` for the attention MACs."""
        out: dict[str, float] = {}
        for p in self.projections:
            out[p.kind] = out.get(p.kind, 0.0) + p.macs_per_token
        out["attention_core"] = self.attention_macs_per_token
        return out

    @property
    def state_bytes(self) -> float:
        """Attention state held at ``context_length`` (KV cache capped by the window, plus GLA state), bytes."""
        total = 0.0
        for layer, per_tok in self.state_bytes_per_token.items():
            t = self.config.layer_types[layer]
            cached = min(self.context_length, self.config.window) if "swa" in t else self.context_length
            total += per_tok * cached
        return total + float(sum(self.fixed_state_bytes.values()))


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


# ---------------------------------------------------------------------------------------------
# HuggingFace config.json
# ---------------------------------------------------------------------------------------------
_HF_FAMILIES = ("gla_swa", "qwen2", "llama")


def _hf_get(cfg: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if key not in cfg:
        if default is ...:
            raise ConfigError(f"{where}: missing required key {key!r}")
        return default
    v = cfg[key]
    if isinstance(v, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(f"{where}: key {key!r} must be {kind} (got {v!r})")
    if not isinstance(v, kind):
        raise ConfigError(f"{where}: key {key!r} must be {kind} (got {type(v).__name__} {v!r})")
    return v


def config_from_hf(config_json: Mapping[str, Any] | str | os.PathLike[str], *, name: str | None = None) -> ModelConfig:
    """Build a :class:`ModelConfig` from a HuggingFace ``config.json``.

    Parameters
    ----------
    config_json : dict or path
        The parsed JSON or the path of ``config.json`` (or of the folder holding it).
        ``model_type`` ``"gla_swa"`` (public SpikingBrain-7B), ``"qwen2"`` or ``"llama"``.
        For ``gla_swa``: ``attn_layers`` lists the 0-based SWA layers (the others are GLA),
        ``sliding_window`` (default 4096) and ``gate_low_rank_dim`` (default 16) are optional.
    name : str, optional
        Name for the configuration (default ``"<model_type>-from-config"``).

    Raises
    ------
    ConfigError
        Unreadable file, bad JSON, missing or mistyped key; the message names the file and key.
    """
    if isinstance(config_json, Mapping):
        cfg, where = config_json, "config.json (dict)"
    else:
        path = Path(config_json)
        if path.is_dir():
            path = path / "config.json"
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read config ({exc.strerror or exc})") from None
        try:
            cfg = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(cfg, dict):
            raise ConfigError(f"{where}: top level must be a JSON object (got {type(cfg).__name__})")
    mtype = _hf_get(cfg, "model_type", where, str)
    if mtype not in _HF_FAMILIES:
        raise ConfigError(f"{where}: key 'model_type' must be one of {_HF_FAMILIES} (got {mtype!r})")
    hidden = _hf_get(cfg, "hidden_size", where, int)
    n_layers = _hf_get(cfg, "num_hidden_layers", where, int)
    n_heads = _hf_get(cfg, "num_attention_heads", where, int)
    n_kv = _hf_get(cfg, "num_key_value_heads", where, int, n_heads)
    if n_heads <= 0 or hidden % n_heads:
        raise ConfigError(f"{where}: key 'hidden_size' ({hidden}) must be a multiple of "
                          f"'num_attention_heads' ({n_heads})")
    head_dim = _hf_get(cfg, "head_dim", where, int, hidden // n_heads)
    window: int | None = None
    gate_rank = 0
    if mtype == "gla_swa":
        attn_layers = _hf_get(cfg, "attn_layers", where, list)
        if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_layers for i in attn_layers):
            raise ConfigError(f"{where}: key 'attn_layers' must list layer indices in 0..{n_layers - 1} "
                              f"(got {attn_layers!r})")
        layer_types = tuple("swa" if i in attn_layers else "gla" for i in range(n_layers))
        window = _hf_get(cfg, "sliding_window", where, int, 4096)
        gate_rank = _hf_get(cfg, "gate_low_rank_dim", where, int, 16)
        qkv_bias = _hf_get(cfg, "attention_bias", where, bool, True)
    else:
        layer_types = ("full",) * n_layers
        qkv_bias = mtype == "qwen2" or bool(_hf_get(cfg, "attention_bias", where, bool, False))
    try:
        return ModelConfig(
            name=name or f"{mtype}-from-config", family=mtype, n_layers=n_layers, hidden=hidden,
            intermediate=_hf_get(cfg, "intermediate_size", where, int),
            n_heads=n_heads, n_kv_heads=n_kv, head_dim=head_dim,
            vocab=_hf_get(cfg, "vocab_size", where, int), layer_types=layer_types, window=window,
            rms_eps=float(_hf_get(cfg, "rms_norm_eps", where, (int, float), 1e-6)),
            rope_theta=float(_hf_get(cfg, "rope_theta", where, (int, float), 1e6)),
            gla_gate_rank=gate_rank, qkv_bias=qkv_bias,
            tie_embeddings=_hf_get(cfg, "tie_word_embeddings", where, bool, False),
            source=f"HuggingFace config {where}",
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Analytical counts
# ---------------------------------------------------------------------------------------------
def _attention_projections(cfg: ModelConfig, layer: int, branch: str) -> list[ProjectionSpec]:
    h, qd, kvd = cfg.hidden, cfg.q_dim, cfg.kv_dim
    b = cfg.qkv_bias
    specs = [
        ProjectionSpec(layer, f"{branch}.q_proj", "attention", h, qd, bias=b),
        ProjectionSpec(layer, f"{branch}.k_proj", "attention", h, kvd, bias=b),
        ProjectionSpec(layer, f"{branch}.v_proj", "attention", h, kvd, bias=b),
    ]
    if branch == "gla" and cfg.gla_gate == "lowrank":
        specs += [
            ProjectionSpec(layer, "gla.gk_proj.0", "attention", h, cfg.gla_gate_rank),
            ProjectionSpec(layer, "gla.gk_proj.1", "attention", cfg.gla_gate_rank, kvd, bias=True),
        ]
    specs.append(ProjectionSpec(layer, f"{branch}.o_proj", "attention", qd, h))
    return specs


def _ffn_projections(cfg: ModelConfig, layer: int) -> list[ProjectionSpec]:
    h = cfg.hidden
    if not cfg.is_moe_layer(layer):
        i = cfg.intermediate
        return [
            ProjectionSpec(layer, "mlp.gate_proj", "ffn", h, i),
            ProjectionSpec(layer, "mlp.up_proj", "ffn", h, i),
            ProjectionSpec(layer, "mlp.down_proj", "ffn", i, h),
        ]
    i, e, k = cfg.moe_intermediate, cfg.n_experts, cfg.experts_per_token
    specs = [ProjectionSpec(layer, "moe.router", "router", h, e)]
    for role, fi, fo in (("gate_proj", h, i), ("up_proj", h, i), ("down_proj", i, h)):
        specs.append(ProjectionSpec(layer, f"moe.expert.{role}", "moe", fi, fo, calls_per_token=float(k),
                                    instances=e))
    for s in range(cfg.n_shared_experts):
        tag = "moe.shared" if cfg.n_shared_experts == 1 else f"moe.shared.{s}"
        for role, fi, fo in (("gate_proj", h, i), ("up_proj", h, i), ("down_proj", i, h)):
            specs.append(ProjectionSpec(layer, f"{tag}.{role}", "moe", fi, fo))
    return specs


def layer_projections(cfg: ModelConfig, layer: int) -> list[ProjectionSpec]:
    """Every projection of decoder layer ``layer`` (0-based), in execution order."""
    t = cfg.layer_types[layer]
    specs: list[ProjectionSpec] = []
    for branch in t.split("+"):
        specs += _attention_projections(cfg, layer, branch)
    return specs + _ffn_projections(cfg, layer)


def _softmax_keys(cfg: ModelConfig, branch: str, context: int, batch_prefill: bool) -> float:
    """Keys one query attends to (averaged over prompt positions when ``batch_prefill``)."""
    if branch == "full":
        n = (context + 1) / 2 if batch_prefill else float(context)
    else:
        w = int(cfg.window)  # validated non-None for swa layers
        if batch_prefill:
            # mean over positions t = 1..L of min(t, w)
            m = min(context, w)
            n = (m * (m + 1) / 2 + (context - m) * w) / context
        else:
            n = float(min(context, w))
    return n + cfg.n_sink_tokens


def layer_attention_macs(cfg: ModelConfig, layer: int, context_length: int, *, batch_prefill: bool = False) -> float:
    """Activation-by-activation attention MACs per token of layer ``layer`` (see module docstring)."""
    total = 0.0
    for branch in cfg.layer_types[layer].split("+"):
        if branch == "gla":
            total += 3.0 * cfg.n_heads * cfg.head_dim * cfg.head_dim
        else:
            total += 2.0 * cfg.n_heads * cfg.head_dim * _softmax_keys(cfg, branch, context_length, batch_prefill)
    return total


def analytical_counts(config: ModelConfig, *, context_length: int, batch_prefill: bool = False) -> ModelCounts:
    """Per-token projection and attention counts, parameters and state size of ``config``.

    Parameters
    ----------
    config : ModelConfig
    context_length : int
        Context in tokens (>= 1): the KV length a decoded token attends to.
    batch_prefill : bool, keyword-only
        Average the softmax attention MACs over prompt positions ``1..context_length`` instead of taking
        the last position.

    Returns
    -------
    ModelCounts

    Raises
    ------
    InputError
        ``context_length`` not a positive int, or ``config`` not a ModelConfig.
    """
    if not isinstance(config, ModelConfig):
        raise InputError(f"'config' must be a ModelConfig (got {type(config).__name__}); "
                         "use get_model_config(name)")
    if isinstance(context_length, bool) or not isinstance(context_length, int) or context_length < 1:
        raise InputError(f"'context_length' must be an int >= 1 (got {context_length!r})")
    cfg = config
    projections: list[ProjectionSpec] = []
    attn: dict[int, float] = {}
    kv_per_tok: dict[int, float] = {}
    fixed: dict[int, float] = {}
    params = 0
    active = 0.0
    for layer in range(cfg.n_layers):
        specs = layer_projections(cfg, layer)
        projections += specs
        params += sum(p.parameters for p in specs)
        active += sum(p.active_parameters for p in specs)
        n_norm = 2 * cfg.hidden  # input_layernorm, post_attention_layernorm
        branches = cfg.layer_types[layer].split("+")
        if "gla" in branches and cfg.gla_gate == "lowrank":
            n_norm += cfg.head_dim  # per-head output RMSNorm (g_norm), shared by heads
        n_sink = cfg.n_sink_tokens * 2 * cfg.kv_dim if any(b != "gla" for b in branches) else 0
        params += n_norm + n_sink
        active += n_norm + n_sink
        attn[layer] = layer_attention_macs(cfg, layer, context_length, batch_prefill=batch_prefill)
        kv_per_tok[layer] = float(sum(2 * cfg.kv_dim * STATE_BYTES_PER_VALUE for b in branches if b != "gla"))
        fixed[layer] = float(
            sum(cfg.n_heads * cfg.head_dim * cfg.head_dim * STATE_BYTES_PER_VALUE for b in branches if b == "gla")
            + n_sink * STATE_BYTES_PER_VALUE
        )
    head = ProjectionSpec(-1, "lm_head", "lm_head", cfg.hidden, cfg.vocab, spiked=False)
    projections.append(head)
    embed = cfg.vocab * cfg.hidden
    final_norm = cfg.hidden
    params += embed + final_norm + (0 if cfg.tie_embeddings else head.parameters)
    active += embed + final_norm + (0 if cfg.tie_embeddings else head.parameters)
    return ModelCounts(
        config=cfg, context_length=context_length, batch_prefill=batch_prefill,
        projections=tuple(projections), attention_macs=attn, parameters=int(params),
        active_parameters=int(round(active)), state_bytes_per_token=kv_per_tok, fixed_state_bytes=fixed,
    )


def prefill_flops(config: ModelConfig, context_length: int) -> float:
    """FLOPs to prefill a prompt of ``context_length`` tokens: ``2 x`` MACs summed over positions.

    Projection MACs are the same for every position; attention MACs are summed exactly over positions
    ``1..context_length`` (quadratic for full attention, ``~L x window`` for SWA, linear for GLA). The
    ``lm_head`` is counted for every position (a training-style forward); subtract
    ``2*(L-1)*hidden*vocab`` for the usual serving prefill that needs logits of the last position only.
    """
    counts = analytical_counts(config, context_length=context_length, batch_prefill=True)
    return 2.0 * context_length * counts.total_macs_per_token

