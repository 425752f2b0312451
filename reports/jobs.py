"""What each ``energy-report`` command does, called by :mod:`neurosim.reports.cli` after parsing.

Each ``run_*`` takes the parsed arguments, calls the library, prints and writes, and returns the
exit code. Library errors propagate to the CLI, which turns them into one line and exit code 1.

Each ``run_*`` imports the modules its command needs inside the function, on purpose: this module is
the command dispatcher, imported whenever ``energy-report`` starts, and importing every command's
modules would load numba, scipy, pandas and matplotlib (and the optional torch, dask and nir extras
through their modules) before ``--help`` or a usage error could be printed. Library modules import at
the top.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurosim.exceptions import DependencyError, InputError, NeurosimError, UsageError

__all__ = ["dispatch"]


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None or value.strip() in ("", "all"):
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _list_models() -> int:
    from neurosim.models import get_model_config, list_models

    for name in list_models():
        cfg = get_model_config(name)
        types = sorted(set(cfg.layer_types))
        print(f"{name:<18} {cfg.n_layers:>3} layers  hidden {cfg.hidden:>5}  {'/'.join(types)}")
    return 0


def _list_profiles(args: argparse.Namespace | None = None) -> int:
    import shutil
    import textwrap

    from neurosim.energy.profile_overrides import as_profile, is_profile_path
    from neurosim.energy.profiles import get_profile, list_profiles

    profiles = [get_profile(n) for n in list_profiles()]
    # Users' own profile files named with --profiles are listed (and validated) too.
    profiles += [as_profile(s) for s in (_split(getattr(args, "profiles", None)) or ()) if is_profile_path(s)]
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    for p in profiles:
        desc = " ".join(str(getattr(p, "description", "")).split())
        head = f"{p.name:<14} v{p.version:<5} "
        # Whole words only: a description is wrapped, never cut mid-word.
        lines = textwrap.wrap(desc, width=width - len(head)) or [""]
        print(head + lines[0])
        for line in lines[1:]:
            print(" " * len(head) + line)
    return 0


def _listing(args: argparse.Namespace) -> int | None:
    if getattr(args, "list_models", False):
        return _list_models()
    if getattr(args, "list_profiles", False):
        return _list_profiles(args)
    return None


class _Progress:
    """A tqdm bar over named steps, on stderr; silent when disabled or not a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=sys.stderr, unit="step", leave=False,
                             bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}]")

    def __call__(self, label: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(label[:48])
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _settings(args: argparse.Namespace) -> Any:
    from neurosim.reports.pipeline import JobSettings

    return JobSettings(
        model=args.model, checkpoint=args.checkpoint, tokens=args.tokens, activations=args.activations,
        k=getattr(args, "k", 3.0), coding=getattr(args, "coding", "bidirectional"),
        layers=getattr(args, "layers", None), seed=args.seed, profiles=_split(args.profiles),
        overrides=tuple(getattr(args, "overrides", None) or ()),
        workers=getattr(args, "workers", 1), scheduler=getattr(args, "scheduler", None),
        bootstrap=getattr(args, "bootstrap", 1000),
    )


# Attributes of parsed arguments that name files or folders a job reads: the report folder may not be one
# of them or hold one (the writer refuses). A new subcommand's input option belongs here too.
_INPUT_ATTRS = ("checkpoint", "activations", "directory", "texts", "corpus", "nir", "file", "path", "factory_file",
                "reports")


def _inputs(args: argparse.Namespace | None) -> list[str]:
    found: list[str] = []
    for name in _INPUT_ATTRS:
        value = getattr(args, name, None) if args is not None else None
        if isinstance(value, (str, Path)) and str(value):
            found.append(str(value))
        elif isinstance(value, (list, tuple)):
            found.extend(str(v) for v in value if isinstance(v, (str, Path)) and str(v))
    factory = getattr(args, "factory", None) if args is not None else None
    if isinstance(factory, str) and ":" in factory:  # torch MODULE:FACTORY, MODULE may be a .py file
        module = factory.rsplit(":", 1)[0]
        if module.endswith(".py"):
            found.append(module)
    return found


def _write(out: str, files: Any, *, args: argparse.Namespace | None = None) -> Path:
    """Write the report folder; ``args`` supplies the run's input paths, which the folder may not hold."""
    from neurosim.reports.writer import write_report_folder

    return write_report_folder(out, files, inputs=_inputs(args))


def _provenance(args: argparse.Namespace, profiles: Any, inputs: dict[str, Any]) -> Any:
    """How this run was made (command line, versions, commit, constants of ``profiles``, ``inputs``)."""
    from neurosim.reports.provenance import make_provenance

    for name in (*_INPUT_ATTRS, "factory", "model"):  # every input option the run was given, by name
        value = getattr(args, name, None)
        if value not in (None, "", [], ()):
            inputs.setdefault(name, value if isinstance(value, (str, int, float)) else str(value))
    return make_provenance(command_line=getattr(args, "command_line", None), profiles=list(profiles),
                           inputs=inputs, overrides=list(getattr(args, "overrides", None) or ()))


def run_default(args: argparse.Namespace) -> int:
    """The default job: simulate, scale, report (see :mod:`neurosim.reports.pipeline`)."""
    from neurosim.reports.document import format_summary, report_files
    from neurosim.reports.pipeline import run_job

    settings = _settings(args)
    _check_workers(args)
    layers = settings.layers
    if settings.checkpoint is None:
        from neurosim.models import get_model_config
        from neurosim.reports.pipeline import resolve_layers

        layers = resolve_layers(layers, get_model_config(settings.model))
    elif layers == "all":
        layers = None
    progress = _Progress(total=2 * len(layers or (0, 1)) + 2,
                         enabled=not args.no_progress and sys.stderr.isatty())
    try:
        result = run_job(settings, progress=progress)
        progress("rendering report")
        files = report_files(result, args.format, provenance=_provenance(
            args, result.profiles or result.profile_names,
            {"activations": result.activation_source, "weights": result.source}))
    finally:
        progress.close()
    out = _write(args.out, files, args=args)
    print(format_summary(result))
    print(f"\nReport written to {out}/ ({len(files)} files)")
    return 0


def run_claims(args: argparse.Namespace) -> int:
    from neurosim.analysis.claims import audit_claims
    from neurosim.reports.document import claims_records
    from neurosim.reports.render import format_terminal_table
    from neurosim.reports.writer import dumps_json

    claims = audit_claims(k=args.k, seed=args.seed)
    records = claims_records(claims)
    if args.format == "json":
        sys.stdout.write(dumps_json(records))
        return 0
    import pandas as pd

    frame = pd.DataFrame([{k: r[k] for k in ("id", "reported", "recomputed", "unit", "status", "reason")}
                          for r in records])
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif args.format == "md":
        from neurosim.reports.document import claims_display
        from neurosim.reports.render import format_markdown_table

        print(format_markdown_table(claims_display(records)))
    else:
        from neurosim.reports.document import claims_display

        # Energies in pJ and stated bounds as bounds (">100"); --format csv/json keep SI numbers.
        print(format_terminal_table(claims_display(records).drop(columns=["reason"]), max_width=160))
        print()
        for r in records:
            print(f"{r['id']}: {r['reason']}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from neurosim.analysis import plots
    from neurosim.analysis.sweep import k_sweep
    from neurosim.reports.document import png_bytes
    from neurosim.reports.pipeline import load_activations, resolve_model
    from neurosim.reports.render import format_terminal_table
    from neurosim.reports.writer import ReportFiles

    try:
        ks = tuple(float(v) for v in args.ks.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--ks must be comma-separated numbers (got {args.ks!r})") from None
    if not ks:
        raise UsageError("--ks must name at least one k")
    settings = _settings(args)
    config, _, _ = resolve_model(settings)
    x, source = load_activations(settings, config)
    frame = k_sweep(x, ks=ks)
    print(f"k sweep on {source}")
    print(format_terminal_table(frame, max_width=160))
    files = ReportFiles()
    files.add_text("k_sweep.csv", frame.to_csv(index=False, float_format="%.10g"))
    files.add_json("k_sweep.json", frame.to_dict(orient="records"))
    files["k_sweep.png"] = png_bytes(plots.plot_k_sweep(frame).figure)
    files.add_json("provenance.json", _provenance(args, [], {"activations": source}).full())
    out = _write(args.out, files, args=args)
    print(f"\nWritten to {out}/")
    return 0


def run_raster(args: argparse.Namespace) -> int:
    import numpy as np

    from neurosim.analysis import plots
    from neurosim.adaptive import spike_counts
    from neurosim.reports.document import png_bytes
    from neurosim.reports.pipeline import load_activations, resolve_model
    from neurosim.reports.writer import ReportFiles

    settings = _settings(args)
    config, _, _ = resolve_model(settings)
    x, source = load_activations(settings, config)
    if not 0 <= args.token < x.shape[0]:
        raise UsageError(f"--token must lie in 0..{x.shape[0] - 1} (got {args.token})")
    counts, _ = spike_counts(x, settings.k)
    row = counts[args.token, : args.neurons]
    fig = plots.plot_coders(row) if settings.coding == "all" else None
    if fig is None:
        ax = plots.plot_raster(np.abs(row) if settings.coding in ("binary", "bitwise") else row, settings.coding)
        fig = ax.figure
    files = ReportFiles()
    files["raster.png"] = png_bytes(fig)
    files["raster_all_coders.png"] = png_bytes(plots.plot_coders(row))
    files.add_json("provenance.json", _provenance(args, [], {"activations": source}).full())
    files.add_json("raster.json", {"source": source, "token": args.token, "k": settings.k,
                                   "coding": settings.coding, "counts": row.tolist()})
    out = _write(args.out, files, args=args)
    print(f"Raster of {row.size} channels of token {args.token} ({source}) written to {out}/")
    return 0


def run_energy(args: argparse.Namespace) -> int:
    from neurosim.energy.system import SYSTEM_COLUMNS, system_records, system_table
    from neurosim.energy.workload import SpikeActivity
    from neurosim.models import get_model_config
    from neurosim.reports.pipeline import resolve_profiles
    from neurosim.reports.render import format_terminal_table
    from neurosim.reports.writer import dumps_json

    config = get_model_config(args.model)
    profiles = resolve_profiles(_split(args.profiles), args.overrides)
    if args.stats == "paper":
        stats = SpikeActivity.paper()
    else:
        from neurosim.analysis.calibration import calibrated_activations
        from neurosim.adaptive import spike_counts
        from neurosim.analysis.sparsity import silent_fraction, spikes_per_channel

        counts, _ = spike_counts(calibrated_activations(32, config.hidden, seed=args.seed))
        stats = SpikeActivity(spikes_per_channel(counts), silent_fraction(counts),
                              source=f"calibrated synthetic activations, seed {args.seed}")
    records = system_records(config, profiles=list(profiles), stats=stats, context=args.context,
                             scope=args.scope, block_size=args.block_size, batch=args.batch, phase=args.phase,
                             prompt_tokens=args.prompt_tokens, stack=args.stack)
    if args.format == "json":
        keep = (*SYSTEM_COLUMNS, "ratio_vs_fp16", "baseline", "notes")
        sys.stdout.write(dumps_json([{k: r[k] for k in keep} for r in records["rows"]]))
        return 0
    import pandas as pd

    if args.format == "csv":
        frame = pd.DataFrame([{k: r[k] for k in (*SYSTEM_COLUMNS, "ratio_vs_fp16")} for r in records["rows"]])
        sys.stdout.write(frame.to_csv(index=False))
        return 0
    table = system_table(records).drop(columns=["model"])
    if args.format == "md":
        from neurosim.reports.render import format_markdown_table

        print(format_markdown_table(table))
        return 0
    phase = args.phase if args.phase == "decode" else f"prefill of {args.prompt_tokens} tokens"
    print(f"{config.name}, {phase}, batch {args.batch}, context {args.context}, GPU stack {args.stack}, "
          f"scope {args.scope}, stats: {stats.source}; energy per token [mJ] with static power and time")
    print(format_terminal_table(table, max_width=200))
    for r in records["rows"]:
        if not r["static_charged"] and r["kind"] == "neuromorphic":
            print(f"  {r['profile']}: static power not charged (the profile states none)")
    for s in records["skipped"]:
        print(f"  not applicable: {s['mode']} on {s['profile']}: {s['reason']}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Predict the published GPU measurements with the system model; optionally the SANA-FE cross-check."""
    from neurosim.energy.validation import validate, validation_frame, validation_note
    from neurosim.reports.render import format_markdown_table, format_terminal_table
    from neurosim.reports.writer import ReportFiles, dumps_json

    result = validate(args.file)
    record = result.to_dict()
    note = validation_note(result)
    frame = validation_frame(result)
    sanafe: list[dict[str, Any]] = []
    if args.sanafe:
        from neurosim.energy.sanafe_check import ARCHITECTURES, sanafe_crosscheck

        sanafe = [sanafe_crosscheck(a, seed=args.seed).to_dict() for a in ARCHITECTURES]
        record["sanafe"] = sanafe
    files = ReportFiles()
    files.add_json("validation.json", record)
    files.add_text("validation.csv", frame.to_csv(index=False, float_format="%.6g"))
    files.add_text("validation.md", "# Predicted vs measured GPU energy per token\n\n"
                   + format_markdown_table(frame) + "\n\n" + note + "\n")
    out = _write(args.out, files, args=args)
    if args.format == "json":
        sys.stdout.write(dumps_json(record))
        return 0
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False, float_format="%.6g"))
        return 0
    if args.format == "md":
        print(format_markdown_table(frame))
        print()
        print(note)
        return 0
    print("Predicted vs measured GPU energy per generated token [J]; ratio = predicted / measured")
    print(format_terminal_table(frame, max_width=200))
    print()
    print(note)
    for s in sanafe:
        ratio = "n/a" if s["ratio"] is None else f"{s['ratio']:.3f}"
        alt = "n/a" if s["ratio_sanafe_figures"] is None else f"{s['ratio_sanafe_figures']:.3f}"
        print(f"SANA-FE {s['architecture']}: neurosim/SANA-FE per step {ratio} (profile defaults), {alt} "
              f"(profile's SANA-FE figures); synaptic events {s['neurosim_counts']['synaptic_events']:.0f} vs "
              f"{s['sanafe_counts']['synaptic_events']:.0f}")
    print(f"\nWritten to {out}/")
    return 0


def _profile_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    from neurosim.reports.pipeline import resolve_profiles

    # `torch` leaves unset ANN options as None (to refuse them for snntorch networks): the defaults apply here.
    def given(name: str, default: Any) -> Any:
        value = getattr(args, name, None)
        return default if value is None else value

    return {"k": given("k", 3.0), "coding": given("coding", "bidirectional"),
            "profiles": resolve_profiles(_split(args.profiles), getattr(args, "overrides", None) or ()),
            "spike_outputs": not given("no_spike_outputs", False), "max_tokens": given("max_tokens", 256),
            "seed": given("seed", 0)}


#: ANN-only options of `energy-report torch` (W8ASpike replaces nn.Linear inputs) and the snntorch-only ones.
_ANN_ONLY = {"k": "--k", "coding": "--coding", "max_tokens": "--max-tokens", "seed": "--seed",
             "no_spike_outputs": "--no-spike-outputs"}
_SNN_ONLY = {"calling": "--calling", "num_steps": "--num-steps"}


def _refuse(args: argparse.Namespace, options: dict[str, str], why: str) -> None:
    given = [flag for attr, flag in options.items() if getattr(args, attr, None) not in (None, False)]
    if given:
        raise UsageError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply: {why}")


def _write_profile(args: argparse.Namespace, profile: Any, title: str) -> int:
    from neurosim.reports.pipeline import resolve_profiles
    from neurosim.reports.profile_report import format_profile, profile_report_files

    # The profiles the records were priced on, overrides applied, for the constants table of the provenance.
    used = {r.get("profile") for r in getattr(profile, "energy", ())}
    priced = [p for p in resolve_profiles(_split(getattr(args, "profiles", None)),
                                          getattr(args, "overrides", None) or ()) if p.name in used]
    settings = getattr(profile, "settings", {}) or {}
    inputs = {k: settings[k] for k in ("input_shape", "calling", "path") if settings.get(k) is not None}
    files = profile_report_files(profile, title=title, formats=args.format,
                                 provenance=_provenance(args, priced, inputs), profiles=priced)
    out = _write(args.out, files, args=args)
    print(format_profile(profile))
    print(f"\nReport written to {out}/ ({len(files)} files)")
    return 0


def run_torch(args: argparse.Namespace) -> int:
    from neurosim.analysis.snn_profile import contains_spiking_neurons, profile_snn
    from neurosim.analysis.model_loading import load_factory
    from neurosim.analysis.torch_profile import profile_model

    if args.texts is not None:
        _refuse(args, _SNN_ONLY, "--texts profiles an ANN language model (model, tokenizer)")
        profile = _profile_corpus(args, "torch", args.factory)
        return _write_profile(args, profile, f"neurosim profile: {args.factory}")
    _refuse(args, _CORPUS_ONLY, "they need --texts (a corpus of prompts)")
    if args.workers != 1:
        raise UsageError("--workers needs --texts (shards of prompts)")
    model, inputs = load_factory(args.factory)
    if inputs is None:
        raise InputError(f"factory {args.factory!r} returned no example inputs; make it return (model, inputs)")
    if contains_spiking_neurons(model):
        _refuse(args, _ANN_ONLY, "the model is an snntorch network, profiled with its own spikes "
                "(no W8ASpike coding, no random draws)")
        from neurosim.reports.pipeline import resolve_profiles

        profiles = _split(args.profiles)
        # profile_snn's default (the neuromorphic chips and the 45 nm reference) unless profiles are named
        # or overridden.
        kwargs: dict[str, Any] = {} if profiles is None and not args.overrides else {
            "profiles": resolve_profiles(profiles or ("loihi", "speck", "paper-45nm"), args.overrides)}
        profile = profile_snn(model, inputs, calling=getattr(args, "calling", None) or "auto",
                              num_steps=getattr(args, "num_steps", None), **kwargs)
    else:
        _refuse(args, _SNN_ONLY, "the model has no snntorch neurons (they are for snntorch networks)")
        profile = profile_model(model, inputs, **_profile_kwargs(args))
    return _write_profile(args, profile, f"neurosim profile: {args.factory}")


def run_hf(args: argparse.Namespace) -> int:
    from neurosim.analysis.model_loading import check_hf_directory

    check_hf_directory(args.directory)
    profile = _profile_corpus(args, "hf", args.directory)
    return _write_profile(args, profile, f"neurosim profile: {args.directory}")


#: Options of `torch` that only apply with --texts (a corpus of prompts).
_CORPUS_ONLY = {"max_prompts": "--max-prompts", "scheduler": "--scheduler"}


def _check_workers(args: argparse.Namespace) -> None:
    """--workers >= 1, and Dask installed when it is needed."""
    from neurosim.analysis.distributed import DASK_HINT

    workers = getattr(args, "workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"--workers must be an integer >= 1 (got {workers!r})")
    if (workers > 1 or getattr(args, "scheduler", None)) and importlib.util.find_spec("distributed") is None:
        raise DependencyError(f"--workers > 1 and --scheduler need Dask, which is not installed: {DASK_HINT}")


def _profile_corpus(args: argparse.Namespace, kind: str, source: str) -> Any:
    """`hf DIR` / `torch MODULE:FACTORY --texts FILE`: shards of prompts, exact merge, intervals."""
    from neurosim.analysis.corpus import load_corpus
    from neurosim.analysis.corpus_profile import profile_corpus
    from neurosim.analysis.distributed import ProfileJob

    _check_workers(args)
    workers = args.workers
    corpus = load_corpus(args.texts, max_prompts=args.max_prompts)
    kw = _profile_kwargs(args)
    max_tokens = kw["max_tokens"]
    job = ProfileJob(kind=kind, source=str(source), max_length=args.max_length, k=kw["k"], coding=kw["coding"],
                     max_tokens=max_tokens, spike_outputs=kw["spike_outputs"], seed=kw["seed"],
                     allow_pickle=bool(getattr(args, "allow_pickle", False)))
    return profile_corpus(job, corpus, batch_size=args.batch_size, workers=workers, scheduler=args.scheduler,
                          profiles=kw["profiles"], n_boot=args.bootstrap, timeout=args.scheduler_timeout,
                          progress=not args.no_progress and sys.stderr.isatty())


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "": run_default,
    "claims": run_claims,
    "sweep-k": run_sweep,
    "raster": run_raster,
    "energy": run_energy,
    "validate": run_validate,
    "torch": run_torch,
    "hf": run_hf,
    "compare": lambda args: run_compare(args),
    "nir": lambda args: run_nir(args),
}


def run_nir(args: argparse.Namespace) -> int:
    """``energy-report nir FILE.nir``: read, simulate event by event, count, price, write the report folder."""
    import numpy as np

    from neurosim.analysis.network_profile import profile_network
    from neurosim.network import bernoulli_spikes, simulate
    from neurosim.nir_io import read_nir
    from neurosim.reports.network_report import format_network_report, network_report_files
    from neurosim.reports.pipeline import resolve_profiles

    network = read_nir(args.nir)
    if len(network.inputs) != 1:
        raise InputError(f"{args.nir}: the graph has {len(network.inputs)} input nodes; the CLI feeds one")
    shape = network.out_shapes[network.inputs[0]]
    if args.path:
        try:
            x = np.load(args.path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(f"cannot read {args.path} as a .npy array: {exc}") from None
        desc = f"{args.path} (shape {list(x.shape)})"
    else:
        rate = 0.1 if args.rate is None else args.rate
        x = bernoulli_spikes((args.steps, args.batch, *shape), rate, seed=args.seed)
        desc = f"Bernoulli spikes at rate {rate:g}, seed {args.seed}"
    result = simulate(network, x, dt=args.dt)
    profiles = resolve_profiles(_split(args.profiles), getattr(args, "overrides", None) or ())
    profile = profile_network(network, result, profiles=list(profiles))
    files = network_report_files(profile, result, source=str(args.nir), input_desc=desc, formats=args.format)
    out = _write(args.out, files, args=args)
    print(format_network_report(profile, source=str(args.nir), input_desc=desc))
    print(f"\nReport written to {out}/ ({len(files)} files)")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """Print and write the differences of two report folders (see :mod:`neurosim.reports.compare`)."""
    from neurosim.reports.compare import compare_reports
    from neurosim.reports.render import format_markdown_table, format_terminal_table
    from neurosim.reports.writer import ReportFiles

    a, b = args.reports
    frame = compare_reports(a, b)
    shown = frame if args.all else frame[_differs(frame)]
    print(f"A = {a}\nB = {b}\n{len(shown)} of {len(frame)} compared figures "
          f"{'shown' if args.all else 'differ'}:")
    print(format_terminal_table(shown, max_width=160, csv_hint="compare.csv"))
    files = ReportFiles()
    files.add_json("provenance.json", _provenance(args, [], {"report_a": str(a), "report_b": str(b)}).full())
    files.add_json("summary.json", {"schema": "neurosim-report-comparison", "schema_version": 1, "A": str(a),
                                    "B": str(b), "rows": frame.to_dict(orient="records")})
    if "csv" in args.format:
        files.add_text("compare.csv", frame.to_csv(index=False, float_format="%.10g"))
    if "json" in args.format:
        files.add_json("compare.json", frame.to_dict(orient="records"))
    if "md" in args.format:
        files.add_text("compare.md", f"# Comparison\n\nA = `{a}`, B = `{b}`\n\n"
                       + format_markdown_table(frame[_differs(frame)]) + "\n")
    if "tex" in args.format:
        from neurosim.reports.render import format_latex_table

        files.add_text("compare.tex", format_latex_table(frame[_differs(frame)], caption=f"{b} against {a}"))
    if "html" in args.format:
        from neurosim.reports.render import Section, Table, format_html

        files.add_text("index.html", format_html(
            "neurosim report comparison", f"A = {a}, B = {b}",
            [Section("Figures that differ", tables=(Table("B against A", frame[_differs(frame)],
                                                          "compare.csv" if "csv" in args.format else None),))]))
    out = _write(args.out, files, args=args)
    print(f"\nComparison written to {out}/ ({len(files)} files)")
    return 0


def _differs(frame: Any) -> Any:
    import math

    def one(a: Any, b: Any) -> bool:
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            return not math.isclose(float(a), float(b), rel_tol=1e-12)
        return a != b

    return frame.apply(lambda r: one(r["A"], r["B"]), axis=1).astype(bool) if len(frame) else frame.index == 0


def dispatch(command: str, args: argparse.Namespace) -> int:
    """Run ``command`` ("" for the default job) with parsed ``args``; returns the exit code."""
    listed = _listing(args)
    if listed is not None:
        return listed
    out = getattr(args, "out", None)
    if isinstance(out, str):  # refuse an unsafe --out before any work; the writer checks again
        from neurosim.reports.writer import check_output_path

        check_output_path(out, inputs=_inputs(args))
    return _COMMANDS[command](args)
