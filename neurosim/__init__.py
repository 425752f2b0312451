"""neurosim: event-driven simulation of SpikingBrain-style spiking layers.

Data flows activations -> neurons (integer counts) -> coding (spike events) -> engine (layer outputs
and event tallies). Energy, analysis and reports are the subpackages :mod:`neurosim.energy`, :mod:`neurosim.analysis` and
:mod:`neurosim.reports` (repository folders ``energy/``, ``analysis/``, ``reports/``).
Importing this package is lazy: each name below loads its module (and numba) on first access, so
``import neurosim.energy`` stays free of numba. Nothing here ever imports torch.
Layers are in :mod:`neurosim.layers`.
"""

from typing import TYPE_CHECKING

from neurosim._lazy import lazy_exports

__version__ = "0.1.0"

# Public name -> the module that defines it, loaded on first attribute access (PEP 562).
_EXPORTS = {
    "AdaptiveIFResult": "neurosim.adaptive",
    "CODINGS": "neurosim.coding",
    "Checkpoint": "neurosim.checkpoint",
    "LIFParameters": "neurosim.lif",
    "LIFResult": "neurosim.lif",
    "LIFState": "neurosim.lif",
    "ModelConfig": "neurosim.models",
    "ModelCounts": "neurosim.counts",
    "NeurosimError": "neurosim.exceptions",
    "ProjectionSpec": "neurosim.counts",
    "ProjectionTally": "neurosim.tally",
    "QuantizedWeight": "neurosim.quant",
    "SpikeEvents": "neurosim.coding",
    "SpikingLinearResult": "neurosim.engine",
    "adaptive_threshold": "neurosim.adaptive",
    "analytical_counts": "neurosim.counts",
    "config_from_hf": "neurosim.hf_config",
    "decode": "neurosim.coding",
    "decode_events": "neurosim.coding",
    "encode": "neurosim.coding",
    "encode_events": "neurosim.coding",
    "get_model_config": "neurosim.models",
    "init_layer_weights": "neurosim.init",
    "init_params": "neurosim.init",
    "integer_accumulate": "neurosim.engine",
    "lif_step": "neurosim.lif",
    "list_models": "neurosim.models",
    "load_checkpoint": "neurosim.checkpoint",
    "load_model": "neurosim.checkpoint",
    "prefill_flops": "neurosim.counts",
    "project_counts": "neurosim.engine",
    "quantize_weight": "neurosim.quant",
    "quantized_from_checkpoint": "neurosim.quant",
    "read_safetensors": "neurosim.checkpoint",
    "representable_range": "neurosim.coding",
    "simulate_adaptive_if": "neurosim.adaptive",
    "simulate_lif": "neurosim.lif",
    "spike_counts": "neurosim.adaptive",
    "sum_tallies": "neurosim.tally",
    "tally_frame": "neurosim.tally",
    "time_steps_needed": "neurosim.coding",
    "w8aspike_linear": "neurosim.engine",
}

if TYPE_CHECKING:  # static checkers see the real imports
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
    from neurosim.counts import ModelCounts, ProjectionSpec, analytical_counts, prefill_flops
    from neurosim.hf_config import config_from_hf
    from neurosim.init import init_layer_weights, init_params
    from neurosim.lif import LIFParameters, LIFResult, LIFState, lif_step, simulate_lif
    from neurosim.models import ModelConfig, get_model_config, list_models
    from neurosim.quant import QuantizedWeight, quantize_weight, quantized_from_checkpoint
    from neurosim.tally import ProjectionTally, sum_tallies, tally_frame

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
    "init_layer_weights",
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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
