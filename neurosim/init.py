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

from neurosim._validation import check_positive
from neurosim.exceptions import InputError
from neurosim.layers.model import parameter_shapes
from neurosim.models import ModelConfig

__all__ = ["DEFAULT_INIT_STD", "init_params"]

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
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"'rng' must be a numpy.random.Generator (got {type(rng).__name__}); "
                         "use np.random.default_rng(seed)")
    std = check_positive(std, "std")
    out: dict[str, np.ndarray] = {}
    for name, shape in parameter_shapes(config, layers=layers).items():
        if name.endswith("norm.weight"):
            out[name] = np.ones(shape, dtype=np.float32)
        else:
            out[name] = rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
    return out
