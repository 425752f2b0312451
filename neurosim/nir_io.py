"""Read and write the Neuromorphic Intermediate Representation (NIR 1.0, PyPI ``nir``).

:func:`read_nir` turns a ``.nir`` file (HDF5, written by ``nir.write``: snnTorch, Norse, Sinabs,
Rockpool, Lava-DL, SpikingJelly, Spyx export it) or a ``nir.NIRGraph`` into a
:class:`neurosim.network.Network`; :func:`write_nir` writes a Network back. The ``nir`` package is
an optional extra (``pip install neurosim[nir]``) imported only inside these functions.

Supported NIR nodes: Input, Output, Affine, Linear, Scale, Flatten, LIF, CubaLIF, CubaLI, IF, LI, I,
Threshold, Conv1d, Conv2d, SumPool2d, AvgPool2d, Delay and nested NIRGraph (flattened, child names
``parent.child``). Parameters keep NIR's continuous-time meaning; :func:`neurosim.network.simulate`
discretises them with its ``dt`` (forward Euler; snnTorch's exporter assumes ``dt = 1e-4`` s) and
resets spiking neurons to ``v_reset`` (NIR's convention; snnTorch's subtract reset does not survive
export). Recurrent graphs (cycles, e.g. snnTorch's RLeaky/RSynaptic) are refused with
:class:`~neurosim.exceptions.GraphError`. Any other node raises
:class:`~neurosim.exceptions.UnsupportedNodeError` naming the node and its type.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.exceptions import DependencyError, GraphError, InputError, UnsupportedNodeError
from neurosim.network import Network, Node
from neurosim.validation import check_new_file

__all__ = ["SUPPORTED_NIR_NODES", "read_nir", "write_nir"]

#: NIR node class name -> neurosim node kind.
SUPPORTED_NIR_NODES: dict[str, str] = {
    "Input": "input", "Output": "output", "Affine": "affine", "Linear": "linear", "Scale": "scale",
    "Flatten": "flatten", "LIF": "lif", "CubaLIF": "cubalif", "CubaLI": "cubali", "IF": "if", "LI": "li",
    "I": "i", "Threshold": "threshold", "Conv1d": "conv1d", "Conv2d": "conv2d", "SumPool2d": "sumpool2d",
    "AvgPool2d": "avgpool2d", "Delay": "delay", "NIRGraph": "(subgraph)",
}


def _nir() -> Any:
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError("reading or writing NIR needs the optional 'nir' package: pip install 'neurosim[nir]'") from exc
    return nir


def _arr(v: Any) -> np.ndarray:
    return np.asarray(v if v is not None else 0.0, dtype=np.float64)


def _shape_of(types: Any, node_name: str) -> tuple[int, ...]:
    if isinstance(types, dict) and types:
        v = next(iter(types.values()))
    else:
        v = types
    if v is None:
        raise GraphError(f"input node {node_name!r} declares no shape")
    return tuple(int(s) for s in np.atleast_1d(np.asarray(v)).tolist())


def _convert(nir: Any, name: str, obj: Any) -> Node:
    t = type(obj).__name__
    a = _arr
    if isinstance(obj, nir.Input):
        return Node("input", {"shape": _shape_of(obj.input_type, name)})
    if isinstance(obj, nir.Output):
        return Node("output")
    if isinstance(obj, nir.Affine):
        return Node("affine", {"weight": a(obj.weight), "bias": a(obj.bias)})
    if isinstance(obj, nir.Linear):
        return Node("linear", {"weight": a(obj.weight)})
    if isinstance(obj, nir.Scale):
        return Node("scale", {"scale": a(obj.scale)})
    if isinstance(obj, nir.Flatten):
        return Node("flatten", {"start_dim": int(obj.start_dim), "end_dim": int(obj.end_dim)})
    if isinstance(obj, nir.CubaLIF):
        return Node("cubalif", {k: a(getattr(obj, k)) for k in
                                ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in")})
    if isinstance(obj, nir.CubaLI):
        return Node("cubali", {k: a(getattr(obj, k)) for k in ("tau_syn", "tau_mem", "r", "v_leak", "w_in")})
    if isinstance(obj, nir.LIF):
        return Node("lif", {k: a(getattr(obj, k)) for k in ("tau", "r", "v_leak", "v_threshold", "v_reset")})
    if isinstance(obj, nir.IF):
        return Node("if", {k: a(getattr(obj, k)) for k in ("r", "v_threshold", "v_reset")})
    if isinstance(obj, nir.LI):
        return Node("li", {k: a(getattr(obj, k)) for k in ("tau", "r", "v_leak")})
    if isinstance(obj, nir.I):
        return Node("i", {"r": a(obj.r)})
    if isinstance(obj, nir.Threshold):
        return Node("threshold", {"threshold": a(obj.threshold)})
    if isinstance(obj, (nir.Conv1d, nir.Conv2d)):
        pad = obj.padding if isinstance(obj.padding, str) else np.atleast_1d(np.asarray(obj.padding)).tolist()
        return Node("conv1d" if isinstance(obj, nir.Conv1d) else "conv2d", {
            "weight": a(obj.weight), "bias": a(obj.bias), "stride": np.atleast_1d(obj.stride).tolist(),
            "padding": pad, "dilation": np.atleast_1d(obj.dilation).tolist(), "groups": int(obj.groups)})
    if isinstance(obj, (nir.SumPool2d, nir.AvgPool2d)):
        return Node("sumpool2d" if isinstance(obj, nir.SumPool2d) else "avgpool2d", {
            "kernel_size": np.atleast_1d(obj.kernel_size).tolist(), "stride": np.atleast_1d(obj.stride).tolist(),
            "padding": np.atleast_1d(obj.padding).tolist()})
    if isinstance(obj, nir.Delay):
        return Node("delay", {"delay": a(obj.delay)})
    raise UnsupportedNodeError(f"NIR node {name!r} has type {t}, which neurosim does not simulate; supported: "
                               f"{', '.join(SUPPORTED_NIR_NODES)}")


def _flatten(nir: Any, graph: Any, prefix: str, nodes: dict[str, Node], edges: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Add ``graph``'s nodes under ``prefix``; return the names of its input and output nodes."""
    ins: list[str] = []
    outs: list[str] = []
    sub_io: dict[str, tuple[list[str], list[str]]] = {}
    for name, obj in graph.nodes.items():
        full = prefix + name
        if isinstance(obj, nir.NIRGraph):
            sub_io[name] = _flatten(nir, obj, full + ".", nodes, edges)
            continue
        node = _convert(nir, full, obj)
        if prefix and node.kind in ("input", "output"):
            (ins if node.kind == "input" else outs).append(full)
            node = Node("identity")
        elif node.kind == "input":
            ins.append(full)
        elif node.kind == "output":
            outs.append(full)
        nodes[full] = node
    for src, dst in graph.edges:
        srcs = _endpoint(src, sub_io, prefix, 1, graph)
        dsts = _endpoint(dst, sub_io, prefix, 0, graph)
        edges.extend((s, d) for s in srcs for d in dsts)
    return ins, outs


