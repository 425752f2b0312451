"""Tests of neurosim.analysis.plots: every plot renders a non-blank PNG with labelled axes."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
import matplotlib.image as mpimg
import numpy as np
import pytest

from neurosim.analysis.calibration import calibrated_activations
from neurosim.analysis.plots import (
    new_axes,
    plot_coders,
    plot_count_histogram,
    plot_energy,
    plot_k_sweep,
    plot_prefill,
    plot_raster,
    save_figure,
)
from neurosim.analysis.sweep import k_sweep
from neurosim.adaptive import spike_counts
from neurosim.coding import CODINGS
from neurosim.exceptions import InputError, ShapeError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COUNTS = np.array([0, 1, -3, 5, -7, 12, 2, -1])


def _records():
    rows = [("fp16-dense", "nvidia-h100", 2e-2, 5e-3, 1e-3), ("w8aspike-event", "paper-45nm", 3e-4, 1e-4, 0.0)]
    return [dict(model="spikingbrain-7b", mode=m, profile=p, compute_j=c, memory_j=me, static_j=s,
                 total_j=c + me + s) for m, p, c, me, s in rows]


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    # Not blank: a white canvas has zero variance.
    assert float(img[..., :3].var()) > 1e-3


def _check_labels(ax) -> None:
    assert ax.get_xlabel().strip() and ax.get_ylabel().strip()


@pytest.fixture
def counts():
    x = calibrated_activations(8, 3584, seed=1)
    return spike_counts(x, 3.0)[0]


@pytest.mark.parametrize("coding", CODINGS)
def test_raster(tmp_path, coding):
    c = np.abs(COUNTS) if coding in ("binary", "bitwise") else COUNTS
    ax = plot_raster(c, coding)
    _check_labels(ax)
    assert coding in ax.get_title()
    # One marker per spike event: the scatter offsets add up to the number of nonzero train entries.
    n_points = sum(len(coll.get_offsets()) for coll in ax.collections)
    from neurosim.coding import encode

    assert n_points == int(np.count_nonzero(encode(c, coding)))
    _check_png(save_figure(ax.figure, tmp_path / f"raster-{coding}.png"))


def test_coders_figure(tmp_path):
    fig = plot_coders(COUNTS)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == len(CODINGS)
    for ax in fig.axes:
        assert ax.get_xlabel() == "time step"
    assert fig.axes[0].get_ylabel()
    _check_png(save_figure(fig, tmp_path / "coders.png"))


def test_histogram(tmp_path, counts):
    ax = plot_count_histogram(counts)
    _check_labels(ax)
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    a = np.abs(counts)
    assert f"{np.mean(a <= 7):.1%}" in labels[0]
    _check_png(save_figure(ax.figure, tmp_path / "hist.png"))


def test_k_sweep_plot(tmp_path):
    df = k_sweep(calibrated_activations(8, 3584, seed=2))
    ax = plot_k_sweep(df)
    _check_labels(ax)
    assert len(ax.get_lines()) == 4
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), df["window_sparsity"] * 100)
    _check_png(save_figure(ax.figure, tmp_path / "sweep.png"))


def test_energy_plot(tmp_path):
    ax = plot_energy(_records())
    _check_labels(ax)
    assert "mJ" in ax.get_xlabel()
    # Totals 26 mJ vs 0.4 mJ span > 50x: log axis by default; forced linear on request.
    assert ax.get_xscale() == "log"
    assert plot_energy(_records(), log=False).get_xscale() == "linear"
    texts = [t.get_text() for t in ax.texts]
    assert any("26 mJ (77/19/4 %)" in t for t in texts), texts
    _check_png(save_figure(ax.figure, tmp_path / "energy.png"))


def test_prefill_plot(tmp_path):
    ax = plot_prefill()
    _check_labels(ax)
    twin = [a for a in ax.figure.axes if a is not ax]
    assert twin and twin[0].get_ylabel()
    _check_png(save_figure(ax.figure, tmp_path / "prefill.png"))


def test_ax_and_kwargs_are_used():
    ax = new_axes()
    out = plot_raster(COUNTS, "ternary", ax=ax, s=5)
    assert out is ax
    assert all(np.all(coll.get_sizes() == 5) for coll in ax.collections)


def test_save_replaces_atomically_only_when_asked(tmp_path):
    from neurosim.exceptions import OutputPathError

    dest = tmp_path / "x.png"
    dest.write_bytes(b"old")
    with pytest.raises(OutputPathError, match="exists"):
        save_figure(plot_raster(COUNTS, "ternary").figure, dest)
    assert dest.read_bytes() == b"old"
    link = tmp_path / "link.png"
    link.symlink_to(dest)
    with pytest.raises(OutputPathError, match="symlink"):
        save_figure(plot_raster(COUNTS, "ternary").figure, link, overwrite=True)
    link.unlink()
    save_figure(plot_raster(COUNTS, "ternary").figure, dest, overwrite=True)
    _check_png(dest)
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_bad_inputs(tmp_path):
    with pytest.raises(ShapeError, match="'counts_1d' must be 1-D"):
        plot_raster(np.zeros((2, 2), dtype=int), "ternary")
    with pytest.raises(InputError, match="'fig' must be a matplotlib Figure"):
        save_figure(new_axes(), tmp_path / "a.png")
    with pytest.raises(InputError, match="folder .* does not exist"):
        save_figure(new_axes().figure, tmp_path / "missing" / "a.png")
    with pytest.raises(InputError, match="at least one energy record"):
        plot_energy([])
    with pytest.raises(InputError, match=r"'records'\[0\] lacks keys \['total_j'\]"):
        plot_energy([{k: v for k, v in _records()[0].items() if k != "total_j"}])
    with pytest.raises(InputError, match="must be >= 0 J"):
        plot_energy([{**_records()[0], "memory_j": -1.0}])
    with pytest.raises(InputError, match="missing columns"):
        plot_k_sweep(k_sweep(calibrated_activations(2, 64, seed=0)).drop(columns=["k"]))
