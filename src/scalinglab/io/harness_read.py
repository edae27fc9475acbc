"""Every results file under the given paths -> long tidy rows, duplicates resolved by a
stated rule, sizes and tokens filled by precedence (see `harness` for the rules)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SideTableMismatchError
from ..schema import parse_number
from .harness_files import _discover
from .harness_names import SideMatch, match_models, parse_name
from .harness_parse import _file_columns
from .harness_side import read_side

DUPLICATE_RULE = (
    "for one model x checkpoint x task x shot count, the file with the latest `date` (else "
    "the timestamp in a results_<timestamp>.json name) wins; undated files lose to dated "
    "ones; among undated files the last in path order wins"
)

# A step or token count written into a model name marks a checkpoint of a run, not a run.
_CHECKPOINT_IN_NAME = re.compile(r"[-_.]?(?:intermediate[-_.]?)?step[-_.]?\d+(?:\.\d+)?[kKmM]?.*$")


def run_of(model: str, step_source: str) -> str:
    """The run a checkpoint belongs to: the model id without its revision; when the step was
    read from the model name itself, that name without its step/tokens part.

    Parameters
    ----------
    model : str
        The model id of a row.
    step_source : str
        Where the row's step was read from; ``"model name"`` strips the checkpoint part.

    Returns
    -------
    str
        The run id, shared by all checkpoints of one training run.
    """
    if step_source != "model name":
        return model
    return _CHECKPOINT_IN_NAME.sub("", model) or model


def _resolve_duplicates(df: pd.DataFrame, files: list[Path]) -> tuple[pd.DataFrame, list[str]]:
    key = ["model", "revision", "step", "task", "num_fewshot"]
    n_files = df.groupby(key, dropna=False)["source_file"].transform("nunique")
    if not (n_files > 1).any():
        return df, []
    order = {str(f): i for i, f in enumerate(files)}
    per_file = df.drop_duplicates("source_file").set_index("source_file")
    ranked = sorted(
        per_file.index,
        key=lambda f: (
            not math.isnan(per_file.at[f, "date"]),
            per_file.at[f, "date"] if not math.isnan(per_file.at[f, "date"]) else 0.0,
            order.get(f, -1),
        ),
    )
    rank = {f: i for i, f in enumerate(ranked)}
    r = df["source_file"].map(rank)
    best = r.groupby([df[k] for k in key], dropna=False).transform("max")
    dup = df[n_files > 1]
    lines = []
    for (model, rev, step), g in dup.groupby(["model", "revision", "step"], dropna=False):
        by_files = g.groupby("task")["source_file"].agg(lambda s: tuple(sorted(set(s))))
        for fs, tasks in by_files.groupby(by_files):
            kept = max(fs, key=rank.__getitem__)

            def when(f: str) -> str:
                d = per_file.at[f, "date"]
                if math.isnan(d):
                    return "no date"
                ts = datetime.fromtimestamp(d, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                return f"{per_file.at[f, 'date_source']} {ts}"

            ck = rev or (f"step {step:g}" if not pd.isna(step) else "")
            t = sorted(tasks.index)
            lines.append(
                f"{model}{' @ ' + ck if ck else ''}: {len(fs)} files hold the same "
                f"{len(t)} task(s) ({', '.join(t[:6])}{', ...' if len(t) > 6 else ''}): kept "
                f"{kept} ({when(kept)}) over "
                + ", ".join(f"{f} ({when(f)})" for f in fs if f != kept)
            )
    return df[r == best].reset_index(drop=True), lines


def read_harness(
    paths: Sequence[str | Path] | str | Path,
    *,
    side_table: pd.DataFrame | str | Path | None = None,
    on: str = "model",
    set_values: Mapping[str, float] | None = None,
    tokens_per_step: float | None = None,
) -> pd.DataFrame:
    """Every metric of every task of every lm-evaluation-harness results file, as long rows.

    Files are recognised by content (v0.3-era and v0.4 layouts), folders searched
    recursively. `run` names the training run a checkpoint belongs to (the model id without
    its revision; see `run_of`).

    Parameters
    ----------
    paths : str, path or sequence of them
        Result files or folders.
    side_table : DataFrame, str or path, optional
        A table (or path) of model sizes and tokens, joined on `on`; with one, sizes
        never come from parsing names, and a table that matches nothing is an error.
    on : str, default 'model'
        The side table's key column (the model id as the files name it).
    set_values : mapping of str to float, optional
        Constant columns to set on every row (e.g. ``{"tokens": 3e11}``).
    tokens_per_step : float, optional
        Tokens per optimizer step, to turn a checkpoint step into tokens.

    Returns
    -------
    pandas.DataFrame
        One row per model x checkpoint x task x metric. ``attrs``: `harness_files`,
        `harness_skipped` (.json files that are not results, with why),
        `harness_duplicates` (each duplicate and the file kept; rule: `DUPLICATE_RULE`),
        `harness_side_match` (a `SideMatch`, with a side table) and `harness_notes`.

    Examples
    --------
    >>> import scalinglab as sl
    >>> rows = sl.read_harness("results/", side_table="sizes.csv")  # doctest: +SKIP
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, skipped, objs = _discover(paths)
    notes: dict[str, int] = {}
    group_parents: dict[str, str] = {}
    columns: dict[str, list[Any]] = {}
    for f in files:
        cols, file_notes, file_parents = _file_columns(f, objs.pop(f))
        for child, group in file_parents.items():
            group_parents.setdefault(child, group)
        for n in file_notes:
            notes[n] = notes.get(n, 0) + 1
        for c, v in cols.items():
            columns.setdefault(c, []).extend(v)
    df = pd.DataFrame(columns)
    df["is_group"] = df["is_group"].astype(bool)
    df, duplicates = _resolve_duplicates(df, files)
    pairs = df[["model", "step_source"]].drop_duplicates()
    runs = {(m, s): run_of(m, s) for m, s in pairs.itertuples(index=False)}
    df["run"] = [runs[k] for k in zip(df["model"], df["step_source"], strict=True)]
    df["n_params_nonembedding"] = np.nan
    df["n_params_nonembedding_source"] = ""
    tps_source = pd.Series("", index=df.index, dtype=object)
    per_row_tps = pd.Series(np.nan, index=df.index, dtype=float)

    match: SideMatch | None = None
    if side_table is not None:
        side = read_side(side_table, on)
        match = match_models(df["model"].unique(), side.index)
        if not match.matched:
            raise SideTableMismatchError(
                "the side table matches none of the models in the results; "
                + "; ".join(match.lines()[1:])
                + f" (side table names: {', '.join(list(side.index)[:8])}"
                + (", ..." if len(side) > 8 else "")
                + ")",
                file=None if isinstance(side_table, pd.DataFrame) else str(side_table),
            )
        key = df["model"].map({m: name for m, (name, _) in match.matched.items()})
        for col in ("n_params", "n_params_nonembedding", "tokens"):
            if col in side.columns:
                vals = key.map(side[col]).astype(float)
                fill = vals.notna()  # an explicit side table outranks what the files say
                df.loc[fill, col] = vals[fill]
                df.loc[fill, f"{col}_source"] = "side_table"
        if "tokens_per_step" in side.columns:
            vals = key.map(side["tokens_per_step"]).astype(float)
            per_row_tps[vals.notna()] = vals[vals.notna()]
            tps_source[vals.notna()] = "side table"

    if tokens_per_step:
        per_row_tps[:] = float(tokens_per_step)
        tps_source[:] = "argument"
    for col, raw in (set_values or {}).items():
        try:
            value = parse_number(raw)
        except (TypeError, ValueError) as exc:
            raise DataError(f"set_values {col}={raw!r}: {exc}") from None
        if col == "tokens_per_step":
            per_row_tps[:] = float(value)
            tps_source[:] = "--set"
            continue
        df[col] = float(value)
        df[f"{col}_source"] = "set"

    from_step = df["tokens"].isna() & df["step"].notna() & per_row_tps.notna()
    df.loc[from_step, "tokens"] = df.loc[from_step, "step"] * per_row_tps[from_step]
    df.loc[from_step, "tokens_source"] = "step x tokens_per_step (" + tps_source[from_step] + ")"

    if match is None:  # no side table: what the model name and revision say (nominal)
        ids = df[["model", "revision"]].drop_duplicates()
        name_n: dict[tuple[str, str], float] = {}
        name_t: dict[tuple[str, str], tuple[float, str]] = {}
        for m, rev in ids.itertuples(index=False):
            by_model, by_rev = parse_name(m), parse_name(rev)
            for n in by_model.notes:
                notes[n] = notes.get(n, 0) + 1
            if by_model.n_params is not None:
                name_n[(m, rev)] = by_model.n_params
            for info, where in ((by_rev, "revision"), (by_model, "model name")):
                if info.tokens is not None:
                    name_t[(m, rev)] = (info.tokens, f"{where} (nominal)")
                    break
        ident = pd.Series(list(zip(df["model"], df["revision"], strict=True)), index=df.index)
        vals = ident.map(name_n)
        need = df["n_params"].isna() & vals.notna()
        df.loc[need, "n_params"] = vals[need].astype(float)
        df.loc[need, "n_params_source"] = "model name (nominal)"
        tok = ident.map(name_t)
        need = df["tokens"].isna() & tok.notna()
        df.loc[need, "tokens"] = tok[need].map(lambda x: x[0]).astype(float)
        df.loc[need, "tokens_source"] = tok[need].map(lambda x: x[1])
    zero = df["tokens"].notna() & (df["tokens"] <= 0)
    if zero.any():  # step 0, the random initialisation: 0 tokens is the truth, so written
        n_ck = df.loc[zero, ["model", "revision", "step"]].drop_duplicates().shape[0]
        notes[
            f"{n_ck} checkpoint(s) with 0 training tokens (step 0, the random initialisation): "
            "tokens = 0 written as it is; a law of tokens cannot use them, so leave them out "
            "with --where 'tokens > 0' (inspect, fit, audit, forecast and merge filter before "
            "they check)"
        ] = 1
    df.attrs["scalinglab_source"] = ", ".join(map(str, paths))
    df.attrs["harness_files"] = [str(f) for f in files]
    df.attrs["harness_skipped"] = [(str(f), why) for f, why in skipped]
    df.attrs["harness_duplicates"] = duplicates
    df.attrs["harness_side_match"] = match
    df.attrs["harness_group_parents"] = group_parents
    df.attrs["harness_notes"] = [f"{n} ({k} files)" if k > 1 else n for n, k in notes.items()]
    return df
