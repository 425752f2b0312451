"""neurosim: event-driven simulation of SpikingBrain-style spiking layers.

Data flows activations -> neurons (integer counts) -> coding (spike events) -> engine (layer outputs
and event tallies). Energy, analysis and reports live in their own top-level packages.
Importing this package does no work (kernels compile on first call) and never imports torch.
Layers are in :mod:`neurosim.layers`.
"""

from neurosim.adaptive import AdaptiveIFResult, adaptive_threshold, simulate_adaptive_if, spike_counts
from neurosim.checkpoint import Checkpoint, load_checkpoint, load_model, read_safetensors
from neurosim.coding import (
    CODINGS,
    SpikeEvents,
    decode,
    decode_events,
    encode,
    encode_events,
    representable_range,
    time_steps_needed,
)
from neurosim.engine import SpikingLinearResult, integer_accumulate, project_counts, w8aspike_linear
from neurosim.exceptions import NeurosimError
from neurosim.init import init_params
from neurosim.lif import LIFParameters, LIFResult, LIFState, lif_step, simulate_lif
from neurosim.models import (
    ModelConfig,
    ModelCounts,
    ProjectionSpec,
    analytical_counts,
    config_from_hf,
    get_model_config,
    list_models,
    prefill_flops,
)
from neurosim.quant import QuantizedWeight, quantize_weight, quantized_from_checkpoint
from neurosim.tally import ProjectionTally, sum_tallies, tally_frame

__version__ = "0.1.0"

__all__ = [
    "CODINGS",
    "AdaptiveIFResult",
    "Checkpoint",
    "LIFParameters",
    "LIFResult",
    "LIFState",
    "ModelConfig",
    "ModelCounts",
    "NeurosimError",
    "ProjectionSpec",
    "ProjectionTally",
    "QuantizedWeight",
    "SpikeEvents",
    "SpikingLinearResult",
    "__version__",
    "adaptive_threshold",
    "analytical_counts",
    "config_from_hf",
    "decode",
    "decode_events",
    "encode",
    "encode_events",
    "get_model_config",
    "init_params",
    "integer_accumulate",
    "lif_step",
    "list_models",
    "load_checkpoint",
    "load_model",
    "prefill_flops",
    "project_counts",
    "quantize_weight",
    "quantized_from_checkpoint",
    "read_safetensors",
    "representable_range",
    "simulate_adaptive_if",
    "simulate_lif",
    "spike_counts",
    "sum_tallies",
    "tally_frame",
    "time_steps_needed",
    "w8aspike_linear",
]
