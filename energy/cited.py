"""One cited number: the value type of energy tables, hardware-profile parameters and the report's figures.

Every number the energy and analysis code rests on is read from a data file in ``energy/data`` into a
:class:`CitedValue`: its value in SI units, the unit and value as the source wrote them, the citation,
a confidence and notes. Energy tables (:mod:`neurosim.energy.tables`), hardware profiles
(:mod:`neurosim.energy.profiles`) and the SpikingBrain report's published figures
(:mod:`neurosim.energy.report_figures`) all hold this one type.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def key(self) -> str:
        """The name, as the dotted key of an energy table (``"int8.add"``)."""
        return self.name

    def __repr__(self) -> str:  # unambiguous units (style rule 12): the figure as the source wrote it
        return f"CitedValue({self.name}={self.raw_value:g} {self.source_unit}, {self.confidence})"
