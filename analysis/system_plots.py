"""Plots of the system energy model: energy per token against batch size, and break-even spike rates.

matplotlib is imported lazily (through :mod:`neurosim.analysis.plots`, the module that owns it), so
importing this module costs nothing. Data come from :func:`neurosim.energy.system.batch_sweep` and
:func:`neurosim.energy.system.break_even_table`; values are SI inside, mJ on the axes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from neurosim.analysis.plots import new_axes
from neurosim.exceptions import InputError

__all__ = ["plot_break_even", "plot_energy_vs_batch"]

_STYLE = {"eager": "--", "optimized": "-", "native": "-"}
_MARK = {"fp16-dense": "o", "int8-dense": "s", "w8aspike-gpu": "^", "w8aspike-event": "D"}


def plot_energy_vs_batch(sweep: pd.DataFrame, ax: Any = None, **kwargs: Any) -> Any:
    """Energy per token [mJ] against batch size (log-log), one line per (profile, mode, stack).

    Parameters
    ----------
    sweep : DataFrame
        :func:`neurosim.energy.system.batch_sweep` output.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    need = {"profile", "mode", "stack", "batch", "total_j"}
    if not isinstance(sweep, pd.DataFrame) or not need <= set(sweep.columns) or sweep.empty:
        raise InputError(f"'sweep' must be a non-empty batch_sweep() DataFrame with columns {sorted(need)}")
    ax = new_axes((10.0, 5.2)) if ax is None else ax
    profiles = list(dict.fromkeys(sweep["profile"]))
    colours = {p: f"C{i % 10}" for i, p in enumerate(profiles)}
    for (prof, mode, stack), g in sweep.groupby(["profile", "mode", "stack"], sort=False):
        g = g.sort_values("batch")
        ax.plot(g["batch"], g["total_j"] * 1e3, _STYLE.get(stack, "-"), marker=_MARK.get(mode, "o"), ms=3,
                color=colours[prof], label=f"{prof} {mode}" + (f" ({stack})" if stack != "native" else ""),
                **kwargs)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size (sequences per decode step)")
    ax.set_ylabel("energy per token [mJ]")
    model = sweep["model"].iloc[0] if "model" in sweep.columns else ""
    ax.set_title(f"{model}: system energy per decoded token vs batch (dashed: eager stack)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.figure.set_layout_engine("constrained")
    return ax


def plot_break_even(table: pd.DataFrame, ax: Any = None, **kwargs: Any) -> Any:
    """Break-even spikes per channel per profile at each batch size (bars), with the report's 1.13.

    Bars at the sweep's upper limit mean event-driven still wins there; missing bars mean it never wins.

    Parameters
    ----------
    table : DataFrame
        :func:`neurosim.energy.system.break_even_table` output.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.bar``.
    """
    import numpy as np

    need = {"profile", "batch", "spikes_per_channel", "dense_on"}
    if not isinstance(table, pd.DataFrame) or not need <= set(table.columns) or table.empty:
        raise InputError(f"'table' must be a non-empty break_even_table() DataFrame with columns {sorted(need)}")
    ax = new_axes((7.5, 4.5)) if ax is None else ax
    profiles = list(dict.fromkeys(table["profile"]))
    batches = sorted(set(table["batch"]))
    width = 0.8 / len(batches)
    x = np.arange(len(profiles))
    for i, b in enumerate(batches):
        g = table[table["batch"] == b].set_index("profile")
        vals = [g.loc[p, "spikes_per_channel"] if p in g.index and g.loc[p, "spikes_per_channel"] is not None
                and g.loc[p, "spikes_per_channel"] == g.loc[p, "spikes_per_channel"] else 0.0 for p in profiles]
        ax.bar(x + (i - (len(batches) - 1) / 2) * width, vals, width, label=f"batch {b}", **kwargs)
    if "report_spikes" in table.columns:
        ax.axhline(float(table["report_spikes"].iloc[0]), color="k", ls=":", lw=1, label="report's 1.13")
    dense = table.drop_duplicates("profile").set_index("profile")["dense_on"]
    ax.set_xticks(x, [f"{p}\n(vs INT8 on {dense[p]})" for p in profiles], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("break-even spikes per channel")
    ax.set_title("Event-driven beats INT8 dense below these spike rates (system energy per token)")
    ax.legend(fontsize=7)
    ax.figure.set_layout_engine("constrained")
    return ax
