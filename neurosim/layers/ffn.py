"""SwiGLU feed-forward network: ``down(silu(gate(x)) * up(x))``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from neurosim.exceptions import ShapeError
from neurosim.layers.projection import Linear, Projector

__all__ = ["MLPWeights", "silu", "swiglu_ffn"]


def silu(x: np.ndarray) -> np.ndarray:
    """SiLU / swish ``x * sigmoid(x)``, float64; ``scipy.special.expit`` keeps full relative precision."""
    return x * expit(x)


@dataclass(frozen=True, eq=False)
class MLPWeights:
    """SwiGLU weights (no biases): gate/up ``[intermediate, hidden]``, down ``[hidden, intermediate]``."""

    gate_proj: Linear
    up_proj: Linear
    down_proj: Linear

    def __post_init__(self) -> None:
        h, i = self.gate_proj.in_features, self.gate_proj.out_features
        if (self.up_proj.in_features, self.up_proj.out_features) != (h, i) or (
            self.down_proj.in_features, self.down_proj.out_features) != (i, h):
            raise ShapeError(
                f"SwiGLU shapes do not fit: gate [{i}, {h}], up [{self.up_proj.out_features}, "
                f"{self.up_proj.in_features}], down [{self.down_proj.out_features}, {self.down_proj.in_features}]"
            )


def swiglu_ffn(x: np.ndarray, w: MLPWeights, proj: Projector, *, prefix: str = "mlp") -> np.ndarray:
    """SwiGLU FFN on ``x`` [tokens, hidden] -> [tokens, hidden].

    In spiking mode all three projection inputs are spike coded, as the report states; the public
    W8ASpike code feeds ``down_proj`` un-spiked (see :mod:`neurosim.models`).
    Tallies are recorded on ``proj`` as ``"<prefix>.gate_proj"`` etc.
    """
    g = proj(x, w.gate_proj, f"{prefix}.gate_proj")
    u = proj(x, w.up_proj, f"{prefix}.up_proj")
    return proj(silu(g) * u, w.down_proj, f"{prefix}.down_proj")
