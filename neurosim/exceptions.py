"""The one exception tree of the project.

Every error that neurosim, energy, analysis or reports raise on purpose derives from
:class:`NeurosimError`, so a caller (the ``energy-report`` command line above all) can
catch one class and print one line::

    NeurosimError
    ├── InputError (also ValueError)        bad argument values: NaN, k <= 0, wrong shape or dtype
    │   ├── ShapeError                      array ranks or sizes that do not fit together
    │   └── CodingRangeError                counts a spike coder cannot represent
    ├── NotFoundError (also KeyError)       unknown model, profile, coder, table entry; lists what exists
    ├── ConfigError                         malformed data file or configuration (names file and key)
    │   └── MissingFigureError              a hardware profile lacks a figure (names parameter and file)
    ├── CheckpointError                     missing or malformed checkpoint tensor or file
    ├── OverflowRiskError                   an integer accumulator could overflow
    ├── DependencyError (also ImportError)  an optional extra (torch, snntorch, transformers) is missing
    ├── OutputPathError (also InputError)   --out names a path neurosim may not replace (user data, cwd, input)
    ├── ResourceLimitError                  the work would need more memory than the limit allows
    ├── GraphError (also InputError)        a network graph (NIR) that cannot be read or run
    │   └── UnsupportedNodeError            a node type neurosim cannot simulate; names node and type
    ├── CorpusError (also InputError)       a prompts file that is empty, unreadable or malformed (names the line)
    ├── DistributedError                    a Dask cluster that cannot be reached or lost a shard
    │   └── ShardFailedError                a shard whose workers died repeatedly; names the shard
    └── UsageError                          an option value only the job can check (the CLI exits 2)

Messages name the argument, what was expected, what was given and, where there is one, the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
import difflib

__all__ = [
    "CheckpointError",
    "CodingRangeError",
    "ConfigError",
    "CorpusError",
    "DependencyError",
    "DistributedError",
    "GraphError",
    "InputError",
    "MissingFigureError",
    "NeurosimError",
    "NotFoundError",
    "OutputPathError",
    "OverflowRiskError",
    "ResourceLimitError",
    "ShapeError",
    "ShardFailedError",
    "UnsupportedNodeError",
    "UsageError",
    "unknown_name",
]


class NeurosimError(Exception):
    """Base class of every error the project raises on purpose."""


class InputError(NeurosimError, ValueError):
    """An argument has a value the function cannot accept."""


class ShapeError(InputError):
    """Array shapes or ranks do not fit together."""


class CodingRangeError(InputError):
    """Integer spike counts lie outside what a spike coder can represent."""


class NotFoundError(NeurosimError, KeyError):
    """A named thing (model, profile, coder, table entry) does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(NeurosimError):
    """A data file or configuration is malformed; the message names the file and key."""


class CheckpointError(NeurosimError):
    """A checkpoint file or tensor is missing or malformed; the message names it."""


class OverflowRiskError(NeurosimError, ArithmeticError):
    """An integer accumulator could overflow for the given inputs."""


class DependencyError(NeurosimError, ImportError):
    """An optional dependency is not installed."""


class OutputPathError(InputError):
    """A report output path that would overwrite something neurosim did not write; nothing was touched."""


class ResourceLimitError(NeurosimError):
    """The estimated memory of a step exceeds the limit (see :mod:`neurosim.budget`); nothing was allocated."""


class MissingFigureError(ConfigError):
    """A hardware profile lacks a figure a computation needs; the message names the parameter and the file."""


class GraphError(InputError):
    """A network graph (e.g. a NIR file) that cannot be read or run: not NIR, a cycle, a dangling edge."""


class UnsupportedNodeError(GraphError):
    """A graph node whose type neurosim cannot simulate; the message names the node and its type."""


class CorpusError(InputError):
    """A prompts file that is empty, unreadable or malformed, or a prompt that tokenises to nothing."""


class DistributedError(NeurosimError):
    """A Dask cluster that cannot be reached in time, or a distributed run that cannot complete."""


class ShardFailedError(DistributedError):
    """A shard of prompts whose worker died repeatedly; the message names the shard."""


def unknown_name(kind: str, name: str, known: Iterable[str], *, hint: str = "") -> NotFoundError:
    """Build a :class:`NotFoundError` that lists what exists and the nearest matches.

    Parameters
    ----------
    kind : str
        What was looked up, e.g. ``"model"`` or ``"hardware profile"``.
    name : str
        The name that was asked for.
    known : iterable of str
        Every valid name.
    hint : str, optional
        Where to list them, e.g. ``"energy-report --list-profiles"``.
    """
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    # Case and vendor prefixes should not hide the obvious match ("H100" -> "nvidia-h100").
    lower = {k.lower(): k for k in known}
    folded = [lower[c] for c in difflib.get_close_matches(str(name).lower(), list(lower), n=3, cutoff=0.5)]
    contains = [k for k in known if len(str(name)) >= 3 and str(name).lower() in k.lower()]
    close = list(dict.fromkeys(contains + folded + close))[:3]
    msg = f"unknown {kind} {name!r}"
    if close:
        msg += f"; did you mean {', '.join(repr(c) for c in close)}?"
    msg += f" Known: {', '.join(known) if known else '(none)'}"
    if hint:
        msg += f" (see `{hint}`)"
    return NotFoundError(msg)


class UsageError(NeurosimError):
    """A command-line option value that only the job can check (the CLI exits with code 2, like argparse)."""
