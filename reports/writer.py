"""Writing report folders: never touch what neurosim did not write; every file and the folder appear atomically.

A report is assembled in memory as a :class:`ReportFiles` (relative path -> bytes), written into a
staging folder beside the target (``.NAME.XXXX.tmp``), and swapped into place by rename. A reader never
sees a half-written report, and a failure leaves the previous report (if any) untouched.

Every report folder carries a marker manifest, :data:`MANIFEST_NAME` (``.neurosim-report.json``), that
lists the files neurosim wrote. ``write_report_folder`` replaces an existing path only when it is a folder
with that marker holding nothing but the files the marker lists (or an empty folder); everything else (a
file, a user's folder, the current directory or one above it, a folder holding an input of the run, the
home directory, a filesystem root, an empty path) is refused with :class:`~neurosim.exceptions.OutputPathError`
before anything is created, moved or removed. See ``docs/report-schema.md`` for what is atomic.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from neurosim.exceptions import InputError, OutputPathError

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA",
    "ReportFiles",
    "check_output_path",
    "dumps_json",
    "write_file_atomic",
    "write_report_folder",
]

#: Name of the marker manifest inside every report folder neurosim writes.
MANIFEST_NAME = ".neurosim-report.json"
#: ``schema`` value of the manifest; ``schema_version`` is :data:`_MANIFEST_VERSION`.
MANIFEST_SCHEMA = "neurosim-report-folder"
_MANIFEST_VERSION = 1
_MANIFEST_MAX_BYTES = 4 * 2**20  # a manifest lists file names; anything larger is not ours
_LOCK_TIMEOUT_S = 600.0  # a second writer waits this long for the first before failing cleanly


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


# --------------------------------------------------------------------------------------------------
# The refusal rule


def _refuse(path: Path | str, why: str) -> OutputPathError:
    name = Path(path).name
    suggestion = f"{name}-report" if name and str(path) not in ("", "/") else "./energy-report"
    return OutputPathError(f"refusing to write the report to {str(path)!r}: {why}; "
                           f"choose a new folder, e.g. --out {suggestion}")


def _manifest_files(folder: Path) -> set[str] | None:
    """The files listed by ``folder``'s marker manifest, or None when it has no valid marker."""
    marker = folder / MANIFEST_NAME
    try:
        if marker.is_symlink() or not marker.is_file() or marker.stat().st_size > _MANIFEST_MAX_BYTES:
            return None
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("schema") != MANIFEST_SCHEMA
            or not isinstance(data.get("files"), list) or not all(isinstance(f, str) for f in data["files"])):
        return None
    return set(data["files"])


def _is_ours(folder: Path) -> bool:
    """True when ``folder`` is empty, or carries our marker and holds only files the marker lists.

    Symbolic links inside are never ours (neurosim writes none), so a folder holding one is refused.
    """
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    if not entries:
        return True
    listed = _manifest_files(folder)
    if listed is None:
        return False
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        for d in dirnames:
            if (base / d).is_symlink():
                return False
        for f in filenames:
            p = base / f
            rel = p.relative_to(folder).as_posix()
            if p.is_symlink() or not p.is_file():
                return False
            if rel != MANIFEST_NAME and rel not in listed:
                return False
    return True


