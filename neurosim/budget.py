"""Memory budget: estimate the bytes a step will allocate from shapes, and refuse before allocating.

Every step that could allocate in proportion to a user's input (tokens x hidden activations, spike events
implied by counts and coder, weights implied by a configuration, an ``.npy`` file's header) calls
:func:`check_memory` with its estimate first. Above the limit it raises
:class:`~neurosim.exceptions.ResourceLimitError`, one line that names the step, the estimate, the limit and
how to raise it; nothing has been allocated.

The limit
---------
* ``NEUROSIM_MEMORY_LIMIT`` (environment) or ``energy-report --memory-limit SIZE`` (which sets it for the
  run): a size such as ``64G``, ``512MiB``, ``2.5e9`` (bytes), or ``none`` to disable the check.
* Otherwise :data:`DEFAULT_FRACTION` (50 %) of the memory available when the check runs: ``MemAvailable``
  from ``/proc/meminfo`` (capped by a cgroup v2 ``memory.max``), or ``os.sysconf`` free pages elsewhere.

Estimates are upper bounds of the large arrays a step holds at once, not of Python overhead; they are
deliberately simple (bytes per element x elements) so that a refusal can be checked by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
import os
import re

from neurosim.counts import layer_projections
from neurosim.exceptions import InputError, ResourceLimitError

__all__ = [
    "DEFAULT_FRACTION",
    "ENV_VAR",
    "array_bytes",
    "available_memory",
    "check_memory",
    "format_bytes",
    "memory_limit",
    "parse_size",
]

#: Environment variable holding the memory limit (a size, or ``none``).
ENV_VAR = "NEUROSIM_MEMORY_LIMIT"
#: Share of the available memory one step may plan to use when no limit is set.
DEFAULT_FRACTION = 0.5
_FALLBACK_AVAILABLE = 8 * 2**30  # when the platform reports nothing

_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str | int | float) -> int | None:
    """Bytes from ``"64G"``, ``"512MiB"``, ``"2.5e9"``, ``1000``; ``None`` for ``"none"`` (no limit).

    Units are binary (``K`` = 1024). Raises :class:`InputError` for anything else or a size <= 0.
    """
    if isinstance(text, bool):
        raise InputError(f"memory limit must be a size such as 64G or 'none' (got {text!r})")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        s = str(text).strip()
        if s.lower() in ("none", "off", "unlimited"):
            return None
        m = _SIZE_RE.match(s)
        if not m:
            raise InputError(f"memory limit must be a size such as 64G, 512M or 2e9 bytes, or 'none' (got {text!r})")
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not math.isfinite(value) or value < 1:
        raise InputError(f"memory limit must be a positive size (got {text!r})")
    return int(value)


def format_bytes(n: float) -> str:
    """``1.5 GiB``-style text of a byte count (any size, Python ints included)."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def _cgroup_room() -> int | None:
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
            current = int(fh.read().strip())
        return max(0, int(limit) - current)
    except (OSError, ValueError):
        return None


def available_memory() -> int:
    """Bytes of memory available to this process now (``MemAvailable``, capped by a cgroup limit)."""
    avail: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        avail = None
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = _FALLBACK_AVAILABLE
    room = _cgroup_room()
    return min(avail, room) if room is not None else avail


def memory_limit() -> int | None:
    """The limit in bytes now: ``NEUROSIM_MEMORY_LIMIT`` if set, else ``DEFAULT_FRACTION`` of available.

    ``None`` when the environment variable says ``none``.
    """
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip():
        try:
            return parse_size(env)
        except InputError as exc:
            raise InputError(f"environment variable {ENV_VAR}: {exc}") from None
    return int(DEFAULT_FRACTION * available_memory())


def array_bytes(shape: Sequence[int], itemsize: int) -> int:
    """Bytes of an array of ``shape`` (Python integers: no overflow for absurd shapes)."""
    return math.prod(int(s) for s in shape) * int(itemsize)


