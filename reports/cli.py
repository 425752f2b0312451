"""The ``energy-report`` command line (also ``python -m neurosim.reports``).

Thin by design: parse arguments, call the library (:mod:`neurosim.reports.jobs`), print, set the exit code.
Exit codes: 0 success, 1 failure (one line on stderr; ``--debug`` shows the traceback), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from neurosim.budget import ENV_VAR, parse_size
from neurosim.exceptions import InputError, NeurosimError, UsageError
from neurosim.reports import jobs

__all__ = ["main"]

PROG = "energy-report"
FORMATS = ("md", "html", "json", "csv", "tex", "svg", "pdf")

_DESCRIPTION = """\
How sparse, how many events, how much energy, and do the published SpikingBrain claims hold?
With no subcommand, runs the default job: SpikingBrain-7B, calibrated synthetic activations, k = 3,
bidirectional bitwise coding, a spike-by-spike simulation of one GLA and one sliding-window block,
scaled to the whole model, on every hardware profile; prints a summary and writes a report folder.
"""

_SUBCOMMANDS = {
    "claims": "audit of the report's quantitative claims",
    "sweep-k": "sparsity and count statistics for k = 2 ... 4 (report table 11 analogue)",
    "raster": "spike raster of one projection input for each coder",
    "energy": "per-token system energy (static power x time, chips) of a model per mode and profile",
    "torch": "profile a PyTorch or snntorch model built by MODULE:FACTORY",
    "hf": "profile a local HuggingFace transformers model directory (offline)",
    "compare": "differences of two report folders' statistics and energy (e.g. k = 2 against k = 4)",
    "validate": "predict published GPU energy measurements with the system model (and cross-check SANA-FE)",
    "nir": "simulate a NIR network (.nir from snnTorch, Norse, Sinabs, ...) event by event and price it per profile",
}


def _formats(value: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    bad = [v for v in items if v not in FORMATS]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"invalid format {', '.join(bad) or value!r}; choose a comma-separated subset of {', '.join(FORMATS)}"
        )
    return items


def _positive_float(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0 (got {value!r})") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0 (got {value!r})")
    return v


def _positive_int(value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer > 0 (got {value!r})") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be an integer > 0 (got {value!r})")
    return v


def _seed(value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0 (got {value!r})") from None
    if v < 0:  # numpy seeds are non-negative
        raise argparse.ArgumentTypeError(f"must be an integer >= 0 (got {value!r})")
    return v


def _parsed_problem(args: argparse.Namespace) -> str | None:
    """Checks across one option's items that argparse types cannot express (exit 2 like any usage error)."""
    profiles = getattr(args, "profiles", None)
    if isinstance(profiles, str) and profiles.strip() and not [v for v in profiles.split(",") if v.strip()]:
        return f"argument --profiles: must name at least one profile, or 'all' (got {profiles!r})"
    checkpoint = getattr(args, "checkpoint", None)
    if isinstance(checkpoint, str) and not checkpoint.strip():
        return "argument --checkpoint: must name a checkpoint folder (got '')"
    return None


def _layers(value: str) -> tuple[int, ...] | str:
    if value.strip().lower() == "all":
        return "all"
    try:
        items = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated layer indices (got {value!r})") from None
    if not items or min(items) < 0:
        raise argparse.ArgumentTypeError(f"must be layer indices >= 0 (got {value!r})")
    if len(set(items)) != len(items):  # a layer simulated twice would be counted twice
        raise argparse.ArgumentTypeError(f"must not repeat a layer index (got {value!r})")
    return items


# One definition per shared option: every subcommand that has --seed, --out, --format, --no-progress or --debug
# gets it from these helpers, so the meaning, the help text and the choices' names are the same everywhere.
PRINT_FORMATS = ("table", "md", "json", "csv")
SEED_HELP = "seed of every random draw (default 0); same seed, same bytes"
OUT_HELP = "report folder to write (default ./{default}); files neurosim did not write are never removed"
FILE_FORMAT_HELP = ("report files written to --out: a comma-separated subset of {} (default all: pages, "
                    "tables as CSV and LaTeX booktabs, figures as PNG plus SVG and PDF); summary.json and "
                    "provenance.json are always written")
