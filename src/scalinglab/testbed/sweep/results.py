"""How a sweep stands and what it produced: status summary, time left, the export of done
runs as rows in the scalinglab schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..registry import Registry
from .grid import finetune_seed


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
    """Done runs as rows in the scalinglab schema (config and metrics flattened); `keys`:
    only those runs (e.g. a spec's, when the registry also holds runs of earlier specs)."""
    import pandas as pd

    rows = []
    wanted = set(keys) if keys is not None else None
    for r in Registry(registry, create=False).rows():  # a mistyped path is an error
        if r["status"] != "done" or (wanted is not None and r["key"] not in wanted):
            continue
        c = r["config"]
        row = {
            "run_id": r["name"],
            "key": r["key"],
            "kind": r["kind"],
            "d_model": c["model"]["d_model"],
            "n_layers": c["model"]["n_layers"],
            "pretrain_data": c["pretrain_data"],
            "tokenizer": c.get("tokenizer", "byte"),
            "seed": finetune_seed(c),
            "pretrain_seed": c["seed"],
            "method": c.get("method", "none") if r["kind"] == "finetune" else "none",
        }
        if r["kind"] == "finetune":
            row.update(
                finetune_size=c["finetune_size"],
                lora_rank=c["lora_rank"] if c["method"] == "lora" else None,
                prompt_length=c["prompt_length"] if c["method"] == "prompt" else None,
            )
        row.update(r["metrics"] or {})
        if "n_params_nonembedding" in row and "tokens" in row:
            row["flops"] = 6.0 * row["n_params_nonembedding"] * row["tokens"]  # pretraining
        if row.get("unique_tokens"):  # repeated data bends L(N, D) (Muennighoff et al. 2023)
            row["epochs"] = row["tokens"] / row["unique_tokens"]
        rows.append(row)
    df = pd.DataFrame(rows)
    if path is not None:
        from ...io.tables import write_table

        write_table(df, path)
    return df
