"""Plot layout (issue 15 item 9): legends never hide spikes, time-step ticks thin out and stay bounded,
panel titles neither overlap nor clip, energy labels are not covered by the legend, the energy axis ends
near the largest bar. Checked on the rendered figure's geometry."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.analysis import plots


def _draw(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _spike_boxes(ax, renderer):
    boxes = []
    for coll in ax.collections:
        offs = coll.get_offsets()
        if len(offs):
            pts = ax.transData.transform(offs)
            boxes.append(pts)
    return np.concatenate(boxes) if boxes else np.zeros((0, 2))


@pytest.mark.parametrize("counts", [np.array([61, -40, 0, -9, 13, 6, -20, 17]), np.arange(-6, 7)])
def test_raster_legend_and_ticks(counts) -> None:
    ax = plots.plot_raster(counts, "ternary")
    renderer = _draw(ax.figure)
    legend = ax.get_legend().get_window_extent(renderer)
    pts = _spike_boxes(ax, renderer)
    inside = (pts[:, 0] >= legend.x0) & (pts[:, 0] <= legend.x1) & (pts[:, 1] >= legend.y0) & (pts[:, 1] <= legend.y1)
    assert not inside.any(), "legend covers spikes"
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) <= 12
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), "time-step labels overlap"


def test_coders_titles_do_not_overlap_or_clip() -> None:
    rng = np.random.default_rng(0)
    for counts in (rng.integers(-20, 21, size=12), rng.integers(-3000, 3000, size=16)):
        fig = plots.plot_coders(counts)
        renderer = _draw(fig)
        axes = fig.axes
        boxes = [ax.title.get_window_extent(renderer) for ax in axes]
        assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), "titles overlap"
        assert all(b.x0 >= 0 and b.x1 <= fig.bbox.width for b in boxes), "title clipped"
        for ax in axes:
            assert len([t for t in ax.get_xticklabels() if t.get_text()]) <= 12


def test_long_train_ticks_bounded() -> None:
    # raster --k 1000: a unary train of ~25,000 steps used to get one tick per step (a hang).
    ax = plots.plot_raster(np.array([25000, -300, 7]), "ternary")
    _draw(ax.figure)
    assert len(ax.get_xticks()) <= 14


def _records():
    return [{"model": "m", "mode": mode, "profile": prof, "compute_j": c, "memory_j": m, "static_j": 0.0,
             "total_j": c + m}
            for mode, prof, c, m in (("fp16-dense", "a", 5e-6, 4e-5), ("int8-dense", "a", 2e-6, 2e-5),
                                     ("w8aspike-event", "b", 1e-6, 1e-7), ("w8aspike-event", "c", 3e-6, 0.0))]


def test_energy_labels_not_under_legend_and_axis_near_largest_bar() -> None:
    recs = _records()
    ax = plots.plot_energy(recs, ranges={("w8aspike-event", "b"): (5e-7, 8e-6)})
    renderer = _draw(ax.figure)
    legend = ax.get_legend().get_window_extent(renderer)
    for text in ax.texts:
        assert not legend.overlaps(text.get_window_extent(renderer)), text.get_text()
        assert text.get_window_extent(renderer).x1 <= ax.figure.bbox.width
    largest = max(r["total_j"] for r in recs) / 1e-6  # plotted in uJ
    assert ax.get_xlim()[1] <= 1.1 * largest
