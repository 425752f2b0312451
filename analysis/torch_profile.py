"""Profile any PyTorch model the SpikingBrain way.

Entry points:

:func:`profile_model`
    "What would my model's sparsity, spike events and energy be under W8ASpike, and what would it
    cost in accuracy?" Forward hooks on every ``nn.Linear`` (subclasses such as
    ``NonDynamicallyQuantizableLinear`` included) capture each projection's input, turn it into
    adaptive-threshold spike counts (``Vth = mean|x| / k`` per token), quantise the weight to INT8
    with group scales, and run the event-driven engine (:func:`neurosim.engine.w8aspike_linear`).
    With ``spike_outputs=True`` the spiked projection output replaces the original in the forward
    pass, so later layers see what a W8ASpike model would give them, and the model's final output
    is compared with an unspiked run (cosine similarity and relative error).
:mod:`neurosim.analysis.model_loading`
    Loading from ``MODULE:FACTORY`` specs and HuggingFace directories (``profile_hf_directory``).
:mod:`neurosim.analysis.pricing`
    Energy of the profiled projections per execution mode and hardware profile.
:mod:`neurosim.analysis.snn_profile`
    The snntorch side ("what does my network cost on a neuromorphic chip?") lives there.

What is covered
---------------
* Profiled: ``nn.Linear`` and its subclasses, called with any number of leading axes.
* Listed in ``skipped`` with the reason, computation left in floating point: convolutions,
  ``nn.MultiheadAttention`` (as inside ``nn.TransformerEncoderLayer``: ``in_proj_weight`` and
  ``out_proj.weight`` are used by ``F.multi_head_attention_forward`` directly, so even the
  ``out_proj`` Linear is never called; it is listed as "never called"), recurrent layers,
  embeddings, norms, any other module owning weights (e.g. the ``Conv1D`` of HuggingFace GPT-2).
  The encoder layer's feed-forward ``linear1``/``linear2`` are profiled. Write attention with
  ``nn.Linear`` q/k/v/o to cover it.
* The model is left as it was: hooks are removed and every submodule's ``training`` flag restored
  even when the forward pass raises.

Fidelity output
---------------
The figure compares one tensor of the model output: a tensor as is; a mapping (HuggingFace
``ModelOutput``) gives ``logits``, else ``last_hidden_state``, else its first tensor; a tuple or
list gives its first tensor.

Torch, snntorch and transformers are imported inside the functions that need them; importing this
module does not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import math
from typing import Any

import numpy as np
import pandas as pd

from neurosim.adaptive import spike_counts
from neurosim.analysis._torch_hooks import (
    call_model,
    check_int,
    check_model,
    final_tensor,
    guarded,
    plain,
    skipped_modules,
    to_float64,
)
from neurosim.analysis.mergeable import CorpusStats, StatsBuilder, stats_record
from neurosim.analysis.pricing import energy_choices, price_layers
from neurosim.analysis.sparsity import window_sparsity
from neurosim.coding import check_coding
from neurosim.engine import PATHS, w8aspike_linear
from neurosim.exceptions import InputError, ShapeError, unknown_name
from neurosim.quant import quantize_weight
from neurosim.tally import ProjectionTally, sum_tallies
from neurosim.validation import check_positive

__all__ = ["LayerProfile", "ModelProfile", "profile_model"]


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LayerProfile:
    """W8ASpike statistics of one ``nn.Linear`` over every call of one profiled forward pass.

    Attributes
    ----------
    name : str
        Qualified module name (``model.get_submodule(name)``).
    kind : str
        Module class name.
    in_features, out_features : int
    calls : int
        Forward calls of the layer during the pass.
    tokens : int
        Input rows seen (all leading axes flattened, all calls).
    tokens_profiled : int
        Rows run through the event engine (``tokens`` unless ``max_tokens`` sampled fewer).
    spikes_per_channel : float
        Spike events per (token, input channel) after coding, silent channels included.
    silent_fraction : float
        Share of (token, channel) inputs with a zero count.
    window_sparsity : float
        Share of zero bit slots of the values that fit a 3-step bidirectional window (the report's
        69.15 % statistic; :func:`neurosim.analysis.sparsity.window_sparsity` with ``mode="exclude"``);
        NaN when no value fits.
    events : int
        Spike events of the profiled rows.
    macs : int
        Dense multiply-accumulates of all rows, ``tokens x in_features x out_features``.
    cosine_similarity, relative_error : float
        Spiked layer output against the layer's floating-point output on the profiled rows.
    tally : ProjectionTally
        Engine tally of the profiled rows (sum over calls).
    """

    name: str
    kind: str
    in_features: int
    out_features: int
    calls: int
    tokens: int
    tokens_profiled: int
    spikes_per_channel: float
    silent_fraction: float
    window_sparsity: float
    events: int
    macs: int
    cosine_similarity: float
    relative_error: float
    tally: ProjectionTally = field(repr=False)

    @property
    def scale(self) -> float:
        """``tokens / tokens_profiled``: factor from profiled to all rows (1.0 without sampling)."""
        return self.tokens / self.tokens_profiled if self.tokens_profiled else 0.0


_LAYER_FIELDS = (
    "name", "kind", "in_features", "out_features", "calls", "tokens", "tokens_profiled",
    "spikes_per_channel", "silent_fraction", "window_sparsity", "events", "macs",
    "cosine_similarity", "relative_error",
)


@dataclass(frozen=True, eq=False)
class ModelProfile:
    """Result of :func:`profile_model`.

    Attributes
    ----------
    model : str
        Label of the model (class name unless given).
    layers : tuple of LayerProfile
        One per profiled ``nn.Linear`` that was called, in call order of first use.
    energy : tuple of dict
        Records ``{model, mode, profile, compute_j, memory_j, static_j, total_j}`` in joules for the
        whole pass (all rows, profiled tallies scaled up by ``LayerProfile.scale``).
    fidelity : dict
        ``{"cosine_similarity", "relative_error"}`` of the final output against the unspiked run
        (``relative_error = ||y_spiked - y|| / ||y||``); both None when ``spike_outputs=False``.
    skipped : tuple of dict
        ``{name, kind, reason}`` for every module left out.
    settings : dict
        The options used (k, coding, group_size, path, max_tokens, seed, spike_outputs).
    stats : CorpusStats or None
        Exact mergeable statistics per projection and per prompt
        (:mod:`neurosim.analysis.mergeable`); set when a token mask was given or ``collect_stats``.
    corpus : dict or None
        The profiled corpus (file, SHA-256, prompts, tokens) when profiled from prompts.
    intervals : dict or None
        Bootstrap intervals (:mod:`neurosim.analysis.bootstrap`) of the corpus figures.
    layer_groups : tuple of dict
        Per decoder layer figures with intervals (corpus runs).
    """

    model: str
    layers: tuple[LayerProfile, ...]
    energy: tuple[dict[str, Any], ...]
    fidelity: dict[str, float | None]
    skipped: tuple[dict[str, str], ...]
    settings: dict[str, Any]
    stats: Any = field(default=None, repr=False)
    corpus: dict[str, Any] | None = None
    intervals: dict[str, Any] | None = None
    layer_groups: tuple[dict[str, Any], ...] = ()

    @property
    def total_tally(self) -> ProjectionTally | None:
        """Sum of the layers' profiled tallies (None without profiled layers)."""
        return sum_tallies(lay.tally for lay in self.layers) if self.layers else None

    def layer_frame(self) -> pd.DataFrame:
        """One row per profiled layer with the columns of :attr:`LayerProfile` (tally left out)."""
        return pd.DataFrame([{f: getattr(lay, f) for f in _LAYER_FIELDS} for lay in self.layers],
                            columns=list(_LAYER_FIELDS))

    def energy_frame(self) -> pd.DataFrame:
        """One row per (mode, profile) energy record."""
        return pd.DataFrame(list(self.energy))

    def to_summary(self) -> dict[str, Any]:
        """JSON-ready dict: ``model``, ``settings``, ``layers``, ``fidelity``, ``energy``, ``skipped``,
        and ``totals`` (tokens, events, MACs and whole-model sparsity figures)."""
        total = self.total_tally
        totals: dict[str, Any] = {
            "layers": len(self.layers),
            "macs": int(sum(lay.macs for lay in self.layers)),
            "events_profiled": int(sum(lay.events for lay in self.layers)),
            "spikes_per_channel": total.spikes_per_channel if total else None,
            "silent_fraction": total.silent_fraction if total else None,
        }
        out = {
            "model": self.model,
            "settings": dict(self.settings),
            "layers": [{f: plain(getattr(lay, f)) for f in _LAYER_FIELDS} for lay in self.layers],
            "fidelity": dict(self.fidelity),
            "energy": [dict(r) for r in self.energy],
            "skipped": [dict(s) for s in self.skipped],
            "totals": totals,
        }
        if self.corpus is not None:
            out["corpus"] = dict(self.corpus)
        if self.intervals is not None:
            out["intervals"] = self.intervals
        if self.layer_groups:
            out["layer_groups"] = [dict(g) for g in self.layer_groups]
        if self.stats is not None:
            out["exact"] = [stats_record(p) for p in self.stats.projections.values()]
        return out


