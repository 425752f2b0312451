"""SpikingBrain layers with a float64 reference path and a W8ASpike spiking path.

Every layer takes ``mode="float"`` (reference) or ``mode="spiking"`` (every linear projection input
spike coded by :func:`neurosim.engine.w8aspike_linear` with one ``k``/``coding``/``path``), and returns
a :class:`LayerRun`: output, the :class:`~neurosim.tally.ProjectionTally` of each projection (named
``"layer3.gla.q_proj"``) and the activation-by-activation attention MACs, which are counted as MACs,
never as spikes.
"""

from neurosim.layers.projection import FORWARD_MODES, ForwardMode, LayerRun, Linear, Projector
from neurosim.layers.block import BlockWeights, decoder_block, run_decoder_layer
from neurosim.layers.ffn import MLPWeights, silu, swiglu_ffn
from neurosim.layers.gla import GLAWeights, gated_linear_attention, gla_recurrence, log_sigmoid
from neurosim.layers.model import (
    ModelWeights,
    block_weights_from_params,
    layer_parameter_shapes,
    parameter_shapes,
    run_model,
    weights_from_params,
)
from neurosim.layers.moe import MoEWeights, moe_ffn, route_top_k
from neurosim.layers.norm import rms_norm
from neurosim.layers.swa import AttentionWeights, apply_rope, softmax_attention, window_attention_core

__all__ = [
    "FORWARD_MODES",
    "AttentionWeights",
    "BlockWeights",
    "ForwardMode",
    "GLAWeights",
    "LayerRun",
    "Linear",
    "MLPWeights",
    "MoEWeights",
    "ModelWeights",
    "Projector",
    "apply_rope",
    "block_weights_from_params",
    "decoder_block",
    "gated_linear_attention",
    "gla_recurrence",
    "layer_parameter_shapes",
    "log_sigmoid",
    "moe_ffn",
    "parameter_shapes",
    "rms_norm",
    "route_top_k",
    "run_decoder_layer",
    "run_model",
    "silu",
    "softmax_attention",
    "swiglu_ffn",
    "weights_from_params",
    "window_attention_core",
]
