"""reports: the ``energy-report`` command line and the report folder it writes."""

from neurosim.reports.cli import main
from neurosim.reports.pipeline import JobResult, JobSettings, run_job

__all__ = ["JobResult", "JobSettings", "main", "run_job"]
