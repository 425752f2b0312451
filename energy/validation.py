"""Validation of the system energy model against published GPU measurements.

The measured points live in ``energy/data/measured-gpu-energy.toml`` (``schema =
"neurosim-measured-energy"``): per point the GPU, model, precision, batch size, software stack, what the
measured energy covers, the energy per generated token with its unit, how it was derived from the
published numbers and where (file, table, row) it was read. :func:`load_measured` reads and checks the
file; :func:`validate` predicts every point with :func:`neurosim.energy.system.system_energy` from the
hardware profile's datasheet numbers and the named stack preset only (nothing is fitted per point) and
returns predicted / measured ratios.

A ratio of 1 is a perfect prediction; the target is every ratio within a factor of 1.5
(:data:`TARGET_FACTOR`), i.e. ``1/1.5 <= ratio <= 1.5``.

Examples
--------
>>> data = load_measured()
>>> len(data.points) >= 8
True
>>> sorted({p.stack for p in data.points})
['eager', 'optimized']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import math
from pathlib import Path
from types import MappingProxyType
from typing import Any

from neurosim.energy._datafile import Where, read_toml, sources_of
from neurosim.energy.system import system_energy
from neurosim.exceptions import InputError
from neurosim.hf_config import config_from_hf

__all__ = [
    "FRAME_COLUMNS",
    "MEASURED_FILE",
    "TARGET_FACTOR",
    "MeasuredData",
    "MeasuredPoint",
    "ValidationResult",
    "ValidationRow",
    "load_measured",
    "shape_config",
    "validate",
    "validation_frame",
    "validation_note",
]

#: The shipped file of measured points.
MEASURED_FILE: Path = Path(__file__).parent / "data" / "measured-gpu-energy.toml"

#: Target: every prediction within this factor of its measurement.
TARGET_FACTOR: float = 1.5

_SCHEMA = "neurosim-measured-energy"
_POINT_KEYS = {"id", "gpu", "profile", "model", "shape", "precision", "mode", "batch", "stack", "software",
               "covers", "prompt_tokens", "output_tokens", "context_tokens", "measured", "measured_tokens_per_s",
               "derivation",
               "source", "where", "confidence", "note"}
_REQUIRED_POINT_KEYS = _POINT_KEYS - {"note", "prompt_tokens", "measured_tokens_per_s"}
_SHAPE_INT_KEYS = ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
                   "num_key_value_heads", "vocab_size")
_SHAPE_KEYS = set(_SHAPE_INT_KEYS) | {"family", "head_dim", "tie_word_embeddings", "source", "note"}
_FAMILIES = ("llama", "qwen2")


@dataclass(frozen=True)
class MeasuredPoint:
    """One published measurement of energy per generated token (``measured_j`` in J/token)."""

    id: str
    gpu: str
    profile: str
    model: str
    shape: str
    precision: str
    mode: str
    batch: int
    stack: str
    software: str
    covers: str
    prompt_tokens: float
    output_tokens: float
    context_tokens: int
    measured_j: float
    measured_raw: float
    measured_unit: str
    derivation: str
    source: str
    citation: str
    where: str
    confidence: str
    note: str = ""
    measured_tokens_per_s: float | None = None


@dataclass(frozen=True)
class MeasuredData:
    """The loaded file: points, model shapes (HF config keys) and source citations."""

    path: Path
    version: str
    points: tuple[MeasuredPoint, ...]
    shapes: Mapping[str, Mapping[str, Any]] = field(repr=False)
    sources: Mapping[str, str] = field(repr=False)


def _read_shape(w: Where, body: Any, sources: dict[str, str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise w.error("expected a table of config.json keys")
    w.check_keys(body, _SHAPE_KEYS)
    family = w.string(body, "family")
    if family not in _FAMILIES:
        raise w.child("family").error(f"expected one of {', '.join(_FAMILIES)} (got {family!r})")
    out: dict[str, Any] = {"model_type": family}
    for key in _SHAPE_INT_KEYS + ("head_dim",):
        if key == "head_dim" and key not in body:
            continue
        v = body.get(key)
        if key not in body:
            raise w.child(key).error("missing required key")
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise w.child(key).error(f"expected an integer > 0 (got {v!r})")
        out[key] = v
    tie = body.get("tie_word_embeddings", False)
    if not isinstance(tie, bool):
        raise w.child("tie_word_embeddings").error(f"expected true or false (got {tie!r})")
    out["tie_word_embeddings"] = tie
    w.source(body, sources)
    return out


def _positive(w: Where, body: dict[str, Any], key: str, *, integer: bool = False,
              required: bool = True, allow_zero: bool = False) -> float:
    if key not in body:
        if required:
            raise w.child(key).error("missing required column")
        return 0.0
    v = body[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or (integer and not isinstance(v, int)):
        kind = "an integer" if integer else "a number"
        raise w.child(key).error(f"expected {kind} (got {v!r})")
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise w.child(key).error(f"expected a finite number {'>= 0' if allow_zero else '> 0'} (got {v!r})")
    return float(v)


def _read_point(w: Where, body: Any, sources: dict[str, str], shapes: Mapping[str, Any]) -> MeasuredPoint:
    if not isinstance(body, dict):
        raise w.error("expected a table")
    w.check_keys(body, _POINT_KEYS)
    missing = sorted(_REQUIRED_POINT_KEYS - set(body))
    if missing:
        raise w.child(missing[0]).error("missing required column")
    strings = {k: w.string(body, k) for k in ("id", "gpu", "profile", "model", "shape", "precision", "mode",
                                               "stack", "software", "covers", "derivation", "where")}
    if strings["shape"] not in shapes:
        raise w.child("shape").error(f"unknown shape {strings['shape']!r}; declare it under [shapes] "
                                     f"(known: {', '.join(sorted(shapes)) or '(none)'})")
    measured = body["measured"]
    mw = w.child("measured")
    if not isinstance(measured, dict):
        raise mw.error("expected an inline table {value = ..., unit = \"J\"}")
    mw.check_keys(measured, {"value", "unit"})
    if "unit" not in measured:
        raise mw.child("unit").error("missing unit (energy per generated token, e.g. \"J\")")
    raw, unit, si = mw.quantity(measured, allow_zero=False)
    if unit not in ("J", "mJ", "uJ", "nJ", "pJ", "fJ"):
        raise mw.child("unit").error(f"expected an energy unit per token such as \"J\" (got {unit!r})")
    source = w.source(body, sources)
    confidence = w.confidence(body)
    return MeasuredPoint(
        **strings,
        batch=int(_positive(w, body, "batch", integer=True)),
        prompt_tokens=_positive(w, body, "prompt_tokens", required=False, allow_zero=True),
        output_tokens=_positive(w, body, "output_tokens"),
        context_tokens=int(_positive(w, body, "context_tokens", integer=True)),
        measured_j=si, measured_raw=raw, measured_unit=unit,
        source=source, citation=sources[source], confidence=confidence,
        note=str(body.get("note", "")),
        measured_tokens_per_s=(_positive(w, body, "measured_tokens_per_s")
                               if "measured_tokens_per_s" in body else None),
    )


def load_measured(path: str | Path | None = None) -> MeasuredData:
    """Read and check a measured-points file (default: the shipped one).

    Raises
    ------
    ConfigError
        Missing file, bad TOML, wrong schema, a point missing a column or the measured unit, an unknown
        unit, source or shape, a duplicate id; the message names the file and the field
        (``points[3].measured.unit``).
    """
    path = MEASURED_FILE if path is None else Path(path)
    data = read_toml(path)
    top = Where(path)
    top.check_keys(data, {"schema", "version", "sources", "shapes", "points"})
    if top.string(data, "schema") != _SCHEMA:
        raise top.child("schema").error(f"expected {_SCHEMA!r} (got {data['schema']!r})")
    version = top.string(data, "version")
    sources = sources_of(top, data)
    shapes = {name: _read_shape(top.child("shapes").child(name), body, sources)
              for name, body in top.table(data, "shapes").items()}
    raw_points = data.get("points")
    if not isinstance(raw_points, list) or not raw_points:
        raise top.child("points").error("expected a non-empty array of [[points]] tables")
    points = tuple(_read_point(top.child(f"points[{i}]"), body, sources, shapes)
                   for i, body in enumerate(raw_points))
    seen: set[str] = set()
    for i, p in enumerate(points):
        if p.id in seen:
            raise top.child(f"points[{i}]").child("id").error(f"duplicate id {p.id!r}")
        seen.add(p.id)
    return MeasuredData(path=path, version=version, points=points,
                        shapes=MappingProxyType(shapes), sources=MappingProxyType(sources))


def shape_config(data: MeasuredData, point: MeasuredPoint) -> Any:
    """The :class:`neurosim.models.ModelConfig` of a point's model shape."""
    return config_from_hf(dict(data.shapes[point.shape]), name=point.shape)


