"""One exported row per testbed run, the same from every runner (issue 16: the old sequential
loop and the sweep wrote different columns, `dev_ce` in one only; now there is one runner).

A row is the run's identity and settings (from its config) plus its metrics, with the derived
columns scaling-law fits read: `flops` = 6 N D of the pretraining (N non-embedding),
`epochs` = tokens / unique tokens (repeated data bends L(N, D), Muennighoff et al. 2023) and
`tokens_per_param` = D / N (Gadre et al.'s over-training ratio M). `frame` orders the columns
as `COLUMNS` says and keeps any other metric after them (nothing is dropped), so the two
runners, which measure the same things, write the same table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = (
    "run_id",
    "key",
    "kind",
    "d_model",
    "n_layers",
    "pretrain_data",
    "tokenizer",
    "seed",
    "pretrain_seed",
    "method",
    "finetune_size",
    "lora_rank",
    "prompt_length",
    "downstream_ce",
    "bleu",
    "chrf",
    "chrf_lo",
    "chrf_hi",
    "n_test",
    "dev_ce",
    "trainable_params",
    "ft_steps",
    "best_step",
    "wall_time_s",
    "n_params",
    "n_params_nonembedding",
    "tokens",
    "unique_tokens",
    "pretrain_loss",
    "device",
    "flops",
    "epochs",
    "tokens_per_param",
    "loss",
    "accuracy",
    "accuracy_se",
    "pretrain_accuracy",
    "zeroshot_accuracy",
    "zeroshot_accuracy_se",
    "tokens_per_s",
)


def run_row(
    name: str, key: str, kind: str, config: Mapping[str, Any], metrics: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The exported row of one run: `config` as the sweep writes it (model, pretrain_data,
    seed, ft_seed, method, ...), `metrics` as the run measured them."""
    c = config
    finetune = kind == "finetune"
    row: dict[str, Any] = {
        "run_id": name,
        "key": key,
        "kind": kind,
        "d_model": c["model"]["d_model"],
        "n_layers": c["model"]["n_layers"],
        "pretrain_data": c["pretrain_data"],
        "tokenizer": c.get("tokenizer", "byte"),
        "seed": c.get("ft_seed", c["seed"]) if finetune else c["seed"],
        "pretrain_seed": c["seed"],
        "method": c.get("method", "none") if finetune else "none",
    }
    if finetune:
        row.update(
            finetune_size=c["finetune_size"],
            lora_rank=c["lora_rank"] if c["method"] == "lora" else None,
            prompt_length=c["prompt_length"] if c["method"] == "prompt" else None,
        )
    row.update(metrics or {})
    if "n_params_nonembedding" in row and "tokens" in row:
        row["flops"] = 6.0 * row["n_params_nonembedding"] * row["tokens"]  # pretraining
        if row["n_params_nonembedding"]:
            row["tokens_per_param"] = row["tokens"] / row["n_params_nonembedding"]
    if row.get("unique_tokens"):
        row["epochs"] = row["tokens"] / row["unique_tokens"]
    return row


def frame(rows: Iterable[Mapping[str, Any]]) -> Any:
    """Rows as a DataFrame, the `COLUMNS` they have first and in that order, then any other
    column (no column is made up: a pretraining-only table has no `downstream_ce`)."""
    import pandas as pd

    df = pd.DataFrame(list(rows))
    known = [c for c in COLUMNS if c in df.columns]
    return df[[*known, *(c for c in df.columns if c not in COLUMNS)]]
