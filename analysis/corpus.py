"""Prompt corpora for profiling: a user's file of prompts, or the small corpus shipped with neurosim.

Two file formats, told apart by the first non-blank character of the file:

* plain text, one prompt per line (blank lines skipped; a literal ``\\n`` stays two characters);
* JSON Lines (first character ``{``): one object per line with a string field ``text``.

A :class:`Corpus` records what a report must say about its data: the file name, the SHA-256 of its
bytes, and the prompts in file order (the first ``max_prompts`` when capped). Token counts are added by
the profiler once the prompts are tokenised.

The default corpus (``analysis/data/prompts.txt``, 320 prompts) was written for this project: plain
English sentences, questions, instructions and a few lines of code, free to redistribute with it.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from neurosim.exceptions import CorpusError, InputError

__all__ = ["DEFAULT_CORPUS", "Corpus", "load_corpus"]

#: Package-data name of the shipped corpus.
DEFAULT_CORPUS = "prompts.txt"

# A prompts file is read whole; refuse files that could not reasonably be prompts before reading them.
_MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True)
class Corpus:
    """Prompts and where they came from.

    Attributes
    ----------
    name : str
        File name (``"prompts.txt (neurosim default corpus)"`` for the shipped one).
    sha256 : str
        Hex SHA-256 of the file's bytes (the whole file, even when ``max_prompts`` keeps fewer).
    texts : tuple of str
        Prompts in file order.
    format : str
        ``"text"`` or ``"jsonl"``.
    lines : tuple of int
        1-based line number of each prompt in the file (for error messages).
    total_prompts : int
        Prompts in the file before ``max_prompts``.
    """

    name: str
    sha256: str
    texts: tuple[str, ...]
    format: str
    lines: tuple[int, ...]
    total_prompts: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (without the texts)."""
        return {"file": self.name, "sha256": self.sha256, "format": self.format,
                "prompts": len(self.texts), "prompts_in_file": self.total_prompts}


def _parse(data: bytes, name: str) -> tuple[list[str], list[int], str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"texts file {name!r} is not UTF-8 text (byte {exc.start})") from None
    stripped = text.lstrip()
    if not stripped:
        raise CorpusError(f"texts file {name!r} holds no prompt (it is empty or blank)")
    texts: list[str] = []
    lines: list[int] = []
    if stripped.startswith("{"):
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"texts file {name!r} line {i}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict) or "text" not in record:
                raise CorpusError(f"texts file {name!r} line {i}: JSON Lines record has no 'text' field")
            value = record["text"]
            if not isinstance(value, str) or not value.strip():
                raise CorpusError(f"texts file {name!r} line {i}: 'text' must be a non-empty string "
                                  f"(got {value!r:.40})")
            texts.append(value)
            lines.append(i)
        return texts, lines, "jsonl"
    for i, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            texts.append(line)
            lines.append(i)
    return texts, lines, "text"


def load_corpus(path: str | Path | None = None, *, max_prompts: int | None = None) -> Corpus:
    """Read prompts from ``path`` (plain text or JSON Lines), or the shipped corpus when None.

    Parameters
    ----------
    path : str or Path, optional
        Prompts file. None: the default corpus in package data.
    max_prompts : int, optional
        Keep the first ``max_prompts`` prompts (file order).

    Returns
    -------
    Corpus

    Raises
    ------
    CorpusError
        Missing, unreadable, non-UTF-8, empty or blank file; a JSON Lines line that is not JSON or has no
        string ``text`` (the message names the line).
    InputError
        ``max_prompts`` not an integer >= 1.
    """
    if max_prompts is not None and (isinstance(max_prompts, bool) or not isinstance(max_prompts, int)
                                    or max_prompts < 1):
        raise InputError(f"'max_prompts' must be an integer >= 1 or None (got {max_prompts!r})")
    if path is None:
        data = resources.files("neurosim.analysis").joinpath("data", DEFAULT_CORPUS).read_bytes()
        name = f"{DEFAULT_CORPUS} (neurosim default corpus)"
    else:
        p = Path(path)
        try:
            if p.is_dir():
                raise CorpusError(f"texts file {str(p)!r} is a directory")
            size = p.stat().st_size
            if size > _MAX_FILE_BYTES:
                raise CorpusError(f"texts file {str(p)!r} is {size} bytes; at most {_MAX_FILE_BYTES} are read")
            data = p.read_bytes()
        except FileNotFoundError:
            raise CorpusError(f"texts file {str(p)!r} does not exist") from None
        except OSError as exc:
            raise CorpusError(f"texts file {str(p)!r} cannot be read ({exc.strerror or exc})") from None
        name = p.name
    texts, lines, fmt = _parse(data, name)
    total = len(texts)
    if max_prompts is not None:
        texts, lines = texts[:max_prompts], lines[:max_prompts]
    return Corpus(name=name, sha256=hashlib.sha256(data).hexdigest(), texts=tuple(texts), format=fmt,
                  lines=tuple(lines), total_prompts=total)
