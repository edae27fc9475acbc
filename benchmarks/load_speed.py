"""Loading a 1,000,000-row runs x evals CSV into the scalinglab schema.

Reference: plain `pandas.read_csv` of the same file in the same run. scalinglab additionally
parses unit suffixes (n_params written as '1.4B'), canonicalises aliases, validates ranges and
derives flops / tokens_per_param. Target: < 10 s on 2 cores, peak memory < 2 GB.

    python benchmarks/load_speed.py [--rows 1000000]
"""

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    sizes = np.array(["70M", "160M", "410M", "1B", "1.4B", "2.8B", "6.9B", "12B"])
    tasks = np.array([f"task_{i}" for i in range(40)])
    df = pd.DataFrame(
        {
            "run_id": rng.integers(0, 5000, rows),
            "N": sizes[rng.integers(0, sizes.size, rows)],
            "D": rng.integers(1, 300, rows) * 1e9,
            "step": rng.integers(0, 143000, rows),
            "seed": rng.integers(0, 3, rows),
            "task": tasks[rng.integers(0, tasks.size, rows)],
            "acc": rng.random(rows),
            "loss": 2 + rng.random(rows),
        }
    )
    df.to_csv(path, index=False)


def measure(path: str, which: str) -> None:
    t = time.perf_counter()
    if which == "pandas":
        df = pd.read_csv(path)
    else:
        import scalinglab as sl

        df = sl.read_table(path)
    dt = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{dt:.3f} {peak_mb:.0f} {len(df)} {df.shape[1]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "runs_x_evals.csv"
        make_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        results = {}
        for which in ("pandas", "scalinglab"):  # fresh processes: honest peak memory
            out = subprocess.run(
                [sys.executable, __file__, "--measure", str(path), which],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            results[which] = (float(out[0]), float(out[1]), int(out[2]), int(out[3]))
    t_pd, m_pd, _, c_pd = results["pandas"]
    t_sl, m_sl, n, c_sl = results["scalinglab"]
    print(f"file: {n:,} rows, {size_mb:.0f} MB")
    print(f"pandas.read_csv       : {t_pd:6.2f} s, peak {m_pd:5.0f} MB, {c_pd} columns")
    print(
        f"scalinglab.read_table : {t_sl:6.2f} s, peak {m_sl:5.0f} MB, {c_sl} columns "
        "(suffixes parsed, aliases, validation, derived flops/tokens_per_param/error)"
    )
    print(
        f"ratio scalinglab / pandas: {t_sl / t_pd:.2f}x time, {m_sl / m_pd:.2f}x memory; "
        f"target < 10 s: {t_sl < 10}, < 2 GB: {m_sl < 2048}"
    )


if __name__ == "__main__":
    main()
