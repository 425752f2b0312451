"""One cited number: the value type of energy tables, hardware-profile parameters and the report's figures.

Every number the energy and analysis code rests on is read from a data file in ``energy/data`` into a
:class:`CitedValue`: its value in SI units, the unit and value as the source wrote them, the citation,
a confidence and notes. Energy tables (:mod:`neurosim.energy.tables`), hardware profiles
(:mod:`neurosim.energy.profiles`) and the SpikingBrain report's published figures
(:mod:`neurosim.energy.report_figures`) all hold this one type.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurosim.energy._units import to_si
from neurosim.exceptions import InputError

__all__ = ["CitedValue"]


@dataclass(frozen=True)
class CitedValue:
    """A number with its unit, source and confidence.

    Attributes
    ----------
    name : str
        Key in its file: ``"int8.add"`` (energy table), ``"synop_energy"`` (profile parameter),
        ``"spikes_per_channel"`` (report figure).
    value : float
        Value in SI units (J, J/byte, W, op/s, s; ``"1"`` for plain numbers and fractions).
    unit : str
        SI dimension of :attr:`value`.
    raw_value : float
        Value as the source (and the data file) wrote it, in :attr:`source_unit`.
    source_unit : str
        Unit the data file (and its source) used, e.g. ``"pJ"`` or ``"%"``.
    source : str
        Full citation.
    confidence : str
        ``measured``, ``datasheet``, ``derived`` or ``estimate``
        (:data:`neurosim.energy._datafile.CONFIDENCES`).
    note : str
        Caveats in words (where sources disagree, which value is the default and why).
    derived_from : tuple of str
        Keys summed to give :attr:`value` (energy tables; empty for primary figures).
    value_range : tuple of float or None
        (low, high) in SI when the source gives a range; :attr:`value` is the stated default.
    alternatives : tuple of CitedValue
        The same quantity from other sources that disagree (profiles); :attr:`value` is the default.
    digits : int or None
        Decimals the source printed :attr:`raw_value` with (report figures), for rounding checks.
    """

    name: str
    value: float
    unit: str
    raw_value: float
    source_unit: str
    source: str
    confidence: str
    note: str = ""
    derived_from: tuple[str, ...] = ()
    value_range: tuple[float, float] | None = None
    alternatives: tuple[CitedValue, ...] = ()
    digits: int | None = None

    @property
    def key(self) -> str:
        """The name, as the dotted key of an energy table (``"int8.add"``)."""
        return self.name

    def rounds_to(self, x: float) -> bool:
        """Whether ``x`` (SI), printed as the source printed this figure, gives the published number."""
        digits = self._digits()
        return bool(round(x * self._display_scale(), digits) == round(self.raw_value, digits))

    @property
    def rounding_tolerance(self) -> float:
        """Half a unit of the last printed digit, in SI: the precision the printed figure carries."""
        return 0.5 * 10.0 ** -self._digits() / self._display_scale()

    def _digits(self) -> int:
        if self.digits is None:
            raise InputError(f"{self.name!r} has no printed precision ('digits')")
        return self.digits

    def _display_scale(self) -> float:
        """SI -> printed unit factor (100 for %, 1e12 for pJ)."""
        return 1.0 / to_si(1.0, self.source_unit)

    def __repr__(self) -> str:  # unambiguous units (style rule 12): the figure as the source wrote it
        return f"CitedValue({self.name}={self.raw_value:g} {self.source_unit}, {self.confidence})"