PRINT_FORMAT_HELP = "what is printed on stdout: table (terminal, default), md (Markdown), json or csv"
NO_PROGRESS_HELP = "no progress bars (neither neurosim's nor transformers'); bars only ever go to a terminal's stderr"
DEBUG_HELP = "show the full traceback on errors"


def add_seed(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--seed`` (the one definition every subcommand uses)."""
    p.add_argument("--seed", type=_seed, default=0, help=SEED_HELP)


def add_out(p: argparse.ArgumentParser | argparse._ArgumentGroup, *, default: str = "energy-report") -> None:
    """Add ``--out DIR`` (the report folder)."""
    p.add_argument("--out", default=default, metavar="DIR", help=OUT_HELP.format(default=default))


def add_file_formats(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--format LIST`` for subcommands that write a report folder."""
    p.add_argument("--format", type=_formats, default=FORMATS, metavar="LIST",
                   help=FILE_FORMAT_HELP.format(",".join(FORMATS)))


def add_print_format(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--format`` for subcommands that print a table (same choice names as the file formats)."""
    p.add_argument("--format", choices=PRINT_FORMATS, default="table", help=PRINT_FORMAT_HELP)


def add_no_progress(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--no-progress``."""
    p.add_argument("--no-progress", action="store_true", help=NO_PROGRESS_HELP)


def add_debug(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--debug``."""
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)


PROFILES_HELP = ("comma-separated hardware profiles: shipped names (see --list-profiles), paths to your own "
                 "profile files (e.g. ./my-asic.toml; format in docs/custom-profile.md), or 'all' (default: "
                 "every shipped profile)")
SET_HELP = ("override one profile parameter, with its unit, e.g. --set loihi.synop_energy=35.5pJ "
            "(repeatable; the costs are re-derived and the report records the override)")


def add_profiles(p: argparse.ArgumentParser | argparse._ArgumentGroup, *, default: str = "all") -> None:
    """Add ``--profiles`` and ``--set PROFILE.PARAM=VALUE`` (the one definition every subcommand uses)."""
    p.add_argument("--profiles", default=default, help=PROFILES_HELP)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PROFILE.PARAM=VALUE",
                   help=SET_HELP)


def add_workers(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--workers N`` and ``--scheduler ADDRESS`` (Dask; see neurosim.analysis.distributed)."""
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="run shards on a local Dask cluster of N worker processes, one thread each (default 1: "
                        "in this process); results are byte-identical for any N. Needs pip install "
                        "'neurosim[distributed]'")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use an existing Dask cluster instead (e.g. tcp://host:8786, started with `dask scheduler` "
                        "and `dask worker ADDRESS --nthreads 1`; inputs must be readable by every worker)")
    p.add_argument("--scheduler-timeout", type=_positive_float, default=10.0, metavar="S",
                   help="seconds to wait for --scheduler before giving up (default 10)")


def add_corpus_options(p: argparse.ArgumentParser, *, hf: bool) -> None:
    """Prompts, batching, workers and intervals of `energy-report hf` / `energy-report torch`."""
    c = p.add_argument_group("prompts (corpus)")
    c.add_argument("--texts", metavar="FILE",
                   help="prompts: plain text, one per line, or JSON Lines with a 'text' field"
                        + (" (default: neurosim's 320-prompt corpus)" if hf else
                           "; the factory then returns (model, tokenizer)"))
    c.add_argument("--max-length", type=_positive_int, default=64, metavar="N",
                   help="truncate each prompt to N tokens (default 64)")
    c.add_argument("--batch-size", type=_positive_int, default=8, metavar="N",
                   help="prompts per batch and per shard (default 8); padding is left out of every figure")
    c.add_argument("--max-prompts", type=_positive_int, default=None, metavar="N",
                   help="use the first N prompts of the file")
    c.add_argument("--bootstrap", type=_positive_int, default=1000, metavar="N",
                   help="per-prompt bootstrap replicates for the 95%% intervals (default 1000)")
    add_workers(c)


def add_report_output(p: argparse.ArgumentParser, *, default_out: str = "energy-report") -> None:
    """The output group of every subcommand that writes a report folder: --out, --format, --no-progress."""
    o = p.add_argument_group("output")
    add_out(o, default=default_out)
    add_file_formats(o)
    add_no_progress(o)


def _add_common(p: argparse.ArgumentParser, *, spiking: bool = True, outputs: bool = True) -> None:
    g = p.add_argument_group("model and data")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--model", default="spikingbrain-7b", help="built-in model name (see --list-models)")
    src.add_argument("--checkpoint", metavar="DIR", help="HuggingFace-format checkpoint directory (config.json + safetensors)")
    g.add_argument("--tokens", type=_positive_int, default=32, help="tokens simulated spike by spike (default 32)")
    g.add_argument("--activations", metavar="FILE", help=".npy of real hidden states fed to the simulated layers, "
                   "float, shape [tokens, hidden] (or [batch, tokens, hidden], flattened; the first --tokens rows "
                   "are used); replaces the calibrated synthetic activations")
    add_seed(g)
    if spiking:
        s = p.add_argument_group("spiking")
        s.add_argument("--k", type=_positive_float, default=3.0, help="adaptive threshold divisor, Vth = mean|x|/k (default 3)")
        s.add_argument("--coding", default="bidirectional",
                       help="spike coder: binary, ternary, bitwise, bidirectional, twos-complement (default bidirectional)")
        s.add_argument("--layers", type=_layers, default=None,
                       help="comma-separated layer indices to simulate, or 'all' (every decoder layer; with "
                            "--workers N they run in parallel) (default: the first layer of each layer type, "
                            "e.g. one GLA and one SWA layer of SpikingBrain-7B)")
    e = p.add_argument_group("energy")
    add_profiles(e)
    if outputs:
        add_report_output(p)
    p.add_argument("--list-models", action="store_true", help="list built-in models and exit")
    p.add_argument("--list-profiles", action="store_true", help="list hardware profiles and exit")
    add_debug(p)


def _build_parsers() -> dict[str, argparse.ArgumentParser]:
    epilog = "subcommands:\n" + "\n".join(f"  {n:<9} {h}" for n, h in _SUBCOMMANDS.items())
    epilog += f"\n\nRun `{PROG} SUBCOMMAND --help` for a subcommand's options."
    main = argparse.ArgumentParser(prog=PROG, description=_DESCRIPTION, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(main)
    w = main.add_argument_group("parallel (Dask)")
    add_workers(w)
    w.add_argument("--bootstrap", type=_positive_int, default=1000, metavar="N",
                   help="token bootstrap replicates of the per-layer 95%% intervals (default 1000)")
    parsers = {"": main}

    claims = argparse.ArgumentParser(prog=f"{PROG} claims", description=_SUBCOMMANDS["claims"])
    add_print_format(claims)
    claims.add_argument("--k", type=_positive_float, default=3.0, help="k for the recomputed statistics (default 3)")
    add_seed(claims)
    add_debug(claims)
    parsers["claims"] = claims

    sweep = argparse.ArgumentParser(prog=f"{PROG} sweep-k", description=_SUBCOMMANDS["sweep-k"])
    sweep.add_argument("--ks", default="2,2.5,3,3.5,4", help="comma-separated k values (default 2,2.5,3,3.5,4)")
    _add_common(sweep, spiking=False)
    sweep.set_defaults(coding="bidirectional")
    parsers["sweep-k"] = sweep

    raster = argparse.ArgumentParser(prog=f"{PROG} raster", description=_SUBCOMMANDS["raster"],
                                     epilog="--coding all draws one panel per coder; raster_all_coders.png "
                                            "is always written too")
    raster.add_argument("--neurons", type=_positive_int, default=64, help="input channels shown (default 64)")
    raster.add_argument("--token", type=int, default=0, help="token whose counts are rastered (default 0)")
    _add_common(raster)
    parsers["raster"] = raster

    energy = argparse.ArgumentParser(prog=f"{PROG} energy", description=_SUBCOMMANDS["energy"])
    energy.add_argument("--model", default="spikingbrain-7b", help="built-in model name (see --list-models)")
    add_profiles(energy)
    energy.add_argument("--context", type=_positive_int, default=4096, help="context length in tokens (default 4096)")
    energy.add_argument("--stats", choices=("paper", "simulated"), default="paper",
                        help="spike statistics: the report's stated ones (paper) or a simulation of calibrated activations")
    energy.add_argument("--scope", choices=("spiked", "all"), default="spiked",
                        help="spiked: the projections W8ASpike spike-codes (every profile can run them; default); "
                             "all: adds attention and lm_head MACs (profiles without a MAC datapath are skipped)")
    energy.add_argument("--block-size", type=_positive_int, default=1,
                        help="weight rows fetched together in event-driven mode; a block is skipped only when "
                             "all its input channels are silent (default 1)")
    energy.add_argument("--batch", type=_positive_int, default=1,
                        help="sequences per step; weights are read once per step and shared by the batch (default 1)")
    energy.add_argument("--phase", choices=("decode", "prefill"), default="decode",
                        help="decode: one token per sequence per step (default); prefill: a prompt per sequence")
    energy.add_argument("--prompt-tokens", type=_positive_int, default=512,
                        help="prompt length of the prefill phase (default 512)")
    energy.add_argument("--stack", default="eager",
                        help="GPU software-stack preset from energy/data/stacks.toml: eager (HF transformers, "
                             "default) or optimized (vLLM/TensorRT-LLM class)")
    add_print_format(energy)
    add_seed(energy)
    energy.add_argument("--list-models", action="store_true", help="list built-in models and exit")
    energy.add_argument("--list-profiles", action="store_true", help="list hardware profiles and exit")
    add_debug(energy)
    parsers["energy"] = energy

    validate = argparse.ArgumentParser(prog=f"{PROG} validate", description=_SUBCOMMANDS["validate"])
    validate.add_argument("--file", default=None, metavar="TOML",
                          help="measured points file (default: neurosim's energy/data/measured-gpu-energy.toml)")
    validate.add_argument("--sanafe", action="store_true",
                          help="also run the SANA-FE cross-check (784-256-10 LIF, T = 8) on Loihi and TrueNorth; "
                               "needs pip install 'neurosim[validate]'")
    add_print_format(validate)
    add_seed(validate)
    add_out(validate)
    add_debug(validate)
    parsers["validate"] = validate

    for name, positional, help_ in (("torch", "factory", "MODULE:FACTORY returning a model or (model, example_inputs); "
                                     "MODULE is imported and FACTORY called: this runs your code, name only code "
                                     "you trust"),
                                    ("hf", "directory", "local HuggingFace model directory")):
        p = argparse.ArgumentParser(prog=f"{PROG} {name}", description=_SUBCOMMANDS[name])
        p.add_argument(positional, help=help_)
        if name == "hf":
            p.add_argument("--allow-pickle", action="store_true",
                           help="also load torch .bin weights (pickles can run code); default: *.safetensors only")
        ann = " (ANN only)" if name == "torch" else ""
        p.add_argument("--k", type=_positive_float, default=3.0, help=f"adaptive threshold divisor (default 3){ann}")
        p.add_argument("--coding", default="bidirectional", help=f"spike coder (default bidirectional){ann}")
        add_profiles(p)
        p.add_argument("--max-tokens", type=_positive_int, default=256,
                       help=f"rows per layer simulated spike by spike (default 256){ann}")
        p.add_argument("--no-spike-outputs", action="store_true",
                       help=f"do not feed spiked projection outputs forward (no fidelity measurement){ann}")
        add_seed(p)
        if name == "torch":
            t = p.add_argument_group("snntorch networks (options above marked ANN-only are refused for them)")
            t.add_argument("--calling", choices=("auto", "sequence", "step"), default=None,
                           help="how the network takes time: sequence = the time loop is inside forward and "
                                "inputs are [batch, ...] (snntorch tutorials); step = one call per time step, "
                                "inputs [T, batch, ...] (or [batch, ...] with --num-steps); auto (default) "
                                "detects it from the shapes the hooks see and asks when it cannot tell")
            t.add_argument("--num-steps", type=_positive_int, default=None, metavar="T",
                           help="step-style network: feed the example input at each of T steps")
            # None = not given: --k, --coding, --max-tokens, --seed and --no-spike-outputs apply to ANNs only,
            # and an snntorch network refuses them instead of accepting them silently (defaults in the job).
            p.set_defaults(k=None, coding=None, max_tokens=None, seed=None, no_spike_outputs=None)
        add_corpus_options(p, hf=name == "hf")
        add_report_output(p)
        add_debug(p)
        parsers[name] = p
    compare = argparse.ArgumentParser(prog=f"{PROG} compare", description=_SUBCOMMANDS["compare"],
                                      epilog=f"example: {PROG} --k 2 --out k2 && {PROG} --k 4 --out k4 && "
                                             f"{PROG} compare k2 k4")
    compare.add_argument("reports", nargs=2, metavar="REPORT", help="two report folders (A then B) written by "
                         f"{PROG} (both default-job reports, or both torch/hf profiles)")
    compare.add_argument("--all", action="store_true", help="print every compared figure, not only those that differ")
    add_report_output(compare, default_out="energy-report-compare")
    add_debug(compare)
    parsers["compare"] = compare

    nirp = argparse.ArgumentParser(prog=f"{PROG} nir", description=_SUBCOMMANDS["nir"],
                                   epilog=f"example: {PROG} nir net.nir --rate 0.1 --steps 100 --dt 1e-4 --batch 32")
    nirp.add_argument("nir", metavar="FILE.nir", help="NIR graph file (HDF5, written by nir.write or an exporter)")
    src = nirp.add_mutually_exclusive_group()
    src.add_argument("--input", dest="path", metavar="SPIKES.npy",
                     help=".npy input of shape [T, batch, *input_shape] (binary spikes run event driven)")
    src.add_argument("--rate", type=float, default=None,
                     help="seeded Bernoulli spike input with this probability per neuron and step, in [0, 1] "
                          "(default 0.1 when --input is not given)")
    nirp.add_argument("--steps", type=_positive_int, default=100, help="time steps T for --rate (default 100)")
    nirp.add_argument("--batch", type=_positive_int, default=1, help="samples for --rate (default 1)")
    nirp.add_argument("--dt", type=float, default=1e-4,
                      help="time step in seconds for the forward-Euler discretisation (default 1e-4, what "
                           "snnTorch's exporter assumes)")
    add_profiles(nirp)
    add_seed(nirp)
    add_report_output(nirp)
    add_debug(nirp)
    parsers["nir"] = nirp
    return parsers


def _memory_size(value: str) -> str:
    try:
        parse_size(value)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _add_memory_limit(p: argparse.ArgumentParser) -> None:
    """Add ``--memory-limit SIZE`` (see :mod:`neurosim.budget`)."""
    p.add_argument("--memory-limit", type=_memory_size, default=None, metavar="SIZE",
                   help="refuse steps estimated to need more memory than SIZE (e.g. 64G, 512M, or 'none'); "
                        "default: half the memory available, or $NEUROSIM_MEMORY_LIMIT")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = args_list[0] if args_list and args_list[0] in _SUBCOMMANDS else ""
    parsers = _build_parsers()
    for p in parsers.values():  # every subcommand: one definition
        _add_memory_limit(p)
    parser = parsers[command]
    try:
        args = parser.parse_args(args_list[1:] if command else args_list)
    except SystemExit as exc:  # argparse: usage error (2) or --help (0); main() returns, never exits
        return int(exc.code or 0)
    problem = _parsed_problem(args)
    if problem:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {problem}", file=sys.stderr)
        return 2
    args.command_line = [PROG, *args_list]  # recorded in the report's provenance
    if args.memory_limit is not None:  # the budget (and any worker process) reads it from the environment
        import os

        os.environ[ENV_VAR] = args.memory_limit

    import warnings

    try:
        # NumPy's RuntimeWarnings (e.g. a mean of an empty slice inside a plot) are not the user's to read:
        # inputs are validated before they reach the arithmetic; --debug shows them.
        with warnings.catch_warnings():
            if not getattr(args, "debug", False):
                warnings.simplefilter("ignore", RuntimeWarning)
            return jobs.dispatch(command, args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): stop quietly; point stdout at devnull so the
        # interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except MemoryError:
        # An allocation the budget did not foresee; still one line, and the way out.
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"{PROG}: error: out of memory (ResourceLimitError); use fewer --tokens or layers, or a smaller "
              "model", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        if not _is_expected(exc):
            print(f"{PROG}: this looks like a bug; rerun with --debug and report the traceback", file=sys.stderr)
        return 1


def _is_expected(exc: BaseException) -> bool:
    return isinstance(exc, (NeurosimError, OSError))


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot write or read {exc.filename}: {exc.strerror or exc}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text
