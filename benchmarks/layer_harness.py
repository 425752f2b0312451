"""Timing harness (not part of the library): one whole SpikingBrain-7B decoder layer on the spiking path.

``benchmarks/bench_engine.py`` calls :func:`run_decoder_layer_benchmark` in a fresh process; the
target from issue #3 is "one whole decoder layer (GLA and SWA variants), 64 tokens, spiking path: under
60 s and under 4 GB peak on 2 cores". Weight generation and INT8 quantisation happen once, before the
timed forward, and are reported separately (``setup_s``). Float weights are dropped after quantisation
(``keep_float=False``) so the layer's memory is the INT8 copy (~0.23 GB for a 7B layer).
"""

from __future__ import annotations

from dataclasses import dataclass
import resource
import sys
import time
import tracemalloc

import numpy as np

from neurosim.exceptions import InputError
from neurosim.init import init_layer_weights
from neurosim.layers.block import run_decoder_layer
from neurosim.layers.projection import LayerRun
from neurosim.models import ModelConfig, get_model_config
from neurosim.tally import ProjectionTally, sum_tallies

__all__ = ["DecoderLayerBenchmark", "run_decoder_layer_benchmark"]


@dataclass(frozen=True, eq=False)
class DecoderLayerBenchmark:
    """Figures of one benchmark run.

    Attributes
    ----------
    layer_type : str
        ``"gla"`` or ``"swa"`` (or another type of the model).
    layer : int
        Layer index used (first layer of that type).
    tokens : int
    setup_s : float
        Seconds to draw the random weights and quantise them to INT8 (once).
    run_s : float
        Seconds of the timed spiking forward pass.
    peak_traced_bytes : int
        Peak of Python/NumPy allocations during the forward (tracemalloc; excludes numba's own
        allocator and the weights made before).
    max_rss_bytes : int
        Peak resident set size of the whole process so far (``ru_maxrss``): an upper bound of what the
        benchmark needed, including the interpreter and the weights.
    tally : ProjectionTally
        Sum of the layer's projection tallies.
    run : LayerRun
        The forward result.
    """

    layer_type: str
    layer: int
    tokens: int
    setup_s: float
    run_s: float
    peak_traced_bytes: int
    max_rss_bytes: int
    tally: ProjectionTally
    run: LayerRun


def _max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)  # Linux reports KiB


def run_decoder_layer_benchmark(layer_type: str = "gla", *, tokens: int = 64,
                                config: ModelConfig | str = "spikingbrain-7b", seed: int = 0,
                                k: float = 3.0, coding: str = "bidirectional", path: str = "event",
                                group_size: int | None = 128, trace_memory: bool = True) -> DecoderLayerBenchmark:
    """Time one decoder layer of real size on random weights (spiking path).

    Parameters
    ----------
    layer_type : str
        Layer type to pick (first layer of ``config`` with that type), e.g. ``"gla"`` or ``"swa"``.
    tokens : int, keyword-only
        Sequence length (64 in the issue's target).
    config : ModelConfig or str
        Model (default SpikingBrain-7B).
    seed : int
        Seed of the weights (``normal(0, 0.02)``, see :mod:`neurosim.init`) and of the activations
        (``normal(0, 1)`` hidden states).
    k, coding, path, group_size
        Spiking settings and INT8 group.
    trace_memory : bool
        Trace NumPy allocations with tracemalloc during the forward (adds a little overhead).

    Raises
    ------
    InputError
        No layer of ``layer_type`` in the model, or ``tokens < 1``.
    """
    cfg = get_model_config(config) if isinstance(config, str) else config
    if layer_type not in cfg.layer_types:
        raise InputError(f"'layer_type' {layer_type!r} does not occur in model {cfg.name!r} "
                         f"(types: {sorted(set(cfg.layer_types))})")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise InputError(f"'tokens' must be an int >= 1 (got {tokens!r})")
    layer = cfg.layer_types.index(layer_type)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    bw = init_layer_weights(cfg, layer, rng=rng, group_size=group_size)  # at most one float tensor alive
    setup_s = time.perf_counter() - t0
    x = rng.standard_normal((tokens, cfg.hidden))
    if trace_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    run = run_decoder_layer(x, bw, cfg, layer, mode="spiking", k=k, coding=coding, path=path)
    run_s = time.perf_counter() - t0
    peak = 0
    if trace_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return DecoderLayerBenchmark(layer_type=layer_type, layer=layer, tokens=tokens, setup_s=setup_s,
                                 run_s=run_s, peak_traced_bytes=int(peak), max_rss_bytes=_max_rss_bytes(),
                                 tally=sum_tallies(run.tallies), run=run)

