"""How a report was made: versions, commit, command line, time, libraries, constants and inputs.

Two parts, so reruns stay comparable:

* :meth:`Provenance.stable` goes into ``summary.json`` (key ``provenance``): neurosim version, git commit of
  the source tree when it is a checkout, Python and library versions, the input source (activations,
  checkpoint, corpus, model factory) and the per-operation constants of every profile used, with their
  derivations and citations. Same settings and seed give the same bytes.
* :meth:`Provenance.full` adds the command line and the UTC time stamp and is written to ``provenance.json``
  (the one JSON file of a report that differs between reruns). ``SOURCE_DATE_EPOCH`` (the
  reproducible-builds convention) fixes the time stamp when set.

Library versions come from installed package metadata: nothing is imported to read them (torch is never
loaded for a version string).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

import neurosim
from neurosim.energy.profile_overrides import as_profile, cost_constants

__all__ = ["LIBRARIES", "Provenance", "constants_frame", "git_commit", "library_versions", "make_provenance"]

#: Distributions whose versions every report records (None when not installed).
LIBRARIES = ("numpy", "scipy", "pandas", "matplotlib", "numba", "tqdm", "torch", "snntorch", "transformers",
             "safetensors", "dask", "distributed", "nir")


def library_versions(names: Iterable[str] = LIBRARIES) -> dict[str, str | None]:
    """Installed version of each distribution (None when absent), from package metadata only."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _neurosim_version() -> str:
    try:
        return metadata.version("neurosim")
    except metadata.PackageNotFoundError:
        return str(getattr(neurosim, "__version__", "unknown"))


def git_commit(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git checkout holding neurosim's source, or None.

    None when the package is not a checkout (an installed wheel) or git is not available; never raises.
    """
    root = Path(path) if path is not None else Path(neurosim.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        # Tracked files only: a dirty flag from untracked scratch files would say little about the code.
        dirty = subprocess.run(["git", "-C", str(root), "diff", "--quiet", "HEAD", "--"], capture_output=True,
                               timeout=10).returncode != 0
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": sha, "dirty": bool(dirty)} if sha else None


def _timestamp() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        when = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc)
    else:
        when = _dt.datetime.now(tz=_dt.timezone.utc)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Provenance:
    """Everything a report records about how it was made (see the module docstring).

    Attributes
    ----------
    neurosim_version : str
    git : dict or None
        ``{"commit", "dirty"}`` when neurosim runs from a git checkout.
    python : str
    platform : str
    libraries : dict
        Distribution name -> version (None when not installed).
    inputs : dict
        What the numbers were computed from: activation source, checkpoint, corpus, model factory, ...
    constants : list of dict
        Per-operation constants of every profile used (:func:`neurosim.energy.profile_overrides.cost_constants`).
    overrides : list of str
        ``--set`` overrides applied.
    command_line : str
    timestamp : str
        UTC, ISO 8601.
    """

    neurosim_version: str
    git: dict[str, Any] | None
    python: str
    platform: str
    libraries: dict[str, str | None]
    inputs: dict[str, Any]
    constants: list[dict[str, Any]] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    command_line: str = ""
    timestamp: str = ""

    def stable(self) -> dict[str, Any]:
        """The part that is the same for reruns with the same settings (summary.json)."""
        return {"neurosim_version": self.neurosim_version, "git": self.git, "python": self.python,
                "platform": self.platform, "libraries": dict(self.libraries), "inputs": dict(self.inputs),
                "overrides": list(self.overrides), "constants": [dict(c) for c in self.constants],
                "run_record": "provenance.json (command line and time stamp)"}

    def full(self) -> dict[str, Any]:
        """Everything, command line and time stamp included (provenance.json)."""
        out = self.stable()
        out.pop("run_record")
        return {"schema": "neurosim-provenance", "schema_version": 1, "command_line": self.command_line,
                "timestamp": self.timestamp, **out}

    def run_frame(self) -> pd.DataFrame:
        """Two-column table (item, value) of the run for the report page."""
        git = "not a git checkout" if self.git is None else (
            self.git["commit"] + (" (uncommitted changes)" if self.git.get("dirty") else ""))
        rows = [("command line", self.command_line), ("time stamp (UTC)", self.timestamp),
                ("neurosim", self.neurosim_version), ("git commit", git), ("python", self.python),
                ("platform", self.platform)]
        rows += [(f"input: {k}", str(v)) for k, v in self.inputs.items() if v not in (None, "")]
        rows += [("override", o) for o in self.overrides]
        rows += [(f"library: {k}", v) for k, v in self.libraries.items() if v is not None]
        return pd.DataFrame(rows, columns=["item", "value"])


def constants_frame(constants: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Display table of the per-operation constants: value in pJ (J/byte actions in pJ/byte, power in mW)."""
    rows = []
    for c in constants:
        unit = c["unit"]
        shown, label = ((c["value"] * 1e3, "mW") if unit == "W" else
                        (c["value"] / 1e-12, "pJ/byte" if unit == "J/byte" else "pJ"))
        rows.append({"profile": f"{c['profile']} v{c['version']}", "action": c["action"],
                     "value": f"{shown:.4g} {label}", "derivation": c["derivation"],
                     "confidence": c["confidence"], "source": c["sources"]})
    return pd.DataFrame(rows, columns=["profile", "action", "value", "derivation", "confidence", "source"])


def make_provenance(*, command_line: Sequence[str] | str | None = None, profiles: Sequence[Any] = (),
                    inputs: Mapping[str, Any] | None = None, overrides: Sequence[str] = ()) -> Provenance:
    """Collect the provenance of a run.

    Parameters
    ----------
    command_line : sequence of str or str, optional
        The command as run (default ``sys.argv``); quoted with :func:`shlex.join`.
    profiles : sequence of HardwareProfile or str
        The profiles priced (their constants are recorded).
    inputs : mapping, optional
        What the run read: ``{"activations": ..., "checkpoint": ..., "corpus": ...}``.
    overrides : sequence of str
        ``--set`` overrides applied.
    """
    import sys

    argv = sys.argv if command_line is None else command_line
    cmd = argv if isinstance(argv, str) else shlex.join(str(a) for a in argv)
    constants: list[dict[str, Any]] = []
    for p in profiles:
        constants += cost_constants(as_profile(p))
    return Provenance(
        neurosim_version=_neurosim_version(), git=git_commit(), python=platform.python_version(),
        platform=f"{platform.system()} {platform.machine()}", libraries=library_versions(),
        inputs={k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in (inputs or {}).items()},
        constants=constants, overrides=list(overrides), command_line=cmd, timestamp=_timestamp())
