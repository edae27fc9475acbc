"""Refit `sweep plan`'s CPU time constants on a finished sweep's measured runs.

    python scripts/calibrate_sweep_plan.py OUT_DIR/registry.sqlite

Each run's time is its registry `finished - started`: training, evaluation and checkpoint,
what a worker is busy with (a run's own `wall_time_s` metric counts the training loop only).
The constants are fitted by non-negative least squares in seconds, so the long runs that make
a sweep's total weigh most, with the same terms `testbed/sweep/estimate.py` uses:

- pretraining: tokens x (a + b x FLOPs per token) + cloze rows x (a + b x FLOPs per token);
- finetuning:  c + d x (steps x batch x pair tokens) x (a + b x FLOPs per token) + the cloze.

It prints the constants, the planned / measured ratio per kind and in all, and the total in
worker-minutes; paste the constants into estimate.py when they change.
"""

from __future__ import annotations

import json
import sqlite3
import sys

import numpy as np
from scipy.optimize import nnls

from scalinglab.testbed.model import GPTConfig
from scalinglab.testbed.sweep.estimate import CLOZE_TOKENS_PER_ITEM, _pair_tokens
from scalinglab.testbed.sweep.grid import _vocab_size, finetune_steps


def measured_runs(path: str) -> list[dict]:
    con = sqlite3.connect(path)
    rows = con.execute(
        "SELECT name, kind, config, started, finished FROM runs WHERE status = 'done'"
    ).fetchall()
    out = []
    for name, kind, config, started, finished in rows:
        c = json.loads(config)
        m = GPTConfig(
            vocab_size=_vocab_size(c.get("tokenizer", "byte")), context=c["context"], **c["model"]
        )
        cloze = c.get("cloze_items", 0) * CLOZE_TOKENS_PER_ITEM / 3
        if kind == "pretrain":
            work = c["tokens"] + cloze
        else:
            work = finetune_steps(c) * c["batch_size"] * _pair_tokens(c)
        out.append(
            dict(
                name=name,
                kind=kind,
                work=work,
                cloze=cloze,
                fpt=m.flops_per_token(),
                seconds=finished - started,
            )
        )
    return out


def fit(runs: list[dict]) -> dict[str, float]:
    """a, b from pretraining runs; then c, d from finetuning runs at that per-token cost."""
    pre = [r for r in runs if r["kind"] == "pretrain" and r["work"] > 0]
    A = np.array([[r["work"], r["work"] * r["fpt"]] for r in pre])
    y = np.array([r["seconds"] for r in pre])
    scale = A.max(axis=0)
    (a, b), _ = nnls(A / scale, y)
    a, b = a / scale[0], b / scale[1]
    ft = [r for r in runs if r["kind"] == "finetune"]
    per = np.array([a + b * r["fpt"] for r in ft])
    A = np.column_stack([np.ones(len(ft)), [r["work"] for r in ft] * per])
    y = np.array([r["seconds"] - r["cloze"] * p for r, p in zip(ft, per, strict=True)])
    (c, d), _ = nnls(A, y)
    return dict(PRE_S_PER_TOKEN=a, PRE_S_PER_FLOP=b, FT_FIXED_S=c, FT_WORK_FACTOR=d)


def main(path: str) -> None:
    runs = measured_runs(path)
    k = fit(runs)
    print({n: float(f"{v:.3g}") for n, v in k.items()})
    for kind in ("pretrain", "finetune"):
        g = [r for r in runs if r["kind"] == kind and r["seconds"] > 0]
        per = [k["PRE_S_PER_TOKEN"] + k["PRE_S_PER_FLOP"] * r["fpt"] for r in g]
        if kind == "pretrain":
            plan = [r["work"] * p for r, p in zip(g, per, strict=True)]
        else:
            plan = [
                k["FT_FIXED_S"] + k["FT_WORK_FACTOR"] * r["work"] * p + r["cloze"] * p
                for r, p in zip(g, per, strict=True)
            ]
        ratio = np.array(plan) / np.array([r["seconds"] for r in g])
        print(
            f"{kind}: {len(g)} runs, measured {sum(r['seconds'] for r in g) / 60:.1f} "
            f"worker-min, planned {sum(plan) / 60:.1f}; per run planned/measured "
            f"{ratio.min():.2f}-{ratio.max():.2f} (median {np.median(ratio):.2f})"
        )
    print(f"all: {sum(r['seconds'] for r in runs) / 60:.1f} worker-minutes measured")


if __name__ == "__main__":
    main(sys.argv[1])
