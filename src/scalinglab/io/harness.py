"""lm-evaluation-harness results -> tidy rows, and one row per model x checkpoint.

Files are found by content, not name: under each folder given (searched recursively), a
`.json` file is a results file when it holds a `results` object of task -> metrics and a
`config`. Both eras are read: the v0.3-era layout (`acc`, `acc_stderr`, one
`config.num_fewshot` per file, MMLU as `hendrycksTest-<subject>`) and v0.4 (`acc,none`,
`n-shot` per task, `groups` / `group_subtasks`, `date`). Task names are kept as the files
give them.

`read_harness` gives long rows (one per model x checkpoint x task x metric x filter), with
`is_group` / `parent` from v0.4's `group_subtasks` (a group's value is the harness's own:
it sits beside its sub-tasks and is never recomputed from them). Duplicates: where two files
hold the same task at the same shot count for one model x checkpoint, the file with the
latest `date` (else the timestamp in a `results_<timestamp>.json` name) wins; undated files
lose to dated ones; among undated files the last in path order wins. Every duplicate is
named in `attrs["harness_duplicates"]`.

Model size and tokens come, in order of precedence, from `--set` values, a side table
(matched by the rules in `harness_names`), the model args (`n_params=`, `tokens=`), the
harness's own parameter count (`config.model_num_parameters`), the checkpoint step x
`tokens_per_step` (from `--set` or the side table), and, only when no side table is given,
the model name and revision (`1.1B`, `step-1431k`, `3T`, `tokens84B`; nominal). Where each
value came from is kept in `*_source` columns.

`aggregate_error` turns the long rows into one row per model x checkpoint: `score_<task>`
(the task's metric: `acc_norm` > `acc` > `exact_match` by default, filter `none` >
`strict-match`), `shots_<task>`, `ce_<task>` with `ce_<task>_unit` for loss-like metrics
(ln of a perplexity; bits per byte x ln 2), and `accuracy` / `error` / `chance` averaged
over the top-level tasks (groups by their own value, ungrouped tasks) or over the leaves,
never both a group and its own sub-tasks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, FileFormatError, MissingColumnError, NoResultsError
from ..schema import parse_number
from .harness_names import SideMatch, match_models, parse_name
from .harness_tasks import (
    CHANCE_SOURCE,
    FILTER_PREFERENCE,
    LOSS_METRICS,
    LOSS_PREFERENCE,
    METRIC_PREFERENCE,
    chance_accuracy,
    chance_source,
)

DUPLICATE_RULE = (
    "for one model x checkpoint x task x shot count, the file with the latest `date` (else "
    "the timestamp in a results_<timestamp>.json name) wins; undated files lose to dated "
    "ones; among undated files the last in path order wins"
)
_NAME_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2})[-:](\d{2})[-:](\d{2})(?:\.(\d+))?")
_TOKENS_PER_STEP = ("tokens_per_step", "batch_tokens")


class SideTableMismatchError(DataError):
    """A side table given for harness results matches none of their models."""


# -- finding files -----------------------------------------------------------------------


def _load(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The JSON object and '' when `path` is a results file, else (None, why not)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"not valid JSON ({getattr(exc, 'msg', exc)})"
    if not isinstance(obj, dict) or not isinstance(obj.get("results"), Mapping):
        return None, "no 'results' object"
    res = obj["results"]
    if not res or not all(isinstance(v, Mapping) for v in res.values()):
        return None, "'results' is not an object of task -> metrics"
    if not isinstance(obj.get("config"), Mapping):
        return None, "no 'config' object"
    return obj, ""


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Results files under each path, by content; and the .json files skipped, with why.

    A file given by name must be a results file (FileFormatError otherwise); folders are
    searched recursively and anything else in them is skipped (and counted).
    """
    files, skipped, _ = _discover(paths)
    return files, skipped


