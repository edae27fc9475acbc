"""Local executor throughput: 2 worker processes x 1 thread vs 1 process x 2 threads.

Small models do not use two threads well (per-op overhead dominates), so two independent
workers should finish a sweep of many small runs sooner. Both configurations run the same
spec into fresh registries in the same invocation; prints wall times and the ratio.

    python benchmarks/sweep_pool.py [SPEC]   (default: examples/smoke_sweep.yaml)
"""

import sys
import tempfile
import time
from pathlib import Path

from scalinglab.testbed.sweep import expand, load_spec, run_sweep


def timed(spec, workers: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        run_sweep(spec, Path(d) / "r.sqlite", Path(d) / "art", workers=workers, threads=threads)
        return time.perf_counter() - t


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else str(
        Path(__file__).resolve().parents[1] / "examples" / "smoke_sweep.yaml")
    spec = load_spec(path)
    n = len(expand(spec))
    seq = timed(spec, 1, 2)
    pool = timed(spec, 2, 1)
    print(f"{n} runs from {path}")
    print(f"1 process x 2 threads : {seq:7.1f} s")
    print(f"2 processes x 1 thread: {pool:7.1f} s")
    print(f"speed-up of the pool: {seq / pool:.2f}x")


if __name__ == "__main__":
    main()
