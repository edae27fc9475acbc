"""The sweep's patch points: what a worker runs for a claimed run (`execute`) and how the
local executor starts and watches its worker processes (`_local_workers`).

The worker loop and `run_sweep` look both up here at call time. Setting either on the
package (`sweep.execute = fake`, as the tests do) sets it here too: the package forwards
the assignment, so it changes what every worker in this process runs.
"""

from __future__ import annotations

from .local_pool import _local_workers
from .training import execute

NAMES = ("execute", "_local_workers")

__all__ = ["NAMES", "_local_workers", "execute"]
