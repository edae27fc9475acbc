"""The papers' workflows. They compose laws and fits and hold no fitting code of their own."""

from .audit import (
    AuditResult,
    compare_laws,
    compute_ratio,
    holdout,
    leave_largest_out,
    leave_one_group_out,
)

__all__ = [
    "AuditResult",
    "compare_laws",
    "compute_ratio",
    "holdout",
    "leave_largest_out",
    "leave_one_group_out",
]
