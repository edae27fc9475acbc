"""`scalinglab merge` against a plain pandas script doing the same read, join and write.

Data: the OLMo ladder's tasks.csv (77,000 rows) and checkpoints.csv (3,850 rows) joined on
`run,step` (see /work/shared/data/olmo_ladder/README.md for where they come from). The pandas
reference reads both with `pd.read_csv`, joins with `DataFrame.merge(on=..., how="inner")`
and writes with `to_csv`; scalinglab runs the `merge` command in this process (schema
reading, unit parsing, validation findings, the merge report, the safe writer). Target:
within 1.5x of the reference (issue 23 item 5). Best of --repeat runs each, interleaved.

    python benchmarks/merge_speed.py [--data ../shared/data/olmo_ladder] [--on run,step]
        [--evals tasks.csv] [--meta checkpoints.csv] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main


def pandas_script(evals: Path, meta: Path, on: list[str], out: Path) -> int:
    a = pd.read_csv(evals)
    b = pd.read_csv(meta)
    merged = a.merge(b, on=on, how="inner", suffixes=("", "_meta"))
    merged.to_csv(out, index=False)
    return len(merged)


def scalinglab_merge(evals: Path, meta: Path, on: list[str], out: Path) -> str:
    args = ["merge", str(evals), str(meta), "--on", ",".join(on), "-o", str(out), "--force"]
    r = CliRunner().invoke(main, args)
    if r.exit_code != 0:
        raise SystemExit(f"scalinglab merge failed ({r.exit_code}):\n{r.output}")
    return r.output


def main_() -> None:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=here.parent / "shared" / "data" / "olmo_ladder")
    ap.add_argument("--evals", default="tasks.csv")
    ap.add_argument("--meta", default="checkpoints.csv")
    ap.add_argument("--on", default="run,step")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    evals = Path(a.evals) if Path(a.evals).is_absolute() else a.data / a.evals
    meta = Path(a.meta) if Path(a.meta).is_absolute() else a.data / a.meta
    on = a.on.split(",")
    t_pd, t_sl = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out_pd, out_sl = Path(tmp) / "pandas.csv", Path(tmp) / "scalinglab.csv"
        scalinglab_merge(evals, meta, on, out_sl)  # warm imports (lazy in the CLI)
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            n = pandas_script(evals, meta, on, out_pd)
            t_pd.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            text = scalinglab_merge(evals, meta, on, out_sl)
            t_sl.append(time.perf_counter() - t0)
        n_sl = sum(1 for _ in out_sl.open()) - 1
    print(text.rstrip())
    print(f"{evals.name} ({on}) {meta.name}: pandas {n} rows, scalinglab {n_sl} rows")
    print(f"pandas script (read, merge, write):  {min(t_pd):.3f} s (best of {a.repeat})")
    print(f"scalinglab merge:                    {min(t_sl):.3f} s (best of {a.repeat})")
    print(f"ratio scalinglab / pandas:           {min(t_sl) / min(t_pd):.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main_()
