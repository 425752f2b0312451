"""Torch-touching helpers of :mod:`neurosim.analysis.torch_profile` and :mod:`neurosim.analysis.snn_profile` (private).

Every function imports torch inside its body, so importing this module costs nothing and never
imports torch; only calling a function does. Nothing here is public API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
import contextlib
from typing import Any

import numpy as np

from neurosim.energy.profile_overrides import as_profile, is_profile_path
from neurosim.energy.profiles import HardwareProfile
from neurosim.exceptions import DependencyError, InputError, ShapeError

__all__ = [
    "call_model",
    "check_int",
    "check_model",
    "connection_counts",
    "final_tensor",
    "guarded",
    "is_spiking_tensor",
    "plain",
    "plain_fields",
    "profile_names",
    "require_snntorch",
    "require_torch",
    "reset_neuron_state",
    "skipped_modules",
    "spiking_neurons",
    "to_float64",
]

_TORCH_HINT = "pip install 'neurosim[snn]' (or pip install torch)"


def require_torch() -> Any:
    """Return the ``torch`` module or raise :class:`DependencyError` with an install hint."""
    try:
        import torch
    except ImportError as exc:
        msg = f"profiling a PyTorch model needs torch, which is not installed: {_TORCH_HINT}"
        raise DependencyError(msg) from exc
    return torch


def require_snntorch() -> Any:
    """Return the ``snntorch`` module or raise :class:`DependencyError` with an install hint."""
    require_torch()
    try:
        import snntorch
    except ImportError as exc:
        msg = "profiling an snntorch network needs snntorch: pip install 'neurosim[snn]'"
        raise DependencyError(msg) from exc
    return snntorch


def to_float64(t: Any) -> np.ndarray:
    """Detached CPU float64 numpy copy of a tensor (bf16/fp16 included)."""
    torch = require_torch()
    return t.detach().to(device="cpu", dtype=torch.float64).numpy()


def call_model(model: Any, inputs: Any) -> Any:
    """Call ``model`` the way ``inputs`` says: a tensor is the one positional argument, a tuple or
    list holds the positional arguments, a mapping holds keyword arguments."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def final_tensor(output: Any) -> Any:
    """The tensor the fidelity figures compare, from whatever the model returned.

    A tensor is used as is; a mapping (a HuggingFace ``ModelOutput`` is one) gives ``logits``, else
    ``last_hidden_state``, else its first tensor value; a tuple or list gives its first tensor
    (searched depth first, so ``((logits, cache), aux)`` gives ``logits``).
    """
    torch = require_torch()
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        for key in ("logits", "last_hidden_state"):
            if isinstance(output.get(key), torch.Tensor):
                return output[key]
        items: list[Any] = list(output.values())
    elif isinstance(output, (tuple, list)):
        items = list(output)
    else:
        items = []
    for item in items:
        with contextlib.suppress(InputError):
            return final_tensor(item)
    msg = f"the model output holds no tensor to compare (got {type(output).__name__})"
    raise InputError(msg)


@contextlib.contextmanager
def guarded(model: Any) -> Iterator[list[Any]]:
    """Eval mode, no autograd and a list for hook handles; everything undone on exit, errors too.

    Yields the list into which callers append their hook handles. On exit every handle is removed
    and every submodule gets back its own ``training`` flag (a model may mix train and eval parts).
    """
    torch = require_torch()
    flags = [(m, m.training) for m in model.modules()]
    handles: list[Any] = []
    try:
        model.eval()
        with torch.no_grad():
            yield handles
    finally:
        for h in handles:
            h.remove()
        for m, flag in flags:
            m.training = flag


#: Why a parameterised layer that is not a linear projection is left out.
_SKIP_REASONS = {
    "MultiheadAttention": (
        "q/k/v (in_proj_weight) and out_proj.weight are used directly by "
        "F.multi_head_attention_forward, never through nn.Linear; attention projections not profiled "
        "(write attention with nn.Linear q/k/v/o to cover them)"
    ),
    "Embedding": "table lookup, no multiply-accumulates (kept in floating point, as in W8ASpike)",
    "EmbeddingBag": "table lookup, no multiply-accumulates",
    "LayerNorm": "normalisation, elementwise (kept in floating point, as in W8ASpike)",
    "RMSNorm": "normalisation, elementwise (kept in floating point, as in W8ASpike)",
    "GroupNorm": "normalisation, elementwise",
    "BatchNorm1d": "normalisation, elementwise",
    "BatchNorm2d": "normalisation, elementwise",
}


