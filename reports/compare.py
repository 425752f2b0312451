"""``energy-report compare A B``: the differences of two report folders' statistics and energy.

Reads ``summary.json`` of both folders (a default-job report or a ``torch``/``hf`` profile, the same kind on
both sides) and lines up every comparable figure by name: the settings that differ (e.g. k = 2 against k = 4),
spike statistics (every sparsity definition, spikes per channel, silent fraction, events per token),
energy per (mode, profile) and per-layer statistics. Each row gives A, B, B - A and B / A.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from neurosim.exceptions import InputError, NotFoundError

__all__ = ["COLUMNS", "compare_reports", "compare_summaries", "load_summary"]

COLUMNS = ("section", "item", "A", "B", "B - A", "B / A")
_SCHEMAS = ("neurosim-energy-report", "neurosim-model-profile")
_LAYER_FIELDS = ("spikes_per_channel", "silent_fraction", "window_sparsity", "events", "synaptic_ops", "macs",
                 "firing_rate", "spikes_per_neuron", "neurons", "time_steps", "batch", "synops", "input_events",
                 "effective_macs", "effective_acs")
_ENERGY_FIELDS = ("total_j", "compute_j", "memory_j", "static_j")


def load_summary(folder: str | Path) -> dict[str, Any]:
    """``summary.json`` of a report folder.

    Raises
    ------
    NotFoundError
        No such folder, or no summary.json in it (not a report folder).
    InputError
        summary.json is not JSON or not a neurosim report summary.
    """
    path = Path(folder)
    if not path.is_dir():
        raise NotFoundError(f"report folder {str(path)!r} does not exist")
    file = path / "summary.json"
    if not file.is_file():
        raise NotFoundError(f"{str(path)!r} holds no summary.json: not a report folder written by energy-report")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{str(file)!r} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") not in _SCHEMAS:
        raise InputError(f"{str(file)!r} is not a neurosim report summary (schema {data.get('schema')!r}; "
                         f"expected one of {', '.join(_SCHEMAS)})" if isinstance(data, dict)
                         else f"{str(file)!r} is not a neurosim report summary")
    return data


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _energy_items(records: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in records or []:
        if not isinstance(r, Mapping):
            continue
        key = f"{r.get('mode', 'snn-event')} | {r.get('profile')}"
        for f in _ENERGY_FIELDS:
            if f in r:
                out[f"{key}: {f}"] = r[f]
    return out


def _flatten(summary: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """(section, item) -> value of every comparable figure of a summary."""
    items: dict[tuple[str, str], Any] = {}
    for k, v in (summary.get("settings") or {}).items():
        items["settings", k] = json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v
    if summary.get("schema") == "neurosim-energy-report":
        for k, v in (summary.get("sparsity") or {}).items():
            if k != "definitions":
                items["statistics", k] = v
        events = summary.get("events") or {}
        for k, v in (events.get("per_token_whole_model") or {}).items():
            items["events per token", k] = v
        for k, v in (events.get("neurobench_sample") or {}).items():
            items["NeuroBench sample", k] = v
        energy = summary.get("energy") or {}
        unit = energy.get("unit", "J per token")
        for k, v in _energy_items(energy.get("measured")).items():
            items[f"energy ({unit}, measured statistics)", k] = v
        for k, v in _energy_items(energy.get("whole_model")).items():
            items[f"energy ({unit}, whole model)", k] = v
        for k, v in (summary.get("claims") or {}).items():
            items["claims", k] = v
    else:
        for k in ("time_steps", "batch"):
            if k in summary:
                items["model", k] = summary[k]
        for k, v in (summary.get("neurobench") or {}).items():
            items["NeuroBench", k] = v
        for k, v in (summary.get("fidelity") or {}).items():
            if k != "note":
                items["fidelity", k] = v
        for k, v in _energy_items(summary.get("energy")).items():
            items["energy (J, whole profiled input)", k] = v
    for rec in summary.get("layers") or []:
        if not isinstance(rec, Mapping):
            continue
        name = f"{rec.get('layer_type', '')} {rec.get('name', '')}".strip()
        for f in _LAYER_FIELDS:
            if f in rec:
                items["layers", f"{name}: {f}"] = rec[f]
    return items


def compare_summaries(a: Mapping[str, Any], b: Mapping[str, Any], *, only_differences: bool = False
                      ) -> pd.DataFrame:
    """Every comparable figure of two summaries side by side.

    Parameters
    ----------
    a, b : mapping
        ``summary.json`` contents of the same schema.
    only_differences : bool
        Keep only the rows whose values differ.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; ``B - A`` and ``B / A`` are NaN for non-numeric values (and ``B / A`` when A
        is 0). A figure present on one side only has None on the other.

    Raises
    ------
    InputError
        The summaries are of different kinds (a default-job report and a model profile).
    """
    if a.get("schema") != b.get("schema"):
        raise InputError(f"cannot compare a {a.get('schema')!r} report with a {b.get('schema')!r} report; "
                         "compare two default-job reports or two torch/hf profiles")
    fa, fb = _flatten(a), _flatten(b)
    keys = list(fa) + [k for k in fb if k not in fa]
    rows = []
    for key in keys:
        va, vb = fa.get(key), fb.get(key)
        na, nb = _num(va), _num(vb)
        diff = nb - na if na is not None and nb is not None else math.nan
        ratio = nb / na if na not in (None, 0.0) and nb is not None else math.nan
        same = va == vb or (na is not None and nb is not None and math.isclose(na, nb, rel_tol=1e-12, abs_tol=0.0))
        if only_differences and same:
            continue
        rows.append({"section": key[0], "item": key[1], "A": va, "B": vb, "B - A": diff, "B / A": ratio})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def compare_reports(folder_a: str | Path, folder_b: str | Path, *, only_differences: bool = False
                    ) -> pd.DataFrame:
    """:func:`compare_summaries` of two report folders (their ``summary.json``)."""
    frame = compare_summaries(load_summary(folder_a), load_summary(folder_b), only_differences=only_differences)
    frame.attrs["A"], frame.attrs["B"] = str(folder_a), str(folder_b)
    return frame
