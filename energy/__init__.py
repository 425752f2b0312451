"""energy: per-operation energy tables, hardware profiles and execution modes.

Energy = sum over (component, action) of a cited table value x a counted number of actions. Tables and
profiles are TOML data files in ``energy/data`` (every number with unit, source and confidence); values
are SI (J, W, s) inside, pJ/nJ/mJ only when formatted. :mod:`neurosim.energy.system` turns per-action
energy into a system figure: time per step, static power x time, batch and phase, and the chips a model needs.
"""

from typing import TYPE_CHECKING

from neurosim._lazy import lazy_exports

# Public name -> defining module, imported on first access (see neurosim._lazy).
_EXPORTS = {
    "ACTIONS": "neurosim.energy.actions",
    "ActionCosts": "neurosim.energy.actions",
    "ActionCounts": "neurosim.energy.actions",
    "CitedValue": "neurosim.energy.cited",
    "EnergyBreakdown": "neurosim.energy.actions",
    "EnergyTable": "neurosim.energy.tables",
    "HardwareProfile": "neurosim.energy.profiles",
    "EXECUTION_MODES": "neurosim.energy.modes",
    "ExecutionMode": "neurosim.energy.modes",
    "StackPreset": "neurosim.energy.system",
    "SystemEnergy": "neurosim.energy.system",
    "get_stack": "neurosim.energy.system",
    "list_stacks": "neurosim.energy.system",
    "system_energy": "neurosim.energy.system",
    "system_frame": "neurosim.energy.system",
    "system_records": "neurosim.energy.system",
    "ModeResult": "neurosim.energy.modes",
    "NeuroBenchCounts": "neurosim.energy.neurobench",
    "OperationComparison": "neurosim.energy.neurobench",
    "PaperClaims": "neurosim.energy.paper",
    "SpikeActivity": "neurosim.energy.workload",
    "Workload": "neurosim.energy.workload",
    "compare_operations": "neurosim.energy.neurobench",
    "energy_frame": "neurosim.energy.model_energy",
    "energy_records": "neurosim.energy.model_energy",
    "evaluate": "neurosim.energy.actions",
    "format_energy": "neurosim.energy._units",
    "format_power": "neurosim.energy._units",
    "get_profile": "neurosim.energy.profiles",
    "get_table": "neurosim.energy.tables",
    "list_profiles": "neurosim.energy.profiles",
    "list_tables": "neurosim.energy.tables",
    "load_profile": "neurosim.energy.profiles",
    "load_table": "neurosim.energy.tables",
    "mode_counts": "neurosim.energy.modes",
    "mode_energy": "neurosim.energy.modes",
    "model_energy": "neurosim.energy.model_energy",
    "model_workload": "neurosim.energy.model_energy",
    "neurobench_counts": "neurosim.energy.neurobench",
    "neurobench_from_tally": "neurosim.energy.neurobench",
    "paper_claims": "neurosim.energy.paper",
    "report_figure": "neurosim.energy.report_figures",
    "report_figures": "neurosim.energy.report_figures",
    "report_table": "neurosim.energy.report_figures",
}

if TYPE_CHECKING:  # static checkers see the real imports
    from neurosim.energy._units import format_energy, format_power
    from neurosim.energy.actions import ACTIONS, ActionCosts, ActionCounts, EnergyBreakdown, evaluate
    from neurosim.energy.model_energy import energy_frame, energy_records, model_energy, model_workload
    from neurosim.energy.modes import EXECUTION_MODES, ExecutionMode, ModeResult, mode_counts, mode_energy
    from neurosim.energy.system import (
        StackPreset,
        SystemEnergy,
        get_stack,
        list_stacks,
        system_energy,
        system_frame,
        system_records,
    )
    from neurosim.energy.neurobench import (
        NeuroBenchCounts,
        OperationComparison,
        compare_operations,
        neurobench_counts,
        neurobench_from_tally,
    )
    from neurosim.energy.paper import PaperClaims, paper_claims
    from neurosim.energy.cited import CitedValue
    from neurosim.energy.profiles import HardwareProfile, get_profile, list_profiles, load_profile
    from neurosim.energy.report_figures import report_figure, report_figures, report_table
    from neurosim.energy.tables import EnergyTable, get_table, list_tables, load_table
    from neurosim.energy.workload import SpikeActivity, Workload

__all__ = [
    "ACTIONS",
    "EXECUTION_MODES",
    "ActionCosts",
    "ActionCounts",
    "CitedValue",
    "EnergyBreakdown",
    "EnergyTable",
    "ExecutionMode",
    "HardwareProfile",
    "ModeResult",
    "NeuroBenchCounts",
    "OperationComparison",
    "PaperClaims",
    "SpikeActivity",
    "StackPreset",
    "SystemEnergy",
    "Workload",
    "compare_operations",
    "energy_frame",
    "energy_records",
    "evaluate",
    "format_energy",
    "format_power",
    "get_profile",
    "get_stack",
    "get_table",
    "list_profiles",
    "list_stacks",
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
    "report_figure",
    "report_figures",
    "report_table",
    "system_energy",
    "system_frame",
    "system_records",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
