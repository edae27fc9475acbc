"""Canonical column names, aliases, numbers with unit suffixes, derived columns.

Every loader ends here so that everything downstream sees one shape: canonical names
(`n_params`, `tokens`, `flops`, ...), float columns, and validation errors that name the
file, row and column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import (
    DataError,
    DuplicateColumnError,
    MixedUnitsError,
    NonNumericValueError,
    NonPositiveValueError,
    OutOfRangeError,
)

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
    "n_params_total": "n_params",
    "total_params": "n_params",
    "model_params": "n_params",
    "n_params_no_embed": "n_params_nonembedding",
    "n_params_nonembed": "n_params_nonembedding",
    "non_embedding_params": "n_params_nonembedding",
    "nonembedding_params": "n_params_nonembedding",
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
    "finetune_examples": "finetune_size",
    "ft_size": "finetune_size",
    "flops_per_run": "flops",
    "total_flops": "flops",
    "acc": "accuracy",
    "err": "error",
    "ppl": "perplexity",
    "val_loss": "loss",
    "validation_loss": "loss",
    "eval_loss": "loss",
    "rank": "lora_rank",
    "lora_r": "lora_rank",
    "prompt_len": "prompt_length",
    "n_prompt_tokens": "prompt_length",
    "pretraining_data": "pretrain_data",
    "corpus": "pretrain_data",
    "finetune_method": "method",
}

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_SPECIAL = {
    "nan": np.nan,
    "inf": np.inf,
    "+inf": np.inf,
    "-inf": -np.inf,
    "infinity": np.inf,
    "-infinity": -np.inf,
}
_NUMBER_PART = r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtTpP]?)$"
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
    """Convert a column to float64, accepting unit suffixes; name the first bad cell.

    Parsing works on the distinct values (factorised), so a million-row column of a few
    model sizes costs a few parses. A column where some cells carry a unit suffix (900M) and
    others are bare numbers below 1,000 (1.4) is refused as mixed units: the bare cells
    almost surely lost their suffix.
    """
    if pd.api.types.is_bool_dtype(series):
        raise NonNumericValueError(
            "boolean column where a number is needed", file=file, column=column
        )
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = pd.Series(uniques, dtype="string").str.strip()
    direct = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    parts = text.str.extract(_NUMBER_PART)
    low = text.str.lower()
    special = low.isin(list(_SPECIAL)).to_numpy()
    empty = (text == "").to_numpy()
    bad = np.isnan(direct) & parts[0].isna().to_numpy() & ~special & ~empty
    if bad.any():
        pos = int(np.flatnonzero(np.isin(codes, np.flatnonzero(bad)))[0])
        raise NonNumericValueError(
            f"{series.iloc[pos]!r} is not a number (suffixes allowed: K, M, B, T)",
            file=file,
            row=pos + 1,
            column=column,
            line=None if line_offset is None else pos + line_offset,
        )
    suffix = parts[1].fillna("").str.lower()
    mult = suffix.map(_SUFFIX).fillna(1.0).to_numpy(dtype=float)
    vals = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float) * mult
    vals = np.where(np.isnan(direct), vals, direct)
    vals = np.where(special, low.map(_SPECIAL).to_numpy(dtype=float), vals)
    vals = np.where(empty, np.nan, vals)
    has_suffix = (suffix.str.len() > 0).to_numpy() & np.isnan(direct)
    bare_small = ~has_suffix & np.isfinite(vals) & (np.abs(vals) < 1e3)
    if has_suffix.any() and bare_small.any():
        pos = int(np.flatnonzero(np.isin(codes, np.flatnonzero(bare_small)))[0])
        example = uniques[int(np.flatnonzero(has_suffix)[0])]
        raise MixedUnitsError(
            f"mixed units: {series.iloc[pos]!r} has no unit suffix while other cells use one "
            f"(e.g. {example!r}); write every cell with its unit, or none",
            file=file,
            row=pos + 1,
            column=column,
            line=None if line_offset is None else pos + line_offset,
        )
    out = np.where(codes >= 0, vals[np.maximum(codes, 0)] if len(vals) else np.nan, np.nan)
    return pd.Series(out, index=series.index, name=series.name)


def looks_numeric(series: pd.Series, sample: int = 200) -> bool:
    """Cheap pre-check on a sample of distinct values before parsing a whole column."""
    vals = pd.Series(series.dropna().unique()[:sample]).astype(str).str.strip()
    if vals.empty:
        return False
    ok = pd.to_numeric(vals, errors="coerce").notna() | vals.str.match(_NUMBER_PART)
    return bool(ok.all())


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
            raise DuplicateColumnError(
                f"columns '{seen[new]}' and '{orig}' both mean '{new}'; keep one of them",
                file=file,
                column=str(orig),
            )
        seen[new] = str(orig)
    return df.rename(columns=mapping)


def add_derived(df: pd.DataFrame) -> pd.DataFrame:
    """Fill flops = 6ND, tokens_per_param = D/N, tokens = C/(6N), error = 1 - accuracy and
    perplexity <-> loss, where the column is missing and its inputs are there."""
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
    if "loss" in num and "perplexity" not in cols:
        df["perplexity"] = np.exp(df["loss"])
    return df


# Canonical numeric columns that must be > 0, and metrics with a bounded range.
POSITIVE = (
    "n_params",
    "n_params_nonembedding",
    "tokens",
    "flops",
    "tokens_per_param",
    "finetune_size",
    "lora_rank",
    "prompt_length",
    "loss",
    "downstream_ce",
    "perplexity",
    "effective_data",
)
RANGES = {"accuracy": (0.0, 1.0), "error": (0.0, 1.0), "bleu": (0.0, 100.0), "step": (0.0, np.inf)}


@dataclass(frozen=True)
class BadValues:
    """Rows of one column whose values break that column's rule (a finding, not an error):
    `inspect` and `merge` report these and carry on, commands that fit refuse them."""

    column: str
    count: int
    rows: tuple[int, ...]  # 1-based data rows (the table's own numbering), the first few
    values: tuple[float, ...]
    rule: str  # "must be > 0", "must be in [0, 1]"
    kind: type[DataError]

    def message(self) -> str:
        shown = ", ".join(
            f"row {r} ({_show(v)})" for r, v in zip(self.rows, self.values, strict=True)
        )
        more = f", ... ({self.count} rows)" if self.count > len(self.rows) else ""
        return f"'{self.column}' {self.rule}: {self.count} row(s) break it: {shown}{more}"

    def to_dict(self) -> dict[str, object]:
        return {
            "column": self.column,
            "count": self.count,
            "rows": list(self.rows),
            "values": list(self.values),
            "rule": self.rule,
            "error": self.kind.__name__,
        }


def _show(v: float) -> str:
    """A plain number for messages (never a numpy repr such as np.float64(0.0))."""
    return f"{float(v):g}"


def find_bad_values(
    df: pd.DataFrame,
    *,
    first: int = 5,
    columns: Iterable[str] | None = None,
    values: Mapping[str, np.ndarray] | None = None,
) -> list[BadValues]:
    """Every canonical column with values outside its rule (non-positive counts and losses,
    accuracy outside [0, 1], ...), with the count and the first rows. Row numbers follow the
    table's index (+1), so a table filtered after reading still names its file's rows.
    `columns`: check only these (the ones a command uses: an accuracy column in percent need
    not block a loss fit). `values`: columns already read as floats, in the table's row
    order (a fit's prepared arrays: each pandas lookup costs 10-150 us)."""
    out = []
    only = None if columns is None else set(columns)
    integer_index = pd.api.types.is_integer_dtype(df.index)
    rules: list[tuple[str, type[DataError], str, float, float, bool]] = [
        (c, NonPositiveValueError, "must be > 0", 0.0, np.inf, False) for c in POSITIVE
    ]
    rules += [
        (c, OutOfRangeError, f"must be in [{lo:g}, {hi:g}]", lo, hi, True)
        for c, (lo, hi) in RANGES.items()
    ]
    for col, kind, rule, lo, hi, closed in rules:
        if only is not None and col not in only:
            continue
        if values is not None and col in values:
            v = np.asarray(values[col], dtype=float)
        elif col not in df.columns:
            continue
        else:
            series = df[col]  # one lookup (~30 us each in pandas 3)
            if not pd.api.types.is_numeric_dtype(series):
                continue
            v = series.to_numpy(dtype=float)
        bad = ((v < lo) | (v > hi)) if closed else (v <= lo)
        if not bad.any():
            continue
        pos = np.flatnonzero(bad)[:first]
        rows = (df.index[pos].to_numpy() + 1) if integer_index else pos + 1
        out.append(
            BadValues(
                col,
                int(bad.sum()),
                tuple(int(r) for r in rows),
                tuple(float(x) for x in v[pos]),
                rule,
                kind,
            )
        )
    return out


_DEFERRED: ContextVar[bool] = ContextVar("scalinglab_validation_deferred", default=False)


@contextmanager
def validation_deferred() -> Iterator[None]:
    """Inside this block `validate` checks nothing, so a command can read a table, apply its
    --where and then check only the rows it uses (issue 15: filter first, then validate).
    The caller must check the selected rows itself (`find_bad_values` / `validate`)."""
    token = _DEFERRED.set(True)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # derived columns of bad rows
            yield
    finally:
        _DEFERRED.reset(token)


def validate(
    df: pd.DataFrame,
    *,
    file: str | None = None,
    line_offset: int | None = None,
    columns: Iterable[str] | None = None,
    values: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Range checks on canonical columns (all, or `columns`); missing values are allowed here
    (a fit that needs them refuses them, naming the row). The first column breaking its rule
    is a named error citing the first row, with the count of such rows."""
    if _DEFERRED.get():
        return
    found = find_bad_values(df, first=1, columns=columns, values=values)
    if not found:
        return
    b = found[0]
    row = b.rows[0]
    why = (
        f"is not positive; '{b.column}' {b.rule}"
        if b.kind is NonPositiveValueError
        else f"is outside {b.rule[len('must be in ') :]} for '{b.column}'"
    )
    raise b.kind(
        f"value {_show(b.values[0])} {why} ({b.count} such rows)",
        file=file,
        row=row,
        column=b.column,
        line=None if line_offset is None else row - 1 + line_offset,
    )


def resolve_column(df: pd.DataFrame, name: str) -> str | None:
    """The column of `df` a user means by `name`: itself, or its canonical form (so
    --metric val_loss finds a column the loader renamed to `loss`)."""
    if name in df.columns:
        return name
    canon = canonical_name(name)
    return canon if canon in df.columns else None
