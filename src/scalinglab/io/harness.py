"""lm-evaluation-harness results -> tidy rows, and aggregation to a downstream error.

Reads the v0.4 layout (`<output_path>/<model>/results_<timestamp>.json`, metric keys like
`acc,none` and `acc_stderr,none`, `config.model_args`, `n-shot`, `configs`) and the older flat
`results.json` (`acc`, `acc_stderr`, `config.num_fewshot`), one or many files or folders.

Model size and tokens come, in order of precedence, from `--set` values, a side table joined
on the model name, the model args (`n_params=`, `tokens=`), the harness's own parameter count
(`config.model_num_parameters`), and finally the checkpoint step (`revision=step<N>` x
`tokens_per_step`) and a size written in the model name (`-160m`, `-1.4b`, recorded as
nominal in `n_params_source`). Where each value came from is kept in `*_source` columns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, FileFormatError, MissingColumnError, NoResultsError
from ..schema import parse_number

_SIZE_IN_NAME = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)([mMbBkK])(?![A-Za-z0-9])")
_STEP = re.compile(r"step[_-]?(\d+)")


def find_result_files(paths: Iterable[str | Path]) -> list[Path]:
    """results_*.json / results.json under each path (files are taken as given)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise DataError("path not found", file=str(p))
        if p.is_file():
            files.append(p)
            continue
        found = sorted(
            f for f in p.rglob("*.json") if f.name == "results.json" or f.name.startswith("results")
        )
        if not found:
            raise NoResultsError(
                "no lm-evaluation-harness results files (results_*.json or results.json) in "
                "this folder or below",
                file=str(p),
            )
        files.extend(found)
    return files


def parse_model_args(args: Any) -> dict[str, str]:
    """'pretrained=EleutherAI/pythia-160m,revision=step1000' -> dict (a dict passes through)."""
    if isinstance(args, Mapping):
        return {str(k): str(v) for k, v in args.items()}
    out: dict[str, str] = {}
    for part in str(args or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _size_from_name(name: str) -> float | None:
    last = name.rstrip("/").split("/")[-1]
    m = _SIZE_IN_NAME.findall(last)
    if not m:
        return None
    num, unit = m[-1]
    return float(num) * {"k": 1e3, "m": 1e6, "b": 1e9}[unit.lower()]


def _metric_rows(results: Mapping[str, Any]) -> list[tuple[str, str, str, float, float]]:
    """(task, metric, filter, value, stderr) for every numeric metric of every task."""
    rows = []
    for task, metrics in results.items():
        if not isinstance(metrics, Mapping):
            continue
        for key, value in metrics.items():
            if key == "alias" or "_stderr" in key or not isinstance(value, (int, float)):
                continue
            if isinstance(value, bool):
                continue
            name, _, filt = key.partition(",")
            se_key = f"{name}_stderr,{filt}" if filt else f"{name}_stderr"
            se = metrics.get(se_key)
            se = float(se) if isinstance(se, (int, float)) and not isinstance(se, bool) else np.nan
            rows.append((task, name, filt or "none", float(value), se))
    return rows


def read_harness_file(path: str | Path) -> pd.DataFrame:
    """One results file -> long rows: model, task, metric, filter, value, stderr, ..."""
    p = Path(path)
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"not valid JSON ({exc.msg})", file=str(p), line=exc.lineno) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("results"), Mapping):
        raise FileFormatError(
            "not an lm-evaluation-harness results file (no 'results' object)", file=str(p)
        )
    config = obj.get("config") or {}
    margs = parse_model_args(config.get("model_args"))
    model = (
        margs.get("pretrained")
        or obj.get("model_name")
        or margs.get("model")
        or str(config.get("model", p.parent.name))
    )
    rev = margs.get("revision", "")
    step_m = _STEP.search(rev) or _STEP.search(p.stem)
    nshot = obj.get("n-shot") or {}
    configs = obj.get("configs") or {}
    rows = _metric_rows(obj["results"])
    if not rows:
        raise FileFormatError("the 'results' object holds no numeric metrics", file=str(p))
    df = pd.DataFrame(rows, columns=["task", "metric", "filter", "value", "stderr"])

    def shots(task: str) -> float:
        if task in nshot:
            return float(nshot[task])
        if isinstance(configs.get(task), Mapping) and "num_fewshot" in configs[task]:
            return float(configs[task]["num_fewshot"] or 0)
        v = config.get("num_fewshot")
        return float(v) if isinstance(v, (int, float)) else np.nan

    df["num_fewshot"] = [shots(t) for t in df["task"]]
    df.insert(0, "model", model)
    df["revision"] = rev
    df["step"] = float(step_m.group(1)) if step_m else np.nan
    for key in ("n_params", "tokens"):
        df[key] = parse_number(margs[key]) if key in margs else np.nan
        df[f"{key}_source"] = "model_args" if key in margs else ""
    counted = config.get("model_num_parameters")
    if "n_params" not in margs and isinstance(counted, (int, float)) and counted > 0:
        df["n_params"] = float(counted)
        df["n_params_source"] = "harness model_num_parameters"
    df["source_file"] = str(p)
    return df