def _cosine_and_error(dot: float, ref_sq: float, new_sq: float, diff_sq: float) -> tuple[float, float]:
    denom = math.sqrt(ref_sq * new_sq)
    cos = dot / denom if denom > 0 else (1.0 if diff_sq == 0 else 0.0)
    rel = math.sqrt(diff_sq / ref_sq) if ref_sq > 0 else (0.0 if diff_sq == 0 else math.inf)
    return float(cos), float(rel)


def _compare(ref: np.ndarray, new: np.ndarray) -> tuple[float, float]:
    ref = ref.ravel()
    new = new.ravel()
    d = new - ref
    return _cosine_and_error(float(ref @ new), float(ref @ ref), float(new @ new), float(d @ d))


class _LayerAcc:
    """Accumulates one Linear's calls during a profiled pass."""

    def __init__(self, name: str, module: Any, group_size: int | None, *, coding: str = "bidirectional",
                 collect: bool = False) -> None:
        self.name = name
        self.kind = type(module).__name__
        self.in_features = int(module.in_features)
        self.out_features = int(module.out_features)
        self.weight = quantize_weight(to_float64(module.weight), group_size=group_size)
        self.bias = None if module.bias is None else to_float64(module.bias)
        self.calls = 0
        self.tokens = 0
        self.tallies: list[ProjectionTally] = []
        self.profiled = 0
        # Window sparsity accumulates as (spikes, values in the window): counts are not kept.
        self.window = np.zeros(2, dtype=np.int64)
        self.sums = np.zeros(4)  # dot, |ref|^2, |new|^2, |diff|^2 of the layer output
        self.builder: StatsBuilder | None = None
        if collect:
            self.builder = StatsBuilder(name, self.kind, self.in_features, self.out_features, coding=coding,
                                        window=_WINDOW)

    def add_window(self, counts: np.ndarray) -> None:
        # The report's rule ("exclude": values beyond the 3-step INT3 window are left out).
        ws = window_sparsity(counts, _WINDOW, mode="exclude")
        self.window += (ws.spikes, ws.n_values)

    def result(self) -> LayerProfile:
        tally = sum_tallies(self.tallies)
        spikes, values = (int(v) for v in self.window)
        window = 1.0 - spikes / (_WINDOW * values) if values else math.nan
        cos, rel = _cosine_and_error(*self.sums)
        return LayerProfile(
            name=self.name, kind=self.kind, in_features=self.in_features,
            out_features=self.out_features, calls=self.calls, tokens=self.tokens,
            tokens_profiled=self.profiled,
            spikes_per_channel=tally.spikes_per_channel, silent_fraction=tally.silent_fraction,
            window_sparsity=window, events=int(tally.spike_events),
            macs=self.tokens * self.in_features * self.out_features,
            cosine_similarity=cos, relative_error=rel, tally=tally,
        )