def _discover(
    paths: Iterable[str | Path],
) -> tuple[list[Path], list[tuple[Path, str]], dict[Path, dict[str, Any]]]:
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    objs: dict[Path, dict[str, Any]] = {}
    for p in map(Path, paths):
        if not p.exists():
            raise DataError("path not found", file=str(p))
        if p.is_file():
            obj, why = _load(p)
            if obj is None:
                raise FileFormatError(
                    f"not an lm-evaluation-harness results file ({why})", file=str(p)
                )
            files.append(p)
            objs[p] = obj
            continue
        found = []
        for f in sorted(p.rglob("*.json")):
            if not f.is_file():
                continue
            obj, why = _load(f)
            if obj is None:
                skipped.append((f, why))
            else:
                found.append(f)
                objs[f] = obj
        if not found:
            raise NoResultsError(
                "no lm-evaluation-harness results files in this folder or below (looked for "
                "*.json holding a 'results' object of task -> metrics and a 'config'; "
                f"{len(skipped)} other .json file(s))",
                file=str(p),
            )
        files.extend(found)
    return files, skipped, objs


def find_result_files(paths: Iterable[str | Path]) -> list[Path]:
    """Results files under each path, found by their content (see `discover`)."""
    return discover(paths)[0]


# -- one file ----------------------------------------------------------------------------


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


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _metric_rows(results: Mapping[str, Any]) -> list[tuple[str, str, str, float, float]]:
    """(task, metric, filter, value, stderr) for every numeric metric of every task."""
    rows = []
    for task, metrics in results.items():
        if not isinstance(metrics, Mapping):
            continue
        for key, value in metrics.items():
            if key == "alias" or "_stderr" in key or not _is_number(value):
                continue
            name, _, filt = key.partition(",")
            se_key = f"{name}_stderr,{filt}" if filt else f"{name}_stderr"
            se = metrics.get(se_key)
            rows.append(
                (task, name, filt or "none", float(value), float(se) if _is_number(se) else np.nan)
            )
    return rows


def _file_date(obj: Mapping[str, Any], p: Path) -> tuple[float, str]:
    """Unix time of the run and where it came from ('' when the file carries none)."""
    d = obj.get("date")
    if _is_number(d):
        return float(d), "date"
    m = _NAME_TIME.search(p.name)
    if m:
        y, mo, da, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        frac = float("0." + m.group(7)) if m.group(7) else 0.0
        t = datetime(y, mo, da, h, mi, s, tzinfo=UTC).timestamp() + frac
        return t, "file name"
    return math.nan, ""


