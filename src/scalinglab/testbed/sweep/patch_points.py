"""The sweep's patch points: what a worker runs for a claimed run (`execute`) and how the
local executor starts and watches its worker processes (`_local_workers`).

The worker loop and `run_sweep` look both up here at call time, so setting either here
(`patch_points.execute = fake`, as the tests do) changes what every worker in this process
runs. A module of its own, so the loop need not import the package that imports it.
"""

from __future__ import annotations

from .local_pool import _local_workers
from .training import execute

NAMES = ("execute", "_local_workers")

__all__ = ["NAMES", "_local_workers", "execute"]