def _endpoint(ref: str, sub_io: dict[str, tuple[list[str], list[str]]], prefix: str, side: int, graph: Any) -> list[str]:
    if ref in sub_io:
        return sub_io[ref][side]
    head = ref.split(".", 1)[0]
    if ref not in graph.nodes and head not in graph.nodes:
        raise GraphError(f"edge endpoint {prefix + ref!r} names no node of the graph")
    return [prefix + ref]


def read_nir(source: str | os.PathLike[str] | Any) -> Network:
    """Read a NIR graph (a ``.nir`` file path or a ``nir.NIRGraph``) into a :class:`Network`.

    Parameters
    ----------
    source : path or nir.NIRGraph
        An HDF5 file written by ``nir.write``, or a graph object.

    Returns
    -------
    Network
        Nodes named as in the graph (nested subgraph nodes as ``parent.child``); simulate it with
        :func:`neurosim.network.simulate` and a ``dt``.

    Raises
    ------
    InputError
        The file does not exist.
    GraphError
        The file is not HDF5 or not NIR, or the graph has a cycle or a dangling edge.
    UnsupportedNodeError
        A node type neurosim does not simulate (named with the node).
    ShapeError
        Shapes of connected nodes do not fit (both nodes named).
    DependencyError
        The optional ``nir`` package is missing.
    """
    nir = _nir()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"NIR file {str(path)!r} does not exist or is not a file")
        import h5py

        if not h5py.is_hdf5(path):
            raise GraphError(f"{str(path)!r} is not an HDF5 file, so not a NIR file (write one with nir.write)")
        try:
            graph = nir.read(path)
        except Exception as exc:  # noqa: BLE001 - nir raises KeyError/ValueError/TypeError on foreign HDF5
            raise GraphError(f"{str(path)!r} is HDF5 but not a NIR graph nir can read ({type(exc).__name__}: {exc})") from None
    else:
        graph = source
    if not isinstance(graph, nir.NIRGraph):
        if isinstance(graph, nir.NIRNode):
            raise UnsupportedNodeError(f"expected a NIR graph, got a single {type(graph).__name__} node")
        raise InputError(f"'source' must be a .nir path or a nir.NIRGraph (got {type(graph).__name__})")
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []
    _flatten(nir, graph, "", nodes, edges)
    return Network(nodes, edges)


