"""How a sweep stands and what it produced: status summary, time left, the export of done
runs as rows in the scalinglab schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..registry import Registry
from .spec import SweepError


def artifact_path(reg: Registry, artifact: str | None) -> str | None:
    """An artifact path as stored, made absolute. Sweeps store absolute paths; registries
    from earlier releases stored them relative to the sweep's working directory, which was
    usually the registry's folder: such a path is taken from the working directory if it
    exists there, else from the registry's folder."""
    if not artifact or os.path.isabs(artifact) or "://" in reg.path:
        return artifact
    here = Path(artifact).resolve()
    if here.exists():
        return str(here)
    beside = Path(reg.path).resolve().parent / artifact
    return str(beside if beside.exists() else here)


def summary(reg: Registry, keys: list[str] | None = None) -> dict[str, Any]:
    """How a sweep ended: counts per status of `keys` (all runs when None), whether every
    one is done, and the failed runs with their attempts and the last line of their error."""
    wanted = set(keys) if keys is not None else None
    rows = [r for r in reg.rows() if wanted is None or r["key"] in wanted]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    failed = [
        {
            "name": r["name"],
            "attempts": r["attempts"],
            "error": ((r["error"] or "").strip().splitlines() or [""])[-1],
        }
        for r in rows
        if r["status"] == "failed"
    ]
    return {
        "total": len(rows),
        "counts": counts,
        "all_done": counts.get("done", 0) == len(rows),
        "failed": failed,
    }


def eta(reg: Registry, keys: list[str] | None = None, workers: int = 1) -> dict[str, Any]:
    """Counts and an estimate of the time left: mean wall time of done runs of each kind
    times the runs of that kind still to do, divided by the workers."""
    rows = [r for r in reg.rows() if keys is None or r["key"] in set(keys)]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    left = 0.0
    for kind in ("pretrain", "finetune"):
        done = [
            r["finished"] - r["started"]
            for r in rows
            if r["kind"] == kind and r["status"] == "done" and r["finished"] and r["started"]
        ]
        todo = sum(1 for r in rows if r["kind"] == kind and r["status"] != "done")
        if todo and done:
            left += todo * float(sum(done) / len(done))
    return {"total": len(rows), "counts": counts, "eta_s": left / workers if left else None}


def export(registry: str | Path, path: str | Path | None = None, keys: list[str] | None = None):
    """Done runs as rows in the scalinglab schema (`testbed.rows`: the one row builder of
    every runner); `keys`: only those runs (e.g. a spec's, when the registry also holds runs
    of earlier specs)."""
    from ..rows import frame, run_row

    rows = []
    wanted = set(keys) if keys is not None else None
    for r in Registry(registry, create=False).rows():  # a mistyped path is an error
        if r["status"] != "done" or (wanted is not None and r["key"] not in wanted):
            continue
        rows.append(run_row(r["name"], r["key"], r["kind"], r["config"], r["metrics"]))
    df = frame(rows)
    if path is not None:
        from ...io.tables import write_table

        write_table(df, path)
    return df


def compare_runs(
    registry: str | Path, run_a: str, run_b: str, metric: str = "chrf", n_boot: int = 1000
) -> dict[str, Any]:
    """Paired bootstrap of two finetuning runs' scores (b - a, with its 95% interval) on the
    test verses both translated (their saved translations): the interval a claim like "chrF
    rises 7.5 points from 0.25M to 4M pretraining tokens" needs, narrower than the two runs'
    own intervals because the verses' spread is shared."""
    import json

    from ..evaluate import paired_bootstrap

    reg = Registry(registry, create=False)
    rows = {r["name"]: r for r in reg.rows() if r["name"] in (run_a, run_b)}
    outs = []
    for name in (run_a, run_b):
        row = rows.get(name)
        path = artifact_path(reg, row["artifact"]) if row else None
        if not row or row["kind"] != "finetune" or not path or not Path(path).exists():
            raise SweepError(f"run '{name}' has no saved translations in {registry}")
        outs.append(json.loads(Path(path).read_text(encoding="utf-8")))
    a, b = outs
    if [r["reference"] for r in a] != [r["reference"] for r in b]:
        raise SweepError(f"runs '{run_a}' and '{run_b}' were tested on different verses")
    res = paired_bootstrap(
        [r["hypothesis"] for r in a],
        [r["hypothesis"] for r in b],
        [r["reference"] for r in a],
        metric,
        n_boot=n_boot,
    )
    return {"run_a": run_a, "run_b": run_b, "metric": metric, **res}
