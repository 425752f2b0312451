"""The report of a default job: JSON records, CSV tables, plots and the Markdown/HTML text.

:func:`summary_record` is the machine-readable headline (``summary.json``; schema in
``docs/report-schema.md``); :func:`report_files` assembles every file of the report folder.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from neurosim.analysis import plots
from neurosim.analysis.job_stats import (
    WINDOW_SPARSITY_SAMPLES,
    format_published,
    layer_energy,
    layer_records,
    neurobench_totals,
    per_token_events,
    published_figures,
)
from neurosim.analysis.sensitivity import model_energy_sensitivity
from neurosim.analysis.system_plots import plot_break_even, plot_energy_vs_batch
from neurosim.energy.system import batch_sweep, break_even_table
from neurosim.reports.pipeline import JobResult
from neurosim.reports.provenance import constants_frame
from neurosim.reports.render import (
    Figure,
    Section,
    Table,
    format_html,
    format_latex_table,
    format_markdown,
    format_terminal_table,
)
from neurosim.reports.writer import ReportFiles

__all__ = [
    "SCHEMA_VERSION",
    "claims_display",
    "claims_records",
    "energy_table",
    "figure_record",
    "format_summary",
    "png_bytes",
    "report_files",
    "summary_record",
]

SCHEMA_VERSION = 1

SPARSITY_DEFINITIONS = {
    "silent_fraction": "share of (token, channel) projection inputs whose spike count is 0 (report: 18.4%)",
    "spikes_per_channel": "spike events per (token, channel) input under the coder, silent ones included "
                          "(report: 1.13)",
    "activation_sparsity": "NeuroBench ActivationSparsity on the counts: (total - nonzero) / total",
    "window_sparsity": "report's 3-step window: 1 - 1-bits / (3 x values) over counts with |c| <= 7 "
                       "(values outside the window excluded; report: 69.15%)",
    "window_sparsity_clip": "as window_sparsity, with |c| > 7 saturated at 7",
    "window_sparsity_full": "as window_sparsity, over every value with all its bits",
    "firing_rate": "Int2Spike firing rate: spikes / (time steps x neurons) of the dense train",
    "within_0_7": "share of |counts| in [0, 7] (report: 94.1%)",
    "above_16": "share of |counts| > 16 (report: about 1%)",
}


def png_bytes(fig: Any) -> bytes:
    """PNG of a matplotlib Figure (closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # noqa: BLE001 - a Figure made without pyplot needs no closing
        pass
    return buf.getvalue()


def vector_bytes(fig: Any, fmt: str) -> bytes:
    """SVG or PDF of a matplotlib Figure, without creation dates (and with a fixed SVG id salt), so the same
    figure gives the same bytes."""
    import matplotlib

    buf = io.BytesIO()
    meta = {"Date": None} if fmt == "svg" else {"CreationDate": None}
    with matplotlib.rc_context({"svg.hashsalt": "neurosim", "svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()


def figure_record(caption: str, filename: str, fig: Any, *, vectors: Sequence[str] = ("svg", "pdf")) -> Figure:
    """A report :class:`Figure`: PNG plus the ``vectors`` formats (svg, pdf) for publishing; closes ``fig``."""
    stem = filename.rsplit(".", 1)[0]
    twins = {f"{stem}.{fmt}": vector_bytes(fig, fmt) for fmt in vectors}
    return Figure(caption, filename, png_bytes(fig), vectors=twins)


def _per_token_events(result: JobResult) -> dict[str, float]:
    return per_token_events(result.model_counts, result.measured_stats.spikes_per_channel)


def _neurobench_totals(result: JobResult) -> dict[str, float]:
    return neurobench_totals(result.simulated, result.sample_tally.synaptic_ops)


def _layer_records(result: JobResult) -> list[dict[str, Any]]:
    recs = layer_records(result.simulated)
    # Energy per layer: each projection priced alone, event-driven, on every profile of the run.
    energy = layer_energy(result.simulated, result.profiles or result.profile_names)
    return [{**r, **e} for r, e in zip(recs, energy, strict=True)]


def _energy_rows(records: Mapping[str, Any], stats_label: str) -> list[dict[str, Any]]:
    keep = ("model", "mode", "profile", "compute_j", "memory_j", "static_j", "total_j", "ratio_vs_fp16")
    system = ("interchip_j", "batch", "phase", "stack", "seconds_per_token", "bound_by", "chips")  # system model
    return [{**{k: r[k] for k in keep}, **{k: r[k] for k in system if k in r}, "stats": stats_label}
            for r in records["rows"]]


def _sensitivity(result: JobResult) -> list[dict[str, Any]]:
    """Range of each profile's per-token total over its disputed figures (spiked projections, measured stats)."""
    cached = getattr(result, "_sensitivity_rows", None)
    if cached is None:
        # Same energy model and options as the first energy table (its records state them).
        a = result.energy.get("assumptions", {})
        opts = {k: a[k] for k in ("batch", "phase", "prompt_tokens", "context", "stack", "scope", "block_size")
                if k in a}
        cached = model_energy_sensitivity(result.model_counts, result.profiles or result.profile_names,
                                          stats=result.measured_stats, **opts)
        object.__setattr__(result, "_sensitivity_rows", cached)  # frozen dataclass: memo only, same values
    return cached


def sensitivity_table(rows: Sequence[Mapping[str, Any]], *, unit: str = "mJ") -> pd.DataFrame:
    """Display table of :func:`neurosim.analysis.sensitivity.energy_sensitivity` records."""
    scale = {"pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "mJ": 1e-3, "J": 1.0}[unit]
    return pd.DataFrame([{"profile": r["profile"], "mode": r["mode"], f"default [{unit}]": r["total_j"] / scale,
                          f"low [{unit}]": r["low_j"] / scale, f"high [{unit}]": r["high_j"] / scale,
                          "high/low": r["spread"], "disputed figures": r["disputed"]} for r in rows])


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48].rstrip("-") or "table"


def _add_latex_tables(files: ReportFiles, sections: Sequence[Section]) -> None:
    """Every page table as LaTeX (booktabs) beside the CSV: ``<csv name>.tex`` or ``table-<caption>.tex``."""
    seen: set[str] = set()
    for sec in sections:
        for tab in sec.tables:
            name = (tab.csv_name[:-4] if tab.csv_name else f"table-{_slug(tab.caption)}") + ".tex"
            while name in seen:
                name = name[:-4] + "-2.tex"
            seen.add(name)
            files.add_text(name, format_latex_table(tab.frame, caption=tab.caption, label=f"tab:{name[:-4]}"))


def provenance_section(provenance: Any, constants_csv: str | None) -> Section:
    """The report page's Provenance section: the run and the per-operation constants with citations."""
    return Section(
        "Provenance",
        "How this report was made (also in provenance.json; summary.json holds all but the command line and "
        "time stamp), and every per-operation constant the energy figures used, with how it was derived and "
        "its citation.",
        tables=(Table("Run", provenance.run_frame()),
                Table("Per-operation constants used", constants_frame(provenance.constants), constants_csv)))


def summary_record(result: JobResult) -> dict[str, Any]:
    """The headline figures of a run (summary.json)."""
    cfg = result.config
    counts = result.model_counts
    return {
        "schema": "neurosim-energy-report",
        "schema_version": SCHEMA_VERSION,
        "settings": result.settings.to_dict(),
        "model": {
            "name": cfg.name, "weights": result.source, "n_layers": cfg.n_layers, "hidden": cfg.hidden,
            "layer_types": list(cfg.layer_types), "parameters": counts.parameters,
            "active_parameters": counts.active_parameters,
        },
        "activations": result.activation_source,
        "simulated_layers": [
            {"layer": s.layer, "layer_type": s.layer_type, "projections": len(s.tallies),
             "tokens": s.tallies[0].tokens if s.tallies else 0, "attention_macs": s.attention_macs}
            for s in result.simulated
        ],
        "sparsity": {**{k: result.statistics[k] for k in SPARSITY_DEFINITIONS if k in result.statistics},
                     "definitions": SPARSITY_DEFINITIONS},
        "spikes_per_channel": result.measured_stats.spikes_per_channel,
        "silent_fraction": result.measured_stats.silent_fraction,
        "active_block_fraction": {str(b): f for b, f in sorted(result.measured_stats.active_block_fraction.items())},
        "events": {
            "sample": {k: v for k, v in result.sample_tally.to_dict().items() if k not in ("name",)},
            "per_token_whole_model": _per_token_events(result),
            "neurobench_sample": _neurobench_totals(result),
        },
        "energy": {
            "unit": "J per token",
            "scope": "spiked projections (the inputs W8ASpike spike-codes); whole_model adds attention "
                     "and lm_head MACs on the profiles that can run them",
            "measured": _energy_rows(result.energy, "measured"),
            "paper_stats": _energy_rows(result.energy_paper, "paper"),
            "whole_model": _energy_rows(result.energy_all, "measured"),
            "skipped": result.energy["skipped"],
            "skipped_whole_model": result.energy_all["skipped"],
            "assumptions": result.energy["assumptions"],
            "sensitivity": _sensitivity(result),
        },
        "layers": _layer_records(result),
        "by_layer": ([] if getattr(result, "layer_table", None) is None
                     else result.layer_table.to_dict(orient="records")),  # 95 % token-bootstrap intervals
        "claims": {c.id: c.status for c in result.claims},
        "units": {"energy": "J", "events": "count per token", "fractions": "1"},
    }


def claims_display(records: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """The claims as a reader sees them: energies in pJ (not ``3.400e-14 J``), a stated lower bound as
    ``>100``, columns id, reported, recomputed, unit, status, reason. CSV/JSON keep SI numbers."""
    import re

    recs = records.to_dict("records") if isinstance(records, pd.DataFrame) else list(records)
    rows = []
    for r in recs:
        reported, recomputed, unit = r.get("reported"), r.get("recomputed"), r.get("unit", "")
        scale = 1e12 if unit == "J" else 1.0
        shown_unit = "pJ" if unit == "J" else unit

        def fmt(v: Any) -> Any:
            return f"{float(v) * scale:.4g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else v

        rep = fmt(reported)
        # A claim stated as a bound ("over 100x") is shown as one, not as the number 100.
        if isinstance(reported, (int, float)) and re.search(
                rf"(over|more than|above|>)\s*{re.escape(f'{float(reported):g}')}", str(r.get("claim", ""))):
            rep = f">{float(reported) * scale:g}"
        rows.append({"id": r.get("id"), "reported": rep, "recomputed": fmt(recomputed), "unit": shown_unit,
                     "status": r.get("status"), "reason": r.get("reason")})
    return pd.DataFrame(rows, columns=["id", "reported", "recomputed", "unit", "status", "reason"])


def claims_records(claims: Sequence[Any]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in claims]


_MODES = ("fp16-dense", "int8-dense", "w8aspike-gpu", "w8aspike-event")


def energy_table(records: Mapping[str, Any], *, unit: str = "mJ") -> pd.DataFrame:
    """Per-token total energy, one row per profile, one column per mode (in ``unit``), and the
    event-driven mode's ratio to the FP16 baseline for compute alone and for the total.

    The FP16 baseline is the profile's own where it runs FP16, else the records' baseline profile
    (``paper-45nm``, total only: a chip's energy per synaptic op includes its on-chip weight memory).
    The compute ratio on paper-45nm is the report's 0.034 / 1.5 pJ claim.
    """
    scale = {"pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "mJ": 1e-3, "J": 1.0}[unit]
    rows = pd.DataFrame(records["rows"])
    if rows.empty:
        return rows
    table = rows.pivot_table(index="profile", columns="mode", values="total_j", aggfunc="sum") / scale
    order = [m for m in _MODES if m in table.columns]
    table = table[order]
    fp16 = rows[rows["mode"] == "fp16-dense"].set_index("profile")
    base_name = records.get("assumptions", {}).get("baseline_profile", "paper-45nm")
    event = rows[rows["mode"] == "w8aspike-event"].set_index("profile")
    compute_ratio, total_ratio = [], []
    for prof in table.index:
        own = prof in fp16.index
        ref = fp16.loc[prof] if own else (fp16.loc[base_name] if base_name in fp16.index else None)
        if prof in event.index and ref is not None:
            # A neuromorphic chip's energy per synaptic op already includes its on-chip weight memory,
            # so only its total is comparable with a FP16 MAC plus its weight fetch.
            compute_ratio.append(event.loc[prof, "compute_j"] / ref["compute_j"] if own else float("nan"))
            total_ratio.append(event.loc[prof, "total_j"] / ref["total_j"])
        else:
            compute_ratio.append(float("nan"))
            total_ratio.append(float("nan"))
    table = table.reset_index()
    table.columns = ["profile"] + [f"{m} [{unit}]" for m in order]
    table["event/fp16 compute"] = compute_ratio
    table["event/fp16 total"] = total_ratio
    if "chips" in rows.columns:  # system records: chips and time per token of the event-driven mode (else FP16)
        pick = rows.sort_values("mode", key=lambda m: m != "w8aspike-event").drop_duplicates("profile")
        pick = pick.set_index("profile")
        table["chips"] = [pick.loc[p, "chips"] if pick.loc[p, "chips"] == pick.loc[p, "chips"] else None
                          for p in table["profile"]]
        table["ms/token"] = [None if pick.loc[p, "seconds_per_token"] is None
                             or pick.loc[p, "seconds_per_token"] != pick.loc[p, "seconds_per_token"]
                             else pick.loc[p, "seconds_per_token"] * 1e3 for p in table["profile"]]
    table.attrs["unit"] = unit
    return table


def _statistics_frame(result: JobResult) -> pd.DataFrame:
    published = published_figures(result.settings.k)
    rows = []
    for key, text in SPARSITY_DEFINITIONS.items():
        if key not in result.statistics:
            continue
        pub = published.get(key)
        rows.append({"statistic": key, "this run": result.statistics[key],
                     "report": pub.value if pub is not None and pub.value is not None else float("nan"),
                     "published at": pub.source if pub is not None else "no published figure",
                     "sample": WINDOW_SPARSITY_SAMPLES["statistics"], "definition": text})
    return pd.DataFrame(rows)


def _figures(result: JobResult, *, vectors: Sequence[str] = ()) -> list[Figure]:
    def make(caption: str, filename: str, fig: Any) -> Figure:
        return figure_record(caption, filename, fig, vectors=vectors)

    figs = []
    first = result.simulated[0]
    name = first.tallies[0].name
    row = first.counts[name][0]
    # Channels with |count| <= 15 keep the unary coders' panels readable; the histogram shows the tail.
    picked = np.flatnonzero(np.abs(row) <= 15)[:20]
    if picked.size:  # a large k leaves no small count to draw: the raster is omitted, not an error
        fig = plots.plot_coders(row[picked])
        figs.append(make(f"Spike raster of {picked.size} input channels of {name} (token 0, channels with "
                           "|count| <= 15) for each coder (report figure 10 analogue)", "raster.png",
                           fig))
    ax = plots.plot_count_histogram(result.all_counts)
    figs.append(make("Distribution of |spike counts| over every simulated projection input "
                       "(report figure 9 analogue)", "count_histogram.png", ax.figure))
    ax = plots.plot_k_sweep(result.sweep)
    figs.append(make("Window sparsity and share of |counts| <= 7 versus k (report table 11 analogue)",
                       "k_sweep.png", ax.figure))
    ranges = {(r["mode"], r["profile"]): (r["low_j"], r["high_j"]) for r in _sensitivity(result)}
    ax = plots.plot_energy(result.energy["rows"], ranges=ranges)
    figs.append(make("Energy per token of the spiked projections of all layers per mode and profile, measured "
                       "spike statistics, split into compute, memory and static; whiskers: the range over the "
                       "disputed figures in the profile's data file", "energy.png", ax.figure))
    profs = list(result.profiles) or None
    sweep = batch_sweep(result.model_counts, profiles=profs, modes=("fp16-dense", "int8-dense", "w8aspike-event"),
                        stats=result.measured_stats)
    if not sweep.empty:
        ax = plot_energy_vs_batch(sweep)
        figs.append(make("System energy per decoded token vs batch size (weights shared by the batch, static "
                           "power x time, chips needed), measured spike statistics", "energy_vs_batch.png",
                           ax.figure))
    be = break_even_table(result.model_counts, profiles=profs)
    if not be.empty:
        ax = plot_break_even(be)
        figs.append(make("Spikes per channel at which event-driven execution beats INT8 dense per token, at "
                           "batch 1 and 64 (chips compared with INT8 dense on an A100)", "break_even.png",
                           ax.figure))
    ax = plots.plot_prefill()
    figs.append(make("Prefill FLOPs and measured TTFT versus context length, SpikingBrain-7B vs Qwen2.5-7B "
                       "(report table 7 points overlaid)", "prefill.png", ax.figure))
    return figs


def _intro(result: JobResult) -> str:
    s = result.settings
    cfg = result.config
    sims = ", ".join(f"layer {x.layer} ({x.layer_type})" for x in result.simulated)
    return (
        f"Model {cfg.name} ({cfg.n_layers} layers, hidden {cfg.hidden}); {result.source}. "
        f"Inputs: {result.activation_source}. Simulated spike by spike: {sims}, every linear projection input "
        f"spike coded with k = {s.k:g} and {s.coding} coding, INT8 weights in groups of {s.group_size}. "
        f"The measured spike statistics are applied to the analytical projection shapes of all {cfg.n_layers} "
        f"layers at a context of {s.context_length} tokens to give per-token events and energy.\n\n"
        "Numbers with a source in the report are compared with it; energy figures come from the cited tables "
        "in energy/data (estimates are marked there). Random weights and synthetic activations measure the "
        "mechanism, not a trained model: run with --checkpoint and --activations for real ones."
    )


def report_files(result: JobResult, formats: Sequence[str], *, provenance: Any = None) -> ReportFiles:
    """Every file of the report folder for ``formats`` (summary.json and claims.json always).

    ``provenance`` (a :class:`neurosim.reports.provenance.Provenance`) adds ``summary.json["provenance"]``,
    ``provenance.json`` and a Provenance section with the per-operation constants and their citations.
    """
    files = ReportFiles()
    summary = summary_record(result)
    if provenance is not None:
        summary["provenance"] = provenance.stable()
        files.add_json("provenance.json", provenance.full())
    files.add_json("summary.json", summary)
    files.add_json("claims.json", claims_records(result.claims))
    layers = pd.DataFrame(summary["layers"])
    energy_rows = pd.DataFrame(
        [{**r, "scope": "spiked"} for r in summary["energy"]["measured"] + summary["energy"]["paper_stats"]]
        + [{**r, "scope": "all"} for r in summary["energy"]["whole_model"]])
    claims = pd.DataFrame([{k: v for k, v in c.items() if k != "inputs"} for c in claims_records(result.claims)])
    stats = _statistics_frame(result)
    tables = {
        "layers.csv": layers, "energy.csv": energy_rows, "claims.csv": claims,
        "statistics.csv": stats, "k_sweep.csv": result.sweep,
        "sensitivity.csv": pd.DataFrame(summary["energy"]["sensitivity"]),
    }
    if provenance is not None:
        tables["constants.csv"] = pd.DataFrame(provenance.constants)
    if "json" in formats:
        files.add_json("energy.json", {"spiked_measured": result.energy, "spiked_paper_stats": result.energy_paper,
                                       "whole_model_measured": result.energy_all})
        files.add_json("layers.json", summary["layers"])
        files.add_json("k_sweep.json", result.sweep.to_dict(orient="records"))
        files.add_json("statistics.json", stats.to_dict(orient="records"))
    if "csv" in formats:
        for name, frame in tables.items():
            files.add_text(name, frame.to_csv(index=False, float_format="%.10g"))
    if not ({"md", "html", "tex"} & set(formats)):
        return files
    figures = _figures(result, vectors=tuple(f for f in ("svg", "pdf") if f in formats))
    for fig in figures:
        files[fig.filename] = fig.png
        for vname, data in fig.vectors.items():
            files[vname] = data
    csv_link = (lambda n: n) if "csv" in formats else (lambda n: None)
    claim_view = claims_display(claims_records(result.claims))
    sections = [
        Section("Sparsity and spike statistics",
                "Each sparsity figure of the report uses its own definition; they are shown side by side on the "
                "counts of every simulated projection input (the sample column). The published value is the "
                "report's figure at this run's k (its text at k = 3, table 11 at another k it lists), or none.",
                tables=(Table("Spike statistics of this run and the report's figures", stats,
                              csv_link("statistics.csv")),),
                figures=tuple(f for f in figures if f.filename in ("count_histogram.png", "raster.png"))),
        Section("Energy per token",
                "Energy per generated token (batch 1: every weight fetched from DRAM once per token), measured "
                "spike statistics applied to all layers. Modes: FP16 dense MACs, INT8 dense MACs (W8A8), "
                "W8ASpike on a synchronous GPU (integer counts, no skipping), W8ASpike event-driven (one INT8 "
                "add per spike-triggered weight addition, silent channels skip their weight rows). The first two "
                "tables price the spiked projections, the scope of the report's claim and all a neuromorphic "
                "profile can run; the ratio columns compare the event-driven mode with FP16 dense (the profile's "
                "own, else paper-45nm) for compute alone (the report's 97.7% claim) and for the total with "
                "memory. The third table adds attention and the lm_head. Pairs a profile cannot run are listed "
                "in summary.json with the reason. Every figure is a system figure (neurosim.energy.system): "
                "dynamic energy plus static power x the time of a decode step (the larger of compute, memory, "
                "power-limit and event time; GPUs on the eager stack), on as many chips as the model needs "
                "(columns chips and ms/token, of the event-driven mode where it runs).",
                tables=(Table("Energy per token of the spiked projections, measured statistics",
                              energy_table(result.energy), csv_link("energy.csv")),
                        Table("The same with the report's stated statistics (1.13 spikes per channel, 18.4% silent)",
                              energy_table(result.energy_paper), None),
                        Table("Whole model per token (attention and lm_head included), measured statistics",
                              energy_table(result.energy_all), None),
                        Table("Sensitivity: the range each profile's total (first table) spans over the disputed "
                              "figures its data file keeps (alternatives from other sources); high/low near 1 "
                              "means the figure is not contested",
                              sensitivity_table(summary["energy"]["sensitivity"]), csv_link("sensitivity.csv"))),
                figures=tuple(f for f in figures if f.filename in ("energy.png", "energy_vs_batch.png",
                                                                    "break_even.png"))),
        Section("Audit of the report's claims",
                "Each claim with its stated inputs, our recomputation and a status: reproduced, rounding "
                "difference, depends on unpublished data, or inconsistent with other stated figures.",
                tables=(Table("Claims", claim_view, csv_link("claims.csv")),),
                figures=tuple(f for f in figures if f.filename == "prefill.png")),
        Section("k sweep",
                "Statistics for each k (the report's table 11 values beside them), computed on "
                + WINDOW_SPARSITY_SAMPLES["k_sweep"] + ": a different sample from the statistics table's, "
                "so its window sparsity at the run's k differs from that table's.",
                tables=(Table("k sweep", result.sweep, csv_link("k_sweep.csv")),),
                figures=tuple(f for f in figures if f.filename == "k_sweep.png")),
        *_by_layer_section(result, files, formats, csv_link),
        Section("Simulated projections",
                "One row per projection run spike by spike (event-driven engine, bit-exact against dense "
                "integer math); window_sparsity is over " + WINDOW_SPARSITY_SAMPLES["layers"] + ".",
                tables=(Table("Per-projection tallies", layers, csv_link("layers.csv")),)),
    ]
    if provenance is not None:
        sections.append(provenance_section(provenance, csv_link("constants.csv")))
    if "tex" in formats:
        _add_latex_tables(files, sections)
    title = f"neurosim energy report: {result.config.name}"
    intro = _intro(result)
    if "md" in formats:
        files.add_text("index.md", format_markdown(title, intro, sections))
    if "html" in formats:
        files.add_text("index.html", format_html(title, intro, sections))
    return files


def _by_layer_section(result: JobResult, files: ReportFiles, formats: Sequence[str], csv_link: Any) -> list[Section]:
    """Per-layer figures with intervals (table, csv, plot with error bars) when several layers ran."""
    table = getattr(result, "layer_table", None)
    if table is None or len(table) < 2:
        return []
    if "csv" in formats:
        files.add_text("by_layer.csv", table.to_csv(index=False, float_format="%.10g"))
    fig = figure_record("Spikes per channel, silent fraction and window sparsity by layer (95 % token-bootstrap "
                        "intervals)", "by_layer.png", plots.plot_layer_intervals(table),
                        vectors=tuple(f for f in ("svg", "pdf") if f in formats))
    files["by_layer.png"] = fig.png
    for vname, data in fig.vectors.items():  # SVG/PDF twins, as for every report figure
        files[vname] = data
    return [Section("By layer",
                    "Every simulated decoder layer on the same input tokens: the layer dependence a single "
                    "sampled layer leaves out (report appendix C.2). Intervals resample tokens.",
                    tables=(Table("Spike statistics by layer", table, csv_link("by_layer.csv")),),
                    figures=(fig,))]


def _short_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Terminal-width column names (the unit is in the heading line)."""
    return frame.rename(columns=lambda c: c.split(" [")[0].replace("event/fp16 ", "event/fp16 ")
                        .replace("w8aspike-", "spike-"))


def _interval_cells(table: pd.DataFrame) -> pd.DataFrame:
    """One terminal cell per figure, ``value [low, high]``, for columns that come with ``_low``/``_high`` twins."""
    out = table.copy()
    for col in [c for c in table.columns if f"{c}_low" in table.columns and f"{c}_high" in table.columns]:
        out[col] = [f"{v:.4g} [{lo:.4g}, {hi:.4g}]"
                    for v, lo, hi in zip(table[col], table[f"{col}_low"], table[f"{col}_high"])]
        out = out.drop(columns=[f"{col}_low", f"{col}_high"])
    return out


def format_summary(result: JobResult) -> str:
    """Compact terminal summary of a run."""
    st = result.statistics
    published = published_figures(result.settings.k)

    def pub(key: str, percent: bool = True) -> str:
        return format_published(published[key], percent=percent)

    lines = [
        f"{result.config.name}: {len(result.simulated)} layer(s) x {result.settings.tokens} tokens simulated, "
        f"k = {result.settings.k:g}, {result.settings.coding} coding",
        f"  spikes per channel {st['spikes_per_channel']:.3f} ({pub('spikes_per_channel', False)})   "
        f"silent {st['silent_fraction']:.1%} ({pub('silent_fraction')})   "
        f"|c|<=7 {st['within_0_7']:.1%} ({pub('within_0_7')})",
        f"  window sparsity {st['window_sparsity']:.1%} ({pub('window_sparsity')}); 3-step window over "
        f"{WINDOW_SPARSITY_SAMPLES['statistics']}",
        "",
        "Energy per token of the spiked projections, measured statistics [mJ]: decode at batch 1, GPUs on the eager "
        "stack, dynamic energy + static power x time, every chip the model needs:",
        format_terminal_table(_short_columns(energy_table(result.energy)), max_width=160),
    ]
    contested = [r for r in _sensitivity(result) if r["spread"] > 1.01 and r["mode"] == "w8aspike-event"]
    if contested:
        def mj(v: float) -> str:
            v *= 1e3
            return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"

        lines.append("Contested figures (event-driven total per token over the data files' alternatives): "
                     + "; ".join(f"{r['profile']} {mj(r['low_j'])}-{mj(r['high_j'])} mJ" for r in contested))
    table = getattr(result, "layer_table", None)
    if table is not None and len(table) > 1:
        lines += ["", "By layer, value [95 % token-bootstrap interval]:",
                  format_terminal_table(_interval_cells(table), max_width=160, csv_hint="by_layer.csv")]
    lines += ["", "Claims: " + ", ".join(f"{c.id}: {c.status}" for c in result.claims)]
    return "\n".join(lines)
