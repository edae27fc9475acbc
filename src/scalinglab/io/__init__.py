"""Readers that end in the scalinglab schema."""

from .harness import SideTableMismatchError, aggregate_error, read_harness
from .harness_tasks import CHANCE_ACCURACY, CHANCE_SOURCE
from .merge import MergeReport, merge_runs
from .tables import read_table, to_schema
from .trackers import read_tracker_export

__all__ = [
    "CHANCE_ACCURACY",
    "CHANCE_SOURCE",
    "MergeReport",
    "SideTableMismatchError",
    "aggregate_error",
    "merge_runs",
    "read_harness",
    "read_table",
    "read_tracker_export",
    "to_schema",
]