def check_memory(nbytes: int | float, what: str, *, hint: str = "") -> None:
    """Raise :class:`ResourceLimitError` when ``nbytes`` exceeds :func:`memory_limit`.

    Parameters
    ----------
    nbytes : int or float
        Estimated bytes the step will hold at once.
    what : str
        The step and its shape, e.g. ``"calibrated activations of 10000000 tokens x 4096"``.
    hint : str, optional
        How to make the step smaller (e.g. ``"use fewer --tokens"``).
    """
    limit = memory_limit()
    if limit is None or nbytes <= limit:
        return
    source = (f"{ENV_VAR}" if os.environ.get(ENV_VAR, "").strip()
              else f"{DEFAULT_FRACTION:.0%} of the {format_bytes(available_memory())} available")
    msg = (f"{what} would need about {format_bytes(nbytes)}, above the memory limit of {format_bytes(limit)} "
           f"({source})")
    if hint:
        msg += f"; {hint}"
    msg += f"; raise the limit with --memory-limit SIZE or {ENV_VAR}=SIZE"
    raise ResourceLimitError(msg)


#: Bytes per spike event in the engine's token-major list (channel int32, step int32, sign int8, weight int64).
EVENT_BYTES = 17


def unary_events(k: float, tokens: int, features: int) -> int:
    """Upper bound of the events a unary coder (binary, ternary) emits for one projection input.

    With the adaptive threshold ``Vth = mean|x| / k`` every token's ``sum |x| / Vth`` is exactly
    ``k * features``; rounding adds at most 1/2 per channel. So ``(k + 1/2) * features`` events per token,
    known before anything is computed. (When ``Vth`` is clamped at ``VTH_MAX`` counts can exceed this;
    :func:`neurosim.token_events.token_events` checks the real count again before allocating.)
    """
    return math.ceil((float(k) + 0.5) * int(features)) * int(tokens)


def layer_bytes(config: object, layer: int, tokens: int, *, k: float | None = None,
                coding: str | None = None) -> int:
    """Upper estimate of the bytes one decoder layer holds when run spike by spike on ``tokens`` rows.

    INT8 weights of every projection, one float32 copy of the largest (quantised one at a time), float64
    activations in and out of every projection, the int64 counts kept per projection input, and, for a
    unary ``coding`` with threshold divisor ``k``, the event list of the widest projection input
    (:func:`unary_events`; bitwise coders emit at most one event per bit, a few per channel).
    """
    # Every stored weight matrix of the layer: each projection of the analytical counts, times its copies
    # (routed experts are one role with `instances` copies).
    projs = layer_projections(config, layer)  # type: ignore[arg-type]
    weights = sum(p.instances * array_bytes((p.out_features, p.in_features), 1) for p in projs)
    weights += max((array_bytes((p.out_features, p.in_features), 4) for p in projs), default=0)
    # outputs + inputs + counts per projection
    per_token = sum(p.instances * (p.out_features + 2 * p.in_features) for p in projs)
    events = 0
    if coding in ("binary", "ternary") and k is not None:
        events = EVENT_BYTES * unary_events(k, tokens, max((p.in_features for p in projs), default=0))
    return weights + int(tokens) * per_token * 8 + events


def check_layer_memory(config: object, layer: int, tokens: int, *, k: float | None = None,
                       coding: str | None = None) -> None:
    """:func:`check_memory` for :func:`layer_bytes`, naming the model, layer, shapes and coder."""
    name = getattr(config, "name", "model")
    spiking = f", {coding} coding at k = {k:g}" if coding in ("binary", "ternary") and k is not None else ""
    check_memory(layer_bytes(config, layer, tokens, k=k, coding=coding),
                 f"layer {layer} of {name!r} (hidden {getattr(config, 'hidden', '?')}) on {tokens} tokens{spiking}",
                 hint="use fewer --tokens, a smaller k, a bitwise coder or a smaller model")
