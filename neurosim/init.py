"""Seeded random weights for synthetic runs, keyed by the public tensor names.

Distributions (documented so synthetic statistics can be reproduced):

* every linear weight and the embedding: ``normal(0, std)`` with ``std = 0.02``, the HuggingFace
  ``initializer_range`` of Qwen2/Llama;
* biases (q/k/v, GLA gate): ``normal(0, std)`` as well. HF initialises biases to zero; non-zero biases
  make the float-bias path of W8ASpike do something measurable;
* RMSNorm weights (``input_layernorm``, ``post_attention_layernorm``, ``g_norm``, ``model.norm``): ones.

Arrays are float32 (like the bf16/f32 checkpoints) to halve memory; layers compute in float64.
Names and shapes come from :func:`neurosim.layers.model.parameter_shapes`, so they are exactly the
checkpoint names of :mod:`neurosim.checkpoint`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from neurosim.validation import check_positive
from neurosim.exceptions import InputError
from neurosim.layers.block import BlockWeights
from neurosim.layers.model import block_weights_from_params, layer_parameter_shapes, parameter_shapes
from neurosim.layers.projection import Linear
from neurosim.models import ModelConfig

__all__ = ["DEFAULT_INIT_STD", "init_layer_weights", "init_params"]

#: Standard deviation of random projection weights (HF ``initializer_range``).
DEFAULT_INIT_STD: float = 0.02


def init_params(config: ModelConfig, *, rng: np.random.Generator, std: float = DEFAULT_INIT_STD,
                layers: Iterable[int] | None = None) -> dict[str, np.ndarray]:
    """Random parameters of ``config`` (or of some decoder layers only).

    Parameters
    ----------
    config : ModelConfig
    rng : numpy.random.Generator, keyword-only
        Seeded generator (``np.random.default_rng(seed)``); tensors are drawn in name order.
    std : float
        Standard deviation of weights and biases, > 0.
    layers : iterable of int, optional
        Only these decoder layers (no embedding, final norm or lm_head): a 7B layer is ~0.9 GB in
        float32, the whole 7B model ~30 GB.

    Returns
    -------
    dict of str to numpy.ndarray (float32)
        Keyed by public tensor name (``"model.layers.0.attn.q_proj.weight"`` ...).

    Raises
    ------
    InputError
        ``rng`` not a Generator, ``std <= 0``, bad layer index.
    """
    std = _check_init(rng, std)
    return {name: _draw(name, shape, rng, std) for name, shape in parameter_shapes(config, layers=layers).items()}


def init_layer_weights(config: ModelConfig, layer: int, *, rng: np.random.Generator,
                       std: float = DEFAULT_INIT_STD, group_size: int | None = 128) -> BlockWeights:
    """Random INT8 weights of one decoder layer, drawn and quantised tensor by tensor.

    The same draws as ``init_params(config, rng=rng, std=std, layers=[layer])`` (same names, same order),
    but every projection weight is quantised as soon as it is drawn and its float copy dropped, so at
    most one float tensor is alive (a SpikingBrain-7B FFN matrix is 270 MB in float32, the layer's INT8
    copy about 0.23 GB in all). For the spiking path only (``keep_float=False``).

    Parameters
    ----------
    config : ModelConfig
    layer : int
        0-based decoder layer.
    rng : numpy.random.Generator, keyword-only
        Seeded generator.
    std : float
        Standard deviation of weights and biases, > 0.
    group_size : int or None
        INT8 scale group (128 as released).

    Returns
    -------
    BlockWeights
    """
    std = _check_init(rng, std)
    params: dict[str, np.ndarray | Linear] = {}
    for name, shape in layer_parameter_shapes(config, layer).items():
        w = _draw(name, shape, rng, std)
        is_weight = w.ndim == 2 and not name.endswith("norm.weight")
        params[name] = Linear.build(w, group_size=group_size, keep_float=False) if is_weight else w
    return block_weights_from_params(params, config, layer, group_size=group_size, keep_float=False)


def _check_init(rng: object, std: float) -> float:
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"'rng' must be a numpy.random.Generator (got {type(rng).__name__}); "
                         "use np.random.default_rng(seed)")
    return check_positive(std, "std")


def _draw(name: str, shape: tuple[int, ...], rng: np.random.Generator, std: float) -> np.ndarray:
    """One tensor: ones for RMSNorm weights, ``normal(0, std)`` float32 for everything else."""
    if name.endswith("norm.weight"):
        return np.ones(shape, dtype=np.float32)
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
