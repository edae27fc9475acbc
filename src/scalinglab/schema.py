"""Canonical column names, aliases, numbers with unit suffixes, derived columns.

Every loader ends here so that everything downstream sees one shape: canonical names
(`n_params`, `tokens`, `flops`, ...), float columns, and validation errors that name the
file, row and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import DataError, NonNumericValueError

VARIABLES: dict[str, str] = {
    "n_params": "model parameters N (count)",
    "n_params_nonembedding": "non-embedding parameters (count)",
    "tokens": "pretraining tokens D (count)",
    "flops": "training compute C = 6ND (FLOPs)",
    "tokens_per_param": "token multiplier M = D/N",
    "finetune_size": "finetuning data size D_f (examples or tokens)",
    "lora_rank": "LoRA rank r",
    "prompt_length": "soft-prompt length |P|",
    "step": "training step",
    "seed": "random seed",
    "x": "generic scaling variable (map it with --map x=COLUMN)",
}
CATEGORICAL: dict[str, str] = {
    "method": "finetuning method (fmt, lora, prompt)",
    "pretrain_data": "pretraining corpus / source",
    "task": "downstream task",
}
METRICS: dict[str, str] = {
    "loss": "cross-entropy loss (nats/token)",
    "downstream_ce": "downstream cross-entropy (nats/token)",
    "bleu": "BLEU (0-100)",
    "accuracy": "accuracy in [0, 1]",
    "error": "error = 1 - accuracy",
    "perplexity": "perplexity = exp(loss)",
    "effective_data": "effective data transferred D_T (tokens)",
    "y": "generic metric (map it with --metric COLUMN)",
}
KNOWN_VARIABLES = frozenset(VARIABLES) | frozenset(METRICS)

ALIASES: dict[str, str] = {
    "n": "n_params",
    "params": "n_params",
    "parameters": "n_params",
    "num_params": "n_params",
    "model_size": "n_params",
    "n_params_no_embed": "n_params_nonembedding",
    "non_embedding_params": "n_params_nonembedding",
    "d": "tokens",
    "num_tokens": "tokens",
    "n_tokens": "tokens",
    "train_tokens": "tokens",
    "c": "flops",
    "compute": "flops",
    "training_flops": "flops",
    "m": "tokens_per_param",
    "df": "finetune_size",
    "d_f": "finetune_size",
    "finetune_tokens": "finetune_size",
}

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtTpP]?)\s*$")


def parse_number(text: object) -> float:
    """'1.4B' -> 1.4e9, '900B', '20K', '3.5e9'. Raises ValueError on anything else ('1.4Q')."""
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        return float(text)
    m = _NUMBER.match(str(text))
    if not m:
        s = str(text).strip().lower()
        if s in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
            return float(s)
        raise ValueError(f"{text!r} is not a number (suffixes allowed: K, M, B, T)")
    return float(m.group(1)) * _SUFFIX.get(m.group(2).lower(), 1.0)


def numeric_column(
    series: pd.Series, column: str, *, file: str | None = None, line_offset: int | None = None
) -> pd.Series:
    """Convert a column to float64, accepting unit suffixes; name the first bad cell."""
    if pd.api.types.is_bool_dtype(series):
        raise NonNumericValueError(
            "boolean column where a number is needed", file=file, column=column
        )
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    direct = pd.to_numeric(series, errors="coerce")
    todo = direct.isna() & series.notna()
    if not todo.any():
        return direct.astype("float64")
    out = direct.astype("float64").copy()
    for idx in np.flatnonzero(todo.to_numpy()):
        raw = series.iloc[idx]
        if isinstance(raw, str) and raw.strip() == "":
            out.iloc[idx] = np.nan
            continue
        try:
            out.iloc[idx] = parse_number(raw)
        except ValueError as exc:
            raise NonNumericValueError(
                str(exc),
                file=file,
                row=idx + 1,
                column=column,
                line=None if line_offset is None else idx + line_offset,
            ) from None
    return out


def canonical_name(column: str) -> str:
    key = column.strip()
    low = key.lower()
    if low in VARIABLES or low in METRICS or low in CATEGORICAL:
        return low
    return ALIASES.get(low, key)


def canonicalise(df: pd.DataFrame, *, file: str | None = None) -> pd.DataFrame:
    """Rename aliases to canonical names; two columns landing on one name is an error."""
    mapping = {c: canonical_name(str(c)) for c in df.columns}
    seen: dict[str, str] = {}
    for orig, new in mapping.items():
        if new in seen:
            raise DataError(
                f"columns '{seen[new]}' and '{orig}' both mean '{new}'; keep one of them",
                file=file,
                column=str(orig),
            )
        seen[new] = str(orig)
    return df.rename(columns=mapping)


def add_derived(df: pd.DataFrame) -> pd.DataFrame:
    """Fill flops = 6ND, tokens_per_param = D/N, tokens = C/(6N) and error = 1 - accuracy."""
    cols = set(df.columns)
    num = {c for c in cols if pd.api.types.is_numeric_dtype(df[c])}
    if {"n_params", "tokens"} <= num and "flops" not in cols:
        df["flops"] = 6.0 * df["n_params"] * df["tokens"]
    if {"n_params", "flops"} <= num and "tokens" not in cols:
        df["tokens"] = df["flops"] / (6.0 * df["n_params"])
    if {"n_params", "tokens"} <= set(df.columns) and "tokens_per_param" not in cols:
        df["tokens_per_param"] = df["tokens"] / df["n_params"]
    if "accuracy" in num and "error" not in cols:
        df["error"] = 1.0 - df["accuracy"]
    if "perplexity" in num and "loss" not in cols:
        df["loss"] = np.log(df["perplexity"])
    return df


def describe_columns(mapping: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in mapping.items())