def read_harness(
    paths: Sequence[str | Path] | str | Path,
    *,
    side_table: pd.DataFrame | str | Path | None = None,
    on: str = "model",
    set_values: Mapping[str, float] | None = None,
    tokens_per_step: float | None = None,
) -> pd.DataFrame:
    """Every metric of every task of every results file, as long tidy rows."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = find_result_files(paths)
    df = pd.concat([read_harness_file(f) for f in files], ignore_index=True)
    if side_table is not None:
        side = side_table
        if not isinstance(side, pd.DataFrame):
            from .tables import read_table

            side = read_table(side)
        if on not in side.columns:
            raise MissingColumnError(f"side table has no '{on}' column to join on", column=on)
        side = side.drop_duplicates(subset=[on]).set_index(on)
        key = df["model"].map(lambda m: m if m in side.index else m.rstrip("/").split("/")[-1])
        for col in ("n_params", "tokens", "n_params_nonembedding", "tokens_per_step"):
            if col in side.columns:
                vals = key.map(side[col])
                fill = vals.notna()  # an explicit side table outranks what the files say
                df.loc[fill, col] = vals[fill]
                if f"{col}_source" in df.columns:
                    df.loc[fill, f"{col}_source"] = "side_table"
    tps = tokens_per_step
    if set_values:
        for k, v in set_values.items():
            if k == "tokens_per_step":
                tps = float(v)
                continue
            df[k] = float(v)
            if f"{k}_source" in df.columns:
                df[f"{k}_source"] = "set"
    if "tokens_per_step" in df.columns:
        per_row = df["tokens_per_step"].astype(float)
    else:
        per_row = pd.Series(tps if tps else np.nan, index=df.index, dtype=float)
    from_step = df["tokens"].isna() & df["step"].notna() & per_row.notna()
    df.loc[from_step, "tokens"] = df.loc[from_step, "step"] * per_row[from_step]
    df.loc[from_step, "tokens_source"] = "step x tokens_per_step"
    nominal = df["n_params"].isna()
    if nominal.any():
        sizes = df.loc[nominal, "model"].map(_size_from_name)
        df.loc[nominal, "n_params"] = sizes
        df.loc[nominal & df["n_params"].notna(), "n_params_source"] = "model name (nominal)"
    df = df.drop(columns=[c for c in ("tokens_per_step",) if c in df.columns])
    df.attrs["scalinglab_source"] = ", ".join(map(str, paths))
    return df


def aggregate_error(
    long: pd.DataFrame,
    *,
    metric: str = "acc",
    tasks: Sequence[str] | None = None,
    chance: Mapping[str, float] | None = None,
    correct_chance: bool = False,
    min_above_chance: float | None = None,
    by: Sequence[str] = ("model", "step", "num_fewshot"),
) -> pd.DataFrame:
    """One row per model/checkpoint: `accuracy` and `error` averaged over tasks.

    tasks: the task set (default: every task that has `metric`). chance: task -> chance
    accuracy. correct_chance: average (acc - chance)/(1 - chance) instead of acc.
    min_above_chance: keep only tasks whose best accuracy exceeds chance by this margin
    (Gadre et al. average top-1 error over tasks where models are above chance).
    """
    df = long[long["metric"] == metric]
    if df.empty:
        raise DataError(
            f"no '{metric}' metric in the results (have: "
            f"{', '.join(sorted(long['metric'].unique()))})"
        )
    if tasks is not None:
        missing = sorted(set(tasks) - set(df["task"]))
        if missing:
            raise DataError(f"tasks not in the results for metric '{metric}': {missing}")
        df = df[df["task"].isin(tasks)]
    if (correct_chance or min_above_chance is not None) and chance is None:
        raise DataError("chance-level correction / selection needs chance accuracies per task")
    if chance is not None:
        unknown = sorted(set(df["task"]) - set(chance))
        if unknown:
            raise DataError(f"no chance accuracy given for tasks {unknown}")
        ch = df["task"].map(chance).astype(float)
        if min_above_chance is not None:
            best = df.assign(gap=df["value"] - ch).groupby("task")["gap"].max()
            keep = best[best > min_above_chance].index
            df, ch = df[df["task"].isin(keep)], ch[df["task"].isin(keep)]
        if correct_chance:
            df = df.assign(value=(df["value"] - ch) / (1.0 - ch))
    keys = [k for k in by if k in df.columns and df[k].notna().any()]
    carry = [
        c for c in ("n_params", "tokens", "n_params_source", "tokens_source") if c in df.columns
    ]
    g = df.groupby(keys, dropna=False)
    out = g["value"].mean().rename("accuracy").to_frame()
    out["n_tasks"] = g["task"].nunique()
    for c in carry:
        out[c] = g[c].first()
    out = out.reset_index()
    out["error"] = 1.0 - out["accuracy"]
    out.attrs["tasks"] = sorted(df["task"].unique())
    return out
