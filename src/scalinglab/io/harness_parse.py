"""One lm-evaluation-harness results file -> long rows (task x metric x filter), for both
eras: v0.3 (`acc`, one `config.num_fewshot`) and v0.4 (`acc,none`, per-task `n-shot`, `groups`
/ `group_subtasks`, whose values are the harness's own and are kept, never recomputed)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

from ..errors import FileFormatError
from ..schema import parse_number
from .harness_files import _load
from .harness_names import parse_name

_NAME_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2})[-:](\d{2})[-:](\d{2})(?:\.(\d+))?")


def parse_model_args(args: Any) -> dict[str, str]:
    """'pretrained=EleutherAI/pythia-160m,revision=step1000' -> dict (a dict passes through).

    Parameters
    ----------
    args : str, mapping or None
        The results file's ``model_args``.

    Returns
    -------
    dict of str to str
        Key -> value, both as text; empty for None or a string without ``key=value``.
    """
    if isinstance(args, Mapping):
        return {str(k): str(v) for k, v in args.items()}
    out: dict[str, str] = {}
    for part in str(args or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _is_number(v: Any) -> TypeGuard[int | float]:
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
    """One results file -> long rows: model, task, metric, filter, value, stderr, ...

    Parameters
    ----------
    path : str or path
        The results file (named in the rows and in errors).
    obj : mapping, optional
        Its parsed JSON, when already loaded (otherwise the file is read).

    Returns
    -------
    DataFrame
        One row per task x metric; attrs ``harness_notes`` (what to tell the user) and
        ``harness_group_parents`` (sub-task -> group).
    """
    cols, notes, parents = _file_columns(path, obj)
    df = pd.DataFrame(cols)
    df.attrs["harness_notes"] = notes
    df.attrs["harness_group_parents"] = parents
    return df


def _file_columns(
    path: str | Path, obj: Mapping[str, Any] | None = None
) -> tuple[dict[str, list[Any]], list[str], dict[str, str]]:
    """Columns of the long rows, notes, and sub-task -> group for every group of the file
    (`group_subtasks`), including groups that report no value of their own."""
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
    return cols, notes, parent
