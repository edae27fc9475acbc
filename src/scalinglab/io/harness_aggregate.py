"""Long harness rows -> one row per model x checkpoint: a metric chosen per task, shots per
task, losses from loss-like metrics, and accuracy / error / chance averaged over top-level tasks
or leaves, never a group together with its own sub-tasks. Every task left out is named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .harness_options import checked_chance, checked_shots
from .harness_tasks import (
    FILTER_PREFERENCE,
    LOSS_METRICS,
    LOSS_PREFERENCE,
    METRIC_PREFERENCE,
    chance_accuracy,
    chance_source,
)


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


def _top_level(
    chosen: Mapping[str, object], parent: Mapping[str, str]
) -> tuple[list[str], dict[str, list[str]]]:
    """The top-level tasks to average: every root of the group tree by its own value; a group
    the files give no value for (only an alias) is replaced by its sub-tasks, recursively,
    so neither it nor they vanish from the average. Returns the tasks and, per such group,
    the tasks that stand in for it."""
    children: dict[str, list[str]] = {}
    for t, p in parent.items():
        if p:
            children.setdefault(p, []).append(t)
    names = set(chosen) | set(children)
    roots = sorted(t for t in names if not parent.get(t, ""))
    avg: list[str] = []
    unvalued: dict[str, list[str]] = {}

    def take(t: str, seen: frozenset[str], top: str | None) -> None:
        if t in chosen:
            avg.append(t)
            if top is not None:
                unvalued.setdefault(top, []).append(t)
            return
        if t in seen:
            return
        for k in sorted(children.get(t, [])):
            take(k, seen | {t}, top if top is not None else t)

    for r in roots:
        take(r, frozenset(), None)
    order = {t: i for i, t in enumerate(chosen)}
    avg.sort(key=lambda t: order.get(t, len(order)))
    return avg, unvalued


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

    Parameters
    ----------
    long : DataFrame
        Long harness rows (model, task, metric, filter, value, ...), as `read_harness_file`
        gives them.
    metric : str or sequence of str, optional
        Metric(s) to prefer for every task that reports them (default: `acc_norm` > `acc` >
        `exact_match`; a key may name a filter, `exact_match,flexible-extract`; filter `none`
        > `strict-match` otherwise).
    task_metrics : mapping of str to str, optional
        TASK -> METRIC, exact (a loss-like metric there chooses the task's `ce_` source).
    tasks : sequence of str, optional
        The tasks averaged (default: every scored top-level task -- groups by their own
        value -- or, with level="leaves", every scored task that is not a group; never a
        group with its own sub-tasks).
    chance : mapping of str to float, optional
        Task -> chance accuracy, over the built-in table (`harness_tasks.CHANCE_ACCURACY`).
    correct_chance : bool, default False
        Average (acc - chance)/(1 - chance) instead of raw accuracy.
    min_above_chance : float, optional
        Keep only tasks whose best accuracy exceeds chance by this margin (Gadre et al.).
    level : {'top', 'leaves'}, default 'top'
        Average top-level tasks (a group by its own value) or the leaf tasks.
    shots : int or mapping of str to int, optional
        Keep only results at this shot count (an int, or TASK -> count), for files that
        evaluate one task at several counts.
    by : sequence of str, default ('model', 'revision', 'step')
        The columns a row is keyed by (those present and not blank).

    Returns
    -------
    DataFrame
        One row per checkpoint. attrs: `tasks` (averaged), `metrics` (task -> metric key),
        `left_out` (task -> why), `ce_units` (task -> (metric, unit)), `chance_used` (task
        -> (value, source)), `shots` (task -> sorted shot counts), and the long table's
        `harness_*` attrs.
    """
    if level not in ("top", "leaves"):
        raise DataError(f"level must be 'top' or 'leaves', not {level!r}")
    df = long.copy(deep=False)
    df.attrs = {}  # the long table's attrs would be deep-copied by every operation below
    for col in ("is_group", "parent"):
        if col not in df.columns:
            df = df.assign(**{col: False if col == "is_group" else ""})
    shots = checked_shots(shots, set(df["task"]))
    chance = checked_chance(chance)
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
    parent = dict(long.attrs.get("harness_group_parents") or {})  # groups without values too
    for t, p in df.groupby("task")["parent"].agg(lambda s: next((p for p in s if p), "")).items():
        if p:
            parent[str(t)] = str(p)
    is_group = df.groupby("task")["is_group"].any()
    unvalued: dict[str, list[str]] = {}
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
        avg, unvalued = _top_level(chosen, parent)
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
    for name in (
        "run",
        "n_params",
        "n_params_nonembedding",
        "tokens",
        "n_params_source",
        "n_params_nonembedding_source",
        "tokens_source",
        "step_source",
    ):
        if name in df.columns:
            cols[name] = g[name].first()
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
    out.attrs["unvalued_groups"] = unvalued
    return out
