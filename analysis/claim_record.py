"""One audited claim of the SpikingBrain report: the figure as published, our recomputation and a status.

The record type of the claims audit (:func:`neurosim.analysis.claims.audit_claims`), kept apart so the
modules that contribute claims (``claims``, ``system_claims``) import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from neurosim.exceptions import InputError

__all__ = ["CLAIM_STATUSES", "Claim", "Status"]

Status = Literal[
    "reproduced", "rounding difference", "depends on unpublished data",
    "inconsistent with other stated figures",
]
CLAIM_STATUSES: tuple[str, ...] = (
    "reproduced",
    "rounding difference",
    "depends on unpublished data",
    "inconsistent with other stated figures",
)


@dataclass(frozen=True)
class Claim:
    """One audited claim (see module docstring for the statuses).

    Attributes
    ----------
    id : str
        Stable identifier, e.g. ``"ratio-vs-fp16"``.
    claim : str
        The claim in words.
    reported : float
        The figure as published (SI units or fraction, see ``unit``).
    recomputed : float
        Our recomputation from the stated inputs.
    unit : str
        Unit of ``reported`` and ``recomputed``.
    inputs : Mapping[str, Any]
        The inputs used, JSON-ready (numbers and strings).
    status : str
        One of ``CLAIM_STATUSES``.
    reason : str
        One line explaining the status.
    """

    id: str
    claim: str
    reported: float
    recomputed: float
    unit: str
    inputs: Mapping[str, Any]
    status: str
    reason: str

    def __post_init__(self) -> None:
        if self.status not in CLAIM_STATUSES:
            raise InputError(f"'status' must be one of {CLAIM_STATUSES} (got {self.status!r})")
        object.__setattr__(self, "inputs", MappingProxyType(dict(self.inputs)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: id, claim, reported, recomputed, status, reason, unit, inputs."""
        return {
            "id": self.id,
            "claim": self.claim,
            "reported": _jsonable(float(self.reported)),
            "recomputed": _jsonable(float(self.recomputed)),
            "status": self.status,
            "reason": self.reason,
            "unit": self.unit,
            "inputs": {k: _jsonable(v) for k, v in self.inputs.items()},
        }


def _jsonable(v: Any) -> Any:
    """Plain Python values for JSON; NaN (not computable) becomes None."""
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, (np.floating, np.integer)):
        return _jsonable(v.item())
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v
