"""neurosim: event-driven simulation of SpikingBrain-style spiking layers.

Data flows activations -> neurons (integer counts) -> coding (spike events) -> engine (layer outputs
and event tallies). Energy, analysis and reports live in their own top-level packages.
Importing this package does no work and never imports torch.
"""

from neurosim.adaptive import adaptive_threshold, simulate_adaptive_if, spike_counts
from neurosim.coding import CODINGS, SpikeEvents, decode, decode_events, encode, encode_events
from neurosim.exceptions import NeurosimError
from neurosim.tally import ProjectionTally, sum_tallies, tally_frame

__version__ = "0.1.0"

__all__ = [
    "CODINGS",
    "NeurosimError",
    "ProjectionTally",
    "SpikeEvents",
    "__version__",
    "adaptive_threshold",
    "decode",
    "decode_events",
    "encode",
    "encode_events",
    "simulate_adaptive_if",
    "spike_counts",
    "sum_tallies",
    "tally_frame",
]
