"""Report folder of ``energy-report torch`` and ``energy-report hf``: a profiled user model.

``summary.json`` holds ``layers`` (one record per profiled layer: name, input features, spikes per
channel, silent fraction, window sparsity, events, ...), ``fidelity`` (cosine similarity and relative
error of the final outputs against the unspiked run; null for snntorch networks, whose spikes are
their own), ``energy`` records in joules and ``skipped`` modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from neurosim.analysis import plots
from neurosim.analysis.corpus_profile import corpus_line, interval_frame, layer_group_frame
from neurosim.analysis.job_stats import profile_layer_energy, profile_sensitivity
from neurosim.reports.document import _add_latex_tables, png_bytes, provenance_section, sensitivity_table
from neurosim.reports.render import Figure, Section, Table, format_html, format_markdown, format_terminal_table
from neurosim.reports.writer import ReportFiles

__all__ = ["format_profile", "format_skipped", "profile_report_files", "profile_summary"]


def _is_snn(profile: Any) -> bool:
    return hasattr(profile, "synapses")


def profile_summary(profile: Any) -> dict[str, Any]:
    """summary.json of a :class:`~neurosim.analysis.torch_profile.ModelProfile` or ``SNNProfile``."""
    summary = profile.to_summary()
    summary["schema"] = "neurosim-model-profile"
    summary["schema_version"] = 1
    if _is_snn(profile):
        # Connection layers carry the synaptic events; neuron layers their firing.
        summary["layers"] = [{"layer_type": "synapse", **s} for s in summary["synapses"]] + [
            {"layer_type": "neuron", **n} for n in summary["neurons"]]
        summary["fidelity"] = {"cosine_similarity": None, "relative_error": None,
                               "note": "snntorch network: its own spikes are profiled, nothing is replaced"}
    summary["units"] = {"energy": "J for the whole profiled input", "events": "count"}
    return summary


_MODE_ORDER = ("fp16-dense", "int8-dense", "w8aspike-gpu", "w8aspike-event", "snn-event")


def _priced(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with an energy; snntorch records (no mode: the network's own spikes) get "snn-event"."""
    return [{**r, "mode": r.get("mode", "snn-event")} for r in records if r.get("total_j") is not None]


def _energy_pivot(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    rows = _priced(records)
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).pivot_table(index="profile", columns="mode", values="total_j", aggfunc="sum")
    table = table[[m for m in _MODE_ORDER if m in table.columns]].reset_index()
    table.columns = ["profile"] + [f"{c} [J]" for c in table.columns[1:]]
    return table


def format_profile(profile: Any) -> str:
    """Terminal table of a profile: per-layer statistics, fidelity, energy."""
    frame = profile.layer_frame()
    keep = [c for c in ("layer_type", "name", "in_features", "out_features", "neurons", "time_steps", "batch",
                        "spikes_per_channel", "spikes_per_neuron", "silent_fraction", "window_sparsity",
                        "firing_rate", "events", "synaptic_ops", "synops", "macs")
            if c in frame.columns]
    lines = []
    settings = getattr(profile, "settings", {}) or {}
    if _is_snn(profile):
        how = ("detected: time loop inside forward" if settings.get("calling") == "sequence" else
               "detected: one time step per call") if settings.get("calling_detected") else "as given"
        lines.append(f"snntorch network, calling {settings.get('calling')!r} ({how}): {profile.time_steps} time "
                     f"steps, batch {profile.batch}, input shape {settings.get('input_shape')}")
    lines += [format_terminal_table(frame[keep], max_width=160, csv_hint="layers.csv")]
    fid = profile_summary(profile)["fidelity"]
    if fid.get("cosine_similarity") is not None:
        lines.append(f"\nfidelity of the final output vs the unspiked run: cosine similarity "
                     f"{fid['cosine_similarity']:.5f}, relative error {fid['relative_error']:.4f}")
    energy = _energy_pivot(list(profile.energy))
    if not energy.empty:
        lines += ["", "Energy of the profiled forward pass:", format_terminal_table(energy, max_width=160, csv_hint="energy.csv")]
    if getattr(profile, "intervals", None):  # a corpus run: corpus, 95 % intervals, figures by layer
        lines += ["", corpus_line(profile), format_terminal_table(interval_frame(profile), max_width=160)]
        if profile.layer_groups:
            lines += ["", "By decoder layer (95 % intervals):",
                      format_terminal_table(layer_group_frame(profile), max_width=160, csv_hint="layer_groups.csv")]
    skipped = getattr(profile, "skipped", ())
    if skipped:
        lines.append("\n" + format_skipped(skipped))
    return "\n".join(lines)


def format_skipped(skipped: Sequence[Mapping[str, Any]], *, max_names: int = 12) -> str:
    """"skipped N module(s)" with every module named, grouped by reason; a group longer than ``max_names``
    names its first ones and says how many more (all are in summary.json's ``skipped``)."""
    groups: dict[str, list[str]] = {}
    for s in skipped:
        groups.setdefault(f"{s.get('kind', '')}: {s.get('reason', '')}".strip(": "), []).append(str(s.get("name")))
    lines = [f"skipped {len(skipped)} module(s):"]
    for reason, names in groups.items():
        shown = ", ".join(names[:max_names])
        more = (f" and {len(names) - max_names} more (all listed in summary.json 'skipped')"
                if len(names) > max_names else "")
        lines.append(f"  {len(names)} x {reason}: {shown}{more}")
    return "\n".join(lines)


