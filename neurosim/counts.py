"""Analytical per-token operation counts of a :class:`~neurosim.models.ModelConfig` (no weights needed).

:func:`analytical_counts` lists every linear projection with its size and calls per token
(:class:`ProjectionSpec`, the one projection-shape type: :class:`neurosim.energy.workload.Workload` holds
the same objects), the activation-by-activation multiply-accumulates inside attention, parameter
totals and the size of the attention state (:class:`ModelCounts`). Energy and report code multiply
these counts by per-operation costs; they never re-derive them.

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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
from numbers import Integral, Real
from types import MappingProxyType

from neurosim.exceptions import InputError
from neurosim.models import ModelConfig

__all__ = [
    "STATE_BYTES_PER_VALUE",
    "ModelCounts",
    "ProjectionSpec",
    "analytical_counts",
    "layer_attention_macs",
    "layer_projections",
    "prefill_flops",
]

#: Bytes per stored value of the attention state (KV cache, GLA state): bfloat16.
STATE_BYTES_PER_VALUE: int = 2


@dataclass(frozen=True)
class ProjectionSpec:
    """One linear projection, as counted per token: weight ``[out_features, in_features]`` run
    ``calls_per_token`` times. The one projection-shape type of the project: analytical counts list
    them, and :class:`neurosim.energy.workload.Workload` prices them (or ones built by hand).

    Attributes
    ----------
    name : str
        Role within the layer: ``"gla.q_proj"``, ``"swa.o_proj"``, ``"full.k_proj"``, ``"gla.gk_proj.0"``,
        ``"mlp.gate_proj"``, ``"moe.router"``, ``"moe.expert.up_proj"``, ``"moe.shared.down_proj"``,
        ``"lm_head"`` (any label for a projection built by hand).
    in_features, out_features : int
        Weight shape is ``[out_features, in_features]``; ints >= 1.
    calls_per_token : float
        How many times per token it runs (routed experts: ``experts_per_token``); finite, >= 0.
    spiked : bool
        Whether its input is spike coded under W8ASpike as the report states (see module docstring for
        where the public code differs).
    layer : int
        0-based decoder layer; -1 for the ``lm_head`` (and for projections outside a model).
    kind : str
        ``"attention"``, ``"ffn"``, ``"moe"``, ``"router"`` or ``"lm_head"`` ("" when built by hand).
    bias : bool
        Whether the projection has a bias vector.
    instances : int
        Stored copies of this weight (``n_experts`` for a routed expert role, else 1).

    Raises
    ------
    InputError
        Widths not ints >= 1, or ``calls_per_token`` not a finite number >= 0.
    """

    name: str
    in_features: int
    out_features: int
    calls_per_token: float = 1.0
    spiked: bool = True
    layer: int = -1
    kind: str = ""
    bias: bool = False
    instances: int = 1

    def __post_init__(self) -> None:
        for f in ("in_features", "out_features"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, Integral) or v < 1:
                raise InputError(f"projection {self.name!r}: {f!r} must be an int >= 1 (got {v!r})")
            object.__setattr__(self, f, int(v))
        c = self.calls_per_token
        if isinstance(c, bool) or not isinstance(c, Real) or not math.isfinite(c) or c < 0:
            raise InputError(f"projection {self.name!r}: 'calls_per_token' must be a finite number >= 0 "
                             f"(got {c!r})")
        object.__setattr__(self, "calls_per_token", float(c))

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


def _attention_projections(cfg: ModelConfig, layer: int, branch: str) -> list[ProjectionSpec]:
    h, qd, kvd = cfg.hidden, cfg.q_dim, cfg.kv_dim
    b = cfg.qkv_bias
    specs = [
        ProjectionSpec(f"{branch}.q_proj", h, qd, layer=layer, kind="attention", bias=b),
        ProjectionSpec(f"{branch}.k_proj", h, kvd, layer=layer, kind="attention", bias=b),
        ProjectionSpec(f"{branch}.v_proj", h, kvd, layer=layer, kind="attention", bias=b),
    ]
    if branch == "gla" and cfg.gla_gate == "lowrank":
        specs += [
            ProjectionSpec("gla.gk_proj.0", h, cfg.gla_gate_rank, layer=layer, kind="attention"),
            ProjectionSpec("gla.gk_proj.1", cfg.gla_gate_rank, kvd, layer=layer, kind="attention", bias=True),
        ]
    specs.append(ProjectionSpec(f"{branch}.o_proj", qd, h, layer=layer, kind="attention"))
    return specs


def _ffn_projections(cfg: ModelConfig, layer: int) -> list[ProjectionSpec]:
    h = cfg.hidden
    if not cfg.is_moe_layer(layer):
        i = cfg.intermediate
        return [
            ProjectionSpec("mlp.gate_proj", h, i, layer=layer, kind="ffn"),
            ProjectionSpec("mlp.up_proj", h, i, layer=layer, kind="ffn"),
            ProjectionSpec("mlp.down_proj", i, h, layer=layer, kind="ffn"),
        ]
    i, e, k = cfg.moe_intermediate, cfg.n_experts, cfg.experts_per_token
    specs = [ProjectionSpec("moe.router", h, e, layer=layer, kind="router")]
    for role, fi, fo in (("gate_proj", h, i), ("up_proj", h, i), ("down_proj", i, h)):
        specs.append(ProjectionSpec(f"moe.expert.{role}", fi, fo, layer=layer, kind="moe", calls_per_token=float(k),
                                    instances=e))
    for s in range(cfg.n_shared_experts):
        tag = "moe.shared" if cfg.n_shared_experts == 1 else f"moe.shared.{s}"
        for role, fi, fo in (("gate_proj", h, i), ("up_proj", h, i), ("down_proj", i, h)):
            specs.append(ProjectionSpec(f"{tag}.{role}", fi, fo, layer=layer, kind="moe"))
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
    head = ProjectionSpec("lm_head", cfg.hidden, cfg.vocab, layer=-1, kind="lm_head", spiked=False)
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

