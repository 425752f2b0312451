"""The report folder of ``energy-report nir``: per-node table, a raster per spiking population, energy by profile.

Files (``--format`` picks md, html, json, csv; ``summary.json`` and the rasters are always written):
``summary.json`` (run settings, totals, energy by profile, skipped profiles), ``nodes.csv`` /
``energy.csv``, ``network_profile.json`` (everything), ``report.md`` / ``report.html`` (both tables
and the rasters), ``raster_<node>.png`` (sample 0, first 128 neurons of each spiking population).
"""

from __future__ import annotations

from collections.abc import Sequence
import html
import re
from typing import Any

import pandas as pd

from neurosim.analysis import plots
from neurosim.reports.document import png_bytes
from neurosim.reports.render import format_markdown_table, format_terminal_table
from neurosim.reports.writer import ReportFiles

__all__ = ["energy_frame", "format_network_report", "network_report_files", "node_frame"]

_NODE_COLUMNS = (("node", "node"), ("kind", "kind"), ("path", "path"), ("neurons", "neurons"),
                 ("input_events", "input events"), ("synaptic_events", "synaptic events"),
                 ("neuron_updates", "neuron updates"), ("output_spikes", "spikes"), ("spike_rate", "spike rate"),
                 ("weight_bytes_read", "weight bytes"), ("state_bytes", "state bytes"), ("dense_ops", "NB Dense"),
                 ("effective_macs", "NB Eff_MACs"), ("effective_acs", "NB Eff_ACs"))


def node_frame(profile: Any) -> pd.DataFrame:
    """Per-node counts (display names)."""
    rows = [{label: r.get(key) for key, label in _NODE_COLUMNS} for r in profile.nodes]
    return pd.DataFrame(rows, columns=[label for _, label in _NODE_COLUMNS])


def energy_frame(profile: Any, *, unit: str = "uJ") -> pd.DataFrame:
    """Energy of the run by profile, in ``unit`` (uJ or mJ)."""
    scale = {"uJ": 1e6, "mJ": 1e3, "J": 1.0}[unit]
    rows = [{"profile": e["profile"], "mode": e["mode"], f"total [{unit}]": e["total_j"] * scale,
             f"per sample [{unit}]": e["j_per_sample"] * scale, f"compute [{unit}]": e["compute_j"] * scale,
             f"memory [{unit}]": e["memory_j"] * scale, f"static [{unit}]": e["static_j"] * scale,
             f"inter-chip [{unit}]": e["interchip_j"] * scale, "chips": e["chips"],
             "limited by": e["chips_limited_by"], "messages": e["interchip_messages"]} for e in profile.energy]
    return pd.DataFrame(rows)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "node"


def network_report_files(profile: Any, result: Any, *, source: str, input_desc: str,
                         formats: Sequence[str] = ("md", "html", "json", "csv")) -> ReportFiles:
    """All files of the report folder (see the module docstring)."""
    files = ReportFiles()
    nodes, energy = node_frame(profile), energy_frame(profile)
    summary = {"source": source, "input": input_desc, "steps": profile.steps, "batch": profile.batch,
               "dt_s": profile.dt, "assumptions": profile.assumptions,
               "totals": {k: int(sum(r[k] for r in profile.nodes)) for k in
                          ("synaptic_events", "neuron_updates", "output_spikes", "dense_ops", "effective_macs",
                           "effective_acs")},
               "energy": [{k: e[k] for k in ("profile", "mode", "total_j", "j_per_sample", "compute_j", "memory_j",
                                             "static_j", "interchip_j", "chips", "chips_limited_by")}
                          for e in profile.energy],
               "skipped": profile.skipped}
    files.add_json("summary.json", summary)
    rasters: list[str] = []
    for name, spikes in result.spikes.items():
        fname = f"raster_{_safe(name)}.png"
        ax = plots.plot_spike_raster(spikes[:, 0], title=f"{name} ({result.counts[name].kind}), sample 0")
        files[fname] = png_bytes(ax.figure)
        rasters.append(fname)
    if "csv" in formats:
        files.add_text("nodes.csv", pd.DataFrame(profile.nodes).drop(columns=["energy_j"]).to_csv(index=False))
        files.add_text("energy.csv", pd.DataFrame([{k: v for k, v in e.items() if k not in ("by_action_j", "notes")}
                                                   for e in profile.energy]).to_csv(index=False))
    if "json" in formats:
        files.add_json("network_profile.json", {"source": source, "input": input_desc, **profile.to_dict()})
    head = (f"Source: {source}\n\nInput: {input_desc}; {profile.steps} steps x batch {profile.batch}, "
            f"dt = {profile.dt:g} s\n")
    skipped = "".join(f"- not applicable: {s['profile']}: {s['reason']}\n" for s in profile.skipped)
    if "md" in formats:
        md = [f"# neurosim network report\n\n{head}", "## Per node (whole run)\n", format_markdown_table(nodes),
              "\n## Energy by profile (whole run)\n", format_markdown_table(energy), "\n" + skipped,
              "\n## Rasters\n"] + [f"![{r}]({r})\n" for r in rasters]
        files.add_text("report.md", "\n".join(md))
    if "html" in formats:
        body = (f"<h1>neurosim network report</h1><pre>{html.escape(head)}</pre><h2>Per node</h2>"
                f"{nodes.to_html(index=False, na_rep='n/a')}<h2>Energy by profile</h2>"
                f"{energy.to_html(index=False, float_format=lambda v: f'{v:.4g}')}<pre>{html.escape(skipped)}</pre>"
                + "".join(f'<img src="{r}" alt="{r}">' for r in rasters))
        files.add_text("report.html", f"<!doctype html><meta charset='utf-8'><title>neurosim network report</title>{body}")
    return files


def format_network_report(profile: Any, *, source: str, input_desc: str) -> str:
    """Terminal summary: per-node table and energy by profile."""
    lines = [f"{source}: {input_desc}; {profile.steps} steps x batch {profile.batch}, dt = {profile.dt:g} s", "",
             format_terminal_table(node_frame(profile), max_width=200), "",
             "Energy of the run by profile:", format_terminal_table(energy_frame(profile), max_width=200)]
    lines += [f"  not applicable: {s['profile']}: {s['reason']}" for s in profile.skipped]
    return "\n".join(lines)