def _within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_output_path(out_dir: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Resolve ``out_dir`` and check that a report may be written there; nothing is created or changed.

    Parameters
    ----------
    out_dir : path-like
        The requested report folder (``--out``).
    inputs : iterable of path-like
        Every file or folder the run reads (checkpoint folder, activations file, ...); the report folder
        may not be one of them or contain one.

    Returns
    -------
    pathlib.Path
        The absolute path with every symbolic link resolved: the folder that will be written.

    Raises
    ------
    OutputPathError
        Empty path, a filesystem root, the home directory, the current directory or a folder above it, a
        folder holding an input, an existing file, or a non-empty folder that is not a neurosim report
        holding only the files its marker lists.
    """
    raw = os.fspath(out_dir)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if not raw.strip():
        raise _refuse(raw, "the path is empty")
    # realpath resolves every link, the last component included: checks and the swap act on the real
    # folder, and a link is never followed into deletion (the link itself is left alone).
    out = Path(os.path.realpath(os.path.expanduser(raw)))  # a quoted "~" means home, not a folder named ~
    if out.parent == out:
        raise _refuse(out, "it is a filesystem root")
    home = Path(os.path.realpath(os.path.expanduser("~")))
    if out == home or (home.parent != home and _within(home, out)):
        raise _refuse(out, "it is the home directory or holds it")
    cwd = Path(os.path.realpath(os.getcwd()))
    if _within(cwd, out):
        raise _refuse(out, "it is the current directory or a folder above it")
    for item in inputs:
        if item is None or os.fspath(item) == "":
            continue
        src = Path(os.path.realpath(os.fspath(item)))
        if _within(src, out):
            raise _refuse(out, f"it holds an input of this run ({src})")
    if os.path.lexists(out):
        if not out.is_dir():
            raise _refuse(out, "it is an existing file, not a report folder")
        if not _is_ours(out):
            raise _refuse(out, "it is a non-empty folder that neurosim did not write "
                               f"(no {MANIFEST_NAME} marker, or files the marker does not list)")
    return out


# --------------------------------------------------------------------------------------------------
# Locking, staging, swapping


@contextlib.contextmanager
def _locked(parent: Path, out: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``parent`` so concurrent writers there take turns.

    The lock is on the folder itself (``flock`` on a directory descriptor), so no lock file is left
    behind. Where ``flock`` is unavailable the rename protocol alone applies (one writer may then fail).
    """
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    try:
        fd = os.open(parent, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutputPathError(f"another energy-report has been writing beside {str(out)!r} for "
                                          f"{_LOCK_TIMEOUT_S:.0f} s; try again later or choose another --out") from None
                time.sleep(0.05)
            except OSError:  # filesystem without flock support
                break
        yield
    finally:
        os.close(fd)


def _staging_names(out: Path) -> list[Path]:
    prefix = f".{out.name}."
    try:
        names = os.listdir(out.parent)
    except OSError:
        return []
    return [out.parent / n for n in names
            if n.startswith(prefix) and (n.endswith(".tmp") or n.endswith(".old"))
            and len(n) > len(prefix) + 4]


def _clean_stale(out: Path) -> None:
    """Remove staging folders a killed run left beside ``out`` (our naming and our marker only)."""
    for p in _staging_names(out):
        if p.is_symlink() or not p.is_dir():
            continue
        if _is_ours(p):
            shutil.rmtree(p, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _manifest_bytes(files: Mapping[str, bytes]) -> bytes:
    return dumps_json({"schema": MANIFEST_SCHEMA, "schema_version": _MANIFEST_VERSION, "writer": "neurosim",
                       "files": sorted(files)}).encode("utf-8")


def _check_names(files: Mapping[str, bytes]) -> None:
    for rel in files:
        p = PurePosixPath(rel)
        if (not rel or p.is_absolute() or ".." in p.parts or "\\" in rel or rel == MANIFEST_NAME
                or p.as_posix() != rel):
            raise InputError(f"report file name {rel!r} must be a plain relative path inside the report "
                             f"folder (not {MANIFEST_NAME!r})")


def write_report_folder(out_dir: str | os.PathLike[str], files: Mapping[str, bytes], *,
                        inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Write ``files`` as the folder ``out_dir``, replacing an earlier neurosim report atomically.

    Parameters
    ----------
    out_dir : path-like
        The report folder. It may be new, an empty folder, or a folder neurosim wrote (it carries the
        :data:`MANIFEST_NAME` marker and holds only the files the marker lists); see
        :func:`check_output_path` for everything that is refused.
    files : mapping of str to bytes
        Relative path (``/``-separated, no ``..``) -> content.
    inputs : iterable of path-like, keyword-only
        Files and folders the run read; the report folder may not be one of them or hold one.

    Returns
    -------
    pathlib.Path
        The folder written (absolute, links resolved).

    Raises
    ------
    OutputPathError
        The path is refused (nothing was created, moved or removed), or another writer held the folder
        for longer than the lock timeout.
    OSError
        The parent folder cannot be created or written; nothing is left behind and an earlier report
        is untouched.
    """
    _check_names(files)
    inputs = list(inputs)
    out = check_output_path(out_dir, inputs=inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = _manifest_bytes(files)
    with _locked(out.parent, out):
        _clean_stale(out)
        # Re-check under the lock: another writer may have put something there since.
        out = check_output_path(out, inputs=inputs)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
        old: Path | None = None
        try:
            # The marker first: a run killed while staging leaves a folder the next run recognises.
            (staging / MANIFEST_NAME).write_bytes(manifest)
            for rel, data in sorted(files.items()):
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            if out.is_dir() and _exchange(staging, out):
                old = staging  # now holds the previous report
            else:
                if out.is_dir():
                    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
                    os.replace(out, old)  # a directory may replace an empty directory
                try:
                    os.replace(staging, out)
                except BaseException:
                    if old is not None and not os.path.lexists(out):
                        os.replace(old, out)
                        old = None
                    raise
        except BaseException:
            if old is not staging:
                shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    return out
