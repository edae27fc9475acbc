"""The import summary a user reads: what was read, matched, chosen and left out."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from .harness_read import DUPLICATE_RULE
from .harness_tasks import CHANCE_SOURCE


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


def _dominant_family(avg: Sequence[str], parents: dict[str, str]) -> tuple[str, int] | None:
    """A family of ungrouped tasks (hendrycksTest-*, the v0.3-era MMLU) holding more than
    half of the averaged tasks, and its size; None when there is none."""
    fam: dict[str, int] = {}
    for t in avg:
        if parents.get(t):
            continue
        head = re.split(r"[-_]", t, maxsplit=1)[0]
        sep = t[len(head) : len(head) + 1]
        if sep:
            fam[head + sep + "*"] = fam.get(head + sep + "*", 0) + 1
    if not fam:
        return None
    name, k = max(fam.items(), key=lambda kv: kv[1])
    return (name, k) if k >= 5 and 2 * k > len(avg) else None


def summary_lines(agg: pd.DataFrame) -> list[str]:
    """What was read, matched, chosen and left out: lines for the import summary.

    Parameters
    ----------
    agg : DataFrame
        The aggregated table (`aggregate_error`'s), whose attrs hold what to report.

    Returns
    -------
    list of str
        One line per fact, in reading order.
    """
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
    for g, ts in sorted(a.get("unvalued_groups", {}).items()):
        lines.append(
            f"  note: group {g} has no value of its own in the files: its {len(ts)} "
            f"task(s) ({_names(ts, 8)}) are averaged in its place"
        )
    heavy = _dominant_family(avg, parents)
    if heavy:
        fam, k = heavy
        lines.append(
            f"  note: {fam} holds {k} of the {len(avg)} averaged tasks, each weighted as one "
            "task (the files give no group for them): accuracy / error are mostly that "
            "family; choose with --tasks, or use the score_<task> columns"
        )
    used = a.get("chance_used", {})
    by_chance: dict[tuple[float, str], list[str]] = {}
    for t, c in sorted(used.items()):
        if c is not None:
            by_chance.setdefault((float(c[0]), str(c[1])), []).append(t)
    if by_chance:  # the chance column is a mean of these: say each level and its source
        lines.append("chance accuracy per averaged task (the chance column is their mean):")
        for (value, src), ts in sorted(by_chance.items()):
            lines.append(f"  {value:.4g} ({src}): {_names(ts)}")
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