def write_nir(network: Network, path: str | os.PathLike[str] | None = None, *, overwrite: bool = False) -> Any:
    """Convert a :class:`Network` to a ``nir.NIRGraph`` and, if ``path`` is given, write it (HDF5).

    Nested subgraphs are written flat (their identity nodes stay as Output-free pass-through edges).
    The file is written to a temporary name and moved into place, so a failure leaves no partial file.
    An existing file at ``path`` is replaced only with ``overwrite=True`` (never a folder or a symlink's
    target), so a call can never silently destroy a file the caller did not mean to replace.

    Raises
    ------
    OutputPathError
        ``path`` exists and ``overwrite`` is false, or it is a folder or a symlink.

    Returns
    -------
    nir.NIRGraph
    """
    nir = _nir()
    if not isinstance(network, Network):
        raise InputError(f"'network' must be a neurosim Network (got {type(network).__name__})")
    f32 = lambda v: np.asarray(v, dtype=np.float32)  # noqa: E731 - NIR stores float32 like its exporters
    out: dict[str, Any] = {}
    skip: dict[str, tuple[str, ...]] = {}
    for name in network.order:
        node = network.nodes[name]
        p = node.params
        k = node.kind
        shape = np.asarray(network.out_shapes[name])
        if k == "identity":
            skip[name] = network.predecessors[name]
            continue
        if k == "input":
            obj = nir.Input(input_type={"input": shape})
        elif k == "output":
            obj = nir.Output(output_type={"output": shape})
        elif k == "affine":
            obj = nir.Affine(weight=f32(p["weight"]), bias=f32(p["bias"]))
        elif k == "linear":
            obj = nir.Linear(weight=f32(p["weight"]))
        elif k == "scale":
            obj = nir.Scale(scale=f32(p["scale"]))
        elif k == "flatten":
            obj = nir.Flatten(input_type={"input": np.asarray(network.in_shapes[name])},
                              start_dim=int(p["start_dim"]), end_dim=int(p["end_dim"]))
        elif k in ("conv1d", "conv2d"):
            cls = nir.Conv1d if k == "conv1d" else nir.Conv2d
            spatial = network.in_shapes[name][1:]
            one = lambda v: (int(np.atleast_1d(v)[0]) if k == "conv1d" else tuple(int(x) for x in np.atleast_1d(v)))  # noqa: E731
            pad = p["padding"] if isinstance(p["padding"], str) else one(p["padding"])
            obj = cls(input_shape=spatial[0] if k == "conv1d" else tuple(spatial), weight=f32(p["weight"]),
                      stride=one(p["stride"]), padding=pad, dilation=one(p["dilation"]), groups=int(p["groups"]),
                      bias=f32(p["bias"]))
        elif k in ("sumpool2d", "avgpool2d"):
            cls = nir.SumPool2d if k == "sumpool2d" else nir.AvgPool2d
            g = network._geometry[name]  # two values per axis, as NIR's type inference indexes them
            obj = cls(kernel_size=np.asarray(g["kernel"]), stride=np.asarray(g["stride"]),
                      padding=np.asarray(g["padding"]))
        else:
            cls = {"lif": nir.LIF, "cubalif": nir.CubaLIF, "cubali": nir.CubaLI, "if": nir.IF, "li": nir.LI,
                   "i": nir.I, "threshold": nir.Threshold, "delay": nir.Delay}[k]
            obj = cls(**{key: f32(p[key]) for key in p})
        out[name] = obj

    def sources(n: str) -> tuple[str, ...]:
        return tuple(s for p in skip[n] for s in sources(p)) if n in skip else (n,)

    edges = [(s, b) for a, b in network.edges if b not in skip for s in sources(a)]
    graph = nir.NIRGraph(nodes=out, edges=edges)
    if path is not None:
        target = Path(path)
        check_new_file(target, "NIR file", overwrite=overwrite)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            nir.write(tmp, graph)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
    return graph
