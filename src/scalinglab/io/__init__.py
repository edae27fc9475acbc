"""Readers that end in the scalinglab schema."""

from .harness import aggregate_error, read_harness
from .merge import MergeReport, merge_runs
from .tables import read_table, to_schema
from .trackers import read_tracker_export

__all__ = [
    "MergeReport",
    "aggregate_error",
    "merge_runs",
    "read_harness",
    "read_table",
    "read_tracker_export",
    "to_schema",
]