#: Window of the report's sparsity figure (3 steps, INT3).
_WINDOW = 3


# -- profile_model ----------------------------------------------------------------------------


def profile_model(
    model: Any,
    inputs: Any,
    *,
    k: float = 3.0,
    coding: str = "bidirectional",
    profiles: Sequence[str] | str = ("paper-45nm",),
    modes: Sequence[str] | str | None = None,
    spike_outputs: bool = True,
    group_size: int | None = 128,
    max_tokens: int | None = None,
    seed: int = 0,
    path: str = "event",
    name: str | None = None,
    token_mask: Any = None,
    prompt_ids: Sequence[int] | None = None,
    collect_stats: bool = False,
) -> ModelProfile:
    """Run ``model`` once with every ``nn.Linear`` turned into a W8ASpike projection, and measure.

    Parameters
    ----------
    model : torch.nn.Module
        Any module; it is run on CPU or wherever its parameters live, in eval mode under
        ``torch.no_grad``. It is left unchanged (hooks removed, training flags restored).
    inputs : tensor, tuple/list of tensors, or mapping
        A tensor is passed as the one positional argument, a tuple/list as positional arguments, a
        mapping (e.g. a tokenizer's output) as keyword arguments.
    k : float, default 3.0
        Adaptive-threshold divisor, ``Vth = mean|x| / k`` per token (report default 3).
    coding : str, default "bidirectional"
        Spike coder of :data:`neurosim.coding.CODINGS` (signed coders only: inputs are signed).
    profiles : str or sequence of str, default ("paper-45nm",)
        Hardware profiles of :mod:`neurosim.energy.profiles` to price the pass on.
    modes : str or sequence of str, optional
        Execution modes of :mod:`neurosim.energy` (default: all, e.g. ``fp16-dense``, ``int8-dense``,
        ``w8aspike-gpu``, ``w8aspike-event``); dense modes are priced on the same shapes.
    spike_outputs : bool, default True
        Replace each projection's output with the spiked one during the pass (what a W8ASpike model
        computes) and report the final output's fidelity; False only observes (each layer then sees
        floating-point inputs, and ``fidelity`` holds None).
    group_size : int or None, default 128
        Input features per INT8 weight scale group (None: one scale per output row).
    max_tokens : int, optional
        Run the event engine on at most this many rows per layer call, drawn without replacement
        with ``numpy.random.default_rng(seed)``; the other rows still get the spiked output (the
        engine's ``float`` formula, equal to the event path up to rounding) and energy is scaled by
        ``tokens / tokens_profiled``.
    seed : int, default 0
        Seed of the row sampling.
    path : {"event", "dense", "float"}, default "event"
        Engine path for the profiled rows (all paths give the same tally).
    name : str, optional
        Label in the result (default: the model's class name).
    token_mask : array_like of bool, shape (batch, seq), optional
        Real tokens (an attention mask): padding rows (False) are left out of every statistic, tally,
        token count, energy and the fidelity figures; they still run through the model. A projection's
        input rows must be ``batch x seq`` (masked) or ``batch`` (one row per prompt, e.g. a pooler);
        anything else raises :class:`ShapeError`. Implies ``collect_stats``.
    prompt_ids : sequence of int, optional
        Global index of each batch row's prompt (default ``0 .. batch-1``), used by ``stats``.
    collect_stats : bool, default False
        Keep exact mergeable statistics per projection and prompt in ``ModelProfile.stats``.

    Returns
    -------
    ModelProfile

    Raises
    ------
    InputError
        ``model`` not a Module, bad ``k``/``max_tokens``/``seed``, or a model output without tensors.
    NotFoundError
        Unknown ``coding``, ``path``, profile or mode.
    DependencyError
        torch is not installed.

    Examples
    --------
    >>> prof = profile_model(torch.nn.Sequential(torch.nn.Linear(16, 8)), torch.randn(4, 16))
    >>> prof.layers[0].tokens, prof.fidelity["cosine_similarity"] > 0.99
    (4, True)
    """
    torch = check_model(model)
    k = check_positive(k, "k")
    check_coding(coding)
    if path not in PATHS:
        raise unknown_name("engine path", path, PATHS)
    max_tokens = check_int(max_tokens, "max_tokens", minimum=1, allow_none=True)
    seed = check_int(seed, "seed", minimum=0)
    energy_modes, energy_profiles = energy_choices(modes, profiles)
    mask, ids = _mask_and_ids(token_mask, prompt_ids)
    collect = bool(collect_stats) or mask is not None
    rng = np.random.default_rng(seed)
    accs: dict[str, _LayerAcc] = {}
    names = {m: n for n, m in model.named_modules()}

    def hook(module: Any, args: tuple[Any, ...], output: Any) -> Any:
        lname = names[module]
        acc = accs.get(lname)
        if acc is None:
            acc = accs[lname] = _LayerAcc(lname, module, group_size, coding=coding, collect=collect)
        x = to_float64(args[0])
        if x.shape[-1] != acc.in_features:
            raise ShapeError(f"{lname}: input has {x.shape[-1]} features, expected {acc.in_features}")
        rows = x.reshape(-1, acc.in_features)
        ref = to_float64(output).reshape(rows.shape[0], acc.out_features)
        n = rows.shape[0]
        owners, real = _row_owners(n, mask, ids, lname)
        if real is None:
            pick = (np.arange(n) if max_tokens is None or n <= max_tokens
                    else np.sort(rng.choice(n, size=max_tokens, replace=False)))
            n_real = n
        else:  # padding rows are never profiled nor counted
            cand = np.flatnonzero(real)
            n_real = cand.size
            pick = (cand if max_tokens is None or cand.size <= max_tokens
                    else np.sort(rng.choice(cand, size=max_tokens, replace=False)))
        res = w8aspike_linear(rows[pick], acc.weight, acc.bias, k=k, coding=coding, path=path,
                              name=lname)
        acc.calls += 1
        acc.tokens += n_real
        acc.tallies.append(res.tally)
        acc.profiled += len(pick)
        acc.add_window(res.counts)
        r, y = ref[pick].ravel(), res.output.ravel()
        d = y - r
        acc.sums += (r @ y, r @ r, y @ y, d @ d)
        if acc.builder is not None:
            acc.builder.add(res.counts, owners[pick], res.tally,
                            real_owners=owners if real is None else owners[real],
                            ref=ref[pick], new=res.output)
        if not spike_outputs:
            return None
        if len(pick) == n:
            full = res.output
        else:  # rows outside the sample: same spike counts, the engine's float formula
            c, vth = spike_counts(rows, k)
            full = (c * vth) @ acc.weight.dequantize().T
            if acc.bias is not None:
                full += acc.bias
            full[pick] = res.output
        out = torch.from_numpy(full.reshape(*output.shape))
        return out.to(dtype=output.dtype, device=output.device)

    with guarded(model) as handles:
        ref_out = to_float64(final_tensor(call_model(model, inputs))) if spike_outputs else None
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                handles.append(m.register_forward_hook(hook))
        new_out = to_float64(final_tensor(call_model(model, inputs)))

    fidelity: dict[str, float | None] = {"cosine_similarity": None, "relative_error": None}
    out_sums = None
    if ref_out is not None:
        if ref_out.shape != new_out.shape:
            raise ShapeError(f"spiked output shape {new_out.shape} differs from {ref_out.shape}")
        if collect:
            out_sums = _output_sums(ref_out, new_out, mask, ids)
        if mask is not None:
            cos, rel = _cosine_and_error(*out_sums.sum(axis=0))
        else:
            cos, rel = _compare(ref_out, new_out)
        fidelity = {"cosine_similarity": cos, "relative_error": rel}
    layers = tuple(acc.result() for acc in accs.values())
    label = name or type(model).__name__
    energy = price_layers(label, layers, energy_modes, energy_profiles)
    skipped = [{"name": n, "kind": kd, "reason": r}
               for n, kd, r in skipped_modules(model, (torch.nn.Linear,))]
    skipped += [{"name": n, "kind": type(m).__name__,
                 "reason": "nn.Linear never called as a module during the pass (its weight is used "
                           "directly, e.g. MultiheadAttention.out_proj); not profiled"}
                for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and n not in accs]
    settings = {"k": k, "coding": coding, "group_size": group_size, "path": path,
                "max_tokens": max_tokens, "seed": seed, "spike_outputs": bool(spike_outputs)}
    stats = None
    if collect:
        n_prompts = ids.size if ids is not None else 1
        tokens = (mask.sum(axis=1).astype(np.int64) if mask is not None
                  else np.full(n_prompts, max((lay.tokens // max(lay.calls, 1) for lay in layers), default=0),
                               dtype=np.int64))
        pid = ids if ids is not None else np.zeros(1, np.int64)
        order = np.argsort(pid, kind="stable")
        stats = CorpusStats(projections={n: a.builder.result() for n, a in accs.items() if a.builder is not None},
                            prompt_ids=pid[order], prompt_tokens=tokens[order],
                            output=None if out_sums is None else out_sums[order])
    return ModelProfile(model=label, layers=layers, energy=energy, fidelity=fidelity,
                        skipped=tuple(skipped), settings=settings, stats=stats)


def _mask_and_ids(token_mask: Any, prompt_ids: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validated boolean mask [batch, seq] and int64 prompt ids [batch] (None, None without a mask)."""
    if token_mask is None:
        if prompt_ids is not None:
            raise InputError("'prompt_ids' needs a 'token_mask' (which rows belong to which prompt)")
        return None, None
    if hasattr(token_mask, "detach"):
        token_mask = token_mask.detach().cpu().numpy()
    mask = np.asarray(token_mask)
    if mask.ndim != 2 or mask.size == 0:
        raise ShapeError(f"'token_mask' must be shaped [batch, seq] (got shape {mask.shape})")
    if mask.dtype.kind not in "biu" or not np.isin(mask, (0, 1)).all():
        raise InputError("'token_mask' must hold 0/1 or booleans (an attention mask)")
    mask = mask.astype(bool)
    ids = np.arange(mask.shape[0], dtype=np.int64) if prompt_ids is None else np.asarray(prompt_ids, np.int64)
    if ids.shape != (mask.shape[0],) or np.unique(ids).size != ids.size:
        raise InputError(f"'prompt_ids' must be {mask.shape[0]} distinct integers, one per batch row")
    return mask, ids


def _row_owners(n: int, mask: np.ndarray | None, ids: np.ndarray | None,
                lname: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Prompt id of each input row, and which rows are real (None: every row, no mask)."""
    if mask is None or ids is None:
        return np.zeros(n, np.int64), None
    batch, seq = mask.shape
    if n == batch * seq:
        return np.repeat(ids, seq), mask.ravel()
    if n == batch:  # one row per prompt (a pooler on the first token): every row is real
        return ids.copy(), np.ones(n, bool)
    raise ShapeError(f"{lname}: {n} input rows fit neither the token mask ({batch} x {seq}) nor one row per "
                     "prompt, so padding cannot be told from tokens")


def _output_sums(ref: np.ndarray, new: np.ndarray, mask: np.ndarray | None,
                 ids: np.ndarray | None) -> np.ndarray:
    """Per-prompt (dot, |ref|^2, |new|^2, |diff|^2) of the final output, padding rows left out."""
    if mask is None or ids is None:
        r, y = ref.ravel(), new.ravel()
        d = y - r
        return np.array([[(r * y).sum(), (r * r).sum(), (y * y).sum(), (d * d).sum()]])
    batch, seq = mask.shape
    out = np.zeros((batch, 4))
    for b in range(batch):
        if ref.ndim >= 2 and ref.shape[:2] == (batch, seq):
            r, y = ref[b][mask[b]].ravel(), new[b][mask[b]].ravel()
        elif ref.shape[0] == batch:
            r, y = ref[b].ravel(), new[b].ravel()
        else:
            raise ShapeError(f"the model output of shape {ref.shape} does not have the batch ({batch}) first; "
                             "cannot leave padding out of the fidelity figures")
        d = y - r
        # Elementwise products and numpy's pairwise sum, not BLAS dot products: BLAS rounds differently
        # with different thread counts, and the figures must not depend on which process ran the shard.
        out[b] = ((r * y).sum(), (r * r).sum(), (y * y).sum(), (d * d).sum())
    return out
