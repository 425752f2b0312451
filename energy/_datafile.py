"""Reading and checking the TOML data files (energy tables and hardware profiles).

Every check raises :class:`~neurosim.exceptions.ConfigError` whose message starts with
``"<file>: <dotted key>: "`` so a user editing a profile sees where the problem is.
"""

from __future__ import annotations

import math
from pathlib import Path
import tomllib
from typing import Any

from neurosim.energy._units import UNITS, to_si
from neurosim.exceptions import ConfigError, InputError
from neurosim.validation import open_regular_file

__all__ = [
    "CONFIDENCES",
    "Where",
    "read_toml",
    "sources_of",
]

#: How far a figure can be trusted, from best to worst.
CONFIDENCES: tuple[str, ...] = ("measured", "datasheet", "derived", "estimate")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse ``path`` as TOML, raising :class:`ConfigError` naming the file."""
    try:
        with open_regular_file(path, "data file") as fh:  # a folder or FIFO is an error, not a hang
            return tomllib.load(fh)
    except InputError as exc:
        raise ConfigError(f"{path}: {'file not found' if 'does not exist' in str(exc) else 'cannot read: ' + str(exc)}") \
            from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML (not UTF-8 text: byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None


class Where:
    """A position in a data file, used to word error messages and to read typed values."""

    def __init__(self, path: Path | str, key: str = "") -> None:
        self.path = Path(path)
        self.key = key

    def child(self, key: str) -> Where:
        return Where(self.path, f"{self.key}.{key}" if self.key else key)

    def error(self, what: str) -> ConfigError:
        return ConfigError(f"{self.path.name}: {self.key or '(top level)'}: {what} (file {self.path})")

    # -- typed getters ---------------------------------------------------------------------------
    def table(self, data: dict[str, Any], key: str, *, required: bool = True) -> dict[str, Any]:
        if key not in data:
            if required:
                raise self.child(key).error("missing table")
            return {}
        value = data[key]
        if not isinstance(value, dict):
            raise self.child(key).error(f"expected a table (got {type(value).__name__})")
        return value

    def string(self, data: dict[str, Any], key: str, *, required: bool = True, default: str = "") -> str:
        if key not in data:
            if required:
                raise self.child(key).error("missing required key")
            return default
        value = data[key]
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.child(key).error(f"expected a non-empty string (got {value!r})")
        return value

    def number(self, data: dict[str, Any], key: str, *, required: bool = True,
               default: float | None = None, allow_zero: bool = True) -> float | None:
        if key not in data:
            if required:
                raise self.child(key).error("missing required key")
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.child(key).error(f"expected a number (got {value!r})")
        v = float(value)
        if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
            bound = "> 0" if not allow_zero else ">= 0"
            raise self.child(key).error(f"expected a finite number {bound} (got {value!r})")
        return v

    def unit(self, data: dict[str, Any], key: str = "unit") -> str:
        unit = self.string(data, key)
        if unit not in UNITS:
            raise self.child(key).error(
                f"unknown unit {unit!r}; expected one of {', '.join(sorted(UNITS))}")
        return unit

    def confidence(self, data: dict[str, Any], key: str = "confidence") -> str:
        value = self.string(data, key)
        if value not in CONFIDENCES:
            raise self.child(key).error(
                f"confidence must be one of {', '.join(CONFIDENCES)} (got {value!r})")
        return value

    def source(self, data: dict[str, Any], sources: dict[str, str], key: str = "source") -> str:
        value = self.string(data, key)
        if value not in sources:
            known = ", ".join(sorted(sources)) or "(none)"
            raise self.child(key).error(
                f"unknown source {value!r}; declare it under [sources] (known: {known})")
        return value

    def quantity(self, data: dict[str, Any], *, allow_zero: bool = True) -> tuple[float, str, float]:
        """Read ``value`` and ``unit``; return (value as written, unit, value in SI)."""
        unit = self.unit(data)
        value = float(self.number(data, "value", allow_zero=allow_zero) or 0.0)
        return value, unit, to_si(value, unit)

    def check_keys(self, data: dict[str, Any], allowed: set[str]) -> None:
        """Reject keys outside ``allowed`` (a typo such as ``vaule`` must not pass silently)."""
        extra = sorted(set(data) - allowed)
        if extra:
            raise self.child(extra[0]).error(f"unknown key; allowed keys: {', '.join(sorted(allowed))}")


def sources_of(where: Where, data: dict[str, Any]) -> dict[str, str]:
    """The ``[sources]`` table: id -> citation string (``citation`` plus ``via`` when given)."""
    raw = where.table(data, "sources")
    out: dict[str, str] = {}
    for sid, body in raw.items():
        w = where.child("sources").child(sid)
        if not isinstance(body, dict):
            raise w.error("expected a table with 'citation'")
        citation = w.string(body, "citation")
        via = w.string(body, "via", required=False)
        out[sid] = citation + (f" [via: {via}]" if via else "")
    return out
