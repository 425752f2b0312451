"""Plots of spike trains, count histograms, the k sweep, energy per token and prefill scaling.

The only module of the project that imports matplotlib. Figures are built with
:class:`matplotlib.figure.Figure` on an Agg canvas, never through ``pyplot``, so no global figure state
is created or leaked. Every function takes ``ax=None`` (a new figure is made when omitted), forwards
``**kwargs`` to the main drawing call and returns the Axes; :func:`save_figure` writes a PNG atomically.
Values are SI inside; axis labels carry the display unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import os
from pathlib import Path
import uuid
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np
import pandas as pd

from neurosim.analysis.sparsity import count_distribution
from neurosim.analysis.ttft import TABLE_7, fit_baseline
from neurosim.coding import CODINGS, encode
from neurosim.counts import prefill_flops
from neurosim.exceptions import InputError, ShapeError
from neurosim.models import get_model_config
from neurosim.validation import as_int_counts, check_new_file

__all__ = [
    "new_axes",
    "plot_coders",
    "plot_count_histogram",
    "plot_energy",
    "plot_k_sweep",
    "plot_layer_intervals",
    "plot_prefill",
    "plot_raster",
    "plot_spike_raster",
    "save_figure",
]

_POS, _NEG = "#1f5fa8", "#c0392b"
_ENERGY_PARTS = (("compute_j", "compute", "#4c72b0"), ("memory_j", "memory", "#dd8452"),
                 ("static_j", "static", "#8c8c8c"), ("interchip_j", "inter-chip", "#55a868"))
_PREFIXES = ((1e-15, "fJ"), (1e-12, "pJ"), (1e-9, "nJ"), (1e-6, "µJ"), (1e-3, "mJ"), (1.0, "J"))


def new_axes(figsize: tuple[float, float] = (6.4, 4.2)) -> Axes:
    """One Axes on a new Agg-backed :class:`~matplotlib.figure.Figure` (no pyplot state)."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 120, overwrite: bool = False) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
        Destination; its folder must exist.
    dpi : int
        Resolution in dots per inch.
    overwrite : bool, keyword-only
        Replace an existing file at ``path`` (never a folder or a symlink's target). Off by default, so a
        call never destroys a file the caller did not mean to replace.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    InputError
        ``fig`` is not a Figure, or the folder of ``path`` does not exist.
    OutputPathError
        ``path`` exists and ``overwrite`` is false, or it is a folder or a symlink.
    """
    if not isinstance(fig, Figure):
        raise InputError(f"'fig' must be a matplotlib Figure (got {type(fig).__name__}); use ax.figure")
    dest = Path(path)
    if not dest.parent.is_dir():
        raise InputError(f"'path' folder {str(dest.parent)!r} does not exist; create it first")
    check_new_file(dest, "figure", overwrite=overwrite)
    # A unique sibling name (not mkstemp, whose 0600 mode would stick to the PNG after the rename).
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fig.savefig(fh, format="png", dpi=dpi)
        os.replace(tmp, dest)
    except BaseException:
        # Leave no half-written temporary behind; the original file (if any) is untouched.
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _counts_1d(counts: Any) -> np.ndarray:
    arr = as_int_counts(counts, "counts_1d")
    if arr.ndim != 1:
        raise ShapeError(f"'counts_1d' must be 1-D, one count per neuron (got shape {arr.shape})")
    return arr


#: Above this many time steps a raster is drawn as an image (one pixel column per step) instead of markers:
#: a unary train of a large count (``raster --k 1000``) has thousands of steps.
_IMAGE_STEPS = 200
#: At most this many labelled time-step ticks per panel; long trains are thinned (T = 61 was unreadable).
_MAX_TIME_TICKS = 12


def _time_ticks(ax: Axes, t_steps: int) -> None:
    """Integer time-step ticks, every step for short trains, a bounded number for long ones."""
    from matplotlib.ticker import MaxNLocator

    if t_steps <= _MAX_TIME_TICKS:
        ax.set_xticks(range(t_steps))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=_MAX_TIME_TICKS - 2, integer=True, min_n_ticks=2))
    ax.tick_params(axis="x", labelsize=7)


def _spike_legend(target: Any, *, negative: bool, **kwargs: Any) -> Any:
    """Legend of the spike markers (for an Axes or a Figure), placed by the caller outside the data."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="none", marker="^", color=_POS, label="+1 spike")]
    if negative:
        handles.append(Line2D([], [], ls="none", marker="v", color=_NEG, label="-1 spike"))
    return target.legend(handles=handles, fontsize=7, frameon=False, **kwargs)


def plot_raster(counts_1d: Any, coding: str = "bidirectional", ax: Axes | None = None, *, legend: bool = True,
                **kwargs: Any) -> Axes:
    """Time-by-neuron raster of the spike train coding ``counts_1d`` (report figure 10 analogue).

    Positive spikes are drawn as up-ticks in blue, negative spikes as down-ticks in red (trains longer than
    200 steps as an image, one column per step). The legend sits outside the axes, so it never hides a
    spike; time-step labels are thinned to at most 12 for long trains.

    Parameters
    ----------
    counts_1d : array_like of int, shape (neurons,)
        One integer count per neuron.
    coding : str
        Spike coder (see :data:`neurosim.coding.CODINGS`).
    ax : matplotlib Axes, optional
    legend : bool
        Draw the marker legend (right of the axes); :func:`plot_coders` draws one for the whole figure.
    **kwargs
        Forwarded to ``Axes.scatter`` (e.g. ``s=``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    counts = _counts_1d(counts_1d)
    train = encode(counts, coding)
    if ax is None:
        ax = new_axes((6.4, max(2.4, 0.28 * counts.size + 1.6)))
    t_steps = train.shape[0]
    if t_steps > _IMAGE_STEPS:
        from matplotlib.colors import ListedColormap

        img = np.sign(train.T).astype(float)  # [neurons, T]: -1, 0, +1
        ax.imshow(img, aspect="auto", interpolation="nearest", cmap=ListedColormap([_NEG, "white", _POS]),
                  vmin=-1, vmax=1, extent=(-0.5, t_steps - 0.5, counts.size - 0.5, -0.5))
    else:
        kwargs.setdefault("s", 60 if t_steps <= 40 else max(6.0, 2400.0 / t_steps))
        for sign, color, marker, label in ((1, _POS, "^", "+1 spike"), (-1, _NEG, "v", "-1 spike")):
            t, i = np.nonzero(train == sign)
            if t.size:
                ax.scatter(t, i, marker=marker, color=color, label=label, **kwargs)
        ax.set_ylim(-0.6, counts.size - 0.4)
        ax.invert_yaxis()
    ax.set_xlim(-0.6, t_steps - 0.4)
    _time_ticks(ax, t_steps)
    ax.set_yticks(range(counts.size))
    ax.set_yticklabels([f"{j} ({c:+d})" if c else f"{j} (0)" for j, c in enumerate(counts)])
    ax.grid(True, color="0.9")
    ax.set_axisbelow(True)
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron (count)")
    if legend:
        # Right of the axes: never over a spike, never under the title.
        _spike_legend(ax, negative=bool((train < 0).any()), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      borderaxespad=0.0)
    n_spikes = int(np.abs(train).sum())
    ax.set_title(f"{coding}\nT = {t_steps} steps, {n_spikes} spikes", fontsize=10)
    return ax


def _separate_titles(fig: Figure, axes: Sequence[Axes]) -> None:
    """Shrink panel titles until neighbours do not overlap and none runs off the figure."""
    renderer = fig.canvas.get_renderer()
    for split in (False, True):
        if split:  # still too wide at the smallest size: one fact per line
            for ax in axes:
                ax.set_title(ax.get_title().replace(", ", "\n"))
        for size in (8.0, 7.0, 6.0, 5.0):
            for ax in axes:
                ax.title.set_fontsize(size)
            fig.canvas.draw()
            boxes = [ax.title.get_window_extent(renderer) for ax in axes]
            width = fig.bbox.width
            clash = (any(a.x1 > b.x0 for a, b in zip(boxes, boxes[1:]))
                     or any(b.x0 < 0 or b.x1 > width for b in boxes))
            if not clash:
                return


def plot_coders(counts_1d: Any, *, codings: Sequence[str] | None = None, **kwargs: Any) -> Figure:
    """One raster panel per spike coder for the same counts (a Figure with one Axes per coder).

    Unsigned coders (binary, bitwise) code ``|counts|``; their panel title says so. One legend for the
    figure sits below the panels (never over a spike); panel titles are shrunk until they neither overlap
    nor clip.

    Parameters
    ----------
    counts_1d : array_like of int, shape (neurons,)
    codings : sequence of str, optional
        Default every coder of :data:`neurosim.coding.CODINGS` (five panels).
    **kwargs
        Forwarded to :func:`plot_raster`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    counts = _counts_1d(counts_1d)
    codings = tuple(CODINGS if codings is None else codings)
    if not codings:
        raise InputError("'codings' must name at least one coder (got none)")
    steps = []
    for c in codings:
        unsigned = c in ("binary", "bitwise")
        steps.append(encode(np.abs(counts) if unsigned else counts, c).shape[0])
    # Panel widths in inches: about 0.12 in per step, at least 1.5 in so a short bit-coded panel keeps a
    # readable title; the figure is capped at 18 in (long panels shrink, their ticks are thinned anyway).
    widths = [max(1.5, 0.12 * s) for s in steps]
    room = 16.4 - 1.5 * sum(w == 1.5 for w in widths)  # what the long panels may share
    long_total = sum(w for w in widths if w > 1.5)
    if long_total > room > 0:
        widths = [w if w == 1.5 else max(1.5, w * room / long_total) for w in widths]
    fig = Figure(figsize=(min(18.0, sum(widths) + 1.6), max(3.2, 0.32 * counts.size + 2.2)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(codings), sharey=True, width_ratios=widths)
    axes = np.atleast_1d(axes)
    for ax, c in zip(axes, codings, strict=True):
        unsigned = c in ("binary", "bitwise")
        plot_raster(np.abs(counts) if unsigned else counts, c, ax=ax, legend=False, **kwargs)
        if unsigned and (counts < 0).any():
            ax.set_title(ax.get_title().replace(c, f"{c}\nof |counts|", 1), fontsize=8)
        else:
            ax.title.set_fontsize(8)
        if ax is not axes[0]:
            ax.set_ylabel("")
    _spike_legend(fig, negative=bool((counts < 0).any()), loc="outside lower center", ncols=2)
    _separate_titles(fig, list(axes))
    return fig


def plot_count_histogram(counts: Any, ax: Axes | None = None, *, max_value: int = 64, **kwargs: Any) -> Axes:
    """Histogram of ``|counts|`` (log y; report figure 9), with the ``<= 7`` and ``> 16`` regions marked.

    Parameters
    ----------
    counts : array_like of int
        Signed spike counts, any shape.
    ax : matplotlib Axes, optional
    max_value : int
        Last bin drawn; larger values are summarized in the legend (their shares are always exact).
    **kwargs
        Forwarded to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    dist = count_distribution(counts, max_value=max_value)
    if ax is None:
        ax = new_axes()
    kwargs.setdefault("color", "#4c72b0")
    kwargs.setdefault("width", 0.85)
    ax.bar(dist.values, dist.fractions * 100.0, **kwargs)
    ax.set_yscale("log")
    ax.axvspan(-0.5, 7.5, color="#55a868", alpha=0.12, label=f"|count| <= 7: {dist.within_0_7:.1%}")
    ax.axvspan(16.5, max_value + 0.5, color="#c44e52", alpha=0.10, label=f"|count| > 16: {dist.above_16:.2%}")
    ax.set_xlim(-0.5, max_value + 0.5)
    ax.set_xlabel("|spike count| of one (token, channel) input")
    ax.set_ylabel("share of inputs (%)")
    extra = f", {dist.overflow_fraction:.2%} beyond {max_value}" if dist.overflow_fraction else ""
    ax.set_title(f"{dist.n:,} (token, channel) inputs, silent {dist.fractions[0]:.1%}{extra}", fontsize=10)
    ax.legend(loc="upper right", fontsize=9)
    return ax


def plot_k_sweep(df: pd.DataFrame, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Window sparsity and share of ``|count| <= 7`` versus k, ours beside the report's table 11.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`neurosim.analysis.sweep.k_sweep`.
    ax : matplotlib Axes, optional
    **kwargs
        Forwarded to ``Axes.plot`` for our curves.

    Returns
    -------
    matplotlib.axes.Axes
    """
    need = ("k", "window_sparsity", "within_7_fraction", "report_sparsity", "report_within_7_fraction")
    missing = [c for c in need if c not in getattr(df, "columns", ())]
    if missing:
        raise InputError(f"'df' must be a k_sweep() frame; missing columns {missing}")
    if ax is None:
        ax = new_axes()
    kwargs.setdefault("marker", "o")
    k = df["k"].to_numpy(float)
    ax.plot(k, df["window_sparsity"] * 100, color="#4c72b0", label="window sparsity (ours)", **kwargs)
    ax.plot(k, df["report_sparsity"] * 100, color="#4c72b0", ls="--", marker="s", mfc="none",
            label="window sparsity (report table 11)")
    ax.plot(k, df["within_7_fraction"] * 100, color="#dd8452", label="|count| <= 7 (ours)", **kwargs)
    ax.plot(k, df["report_within_7_fraction"] * 100, color="#dd8452", ls="--", marker="s", mfc="none",
            label="|count| <= 7 (report table 11)")
    ax.set_xlabel("threshold divisor k (Vth = mean|x| / k)")
    ax.set_ylabel("share (%)")
    ax.set_xticks(k)
    ax.grid(True, color="0.9")
    # Below the axes: inside it would sit on the curves wherever they pass.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, frameon=False)
    return ax


def _energy_prefix(values: np.ndarray) -> tuple[float, str]:
    peak = float(np.nanmax(np.abs(values))) if values.size else 1.0
    scale, name = _PREFIXES[0]
    for s, n in _PREFIXES:
        if peak >= s:
            scale, name = s, n
    return scale, name


def plot_energy(records: Iterable[Mapping[str, Any]] | Mapping[str, Any] | pd.DataFrame, ax: Axes | None = None, *, log: bool | None = None,
                per: str = "token", ranges: Mapping[tuple[str, str], tuple[float, float]] | None = None,
                **kwargs: Any) -> Axes:
    """Energy of each (model, mode, profile), stacked as compute, memory and static.

    Parameters
    ----------
    records : iterable of mapping, or DataFrame, or ``neurosim.energy.model_energy.energy_records()`` output
        Each record with ``model``, ``mode``, ``profile``, ``compute_j``, ``memory_j``, ``static_j``,
        ``total_j`` (J per token); a dict with a ``rows`` list or an ``energy_frame()`` also works.
    ax : matplotlib Axes, optional
    log : bool, optional
        Log x axis. Default: log only when the totals span more than 50x (then segment lengths are not
        proportional to the parts, so each bar end also prints the compute/memory/static shares).
    per : str
        What one record's energy is for, named on the axis: ``"token"`` (default; per-token records of
        the energy model) or e.g. ``"forward pass"`` (a profiled model's whole input).
    ranges : mapping of (mode, profile) to (low, high) in J, optional
        Drawn as a whisker over each bar: the range of the total over disputed figures
        (:mod:`neurosim.analysis.sensitivity`).
    **kwargs
        Forwarded to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        No records, a missing key or a negative energy.
    """
    if isinstance(records, pd.DataFrame):
        recs = records.to_dict("records")
    elif isinstance(records, Mapping) and "rows" in records:  # energy_records() output as a whole
        recs = list(records["rows"])
    else:
        recs = list(records)
    if not recs:
        raise InputError("'records' must hold at least one energy record (got none)")
    keys = ("model", "mode", "profile", "compute_j", "memory_j", "static_j", "total_j")
    for i, r in enumerate(recs):
        missing = [k for k in keys if k not in r]
        if missing:
            raise InputError(f"'records'[{i}] lacks keys {missing}; expected {list(keys)}")
        for k in keys[3:]:
            if not float(r[k]) >= 0:
                raise InputError(f"'records'[{i}][{k!r}] must be >= 0 J (got {r[k]!r})")
    # inter-chip message energy (system records of multi-chip profiles) is drawn only where there is some
    used = [p for p in _ENERGY_PARTS if p[0] != "interchip_j" or any(float(r.get(p[0]) or 0.0) > 0 for r in recs)]
    parts = np.array([[float(r.get(k) or 0.0) for k, _, _ in used] for r in recs])
    totals = np.array([float(r["total_j"]) for r in recs])
    scale, unit = _energy_prefix(totals)
    single_model = len({r["model"] for r in recs}) == 1
    labels = [(f"{r['mode']} | {r['profile']}" if single_model else f"{r['model']} | {r['mode']} | {r['profile']}")
              for r in recs]
    if ax is None:
        ax = new_axes((8.0, max(2.5, 0.42 * len(recs) + 1.4)))
    y = np.arange(len(recs))
    left = np.zeros(len(recs))
    kwargs.setdefault("height", 0.7)
    for j, (_, name, color) in enumerate(used):
        ax.barh(y, parts[:, j] / scale, left=left, color=color, label=name, **kwargs)
        left += parts[:, j] / scale
    ends = totals.copy()
    drew_range = False
    for i, r in enumerate(recs):
        lo_hi = (ranges or {}).get((r["mode"], r["profile"]))
        if lo_hi is None or not lo_hi[1] > lo_hi[0] * 1.001:
            continue
        lo, hi = float(lo_hi[0]) / scale, float(lo_hi[1]) / scale
        ax.plot([lo, hi], [y[i], y[i]], color="black", lw=1.2, solid_capstyle="butt",
                label=None if drew_range else "range over disputed figures")
        ax.plot([lo, hi], [y[i], y[i]], "|", color="black", ms=9)
        ends[i] = max(ends[i], hi * scale)
        drew_range = True
    notes = []
    for yi, tot, end, part in zip(y, totals, ends, parts, strict=True):
        shares = "/".join(f"{100 * v / tot:.0f}" for v in part) if tot > 0 else "-"
        notes.append(ax.annotate(f" {tot / scale:.3g} {unit} ({shares} %) ", (end / scale, yi), va="center",
                                 fontsize=7.5))
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    pos = ends[ends > 0] / scale
    if log is None:
        log = bool(pos.size and pos.max() > 50 * pos.min())
    if log:
        ax.set_xscale("log")
        if pos.size:
            ax.set_xlim(pos.min() / 3, pos.max() * 1.15)
    elif pos.size:
        ax.set_xlim(0, pos.max() * 1.03)  # the axis ends near the largest bar (or range whisker)
    ax.set_xlabel(f"energy per {per} ({unit}); printed: total ({'/'.join(n for _, n, _ in used)} %)")
    ax.set_ylabel("mode | hardware profile" if single_model else "model | mode | hardware profile", fontsize=9)
    # Above the axes, so the legend never covers a bar or its printed total.
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=4, frameon=False, borderaxespad=0.0)
    ax.grid(True, axis="x", color="0.9")
    _fit_bar_notes(ax, notes)
    return ax


def _fit_bar_notes(ax: Axes, notes: Sequence[Any]) -> None:
    """Turn each printed total that would run past the axes' right end to end at its bar (white on grey)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()  # final layout, so the extents below are the saved figure's
    right = ax.get_window_extent(renderer).x1
    for text in notes:
        if text.get_window_extent(renderer).x1 <= right:
            continue
        text.set_horizontalalignment("right")
        text.set_color("white")
        text.set_bbox({"facecolor": "0.25", "alpha": 0.75, "edgecolor": "none", "pad": 1.0})


def plot_prefill(ax: Axes | None = None, *, lengths: Sequence[int] | None = None, **kwargs: Any) -> Axes:
    """TTFT versus context length: report table 7 points, fitted Qwen2.5-7B baselines, FLOP scaling.

    Measured points (markers) for SpikingBrain-7B and Qwen2.5-7B; the affine and power-law baseline fits
    of :mod:`neurosim.analysis.ttft` extended to 4M (lines); on the right axis, analytical prefill FLOPs per GPU
    (:func:`neurosim.counts.prefill_flops` divided by the table's GPU count) for both models (dotted).

    Parameters
    ----------
    ax : matplotlib Axes, optional
    lengths : sequence of int, optional
        Context lengths for the FLOP curves (default the table's 256k..4M).
    **kwargs
        Forwarded to ``Axes.plot`` for the measured points.

    Returns
    -------
    matplotlib.axes.Axes
        The TTFT axes (the FLOP axis is its ``twinx``).
    """
    if ax is None:
        ax = new_axes((7.2, 4.6))
    n = np.asarray(TABLE_7.lengths, dtype=float)
    kwargs.setdefault("ls", "none")
    kwargs.setdefault("ms", 7)
    ax.plot(n, TABLE_7.spikingbrain_s, marker="o", color="#4c72b0", label="SpikingBrain-7B (table 7)", **kwargs)
    ax.plot(n, TABLE_7.qwen_s, marker="s", color="#c44e52", label="Qwen2.5-7B (table 7)", **kwargs)
    grid = np.geomspace(n[0], n[-1], 50)
    for model, ls in (("affine", "-"), ("power", "--")):
        fit = fit_baseline(model)
        ax.plot(grid, fit.predict(grid), color="#c44e52", ls=ls, lw=1,
                label=f"Qwen fit, {model} ({fit.predict(n[-1]) / TABLE_7.spikingbrain_s[-1]:.0f}x at 4M)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(n)
    ax.set_xticklabels([f"{int(v) >> 10}k\n{g} GPUs" if v < 1 << 20 else f"{int(v) >> 20}M\n{g} GPUs"
                        for v, g in zip(n, TABLE_7.gpus, strict=True)])
    ax.minorticks_off()
    ax.set_xlabel("context length (tokens), H100 GPUs used")
    ax.set_ylabel("time to first token (s)")
    flops_ax = ax.twinx()
    flop_curves = {}
    lens = np.asarray(TABLE_7.lengths if lengths is None else lengths, dtype=float)
    gpus = np.interp(np.log2(lens), np.log2(n), np.log2(TABLE_7.gpus))
    for name, color in (("spikingbrain-7b", "#4c72b0"), ("qwen2.5-7b", "#c44e52")):
        cfg = get_model_config(name)
        f = np.array([prefill_flops(cfg, int(v)) for v in lens]) / 2.0**gpus
        flop_curves[name] = f
        flops_ax.plot(lens, f, color=color, ls=":", lw=1.5, label=f"{name} prefill FLOPs / GPU")
    flops_ax.set_yscale("log")
    # Same log span as the TTFT axis, anchored at SpikingBrain's first point, so that a vertical gap
    # reads as the same ratio on both axes (the FLOP line is TTFT at SpikingBrain's efficiency).
    lo, hi = ax.get_ylim()
    anchor = float(np.interp(n[0], lens, flop_curves["spikingbrain-7b"])) / TABLE_7.spikingbrain_s[0]
    flops_ax.set_ylim(lo * anchor, hi * anchor)
    flops_ax.set_ylabel("analytical prefill FLOPs per GPU (FLOP)\nscaled to SpikingBrain's 256k TTFT")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = flops_ax.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7.5, loc="upper left")
    ax.grid(True, color="0.92")
    ax.set_title("Prefill scaling (report table 7)", fontsize=10)
    return ax


def plot_spike_raster(spikes: Any, *, title: str = "", max_neurons: int = 128, ax: Axes | None = None) -> Axes:
    """Time-by-neuron raster of a population's binary spikes (one sample), e.g. a simulated NIR node.

    Parameters
    ----------
    spikes : array_like, shape (T, neurons, ...)
        0/1 per step and neuron; trailing axes are flattened. Only the first ``max_neurons`` are drawn.
    title : str
    max_neurons : int
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    arr = np.asarray(spikes)
    if arr.ndim < 2 or arr.size == 0:
        raise ShapeError(f"'spikes' must have shape (T, neurons, ...) (got {arr.shape})")
    arr = arr.reshape(arr.shape[0], -1)
    shown = arr[:, :max_neurons]
    if ax is None:
        ax = new_axes((6.4, 3.6))
    t, n = np.nonzero(shown)
    ax.scatter(t, n, marker="|", s=12, color=_POS, linewidths=0.8)
    ax.set_xlim(-0.5, arr.shape[0] - 0.5)
    ax.set_ylim(-0.5, shown.shape[1] - 0.5)
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron" + (f" (first {shown.shape[1]} of {arr.shape[1]})" if arr.shape[1] > shown.shape[1] else ""))
    rate = float(arr.mean()) if arr.size else 0.0
    ax.set_title(f"{title}  (spike rate {rate:.3f} per neuron-step)".strip(), fontsize=10)
    return ax


def plot_layer_intervals(frame: pd.DataFrame, *, title: str = "") -> Figure:
    """Spikes per channel, silent fraction and window sparsity by layer, with 95 % interval error bars.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per layer with ``layer`` and, for each figure F of ``spikes_per_channel``,
        ``silent_fraction``, ``window_sparsity``, the columns F, ``F_low`` and ``F_high`` (as written by
        the corpus profile's ``layer_groups`` and the default job's per-layer table).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels sharing the layer axis.
    """
    panels = (("spikes_per_channel", "spikes per channel", 1.0), ("silent_fraction", "silent (%)", 100.0),
              ("window_sparsity", "window sparsity (%)", 100.0))
    need = ["layer"] + [f"{f}{s}" for f, _, _ in panels for s in ("", "_low", "_high")]
    missing = [c for c in need if c not in getattr(frame, "columns", ())]
    if missing:
        raise InputError(f"'frame' must hold per-layer figures with intervals; missing columns {missing}")
    fig = Figure(figsize=(max(6.4, 0.28 * len(frame) + 2), 6.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    x = np.arange(len(frame))
    for ax, (col, label, scale) in zip(axes, panels):
        y = frame[col].to_numpy(float) * scale
        lo = frame[f"{col}_low"].to_numpy(float) * scale
        hi = frame[f"{col}_high"].to_numpy(float) * scale
        err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
        ax.errorbar(x, y, yerr=np.nan_to_num(err), fmt="o", ms=3.5, color="#4c72b0", ecolor="#1f3f6f",
                    capsize=2.5, lw=1)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(True, color="0.9")
    axes[-1].set_xticks(x)
    axes[-1].set_xticklabels([str(v).replace("layer ", "") for v in frame["layer"]], fontsize=7,
                             rotation=90 if len(frame) > 20 else 0)
    axes[-1].set_xlabel("layer (95 % bootstrap intervals)")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
