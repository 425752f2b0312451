"""Writing report folders: every file and the folder itself appear atomically.

A report is assembled in memory as a :class:`ReportFiles` (relative path -> bytes), written into a
temporary sibling folder, and swapped into place with ``os.replace``. A reader never sees a
half-written report, and a failure leaves the previous report (if any) untouched.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ReportFiles", "dumps_json", "write_file_atomic", "write_report_folder"]


def _jsonable(value: Any) -> Any:
    """Plain JSON types; NaN/inf become None so the output is strict JSON."""
    import numpy as np

    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return _jsonable(value.to_dict())
    return value


def dumps_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, fixed indentation, no NaN, trailing newline."""
    return json.dumps(_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


class ReportFiles(dict[str, bytes]):
    """Files of one report, keyed by path relative to the report folder."""

    def add_text(self, name: str, text: str) -> None:
        self[name] = text.encode("utf-8")

    def add_json(self, name: str, obj: Any) -> None:
        self.add_text(name, dumps_json(obj))


def write_file_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_report_folder(out_dir: str | os.PathLike[str], files: Mapping[str, bytes]) -> Path:
    """Write ``files`` as the folder ``out_dir``, replacing an existing one atomically.

    Raises
    ------
    OSError
        When the parent folder cannot be created or written; nothing is left behind.
    """
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old: Path | None = None
    try:
        for rel, data in sorted(files.items()):
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / "previous")
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None and (old / "previous").exists() and not out.exists():
            os.replace(old / "previous", out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out
