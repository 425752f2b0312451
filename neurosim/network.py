r"""Spiking networks as graphs of NIR-style nodes, simulated step by step with neurosim's Numba kernels.

A :class:`Network` holds nodes (:class:`Node`) with the parameters of the Neuromorphic Intermediate
Representation (NIR 1.0: continuous-time neurons with ``tau`` in seconds) and directed edges. It is
built by :func:`neurosim.nir_io.read_nir` or by hand, and :func:`simulate` runs it on a spike tensor
``[T, batch, *input_shape]`` with a time step ``dt`` (seconds). This module never imports ``nir``.

Discretisation (forward Euler with step ``dt``, as NIR's exporters assume; snnTorch uses
``dt = 1e-4`` s: ``tau = dt / (1 - beta)``, ``r = tau / dt``). Per step ``t`` and neuron, float32:

.. math::

    \text{LIF:}\quad v[t] &= \beta v[t-1] + g\, x[t] + c, \qquad
        \beta = 1 - \tfrac{dt}{\tau},\ g = \tfrac{dt\, r}{\tau},\ c = \tfrac{dt}{\tau} v_{leak} \\
    s[t] &= \mathbb{1}[v[t] > v_{th}]; \quad\text{where } s[t]:\ v[t] \leftarrow v_{reset}
        \quad\text{(hard reset in the same step)} \\
    \text{CubaLIF:}\quad I[t] &= \alpha I[t-1] + g_s x[t],\ \alpha = 1 - \tfrac{dt}{\tau_{syn}},\
        g_s = \tfrac{dt\, w_{in}}{\tau_{syn}}; \quad v[t] = \beta v[t-1] + g\, I[t] + c
        \ (\tau = \tau_{mem});\ \text{spike and reset as LIF (the current is not reset)} \\
    \text{IF:}\quad v[t] &= v[t-1] + dt\, r\, x[t];\ \text{spike and reset as LIF} \\
    \text{LI, CubaLI, I:}&\quad \text{as LIF, CubaLIF, IF without threshold; the output is } v[t]

NIR's LIF resets to ``v_reset``: this is snnTorch's ``reset_mechanism="zero"`` (with ``v_reset =
0``). snnTorch's default subtract reset (``v -= threshold``) cannot be expressed in NIR and is
exported as a hard reset, so an exported ``snn.Leaky()`` with the default reset spikes differently
here than in snnTorch (tests/test_nir.py measures the difference). The membrane mem uses the
updated current ``I[t]`` (snnTorch ``Synaptic``). A discretised factor within float32 rounding of 1
(``|g - 1| < 2^-20``) is taken as exactly 1, so that snnTorch's exports (``r = tau / dt``) give
``v = beta v + x`` to the last bit. A ``Threshold`` node outputs ``x > theta``. ``Delay`` shifts
each element by ``round(delay / dt)`` steps. Edges into one node are summed.

Synapses: a Linear/Affine or Conv layer whose input is binary (spikes from a population or a {0,1}
input tensor) runs event driven, adding the weight row (kernel taps) of each input spike to its
targets, so its cost is proportional to spikes x fan-out; other input runs a dense kernel. The choice
is made per layer and recorded in :attr:`NodeCounts.path`.

Recurrent graphs (cycles) are refused with :class:`~neurosim.exceptions.GraphError`: every node is
simulated over all ``T`` steps before the next (layer by layer), which a cycle forbids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
import math
from types import MappingProxyType
from typing import Any

import numpy as np

from neurosim import _network_kernels as K
from neurosim.budget import check_memory
from neurosim.exceptions import GraphError, InputError, ResourceLimitError, ShapeError, UnsupportedNodeError
from neurosim.lif import LIFParameters, simulate_lif

__all__ = [
    "NEURON_KINDS",
    "NODE_KINDS",
    "SPIKING_KINDS",
    "SYNAPSE_KINDS",
    "Network",
    "Node",
    "NodeCounts",
    "SimulationResult",
    "bernoulli_spikes",
    "simulate",
    "simulate_neurons",
]

#: Neuron populations (stateful; spiking ones marked in :data:`SPIKING_KINDS`).
NEURON_KINDS: tuple[str, ...] = ("lif", "cubalif", "if", "li", "cubali", "i")
SPIKING_KINDS: tuple[str, ...] = ("lif", "cubalif", "if")
#: Synaptic layers (weights read per input event).
SYNAPSE_KINDS: tuple[str, ...] = ("linear", "affine", "conv1d", "conv2d", "scale", "sumpool2d", "avgpool2d")
#: Every node kind neurosim simulates.
NODE_KINDS: tuple[str, ...] = ("input", "output", "identity", "flatten", "threshold", "delay") + SYNAPSE_KINDS + NEURON_KINDS

_PARAMS: dict[str, tuple[str, ...]] = {
    "input": ("shape",), "output": (), "identity": (), "flatten": ("start_dim", "end_dim"), "threshold": ("threshold",),
    "delay": ("delay",), "linear": ("weight",), "affine": ("weight", "bias"), "scale": ("scale",),
    "conv1d": ("weight", "bias", "stride", "padding", "dilation", "groups"),
    "conv2d": ("weight", "bias", "stride", "padding", "dilation", "groups"),
    "sumpool2d": ("kernel_size", "stride", "padding"), "avgpool2d": ("kernel_size", "stride", "padding"),
    "lif": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "cubalif": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "if": ("r", "v_threshold", "v_reset"), "li": ("tau", "r", "v_leak"),
    "cubali": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"), "i": ("r",),
}
_UNIT_TOL = 2.0 ** -20


@dataclass(frozen=True, eq=False)
class Node:
    """One node: its ``kind`` (one of :data:`NODE_KINDS`) and NIR parameters (SI units, seconds).

    Parameters per kind (arrays broadcast to the node's shape):

    * ``input``: ``shape`` (per sample, no batch or time axis); ``output``, ``identity`` (the
      Input/Output of a nested subgraph): none;
    * ``linear``: ``weight`` [out, in]; ``affine``: ``weight``, ``bias`` [out]; ``scale``: ``scale``;
    * ``conv1d``/``conv2d``: ``weight`` [out, in/groups, (kh,) kw], ``bias`` [out], ``stride``,
      ``padding`` (ints per spatial axis, or "same"/"valid"), ``dilation``, ``groups``;
    * ``sumpool2d``/``avgpool2d``: ``kernel_size``, ``stride``, ``padding`` (2 ints each);
    * ``flatten``: ``start_dim``, ``end_dim`` (per-sample axes); ``threshold``: ``threshold``;
      ``delay``: ``delay`` (s);
    * ``lif``: ``tau``, ``r``, ``v_leak``, ``v_threshold``, ``v_reset``; ``if``: ``r``,
      ``v_threshold``, ``v_reset``; ``li``: ``tau``, ``r``, ``v_leak``; ``i``: ``r``;
      ``cubalif``: ``tau_syn``, ``tau_mem``, ``r``, ``v_leak``, ``v_threshold``, ``v_reset``,
      ``w_in``; ``cubali``: as cubalif without threshold and reset.
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _PARAMS:
            raise UnsupportedNodeError(f"node kind {self.kind!r} is not supported; supported: {', '.join(NODE_KINDS)}")
        missing = [p for p in _PARAMS[self.kind] if p not in self.params]
        if missing:
            raise InputError(f"{self.kind} node needs parameter(s) {', '.join(missing)}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


@dataclass(frozen=True)
class NodeCounts:
    """Events counted while simulating one node (whole run: all steps and samples).

    Attributes
    ----------
    kind, path : str
        Node kind; ``"event"`` (binary input, event driven), ``"dense"`` or ``"-"`` (no synapses).
    input_events : int
        Nonzero input values (spikes, for binary input).
    synaptic_events : int
        Weight additions: for every nonzero input, its fan-out (targets with a nonzero weight).
    weights_read : int
        Weights fetched: ``synaptic_events`` on the event path; every weight of every step and
        sample (the dense operations) on the dense path.
    dense_ops, effective_macs, effective_acs : int
        NeuroBench ``SynapticOperations``: ``Dense`` (inputs and weights all one) and the effective
        operations (nonzero input and weight), ACs when the input is spiking ({-1, 0, 1}), else MACs.
        Only for connection layers (linear, affine, conv), as NeuroBench; 0 elsewhere.
    neuron_updates : int
        Neuron state updates (steps x samples x neurons) of a population.
    state_words : int
        State values read and written by those updates (2 x state variables per update).
    output_spikes : int
        Spikes emitted (populations and Threshold nodes).
    neurons : int
        Neurons (elements) per sample of the node's output.
    """

    kind: str
    path: str = "-"
    input_events: int = 0
    synaptic_events: int = 0
    weights_read: int = 0
    dense_ops: int = 0
    effective_macs: int = 0
    effective_acs: int = 0
    neuron_updates: int = 0
    state_words: int = 0
    output_spikes: int = 0
    neurons: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


# --------------------------------------------------------------------------- shapes


def _ints(value: Any, n: int, what: str, node: str) -> tuple[int, ...]:
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64).ravel().tolist()
    if len(arr) == 1:
        arr = arr * n
    if len(arr) != n:
        raise ShapeError(f"node {node!r}: {what} must have {n} value(s) (got {value!r})")
    return tuple(int(a) for a in arr)


def _conv_geometry(name: str, node: Node, in_shape: tuple[int, ...]) -> dict[str, Any]:
    p = node.params
    w = np.asarray(p["weight"])
    nd = 1 if node.kind == "conv1d" else 2
    if w.ndim != nd + 2:
        raise ShapeError(f"node {name!r} ({node.kind}): weight must have {nd + 2} axes (got shape {w.shape})")
    if len(in_shape) != nd + 1:
        raise ShapeError(f"node {name!r} ({node.kind}): input must be [channels, {'length' if nd == 1 else 'height, width'}]"
                         f" (got shape {in_shape})")
    groups = int(p["groups"])
    if groups < 1 or w.shape[0] % groups or w.shape[1] * groups != in_shape[0]:
        raise ShapeError(f"node {name!r} ({node.kind}): weight {w.shape} with groups={groups} does not take "
                         f"{in_shape[0]} input channels")
    stride = _ints(p["stride"], nd, "stride", name)
    dilation = _ints(p["dilation"], nd, "dilation", name)
    kernel = w.shape[2:]
    if isinstance(p["padding"], str):
        if p["padding"] == "valid":
            padding = (0,) * nd
        elif p["padding"] == "same" and all(s == 1 for s in stride):
            padding = tuple(d * (k - 1) // 2 for d, k in zip(dilation, kernel))
            if any((d * (k - 1)) % 2 for d, k in zip(dilation, kernel)):
                raise UnsupportedNodeError(f"node {name!r} ({node.kind}): padding 'same' with an even kernel is asymmetric; not supported")
        else:
            raise UnsupportedNodeError(f"node {name!r} ({node.kind}): padding {p['padding']!r} is not supported")
    else:
        padding = _ints(p["padding"], nd, "padding", name)
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise InputError(f"node {name!r} ({node.kind}): stride and dilation must be >= 1, padding >= 0")
    spatial = in_shape[1:]
    out = tuple((s + 2 * pd - d * (k - 1) - 1) // st + 1
                for s, pd, d, k, st in zip(spatial, padding, dilation, kernel, stride))
    if min(out) < 1:
        raise ShapeError(f"node {name!r} ({node.kind}): input {in_shape} is smaller than the kernel {kernel}")
    b = np.asarray(p["bias"], dtype=np.float64).ravel()
    if b.size not in (1, w.shape[0]):
        raise ShapeError(f"node {name!r} ({node.kind}): bias must have {w.shape[0]} values (got {b.size})")
    if nd == 1:  # run as 2-d with height 1
        stride, padding, dilation, spatial, out = (1,) + stride, (0,) + padding, (1,) + dilation, (1,) + spatial, (1,) + out
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups, "spatial": spatial,
            "out_spatial": out, "out_shape": (w.shape[0], *out[-nd:]) if nd == 2 else (w.shape[0], out[1])}


def _pool_geometry(name: str, node: Node, in_shape: tuple[int, ...]) -> dict[str, Any]:
    if len(in_shape) != 3:
        raise ShapeError(f"node {name!r} ({node.kind}): input must be [channels, height, width] (got shape {in_shape})")
    k = _ints(node.params["kernel_size"], 2, "kernel_size", name)
    s = _ints(node.params["stride"], 2, "stride", name)
    pd = _ints(node.params["padding"], 2, "padding", name)
    if min(k) < 1 or min(s) < 1 or min(pd) < 0:
        raise InputError(f"node {name!r} ({node.kind}): kernel_size and stride must be >= 1, padding >= 0")
    out = tuple((n + 2 * p - kk) // ss + 1 for n, p, kk, ss in zip(in_shape[1:], pd, k, s))
    if min(out) < 1:
        raise ShapeError(f"node {name!r} ({node.kind}): input {in_shape} is smaller than the kernel {k}")
    return {"kernel": k, "stride": s, "padding": pd, "out_shape": (in_shape[0], *out)}


def _broadcast(name: str, node: Node, key: str, shape: tuple[int, ...]) -> np.ndarray:
    v = np.asarray(node.params[key], dtype=np.float64)
    try:
        return np.broadcast_to(v.reshape(v.shape), shape)
    except ValueError:
        if v.size == math.prod(shape):
            return v.reshape(shape)
        raise ShapeError(f"node {name!r} ({node.kind}): parameter {key!r} of shape {v.shape} does not fit the "
                         f"node's shape {shape}") from None


class Network:
    """A directed acyclic graph of :class:`Node` objects with per-sample shapes inferred.

    Parameters
    ----------
    nodes : mapping of str to Node
        Node names to nodes; at least one ``input`` node.
    edges : sequence of (str, str)
        ``(source, target)`` pairs; several edges into one node are summed.

    Raises
    ------
    GraphError
        An edge naming an unknown node, no input node, or a cycle (named).
    ShapeError
        Shapes that do not fit; the message names both nodes.
    UnsupportedNodeError
        A node of a kind neurosim does not simulate.
    """

    def __init__(self, nodes: Mapping[str, Node], edges: Sequence[tuple[str, str]]) -> None:
        for name, node in nodes.items():
            if not isinstance(node, Node):
                raise UnsupportedNodeError(f"node {name!r} has type {type(node).__name__}, not a neurosim Node")
        self.nodes: Mapping[str, Node] = MappingProxyType(dict(nodes))
        self.edges: tuple[tuple[str, str], ...] = tuple((str(a), str(b)) for a, b in edges)
        for a, b in self.edges:
            for end in (a, b):
                if end not in self.nodes:
                    raise GraphError(f"edge {a!r} -> {b!r} names node {end!r}, which the graph does not have")
        self.inputs: tuple[str, ...] = tuple(n for n, v in self.nodes.items() if v.kind == "input")
        if not self.inputs:
            raise GraphError("the graph has no Input node")
        self.predecessors: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {n: tuple(a for a, b in self.edges if b == n) for n in self.nodes})
        self.order: tuple[str, ...] = self._topological_order()
        self.outputs: tuple[str, ...] = tuple(n for n in self.order if self.nodes[n].kind == "output")
        self.in_shapes: dict[str, tuple[int, ...]] = {}
        self.out_shapes: dict[str, tuple[int, ...]] = {}
        self._geometry: dict[str, dict[str, Any]] = {}
        self._cache: dict[tuple[str, str], Any] = {}
        for n in self.order:
            self._infer(n)

    def _topological_order(self) -> tuple[str, ...]:
        indeg = {n: len(p) for n, p in self.predecessors.items()}
        succ: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b in self.edges:
            succ[a].append(b)
        ready = [n for n in self.nodes if indeg[n] == 0]
        order: list[str] = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for m in succ[n]:
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
        if len(order) < len(self.nodes):
            left = {n for n in self.nodes if n not in order}
            cycle = _find_cycle(left, succ)
            raise GraphError(f"the graph has a cycle ({' -> '.join(cycle)}): recurrent edges are not supported "
                             "(neurosim simulates each node over all steps before the next)")
        for n in order:
            if self.nodes[n].kind == "input" and self.predecessors[n]:
                raise GraphError(f"input node {n!r} has incoming edges from {', '.join(self.predecessors[n])}")
            if self.nodes[n].kind != "input" and not self.predecessors[n]:
                raise GraphError(f"node {n!r} ({self.nodes[n].kind}) has no incoming edge")
        return tuple(order)

    def _infer(self, name: str) -> None:
        node = self.nodes[name]
        p = node.params
        if node.kind == "input":
            shape = tuple(int(s) for s in np.atleast_1d(np.asarray(p["shape"])).tolist())
            if not shape or min(shape) < 1:
                raise ShapeError(f"input node {name!r} has an invalid shape {shape}")
            self.in_shapes[name] = self.out_shapes[name] = shape
            return
        preds = self.predecessors[name]
        shape = self.out_shapes[preds[0]]
        for other in preds[1:]:
            if self.out_shapes[other] != shape:
                raise ShapeError(f"node {name!r} sums its inputs, but {preds[0]!r} gives shape {shape} and "
                                 f"{other!r} gives shape {self.out_shapes[other]}")
        self.in_shapes[name] = shape
        src = preds[0]
        if node.kind in ("linear", "affine"):
            w = np.asarray(p["weight"])
            if w.ndim != 2:
                raise ShapeError(f"node {name!r} ({node.kind}): weight must be [out, in] (got shape {w.shape})")
            if shape != (w.shape[1],):
                raise ShapeError(f"node {src!r} outputs shape {shape} but node {name!r} ({node.kind}) expects "
                                 f"({w.shape[1]},) (weight {w.shape})")
            if node.kind == "affine" and np.asarray(p["bias"]).size != w.shape[0]:
                raise ShapeError(f"node {name!r} (affine): bias must have {w.shape[0]} values "
                                 f"(got {np.asarray(p['bias']).size})")
            out = (w.shape[0],)
        elif node.kind in ("conv1d", "conv2d"):
            g = _conv_geometry(name, node, shape)
            self._geometry[name] = g
            out = g["out_shape"]
        elif node.kind in ("sumpool2d", "avgpool2d"):
            g = _pool_geometry(name, node, shape)
            self._geometry[name] = g
            out = g["out_shape"]
        elif node.kind == "flatten":
            nd = len(shape)
            s, e = int(p["start_dim"]), int(p["end_dim"])
            s, e = s + nd if s < 0 else s, e + nd if e < 0 else e
            if not 0 <= s <= e < nd:
                raise ShapeError(f"node {name!r} (flatten): dims {p['start_dim']}..{p['end_dim']} do not fit "
                                 f"the shape {shape} from {src!r}")
            out = shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:]
        else:  # element-wise: output, scale, threshold, delay and neuron populations
            out = shape
            for key in _PARAMS[node.kind]:
                _broadcast(name, node, key, shape)
        self.out_shapes[name] = tuple(int(s) for s in out)

    def _packed(self, name: str, w: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transposed weight of linear node ``name`` in column chunks (see linear_events), cached."""
        key = (name, "packed")
        if key not in self._cache:
            n_out, n_in = w.shape
            chunk = _chunk(n_in, n_out)
            n_chunks = -(-n_out // chunk)
            wt = np.zeros((n_in, n_chunks * chunk), dtype=np.float32)
            wt[:, :n_out] = w.T
            packed = np.ascontiguousarray(wt.reshape(n_in, n_chunks, chunk).transpose(1, 0, 2))
            b = np.zeros(n_chunks * chunk, dtype=np.float32)
            b[:n_out] = bias
            self._cache[key] = (packed, b)
        return self._cache[key]

    def __repr__(self) -> str:
        return f"Network({len(self.nodes)} nodes: {', '.join(f'{n}:{self.nodes[n].kind}' for n in self.order)})"


def _find_cycle(left: set[str], succ: Mapping[str, list[str]]) -> list[str]:
    start = min(left)
    path, seen = [start], {start}
    while True:
        nxt = next(m for m in succ[path[-1]] if m in left)
        if nxt in seen:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)
        seen.add(nxt)


# --------------------------------------------------------------------------- discretisation


def _unit(g: np.ndarray) -> np.ndarray:
    # snnTorch exports r = tau / dt, so dt r / tau is 1 up to float rounding: make it exactly 1
    return np.where(np.abs(g - 1.0) < _UNIT_TOL, 1.0, g)


def _discrete(name: str, node: Node, shape: tuple[int, ...], dt: float) -> dict[str, np.ndarray]:
    """Per-neuron float32 factors of the kernel (see the module docstring), flattened."""
    def b(key: str) -> np.ndarray:
        return _broadcast(name, node, key, shape).astype(np.float64).ravel()

    n = math.prod(shape)
    one, zero = np.ones(n), np.zeros(n)
    k = node.kind
    alpha, gsyn = zero, one
    if k in ("lif", "li"):
        tau = b("tau")
        beta, gain, c = 1.0 - dt / tau, dt * b("r") / tau, dt / tau * b("v_leak")
    elif k in ("cubalif", "cubali"):
        ts, tm = b("tau_syn"), b("tau_mem")
        alpha, gsyn = 1.0 - dt / ts, dt * b("w_in") / ts
        beta, gain, c = 1.0 - dt / tm, dt * b("r") / tm, dt / tm * b("v_leak")
    else:  # if, i: integrate dt r x
        beta, gain, c = one, dt * b("r"), zero
    for key, t in (("tau", "tau"), ("tau_mem", "tau_mem"), ("tau_syn", "tau_syn")):
        if key in _PARAMS[k] and np.any(b(t) <= 0):
            raise InputError(f"node {name!r} ({k}): {key} must be > 0 s")
    if np.any(beta < 0) or np.any(alpha < 0):
        raise InputError(f"node {name!r} ({k}): dt = {dt:g} s exceeds a time constant, so forward Euler is "
                         "unstable (decay factor < 0); use a smaller --dt")
    thr = b("v_threshold") if k in SPIKING_KINDS else np.full(n, np.inf)
    vr = b("v_reset") if k in SPIKING_KINDS else zero
    f32 = {"alpha": alpha, "gsyn": _unit(gsyn), "beta": beta, "gain": _unit(gain), "c": c, "thr": thr, "vr": vr}
    return {key: np.ascontiguousarray(v, dtype=np.float32) for key, v in f32.items()}


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class SimulationResult:
    """Output of :func:`simulate`.

    Attributes
    ----------
    outputs : mapping of str to numpy.ndarray
        Per node, its output over time, shape ``[T, batch, *shape]``: int8 spikes for spiking
        populations and Threshold nodes (and any node whose input is binary and passes it on), float32
        otherwise.
    membranes : mapping of str to numpy.ndarray
        Per population, the membrane after each step (post-reset), float32; empty unless requested.
    counts : mapping of str to NodeCounts
        Events per node.
    dt : float
        Time step, s.
    steps, batch : int
        ``T`` and the batch size.
    """

    outputs: Mapping[str, np.ndarray]
    membranes: Mapping[str, np.ndarray]
    counts: Mapping[str, NodeCounts]
    dt: float
    steps: int
    batch: int

    @property
    def spikes(self) -> dict[str, np.ndarray]:
        """Outputs of the spiking populations and Threshold nodes (int8)."""
        return {n: a for n, a in self.outputs.items() if self.counts[n].kind in SPIKING_KINDS + ("threshold",)}


def bernoulli_spikes(shape: Sequence[int], rate: float, *, seed: int | np.random.Generator) -> np.ndarray:
    """Binary spikes (int8) of the given shape, each 1 with probability ``rate`` (Bernoulli/Poisson).

    Raises
    ------
    InputError
        ``rate`` outside [0, 1].
    ResourceLimitError
        The array (and the float32 draws behind it) would exceed the memory budget.
    """
    try:
        r = float(rate)
    except (TypeError, ValueError):
        raise InputError(f"'rate' must be a number in [0, 1] (got {rate!r})") from None
    if not 0.0 <= r <= 1.0:
        raise InputError(f"'rate' must be a spike probability in [0, 1] (got {rate!r})")
    check_memory(math.prod(int(n) for n in shape) * 5, f"Bernoulli input of shape {tuple(shape)}",
                 hint="use fewer steps or a smaller batch")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return (rng.random(tuple(shape), dtype=np.float32) < np.float32(r)).astype(np.int8)


def _is_binary(x: np.ndarray) -> bool:
    if x.dtype == np.int8 or x.dtype == np.bool_:
        return bool(x.size == 0 or (x.min() >= 0 and x.max() <= 1))
    return bool(np.all((x == 0) | (x == 1)))


def _as_rows(x: np.ndarray, n_rows: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(x.reshape((n_rows, *shape)))


def _estimate_bytes(net: Network, steps: int, batch: int, record: bool) -> int:
    total = 0
    for n in net.order:
        elems = steps * batch * math.prod(net.out_shapes[n])
        total += elems * 4 * (2 if record and net.nodes[n].kind in NEURON_KINDS else 1)
        if net.nodes[n].kind in ("linear", "affine"):  # padded output of the event path
            total += steps * batch * (math.prod(net.out_shapes[n]) + 256) * 4
    return total


def simulate(network: Network, inputs: Any, *, dt: float, record_membrane: bool = False,
             max_bytes: int | None = None) -> SimulationResult:
    """Simulate ``network`` over the steps of ``inputs``, node by node, with neurosim's Numba kernels.

    Parameters
    ----------
    network : Network
        The graph (acyclic).
    inputs : array_like or mapping of str to array_like
        Input of the (single) Input node, shape ``[T, batch, *input_shape]``, or a mapping from
        input-node names to such arrays (same T and batch). Binary (0/1) input runs the first synaptic
        layer event driven. Finite.
    dt : float
        Time step in seconds (> 0) used to discretise the continuous-time neurons (forward Euler).
    record_membrane : bool
        Also return each population's membrane per step.
    max_bytes : int, optional
        Refuse (ResourceLimitError) when the node outputs would need more memory than this; default:
        the project's memory budget (:func:`neurosim.budget.check_memory`, ``--memory-limit``).

    Returns
    -------
    SimulationResult

    Raises
    ------
    InputError
        ``dt <= 0``, non-finite input, a time constant shorter than ``dt``.
    ShapeError
        Input whose shape does not match the Input node (named).
    ResourceLimitError
        The estimated memory exceeds ``max_bytes``.
    """
    if not isinstance(network, Network):
        raise InputError(f"'network' must be a neurosim Network (got {type(network).__name__})")
    try:
        dt_f = float(dt)
    except (TypeError, ValueError):
        raise InputError(f"'dt' must be a time step in seconds > 0 (got {dt!r})") from None
    if not math.isfinite(dt_f) or dt_f <= 0:
        raise InputError(f"'dt' must be a time step in seconds > 0 (got {dt!r})")
    if not isinstance(inputs, Mapping):
        if len(network.inputs) != 1:
            raise InputError(f"the network has {len(network.inputs)} input nodes ({', '.join(network.inputs)}); "
                             "pass a mapping from input-node name to array")
        inputs = {network.inputs[0]: inputs}
    arrays: dict[str, np.ndarray] = {}
    for n in network.inputs:
        if n not in inputs:
            raise InputError(f"no input given for input node {n!r}")
        a = np.asarray(inputs[n])
        if a.dtype.kind not in "fiub":
            raise InputError(f"input of node {n!r} must be numeric (got dtype {a.dtype})")
        want = network.out_shapes[n]
        if a.ndim != 2 + len(want) or tuple(a.shape[2:]) != want or a.shape[0] < 1 or a.shape[1] < 1:
            raise ShapeError(f"input of node {n!r} must have shape [T, batch, {', '.join(map(str, want))}] "
                             f"(got {a.shape})")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise InputError(f"input of node {n!r} has NaN or inf values")
        arrays[n] = a
    steps, batch = next(iter(arrays.values())).shape[:2]
    for n, a in arrays.items():
        if a.shape[:2] != (steps, batch):
            raise ShapeError(f"all inputs must share T and batch; {n!r} has {a.shape[:2]}, expected {(steps, batch)}")
    need = _estimate_bytes(network, steps, batch, bool(record_membrane))
    if max_bytes is None:
        check_memory(need, f"simulating {len(network.nodes)} nodes over {steps} steps x batch {batch}",
                     hint="use fewer steps or a smaller batch")
    elif need > max_bytes:
        raise ResourceLimitError(f"simulating {steps} steps x batch {batch} needs about {need / 2**30:.2f} GiB of node "
                                 f"outputs, over the limit of {max_bytes / 2**30:.2f} GiB; use fewer steps or a smaller batch")
    rows = steps * batch
    out: dict[str, np.ndarray] = {}
    mem: dict[str, np.ndarray] = {}
    counts: dict[str, NodeCounts] = {}
    for name in network.order:
        node = network.nodes[name]
        shape_in, shape_out = network.in_shapes[name], network.out_shapes[name]
        n_out = math.prod(shape_out)
        if node.kind == "input":
            a = arrays[name]
            x = a.astype(np.int8) if _is_binary(a) else a.astype(np.float32)
            out[name] = np.ascontiguousarray(x)
            counts[name] = NodeCounts("input", neurons=n_out, output_spikes=int(np.count_nonzero(x)) if x.dtype == np.int8 else 0)
            continue
        preds = network.predecessors[name]
        x = out[preds[0]]
        if len(preds) > 1:
            x = sum((out[p].astype(np.float32) for p in preds[1:]), out[preds[0]].astype(np.float32))
        binary = x.dtype == np.int8 or _is_binary(x)
        if binary and x.dtype != np.int8:
            x = x.astype(np.int8)
        y, c = _run_node(K, network, name, node, x, binary, rows, dt_f, bool(record_membrane), mem)
        out[name] = y.reshape((steps, batch, *shape_out))
        if name in mem:
            mem[name] = mem[name].reshape((steps, batch, *shape_out))
        counts[name] = c
    return SimulationResult(MappingProxyType(out), MappingProxyType(mem), MappingProxyType(counts), dt_f, steps, batch)


def _fanout(K: Any, network: Network, name: str, node: Node, nonzero_only: bool) -> np.ndarray:
    """Per input element, the synapses it drives (nonzero weights only, or all for NeuroBench Dense); cached."""
    key = (name, f"fanout-{nonzero_only}")
    if key not in network._cache:
        network._cache[key] = _compute_fanout(K, network, name, node, nonzero_only)
    return network._cache[key]


def _compute_fanout(K: Any, network: Network, name: str, node: Node, nonzero_only: bool) -> np.ndarray:
    k = node.kind
    shape_in = network.in_shapes[name]
    if k in ("linear", "affine"):
        w = np.asarray(node.params["weight"])
        return (np.count_nonzero(w, axis=0) if nonzero_only else np.full(w.shape[1], w.shape[0])).astype(np.int64)
    if k in ("conv1d", "conv2d"):
        g = network._geometry[name]
        w = np.asarray(node.params["weight"])
        if w.ndim == 3:
            w = w[:, :, None, :]
        nz = (w != 0) if nonzero_only else np.ones(w.shape, dtype=bool)
        (h, wd), (oh, ow) = g["spatial"], g["out_spatial"]
        fan = np.zeros((shape_in[0], h, wd), dtype=np.int64)
        K.conv2d_fanout(nz, h, wd, *g["stride"], *g["padding"], *g["dilation"], g["groups"], oh, ow, fan)
        return fan.reshape(shape_in)
    if k in ("sumpool2d", "avgpool2d"):
        g = network._geometry[name]
        c, h, wd = shape_in
        ones = np.ones((c, 1, *g["kernel"]), dtype=bool)
        fan = np.zeros((c, h, wd), dtype=np.int64)
        K.conv2d_fanout(ones, h, wd, *g["stride"], *g["padding"], 1, 1, c, *g["out_shape"][1:], fan)
        return fan
    return np.ones(shape_in, dtype=np.int64)  # scale


# LIF populations with one beta and threshold, unit gain, no leak target and v_reset = 0 run on
# neurosim.lif's kernel (bit-identical to snnTorch's Leaky); tests switch this off to compare kernels.
_REUSE_LIF = True


def _lif_compatible(f: Mapping[str, np.ndarray]) -> bool:
    beta, thr = f["beta"], f["thr"]
    return bool((beta == beta[0]).all() and (thr == thr[0]).all() and thr[0] > 0 and 0 <= beta[0] <= 1
                and (f["gain"] == 1).all() and not f["c"].any() and not f["vr"].any())


def simulate_neurons(kind: str, inputs: Any, *, dt: float, record_membrane: bool = False,
                     **params: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Run one neuron population of NIR ``kind`` on an input current (checked wrapper of the kernels).

    Parameters
    ----------
    kind : {"lif", "cubalif", "if", "li", "cubali", "i"}
    inputs : array_like, shape (T, batch, *shape)
        Input per step (the membrane/synaptic input, NIR units); finite.
    dt : float
        Time step, s (> 0).
    record_membrane : bool
    **params
        The kind's NIR parameters (see :class:`Node`), scalars or arrays broadcast to ``shape``.

    Returns
    -------
    output : numpy.ndarray
        Spikes (int8) for lif, cubalif and if; the membrane (float32) for li, cubali and i.
    membrane : numpy.ndarray or None
        Post-reset membrane per step when ``record_membrane``.

    Examples
    --------
    >>> import numpy as np
    >>> out, _ = simulate_neurons("lif", np.full((6, 1, 1), 0.3), dt=1e-4, tau=1e-3, r=10.0, v_leak=0.0,
    ...                           v_threshold=1.0, v_reset=0.0)
    >>> out[:, 0, 0].tolist()   # v = 0.9 v + 0.3: 0.3, 0.57, 0.813, 1.03 > 1 fires and resets
    [0, 0, 0, 1, 0, 0]
    """
    if kind not in NEURON_KINDS:
        raise UnsupportedNodeError(f"neuron kind {kind!r} is not one of {', '.join(NEURON_KINDS)}")
    x = np.asarray(inputs)
    if x.ndim < 3:
        raise ShapeError(f"'inputs' must have shape [T, batch, *shape] (got {x.shape})")
    net = Network({"in": Node("input", {"shape": x.shape[2:]}), "pop": Node(kind, params)}, [("in", "pop")])
    res = simulate(net, x.astype(np.float32), dt=dt, record_membrane=record_membrane)
    return res.outputs["pop"], res.membranes.get("pop")


# Event-driven linear layers: (step, sample) rows per block and output columns per chunk; an output
# tile of 64 x 256 floats (64 KiB) stays in L2 while each spiking input's weight-row chunk is added to
# the rows that received it (4096 x 4096 at 10%: 1.65x faster than one row at a time, measured).
_ROW_BLOCK = 64


def _chunk(n_in: int, n_out: int) -> int:
    return int(min(-(-n_out // 8) * 8, 256))


def _run_node(K: Any, network: Network, name: str, node: Node, x: np.ndarray, binary: bool, rows: int, dt: float,
              record: bool, mem: dict[str, np.ndarray]) -> tuple[np.ndarray, NodeCounts]:
    k = node.kind
    p = node.params
    shape_in, shape_out = network.in_shapes[name], network.out_shapes[name]
    n_in, n_out = math.prod(shape_in), math.prod(shape_out)
    if k in ("output", "identity", "flatten"):
        return x, NodeCounts(k, neurons=n_out)
    if k == "delay":
        d = np.rint(_broadcast(name, node, "delay", shape_in) / dt).astype(np.int64).ravel()
        if d.min() < 0:
            raise InputError(f"node {name!r} (delay): delays must be >= 0 s")
        steps = x.shape[0]
        flat = x.reshape(steps, -1, n_in)
        y = np.zeros_like(flat)
        for dv in np.unique(d):
            cols = np.nonzero(d == dv)[0]
            if dv < steps:
                y[dv:, :, cols] = flat[: steps - dv, :, cols]
        return y, NodeCounts(k, neurons=n_out)
    if k == "threshold":
        thr = np.ascontiguousarray(_broadcast(name, node, "threshold", shape_in).ravel(), dtype=np.float32)
        xf = np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=np.float32)
        y = np.empty(xf.shape, dtype=np.int8)
        K.threshold_kernel(xf, thr, y, K.n_blocks(xf.shape[1]))
        return y, NodeCounts(k, output_spikes=int(np.count_nonzero(y)), neurons=n_out)
    if k in NEURON_KINDS:
        f = _discrete(name, node, shape_in, dt)
        steps = x.shape[0]
        xf = np.ascontiguousarray(x.reshape(steps, -1), dtype=np.float32)
        m = xf.shape[1]
        v = np.zeros(m, dtype=np.float32)
        cur = np.zeros(m, dtype=np.float32)
        spiking = k in SPIKING_KINDS
        spikes = np.empty((steps, m) if spiking else (0, 0), dtype=np.int8)
        vout = np.empty((0, 0) if spiking else (steps, m), dtype=np.float32)
        rec = np.empty((steps, m) if record else (0, 0), dtype=np.float32)
        if _REUSE_LIF and k == "lif" and _lif_compatible(f):
            # the semantics of neurosim.lif's snntorch kernel (zero reset, reset_delay=False): reuse it
            res = simulate_lif(xf, LIFParameters(beta=float(f["beta"][0]), threshold=float(f["thr"][0]), reset="zero",
                                                 convention="snntorch", reset_delay=False), record_membrane=record)
            spikes = res.spikes
            if record:
                rec = res.membrane
        else:
            kern = K.population_kernel(k in ("cubalif", "cubali"), spiking, record)
            kern(xf, v, cur, f["alpha"], f["gsyn"], f["beta"], f["gain"], f["c"], f["thr"], f["vr"], spikes, vout,
                 rec, K.n_blocks(m))
        if record:
            mem[name] = rec
        n_state = 2 if k in ("cubalif", "cubali") else 1
        y = spikes if spiking else vout
        return y, NodeCounts(k, neuron_updates=steps * m, state_words=2 * n_state * steps * m,
                             output_spikes=int(np.count_nonzero(spikes)) if spiking else 0, neurons=n_out)
    # synaptic layers
    nz = x.reshape(rows, n_in) != 0
    fan = _fanout(K, network, name, node, True).ravel()
    nz_per_input = nz.sum(axis=0, dtype=np.int64)
    events = int(nz_per_input @ fan)
    input_events = int(nz_per_input.sum())
    connection = k in ("linear", "affine", "conv1d", "conv2d")
    dense_ops = int(_fanout(K, network, name, node, False).sum()) * rows if connection else 0
    spiking_in = bool(binary or np.all(np.isin(x, (-1, 0, 1)))) if connection else False
    path = "event" if binary else "dense"
    counts = NodeCounts(k, path=path, input_events=input_events, synaptic_events=events,
                        weights_read=events if binary else (dense_ops or rows * n_in), dense_ops=dense_ops,
                        effective_acs=events if connection and spiking_in else 0,
                        effective_macs=events if connection and not spiking_in else 0, neurons=n_out)
    if k in ("linear", "affine"):
        if (name, "w32") not in network._cache:
            w32 = np.ascontiguousarray(p["weight"], dtype=np.float32)
            network._cache[(name, "w32")] = (w32, np.asarray(p["bias"], dtype=np.float32).ravel() if k == "affine"
                                             else np.zeros(w32.shape[0], np.float32))
        w, bias = network._cache[(name, "w32")]
        if binary:
            s = np.ascontiguousarray(x.reshape(rows, n_in))
            packed, padded_bias = network._packed(name, w, bias)
            y = np.empty((rows, packed.shape[0] * packed.shape[2]), dtype=np.float32)
            K.linear_events(s, packed, padded_bias, y, _ROW_BLOCK)
            y = np.ascontiguousarray(y[:, : w.shape[0]]) if y.shape[1] != w.shape[0] else y
        else:
            y = x.reshape(rows, n_in).astype(np.float32, copy=False) @ w.T
            if k == "affine":
                y += bias
        return y, counts
    if k == "scale":
        sc = _broadcast(name, node, "scale", shape_in).astype(np.float32)
        return (x.reshape(rows, *shape_in).astype(np.float32) * sc), counts
    g = network._geometry[name]
    if k in ("conv1d", "conv2d"):
        w = np.asarray(p["weight"], dtype=np.float32)
        if w.ndim == 3:
            w = w[:, :, None, :]
        w = np.ascontiguousarray(w)
        bias = np.ascontiguousarray(np.broadcast_to(np.asarray(p["bias"], np.float32).ravel(), (w.shape[0],)))
        xi = _as_rows(x, rows, (shape_in[0], *g["spatial"]))
        y = np.empty((rows, w.shape[0], *g["out_spatial"]), dtype=np.float32)
        kern = K.conv2d_events if binary else K.conv2d_dense
        if not binary:
            xi = xi.astype(np.float32, copy=False)
        kern(xi, w, bias, *g["stride"], *g["padding"], *g["dilation"], g["groups"], y)
        return y, counts
    # pooling
    xi = _as_rows(x, rows, shape_in).astype(np.float32, copy=False)
    y = np.empty((rows, *g["out_shape"]), dtype=np.float32)
    kh, kw = g["kernel"]
    K.pool2d(xi, kh, kw, *g["stride"], *g["padding"], np.float32(1.0 if k == "sumpool2d" else kh * kw), y)
    return y, counts
