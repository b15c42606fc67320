"""Analysis of `fireflies` run files (HDF5): loading, convergence numbers, figures, reports.

Quick start::

    from fireflies_analysis import load_run, summary, plots
    run = load_run("run.h5")              # numpy arrays, config parsed from TOML, units
    print(summary(run)["time_to_R_0.9_s"])  # first time R >= 0.9 (s), or None
    plots.plot_order_parameter(run).savefig("R.png")

    for run in follow("growing.h5", stop=lambda: proc.poll() is not None):
        print(run.t[-1], run.R[-1])        # a file still being written (SWMR)

Command line: ``python3 -m fireflies_analysis summary|report|plot|follow FILE ...``
(``--help`` on each). Units: times in seconds of simulated time, lengths in grid cells, order
parameters and phases / period dimensionless (unit 1).
"""

from . import plots
from .convergence import SUMMARY_LEVELS, format_summary, summary, time_to_reach
from .load import FINAL_STATUSES, MissingDataError, Run, follow, load_run, open_run_file
from .report import default_report_dir, write_report

__all__ = [
    "FINAL_STATUSES",
    "MissingDataError",
    "Run",
    "SUMMARY_LEVELS",
    "default_report_dir",
    "follow",
    "format_summary",
    "load_run",
    "open_run_file",
    "plots",
    "summary",
    "time_to_reach",
    "write_report",
]

__version__ = "0.1.0"