def profile_report_files(profile: Any, *, title: str, formats: Sequence[str],
                         provenance: Any = None, profiles: Sequence[Any] = ()) -> ReportFiles:
    """Every file of a profile report: summary.json always, tables and pages per ``formats``.

    ``provenance`` (a :class:`neurosim.reports.provenance.Provenance`) adds ``summary.json["provenance"]``,
    ``provenance.json`` and a Provenance section (run, per-operation constants with citations).
    """
    files = ReportFiles()
    summary = profile_summary(profile)
    if provenance is not None:
        summary["provenance"] = provenance.stable()
        files.add_json("provenance.json", provenance.full())
    sensitivity: list[dict[str, Any]] = []
    if profiles:  # range of each total over the disputed figures kept in the profiles' data files
        sensitivity = profile_sensitivity(profile, profiles)
        summary["sensitivity"] = sensitivity
    files.add_json("summary.json", summary)
    layers = profile.layer_frame()
    if profiles:  # energy per layer (whole profiled input), priced like the totals on the same profiles
        layers = pd.concat([layers.reset_index(drop=True),
                            pd.DataFrame(profile_layer_energy(profile, profiles))], axis=1)
    energy = pd.DataFrame(list(profile.energy))
    if "csv" in formats:
        files.add_text("layers.csv", layers.to_csv(index=False, float_format="%.10g"))
        files.add_text("energy.csv", energy.to_csv(index=False, float_format="%.10g"))
        if provenance is not None:
            files.add_text("constants.csv", pd.DataFrame(provenance.constants).to_csv(index=False,
                                                                                       float_format="%.10g"))
    if "json" in formats:
        files.add_json("layers.json", summary["layers"])
        files.add_json("energy.json", summary["energy"])
    corpus_tables: list[Table] = []
    if getattr(profile, "intervals", None):  # a corpus run (neurosim.analysis.corpus_profile)
        intervals, groups = interval_frame(profile), layer_group_frame(profile)
        if "csv" in formats:
            files.add_text("intervals.csv", intervals.to_csv(index=False, float_format="%.10g"))
            files.add_text("layer_groups.csv", groups.to_csv(index=False, float_format="%.10g"))
        corpus_tables = [Table(corpus_line(profile), intervals, "intervals.csv" if "csv" in formats else None),
                         Table("By decoder layer (95 % intervals)", groups,
                               "layer_groups.csv" if "csv" in formats else None)]
    if {"md", "html", "tex"} & set(formats):
        figures: list[Figure] = []
        rows = _priced(list(profile.energy))
        if rows:
            # Profile records price the whole profiled input (every token of the batch), not one token.
            ax = plots.plot_energy(rows, per="forward pass")
            figures.append(Figure("Energy of the profiled pass per mode and profile", "energy.png",
                                  png_bytes(ax.figure)))
            files["energy.png"] = figures[0].png
        fid = summary["fidelity"]
        if _is_snn(profile):
            st = summary["settings"]
            text = (f"snntorch network profiled with its own spikes (no W8ASpike coding): calling "
                    f"{st.get('calling')!r}{' (detected)' if st.get('calling_detected') else ''}, "
                    f"{summary['time_steps']} time steps, batch {summary['batch']}, input shape "
                    f"{st.get('input_shape')}. Energies are for the whole input (all steps, whole batch).")
        else:
            text = ("W8ASpike applied to every nn.Linear input: INT8 weights in groups, adaptive-threshold "
                    f"spike counts (k = {summary['settings'].get('k', 'n/a')}), event-driven engine.")
        if fid.get("cosine_similarity") is not None:
            text += (f" Final output vs the unspiked run: cosine similarity {fid['cosine_similarity']:.5f}, "
                     f"relative error {fid['relative_error']:.4f}.")
        skipped = pd.DataFrame(list(getattr(profile, "skipped", ())))
        if corpus_tables and len(layer_group_frame(profile)):
            fig = plots.plot_layer_intervals(layer_group_frame(profile))
            figures.append(Figure("Spikes per channel, silent fraction and window sparsity by layer "
                                  "(95 % per-prompt bootstrap intervals)", "layer_intervals.png", png_bytes(fig)))
            files["layer_intervals.png"] = figures[-1].png
        tables = [*corpus_tables,
                  Table("Per-layer statistics", layers, "layers.csv" if "csv" in formats else None),
                  Table("Energy per mode and profile [J]", _energy_pivot(list(profile.energy)),
                        "energy.csv" if "csv" in formats else None)]
        if sensitivity:
            tables.append(Table("Sensitivity: the range each total spans over the disputed figures the profiles' "
                                "data files keep [uJ]", sensitivity_table(sensitivity, unit="uJ")))
        if not skipped.empty:
            tables.append(Table("Skipped modules", skipped))
        sections = [Section("Profile", text, tables=tuple(tables), figures=tuple(figures))]
        if provenance is not None:
            sections.append(provenance_section(provenance, "constants.csv" if "csv" in formats else None))
        intro = "Profile of a user model the SpikingBrain way (neurosim)."
        if "tex" in formats:
            _add_latex_tables(files, sections)
        if "md" in formats:
            files.add_text("index.md", format_markdown(title, intro, sections))
        if "html" in formats:
            files.add_text("index.html", format_html(title, intro, sections))
    return files