def skipped_modules(model: Any, supported: tuple[type, ...]) -> list[tuple[str, str, str]]:
    """``(name, type, reason)`` for every module that owns parameters directly and is not covered.

    Modules of a ``supported`` type and their own children (``MultiheadAttention.out_proj`` is
    reported through the parent's reason) are handled by the caller.
    """
    out = []
    for name, m in model.named_modules():
        if isinstance(m, supported):
            continue
        own = [n for n, _ in m.named_parameters(recurse=False)]
        kind = type(m).__name__
        if not own and kind not in _SKIP_REASONS:
            continue
        if kind in _SKIP_REASONS:
            reason = _SKIP_REASONS[kind]
        elif kind.startswith("Conv"):
            reason = "convolution: W8ASpike spike-codes linear projections only; not profiled"
        elif kind in ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"):
            reason = "recurrent layer: weights used inside a fused kernel, not nn.Linear"
        else:
            reason = f"owns parameters {own} but is not nn.Linear; its computation is not profiled"
        out.append((name or "<root>", kind, reason))
    return out


# -- snntorch -----------------------------------------------------------------------------------


def spiking_neurons(model: Any) -> list[tuple[str, Any]]:
    """``(name, module)`` of every snntorch ``SpikingNeuron`` in ``model``, in registration order."""
    snntorch = require_snntorch()
    return [(n or "<root>", m) for n, m in model.named_modules()
            if isinstance(m, snntorch.SpikingNeuron)]


def reset_neuron_state(neurons: list[tuple[str, Any]]) -> None:
    """Put every neuron's hidden state back to its freshly-built value.

    snntorch keeps membrane, synaptic current and recurrent spikes in non-persistent buffers that
    start empty and are re-created as zeros shaped like the first input; emptying them is the
    per-instance form of ``snntorch.utils.reset`` (which resets every instance of a class in the
    process, other models included).
    """
    torch = require_torch()
    for _, m in neurons:
        for b in m._non_persistent_buffers_set:
            m._buffers[b] = torch.zeros(0)


def is_spiking_tensor(x: Any) -> bool:
    """NeuroBench's rule: a connection layer's input is spikes iff every element is -1, 0 or 1."""
    return bool(((x == 0) | (x == 1) | (x == -1)).all().item())


def connection_counts(module: Any, x: Any) -> tuple[int, int, int, int]:
    """Operation counts of one call of a Linear or Conv layer on input ``x``, bias excluded.

    Returns
    -------
    dense : int
        Connections with all-ones input and weights (NeuroBench ``Dense``).
    effective : int
        Nonzero input x nonzero weight pairs (NeuroBench ``Effective_MACs`` / ``Effective_ACs``).
    synops : int
        Nonzero input x fan-out, zero weights included (sinabs/Norse synops: what hardware that does
        not skip zero weights delivers; for convolutions the true per-position fan-out).
    events : int
        Nonzero input elements.
    """
    torch = require_torch()
    import torch.nn.functional as F

    w = module.weight.detach()
    xb = (x.detach() != 0).to(torch.float64)
    ones_x = torch.ones_like(xb)
    wb = (w != 0).to(torch.float64)
    ones_w = torch.ones_like(wb)

    def apply(inp: Any, weight: Any) -> int:
        if isinstance(module, torch.nn.Linear):
            y = F.linear(inp, weight)
        else:
            y = module._conv_forward(inp, weight, None)
        return int(round(float(y.sum().item())))

    if isinstance(module, torch.nn.Linear) and x.shape[-1] != module.in_features:
        msg = f"input to {type(module).__name__} has {x.shape[-1]} features, expected {module.in_features}"
        raise ShapeError(msg)
    return apply(ones_x, ones_w), apply(xb, wb), apply(xb, ones_w), int(xb.sum().item())


def plain(v: Any) -> Any:
    """numpy scalars as Python numbers (JSON-ready)."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def plain_fields(obj: Any) -> dict[str, Any]:
    """A dataclass instance's fields as a JSON-ready dict."""
    return {k: plain(v) for k, v in vars(obj).items()}


def check_model(model: Any) -> Any:
    """Return ``torch`` after checking ``model`` is a ``torch.nn.Module``."""
    torch = require_torch()
    if not isinstance(model, torch.nn.Module):
        msg = f"'model' must be a torch.nn.Module (got {type(model).__name__})"
        raise InputError(msg)
    return torch


def check_int(value: Any, name: str, *, minimum: int, allow_none: bool = False) -> int | None:
    """``value`` as an int >= ``minimum`` (or None when allowed), else :class:`InputError`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        msg = f"{name!r} must be an integer >= {minimum}{' or None' if allow_none else ''} (got {value!r})"
        raise InputError(msg)
    return int(value)


def profile_names(profiles: Any) -> tuple[Any, ...]:
    """Validated profiles; an empty sequence means "do not price".

    Shipped names stay names; a path to a profile file is loaded (validated like the shipped ones) and a
    :class:`~neurosim.energy.profiles.HardwareProfile` (e.g. from ``load_profile``) is kept as is.
    Price with :func:`neurosim.energy.profile_overrides.as_profile` on each item.
    """
    items = (profiles,) if isinstance(profiles, (str, HardwareProfile)) else tuple(profiles)
    out: list[Any] = []
    for n in items:
        prof = as_profile(n)  # raises NotFoundError with near matches, ConfigError for a bad file
        out.append(prof if isinstance(n, HardwareProfile) or is_profile_path(n) else n)
    return tuple(out)