@dataclass(frozen=True)
class ValidationRow:
    """One point predicted: ``ratio = predicted_j / measured_j`` (J per generated token)."""

    point: MeasuredPoint
    predicted_j: float
    compute_j: float
    memory_j: float
    static_j: float
    seconds_per_token: float
    bound_by: str

    @property
    def measured_j(self) -> float:
        return self.point.measured_j

    @property
    def ratio(self) -> float:
        return self.predicted_j / self.point.measured_j

    @property
    def within_target(self) -> bool:
        return 1.0 / TARGET_FACTOR <= self.ratio <= TARGET_FACTOR

    @property
    def time_ratio(self) -> float | None:
        """Predicted / measured seconds per token (None where the source gives no throughput)."""
        tps = self.point.measured_tokens_per_s
        if tps is None or not self.seconds_per_token > 0:
            return None
        return self.seconds_per_token * tps

    @property
    def power_ratio(self) -> float | None:
        """Predicted / measured mean power (energy ratio / time ratio): splits a miss into time and power."""
        t = self.time_ratio
        return None if t is None else self.ratio / t

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (energies in J per generated token)."""
        p = self.point
        return {
            "id": p.id, "gpu": p.gpu, "profile": p.profile, "model": p.model, "precision": p.precision,
            "mode": p.mode, "batch": p.batch, "stack": p.stack, "software": p.software, "covers": p.covers,
            "context_tokens": p.context_tokens,
            "measured_j": p.measured_j, "predicted_j": self.predicted_j, "ratio": self.ratio,
            "within_target": self.within_target,
            "compute_j": self.compute_j, "memory_j": self.memory_j, "static_j": self.static_j,
            "seconds_per_token": self.seconds_per_token, "bound_by": self.bound_by,
            "measured_tokens_per_s": p.measured_tokens_per_s, "time_ratio": self.time_ratio,
            "power_ratio": self.power_ratio,
            "derivation": p.derivation, "source": f"{p.citation}; {p.where}", "confidence": p.confidence,
        }


@dataclass(frozen=True)
class ValidationResult:
    """Every point predicted, with the worst ratio (farthest from 1 on a log scale)."""

    rows: tuple[ValidationRow, ...]
    path: Path
    target_factor: float = TARGET_FACTOR

    @property
    def worst(self) -> ValidationRow:
        return max(self.rows, key=lambda r: abs(math.log(r.ratio)))

    @property
    def all_within_target(self) -> bool:
        return all(r.within_target for r in self.rows)

    @property
    def misses(self) -> tuple[ValidationRow, ...]:
        return tuple(r for r in self.rows if not r.within_target)

    def to_dict(self) -> dict[str, Any]:
        w = self.worst
        return {
            "points": [r.to_dict() for r in self.rows],
            "summary": {
                "n_points": len(self.rows), "target_factor": self.target_factor,
                "within_target": sum(r.within_target for r in self.rows),
                "worst_id": w.point.id, "worst_ratio": w.ratio,
                "geomean_ratio": math.exp(math.fsum(math.log(r.ratio) for r in self.rows) / len(self.rows)),
                "file": str(self.path),
            },
        }


#: Columns of :func:`validation_frame` (J per generated token).
FRAME_COLUMNS: tuple[str, ...] = ("id", "gpu_profile", "batch", "stack", "measured_j", "predicted_j", "ratio",
                                  "within_target", "bound_by", "time_ratio", "power_ratio")


def validation_frame(result: ValidationResult) -> Any:
    """One row per point: id, profile, batch, stack, measured and predicted J/token, ratio, bound."""
    import pandas as pd

    return pd.DataFrame([{
        "id": r.point.id, "gpu_profile": r.point.profile, "batch": r.point.batch, "stack": r.point.stack,
        "measured_j": r.measured_j, "predicted_j": r.predicted_j, "ratio": r.ratio,
        "within_target": r.within_target, "bound_by": r.bound_by, "time_ratio": r.time_ratio,
        "power_ratio": r.power_ratio,
    } for r in result.rows], columns=list(FRAME_COLUMNS))


def validation_note(result: ValidationResult) -> str:
    """Plain-text summary: how many points are within the target, the worst ratio, and every miss
    with what the model predicted it to be bound by and the point's own note."""
    w = result.worst
    n_in = sum(r.within_target for r in result.rows)
    lines = [
        f"{n_in} of {len(result.rows)} predictions within a factor {result.target_factor:g} of the measurement "
        f"(geometric-mean ratio {result.to_dict()['summary']['geomean_ratio']:.2f}).",
        f"Worst ratio: {w.ratio:.2f} (predicted / measured) at {w.point.id}: predicted {w.predicted_j:.4g} J, "
        f"measured {w.measured_j:.4g} J per token; the model calls that step {w.bound_by}-bound "
        f"({w.seconds_per_token * 1e3:.3g} ms per token).",
    ]
    for r in result.misses:
        side = "over" if r.ratio > 1 else "under"
        split = ""
        if r.time_ratio is not None and r.power_ratio is not None:
            term = "time" if abs(math.log(r.time_ratio)) >= abs(math.log(r.power_ratio)) else "power"
            split = (f" Time per token {r.time_ratio:.2f}x and mean power {r.power_ratio:.2f}x the measured: "
                     f"the {term} model carries the miss.")
        lines.append(f"Miss: {r.point.id} {side}-predicted {r.ratio:.2f}x ({r.point.stack} stack, batch "
                     f"{r.point.batch}, {r.bound_by}-bound).{split} {r.point.note}".rstrip())
    lines.append("Predictions use only the profiles' datasheet figures and the named stack preset "
                 "(energy/data/stacks.toml); nothing is fitted per point.")
    return "\n".join(lines)