def read_harness_file(path: str | Path, obj: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One results file -> long rows: model, task, metric, filter, value, stderr, ..."""
    cols, notes = _file_columns(path, obj)
    df = pd.DataFrame(cols)
    df.attrs["harness_notes"] = notes
    return df


def _file_columns(
    path: str | Path, obj: Mapping[str, Any] | None = None
) -> tuple[dict[str, list[Any]], list[str]]:
    p = Path(path)
    if obj is None:
        obj, why = _load(p)
        if obj is None:
            raise FileFormatError(f"not an lm-evaluation-harness results file ({why})", file=str(p))
    config = obj.get("config") or {}
    margs = parse_model_args(config.get("model_args"))
    model = (
        margs.get("pretrained")
        or obj.get("model_name")
        or margs.get("model")
        or str(config.get("model", p.parent.name))
    )
    rev = margs.get("revision", "")
    step, step_source = None, ""
    for text, where in ((rev, "revision"), (model, "model name"), (p.stem, "file name")):
        step = parse_name(text).step
        if step is not None:
            step_source = where
            break

    # v0.4 groups: a group's value is the harness's own; it sits in `results` and `groups`.
    subtasks = obj.get("group_subtasks") or {}
    groups_obj = obj.get("groups") or {}
    results = dict(obj["results"])
    for g, metrics in groups_obj.items():
        results.setdefault(g, metrics)
    group_names = set(groups_obj) | {g for g, subs in subtasks.items() if subs}
    parent: dict[str, str] = {}
    for g, subs in subtasks.items():
        for s in subs or []:
            parent.setdefault(str(s), str(g))

    rows = _metric_rows(results)
    if not rows:
        raise FileFormatError("the 'results' object holds no numeric metrics", file=str(p))
    tasks, metrics, filters, values, stderrs = (list(c) for c in zip(*rows, strict=True))

    nshot = obj.get("n-shot") or {}
    configs = obj.get("configs") or {}

    def shots(task: str) -> float:
        if task in nshot and _is_number(nshot[task]):
            return float(nshot[task])
        if isinstance(configs.get(task), Mapping) and "num_fewshot" in configs[task]:
            return float(configs[task]["num_fewshot"] or 0)
        v = config.get("num_fewshot")
        return float(v) if _is_number(v) else np.nan

    def leaves(g: str, seen: frozenset[str] = frozenset()) -> list[str]:
        out: list[str] = []
        for s in subtasks.get(g) or []:
            if s in seen:
                continue
            out.extend(leaves(s, seen | {g}) if s in group_names else [s])
        return out

    shot_of = {t: shots(t) for t in set(tasks)}
    notes = []
    for g in sorted(group_names):
        lv = {shots(t) for t in leaves(g)}
        if len(lv) == 1:
            (n,) = lv
            if g in shot_of and n != shot_of[g]:
                notes.append(
                    f"{g}: the file's n-shot for the group is {shot_of[g]:g}, its sub-tasks are "
                    f"{n:g}-shot: recorded {n:g}"
                )
            shot_of[g] = n
    sizes: dict[str, Any] = {}
    for key in ("n_params", "tokens"):
        val, src = np.nan, ""
        if key in margs:
            try:
                val, src = parse_number(margs[key]), "model_args"
            except ValueError:
                raise FileFormatError(
                    f"model_args {key}={margs[key]!r} is not a number", file=str(p)
                ) from None
        sizes[key], sizes[f"{key}_source"] = val, src
    counted = config.get("model_num_parameters")
    if "n_params" not in margs and _is_number(counted) and counted > 0:
        sizes["n_params"], sizes["n_params_source"] = float(counted), "harness model_num_parameters"
    date, date_source = _file_date(obj, p)
    k = len(tasks)
    cols: dict[str, list[Any]] = {
        "model": [model] * k,
        "task": tasks,
        "metric": metrics,
        "filter": filters,
        "value": values,
        "stderr": stderrs,
        "num_fewshot": [shot_of[t] for t in tasks],
        "is_group": [t in group_names for t in tasks],
        "parent": [parent.get(t, "") for t in tasks],
        "revision": [rev] * k,
        "step": [float(step) if step is not None else np.nan] * k,
        "step_source": [step_source] * k,
        "n_params": [sizes["n_params"]] * k,
        "n_params_source": [sizes["n_params_source"]] * k,
        "tokens": [sizes["tokens"]] * k,
        "tokens_source": [sizes["tokens_source"]] * k,
        "date": [date] * k,
        "date_source": [date_source] * k,
        "source_file": [str(p)] * k,
    }
    return cols, notes


# -- many files --------------------------------------------------------------------------


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


def _read_side(side: pd.DataFrame | str | Path, on: str) -> pd.DataFrame:
    if not isinstance(side, pd.DataFrame):
        from .tables import read_table

        side = read_table(side)
    if on not in side.columns:
        raise MissingColumnError(f"side table has no '{on}' column to join on", column=on)
    side = side.copy()
    side[on] = side[on].astype(str).str.strip()
    for alt in _TOKENS_PER_STEP[1:]:
        if alt in side.columns and "tokens_per_step" not in side.columns:
            side = side.rename(columns={alt: "tokens_per_step"})
    useful = [
        c
        for c in ("n_params", "n_params_nonembedding", "tokens", "tokens_per_step")
        if c in side.columns
    ]
    if not useful:
        raise MissingColumnError(
            "side table has none of n_params, n_params_nonembedding, tokens, tokens_per_step "
            f"(columns: {', '.join(map(str, side.columns))})",
            column="n_params",
        )
    side = side[[on, *useful]].drop_duplicates()
    clash = side[on][side[on].duplicated()].unique()
    if len(clash):
        raise DataError(
            f"side table gives different values for {', '.join(clash[:5])} (one row per model)",
            column=on,
        )
    return side.set_index(on)


def read_harness(
    paths: Sequence[str | Path] | str | Path,
    *,
    side_table: pd.DataFrame | str | Path | None = None,
    on: str = "model",
    set_values: Mapping[str, float] | None = None,
    tokens_per_step: float | None = None,
) -> pd.DataFrame:
    """Every metric of every task of every results file, as long tidy rows.

    attrs: `harness_files`, `harness_skipped` (.json files that are not results, with why),
    `harness_duplicates` (lines naming each duplicate and the file kept; rule:
    `DUPLICATE_RULE`), `harness_side_match` (a `SideMatch`, with a side table) and
    `harness_notes`.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, skipped, objs = _discover(paths)
    notes: dict[str, int] = {}
    columns: dict[str, list[Any]] = {}
    for f in files:
        cols, file_notes = _file_columns(f, objs.pop(f))
        for n in file_notes:
            notes[n] = notes.get(n, 0) + 1
        for c, v in cols.items():
            columns.setdefault(c, []).extend(v)
    df = pd.DataFrame(columns)
    df["is_group"] = df["is_group"].astype(bool)
    df, duplicates = _resolve_duplicates(df, files)
    df["n_params_nonembedding"] = np.nan
    df["n_params_nonembedding_source"] = ""
    tps_source = pd.Series("", index=df.index, dtype=object)
    per_row_tps = pd.Series(np.nan, index=df.index, dtype=float)

    match: SideMatch | None = None
    if side_table is not None:
        side = _read_side(side_table, on)
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
    for k, v in (set_values or {}).items():
        if k == "tokens_per_step":
            per_row_tps[:] = float(v)
            tps_source[:] = "--set"
            continue
        df[k] = float(v)
        df[f"{k}_source"] = "set"

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
    if zero.any():  # step 0: the random initialisation; scalinglab's tables need tokens > 0
        n_ck = df.loc[zero, ["model", "revision", "step"]].drop_duplicates().shape[0]
        notes[
            f"{n_ck} checkpoint(s) with 0 training tokens (step 0, the random initialisation): "
            "tokens left empty, since scalinglab's tables require tokens > 0 (scores kept)"
        ] = 1
        df.loc[zero, "tokens_source"] = "0 at step 0: left empty"
        df.loc[zero, "tokens"] = np.nan
    df.attrs["scalinglab_source"] = ", ".join(map(str, paths))
    df.attrs["harness_files"] = [str(f) for f in files]
    df.attrs["harness_skipped"] = [(str(f), why) for f, why in skipped]
    df.attrs["harness_duplicates"] = duplicates
    df.attrs["harness_side_match"] = match
    df.attrs["harness_notes"] = [f"{n} ({k} files)" if k > 1 else n for n, k in notes.items()]
    return df


# -- one row per model x checkpoint ------------------------------------------------------


def _split_metric(spec: str) -> tuple[str, str | None]:
    name, _, filt = str(spec).strip().partition(",")
    return name.strip(), (filt.strip() or None)


def _pick(avail: list[tuple[str, str]], name: str, filt: str | None) -> tuple[str, str] | None:
    cands = [(n, f) for n, f in avail if n == name and (filt is None or f == filt)]
    if not cands:
        return None
    pref = {f: i for i, f in enumerate(FILTER_PREFERENCE)}
    return min(cands, key=lambda nf: (pref.get(nf[1], len(pref)), nf[1]))


def _fmt(m: tuple[str, str]) -> str:
    return m[0] if m[1] == "none" else f"{m[0]},{m[1]}"


def aggregate_error(
    long: pd.DataFrame,
    *,
    metric: str | Sequence[str] | None = None,
    task_metrics: Mapping[str, str] | None = None,
    tasks: Sequence[str] | None = None,
    chance: Mapping[str, float] | None = None,
    correct_chance: bool = False,
    min_above_chance: float | None = None,
    level: str = "top",
    shots: int | Mapping[str, int] | None = None,
    by: Sequence[str] = ("model", "revision", "step"),
) -> pd.DataFrame:
    """One row per model x checkpoint: per-task scores, shots and losses, and `accuracy` /
    `error` averaged over tasks.

    metric: metric(s) to prefer for every task that reports them (default: `acc_norm` >
    `acc` > `exact_match`; a key may name a filter, `exact_match,flexible-extract`; filter
    `none` > `strict-match` otherwise). task_metrics: TASK -> METRIC, exact (a loss-like
    metric there chooses the task's `ce_` source). tasks: the tasks averaged (default: every
    scored top-level task -- groups by their own value -- or, with level="leaves", every
    scored task that is not a group; never a group with its own sub-tasks). chance: task ->
    chance accuracy, over the built-in table (`harness_tasks.CHANCE_ACCURACY`).
    correct_chance: average (acc - chance)/(1 - chance). min_above_chance: keep only tasks
    whose best accuracy exceeds chance by this margin (Gadre et al.). shots: keep only
    results at this shot count (an int, or TASK -> count), for files that evaluate one task
    at several counts.

    attrs: `tasks` (averaged), `metrics` (task -> metric key), `left_out` (task -> why),
    `ce_units` (task -> (metric, unit)), `chance_used` (task -> (value, source)),
    `shots` (task -> sorted shot counts), and the long table's `harness_*` attrs.
    """
    if level not in ("top", "leaves"):
        raise DataError(f"level must be 'top' or 'leaves', not {level!r}")
    df = long.copy(deep=False)
    df.attrs = {}  # the long table's attrs would be deep-copied by every operation below
    for col in ("is_group", "parent"):
        if col not in df.columns:
            df = df.assign(**{col: False if col == "is_group" else ""})
    if shots is not None:
        if isinstance(shots, Mapping):
            want = df["task"].map({t: float(v) for t, v in shots.items()})
            df = df[want.isna() | (df["num_fewshot"] == want)]
        else:
            df = df[df["num_fewshot"] == float(shots)]
        if df.empty:
            raise DataError(f"no results at the shot count(s) asked for ({shots})")
    keys = [k for k in by if k in df.columns and df[k].notna().any() and (df[k] != "").any()]
    if not keys:
        keys = ["model"]

    prefer = [metric] if isinstance(metric, str) else list(metric or [])
    prefer_specs = [_split_metric(m) for m in prefer] + [(m, None) for m in METRIC_PREFERENCE]
    task_metrics = dict(task_metrics or {})
    all_tasks = sorted(df["task"].unique())
    unknown = sorted(set(task_metrics) - set(all_tasks))
    if unknown:
        import difflib

        hints = [
            f"{t} (did you mean {', '.join(difflib.get_close_matches(t, all_tasks, n=2))}?)"
            if difflib.get_close_matches(t, all_tasks, n=2)
            else t
            for t in unknown
        ]
        raise DataError(f"--metric names tasks not in the results: {', '.join(hints)}")

    avail: dict[str, list[tuple[str, str]]] = {}
    trip = df[["task", "metric", "filter"]].drop_duplicates()
    for t, m, f in sorted(trip.itertuples(index=False)):
        avail.setdefault(t, []).append((m, f))
    chosen: dict[str, tuple[str, str]] = {}
    loss_of: dict[str, tuple[str, str]] = {}
    left_out: dict[str, str] = {}
    for task in all_tasks:
        av = avail[task]
        over = task_metrics.get(task)
        pick = None
        loss_pick = None
        if over is not None:
            name, filt = _split_metric(over)
            hit = _pick(av, name, filt)
            if hit is None:
                raise DataError(
                    f"--metric {task}={over}: {task} reports {', '.join(map(_fmt, av))}"
                )
            if name in LOSS_METRICS:
                loss_pick = hit
            else:
                pick = hit
        if pick is None:
            for name, filt in prefer_specs:
                pick = _pick(av, name, filt)
                if pick is not None:
                    break
        if loss_pick is None:
            for name in LOSS_PREFERENCE:
                loss_pick = _pick(av, name, None)
                if loss_pick is not None:
                    break
        if pick is not None:
            chosen[task] = pick
        if loss_pick is not None:
            loss_of[task] = loss_pick
        if pick is None and loss_pick is None:
            names = sorted({m for m, _ in av})
            left_out[task] = (
                f"reports none of {'/'.join(dict.fromkeys(n for n, _ in prefer_specs))} nor a "
                "loss-like metric "
                f"(has: {', '.join(names)})"
            )

    def values_of(pairs: Mapping[str, tuple[str, str]]) -> pd.DataFrame:
        want = df["task"].map({t: m for t, (m, _) in pairs.items()})
        want_f = df["task"].map({t: f for t, (_, f) in pairs.items()})
        return df[want.notna() & (df["metric"] == want) & (df["filter"] == want_f)]

    scored = values_of(chosen)
    # one shot count per task per checkpoint: the table has one row per model x checkpoint
    n_shot = scored.groupby([*keys, "task"], dropna=False)["num_fewshot"].nunique()
    if (n_shot > 1).any():
        bad = n_shot[n_shot > 1].reset_index()
        t = sorted(bad["task"].unique())
        counts = {
            task: sorted(scored.loc[scored["task"] == task, "num_fewshot"].dropna().unique())
            for task in t[:5]
        }
        raise DataError(
            "one row per model x checkpoint needs one shot count per task, but "
            + "; ".join(
                f"{task} was evaluated at {', '.join(f'{c:g}' for c in cs)} shots"
                for task, cs in counts.items()
            )
            + f" ({len(bad)} model x checkpoint x task cases): choose with --shots N or "
            "--shots TASK=N (or give the folders of one shot count)"
        )

    # what is averaged
    parent = df.groupby("task")["parent"].agg(lambda s: next((p for p in s if p), ""))
    is_group = df.groupby("task")["is_group"].any()
    if tasks is not None:
        tasks = list(tasks)
        missing = sorted(set(tasks) - set(chosen))
        if missing:
            raise DataError(
                "tasks not in the results with an accuracy-like metric: "
                + ", ".join(f"{t} ({left_out[t]})" if t in left_out else t for t in missing)
            )

        def ancestors(t: str) -> list[str]:
            out, seen = [], set()
            while parent.get(t, "") and t not in seen:
                seen.add(t)
                t = parent[t]
                out.append(t)
            return out

        both = [(t, a) for t in tasks for a in ancestors(t) if a in tasks]
        if both:
            raise DataError(
                "the task set holds a group and its own sub-task ("
                + ", ".join(f"{a} > {t}" for t, a in both[:5])
                + "): the group's value already covers it; average groups or leaves, not both"
            )
        avg = tasks
    elif level == "top":
        avg = [t for t in chosen if not parent.get(t, "")]
    else:
        avg = [t for t in chosen if not is_group.get(t, False)]

    chance_all: dict[str, tuple[float, str]] = {}
    for t in chosen:
        if chance is not None and t in chance:
            chance_all[t] = (float(chance[t]), "given")
        else:
            c = chance_accuracy(t)
            if c is not None:
                chance_all[t] = (c, f"built-in: {chance_source(t)}")
    if correct_chance or min_above_chance is not None:
        unknown = sorted(t for t in avg if t not in chance_all)
        if unknown:
            why = [
                f"{t} (built-in: {chance_source(t)})" if chance_source(t) else t for t in unknown
            ]
            raise DataError(
                "chance-level correction / selection needs a chance accuracy for every task; "
                f"none for {', '.join(why)}: give --chance TASK=ACC or --chance-table"
            )

    g = df.groupby(keys, dropna=False)
    base = g.size().index

    def wide(rows: pd.DataFrame, values: str) -> pd.DataFrame:
        if rows.empty:
            return pd.DataFrame(index=base)
        w = rows.pivot_table(
            index=keys, columns="task", values=values, aggfunc="first", dropna=False
        )
        return w.reindex(base)

    wide_score = wide(scored, "value").reindex(columns=sorted(chosen))
    wide_shots = wide(scored, "num_fewshot")
    if min_above_chance is not None:
        gap = wide_score[avg] - pd.Series({t: chance_all[t][0] for t in avg})
        best = gap.max()
        drop = [t for t in avg if not best[t] > min_above_chance]
        for t in drop:
            left_out[t] = (
                f"best accuracy {best[t] + chance_all[t][0]:.4g} is within {min_above_chance:g} "
                f"of chance {chance_all[t][0]:.4g} (--min-above-chance)"
            )
        avg = [t for t in avg if t not in drop]
        if not avg:
            raise DataError("no task is above chance by the margin asked for")
    acc = wide_score[avg]
    if correct_chance:
        ch = pd.Series({t: chance_all[t][0] for t in avg})
        acc = (acc - ch) / (1.0 - ch)
    present = acc.notna()
    ch_row = pd.Series(
        {t: chance_all[t][0] if t in chance_all else np.nan for t in avg}, dtype=float
    )
    chance_col = (present * ch_row).where(present).mean(axis=1)
    chance_col[(present & ch_row.isna()).any(axis=1)] = np.nan

    cols: dict[str, pd.Series] = {}
    for c in (
        "n_params",
        "n_params_nonembedding",
        "tokens",
        "n_params_source",
        "n_params_nonembedding_source",
        "tokens_source",
        "step_source",
    ):
        if c in df.columns:
            cols[c] = g[c].first()
    cols["accuracy"] = acc.mean(axis=1)
    cols["error"] = 1.0 - cols["accuracy"]
    cols["chance"] = chance_col
    cols["n_tasks"] = present.sum(axis=1)
    losses = values_of(loss_of)
    wide_loss = wide(losses, "value")
    wide_loss_shots = wide(losses, "num_fewshot")
    for t in sorted(set(chosen) | set(loss_of)):
        if t in chosen:
            cols[f"score_{t}"] = wide_score[t]
            cols[f"shots_{t}"] = wide_shots[t]
        if t in loss_of:
            fn, unit = LOSS_METRICS[loss_of[t][0]]
            ce = wide_loss[t].map(fn)
            cols[f"ce_{t}"] = ce
            cols[f"ce_{t}_unit"] = pd.Series(np.where(ce.notna(), unit, ""), index=base)
            if t not in chosen:
                cols[f"shots_{t}"] = wide_loss_shots[t]
    out = pd.concat(cols, axis=1).reindex(base).copy()
    out = out.reset_index()
    out.attrs = {
        k: v for k, v in long.attrs.items() if k.startswith("harness_") or k == "scalinglab_source"
    }
    out.attrs["tasks"] = sorted(avg)
    out.attrs["metrics"] = {t: _fmt(m) for t, m in chosen.items()}
    out.attrs["alternatives"] = {
        t: [_fmt(m) for m in avail[t] if m[0] == chosen[t][0] and m != chosen[t]] for t in chosen
    }
    out.attrs["ce_units"] = {t: (_fmt(m), LOSS_METRICS[m[0]][1]) for t, m in loss_of.items()}
    out.attrs["left_out"] = left_out
    out.attrs["chance_used"] = {t: chance_all.get(t) for t in avg}
    shot_sets = scored.dropna(subset=["num_fewshot"]).groupby("task")["num_fewshot"].unique()
    out.attrs["shots"] = {t: sorted(float(x) for x in shot_sets.get(t, [])) for t in chosen}
    out.attrs["level"] = "given" if tasks is not None else level
    out.attrs["parents"] = {t: parent.get(t, "") for t in chosen if parent.get(t, "")}
    return out


# -- the summary a user reads ------------------------------------------------------------


def _names(ts: Sequence[str], k: int = 12) -> str:
    """Task names, with families of 5 or more (hendrycksTest-*, mmlu_*) folded into one entry."""
    fam: dict[str, list[str]] = {}
    for t in ts:
        head = re.split(r"[-_]", t, maxsplit=1)[0]
        sep = t[len(head) : len(head) + 1]
        fam.setdefault(head + sep + "*" if sep else t, []).append(t)
    parts = []
    for key, members in fam.items():
        if len(members) >= 5:
            parts.append(f"{key} ({len(members)})")
        else:
            parts.extend(members)
    return ", ".join(parts[:k]) + (f", ... ({len(ts)} tasks in all)" if len(parts) > k else "")


def summary_lines(agg: pd.DataFrame) -> list[str]:
    """What was read, matched, chosen and left out: lines for the import summary."""
    a = agg.attrs
    lines = []
    files = a.get("harness_files", [])
    skipped = a.get("harness_skipped", [])
    n_models = agg["model"].nunique()
    lines.append(
        f"read {len(files)} results file(s)"
        + (f" ({len(skipped)} other .json file(s) skipped: not results files)" if skipped else "")
        + f": {n_models} model(s), {len(agg)} row(s) (one per model x checkpoint)"
    )
    match = a.get("harness_side_match")
    if match is not None:
        lines.extend(match.lines())
        lines.append(
            "  (no parameter or token counts are parsed from names when a side table is given)"
        )
    dups = a.get("harness_duplicates", [])
    if dups:
        lines.append(f"duplicate results ({len(dups)}); rule: {DUPLICATE_RULE}:")
        lines.extend(f"  {d}" for d in dups)
    by_metric: dict[str, list[str]] = {}
    for t, m in sorted(a.get("metrics", {}).items()):
        by_metric.setdefault(m, []).append(t)
    lines.append("metric per task (score_<task>, as the files hold it: a fraction):")
    for m, ts in by_metric.items():
        lines.append(f"  {m}: {_names(ts)}")
    for t, alts in sorted(a.get("alternatives", {}).items()):
        if alts:
            lines.append(
                f"  {t}: {a['metrics'][t]} chosen; also reported: {', '.join(alts)} "
                f"(--metric {t}=...)"
            )
    shots = a.get("shots", {})
    by_shots: dict[str, list[str]] = {}
    for t, s in sorted(shots.items()):
        by_shots.setdefault("/".join(f"{x:g}" for x in s) or "unknown", []).append(t)
    lines.append("shots per task (shots_<task>):")
    for s, ts in by_shots.items():
        lines.append(f"  {s}-shot: {_names(ts)}")
    for n in a.get("harness_notes", []):
        lines.append(f"  note: {n}")
    ce = a.get("ce_units", {})
    if ce:
        lines.append("losses (ce_<task>, unit in ce_<task>_unit):")
        for t, (m, unit) in sorted(ce.items()):
            how = f"{m} x ln 2" if m.startswith("bits_per_byte") else f"ln({m})"
            what = (
                " (mean negative log-likelihood of each example's continuation; LAMBADA: "
                "its target word)"
                if unit == "nats/target"
                else ""
            )
            lines.append(f"  ce_{t} = {how}, {unit}{what}")
    level = a.get("level")
    parents = a.get("parents", {})
    avg = a.get("tasks", [])
    groups = [t for t in avg if any(p == t for p in parents.values())]
    what = {
        "top": "top-level tasks (each group by the harness's own value, never re-averaged "
        "with its sub-tasks)",
        "leaves": "leaf tasks (no group values)",
        "given": "tasks given",
    }.get(level, "")
    lines.append(
        f"accuracy / error: mean over {len(avg)} {what}: {_names(avg)}"
        + (f"; groups: {', '.join(groups)}" if groups else "")
    )
    used = a.get("chance_used", {})
    no_chance = [t for t, c in used.items() if c is None]
    if no_chance:
        lines.append(
            f"chance: no single chance accuracy for {_names(no_chance)} "
            + "; ".join(f"({t}: {CHANCE_SOURCE[t]})" for t in no_chance if t in CHANCE_SOURCE)
            + ": the chance column is empty where they count (--chance TASK=ACC)"
        )
    if "n_tasks" in agg and len(agg) and (agg["n_tasks"] < len(avg)).any():
        short = agg[agg["n_tasks"] < len(avg)]
        who = ", ".join(
            f"{m} ({int(n)} of {len(avg)})"
            for m, n in short.groupby("model")["n_tasks"].min().items()
        )
        n_short = short["model"].nunique()
        lines.append(
            f"{len(short)} row(s) lack some averaged task(s), their accuracy is over the rest "
            f"(n_tasks): {who if n_short <= 5 else f'{n_short} models'}"
        )
    left = a.get("left_out", {})
    if left:
        by_reason: dict[str, list[str]] = {}
        for t, why in sorted(left.items()):
            by_reason.setdefault(why, []).append(t)
        lines.append(f"left out ({len(left)} task(s)):")
        for why, ts in by_reason.items():
            lines.append(f"  {_names(ts, 8)}: {why}")
    return lines
