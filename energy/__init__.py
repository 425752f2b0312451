"""energy: per-operation energy tables, hardware profiles and execution modes.

Energy = sum over (component, action) of a cited table value x a counted number of actions. Tables and
profiles are TOML data files in ``energy/data`` (every number with unit, source and confidence); values
are SI (J, W, s) inside, pJ/nJ/mJ only when formatted.
"""

from energy._units import format_energy, format_power
from energy.actions import ACTIONS, ActionCosts, ActionCounts, EnergyBreakdown, evaluate
from energy.model_energy import energy_frame, energy_records, model_energy, model_workload
from energy.modes import MODES, ModeResult, mode_counts, mode_energy
from energy.neurobench import (
    NeuroBenchCounts,
    OperationComparison,
    compare_operations,
    neurobench_counts,
    neurobench_from_tally,
)
from energy.paper import PaperClaims, paper_claims
from energy.profiles import HardwareProfile, Param, get_profile, list_profiles, load_profile
from energy.tables import EnergyTable, TableEntry, get_table, list_tables, load_table
from energy.workload import ProjectionShape, SpikeStatistics, Workload

__all__ = [
    "ACTIONS",
    "MODES",
    "ActionCosts",
    "ActionCounts",
    "EnergyBreakdown",
    "EnergyTable",
    "HardwareProfile",
    "ModeResult",
    "NeuroBenchCounts",
    "OperationComparison",
    "PaperClaims",
    "Param",
    "ProjectionShape",
    "SpikeStatistics",
    "TableEntry",
    "Workload",
    "compare_operations",
    "energy_frame",
    "energy_records",
    "evaluate",
    "format_energy",
    "format_power",
    "get_profile",
    "get_table",
    "list_profiles",
    "list_tables",
    "load_profile",
    "load_table",
    "mode_counts",
    "mode_energy",
    "model_energy",
    "model_workload",
    "neurobench_counts",
    "neurobench_from_tally",
    "paper_claims",
]