Predictor = Callable[..., Any]


def _default_predictor() -> Predictor:
    return system_energy


def validate(path: str | Path | None = None, *, predictor: Predictor | None = None) -> ValidationResult:
    """Predict every measured point with the system model and compare.

    Parameters
    ----------
    path : str or Path, optional
        Measured-points file (default: the shipped one).
    predictor : callable, optional
        ``predictor(model, mode=..., profile=..., batch=..., phase="decode", stack=...,
        context_length=...)`` returning an object with ``total_j``, ``compute_j``, ``memory_j``,
        ``static_j``, ``seconds_per_token`` and ``bound_by`` per generated token. Default:
        :func:`neurosim.energy.system.system_energy`. Tests pass a stub here. A point that states its
        ``prompt_tokens`` P also gets the prefill of its prompt, ``P / output_tokens`` x the per-token
        prefill energy (``phase="prefill"``, batch 1); points whose sources publish no prompt length are
        predicted for decode only, and their notes say so.

    Raises
    ------
    ConfigError
        The file is malformed (see :func:`load_measured`).
    InputError
        The model cannot price a point (e.g. the profile lacks a figure the stack needs).
    """
    data = load_measured(path)
    predict = predictor or _default_predictor()
    rows = []
    for p in data.points:
        model = shape_config(data, p)
        res = predict(model, mode=p.mode, profile=p.profile, batch=p.batch, phase="decode",
                      stack=p.stack, context_length=p.context_tokens)
        parts = [float(res.total_j), float(res.compute_j), float(res.memory_j), float(res.static_j)]
        seconds = float(res.seconds_per_token)
        if p.prompt_tokens > 0:
            # the measurement covers the prompts' prefill too: add it per generated token, each prompt
            # prefilled once (batch 1: a serving engine prefills arriving prompts as they come)
            pre = predict(model, mode=p.mode, profile=p.profile, batch=1, phase="prefill",
                          prompt_tokens=int(p.prompt_tokens), stack=p.stack)
            share = p.prompt_tokens / p.output_tokens
            for i, v in enumerate((pre.total_j, pre.compute_j, pre.memory_j, pre.static_j)):
                parts[i] += share * float(v)
            seconds += share * float(pre.seconds_per_token)
        total = parts[0]
        if not math.isfinite(total) or total <= 0:
            raise InputError(f"prediction for {p.id!r} is not a positive energy (got {total!r})")
        rows.append(ValidationRow(point=p, predicted_j=total, compute_j=parts[1], memory_j=parts[2],
                                  static_j=parts[3], seconds_per_token=seconds, bound_by=str(res.bound_by)))
    return ValidationResult(rows=tuple(rows), path=data.path)

