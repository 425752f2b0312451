"""reports: the ``energy-report`` command line and the report folder it writes."""

from typing import TYPE_CHECKING

from neurosim._lazy import lazy_exports

# Public name -> defining module, imported on first access (see neurosim._lazy), so the command line
# starts without importing the simulator.
_EXPORTS = {
    "JobResult": "neurosim.reports.pipeline",
    "JobSettings": "neurosim.reports.pipeline",
    "main": "neurosim.reports.cli",
    "run_job": "neurosim.reports.pipeline",
}

if TYPE_CHECKING:  # static checkers see the real imports
    from neurosim.reports.cli import main
    from neurosim.reports.pipeline import JobResult, JobSettings, run_job

__all__ = ["JobResult", "JobSettings", "main", "run_job"]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
