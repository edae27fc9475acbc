"""How a sweep stands and what it produced: status summary, time left, the export of done
runs as rows in the scalinglab schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..registry import Registry
from .spec import SweepError


def artifact_path(reg: Registry, artifact: str | None) -> str | None:
    """An artifact path as stored, made absolute. Sweeps store absolute paths; registries
    from earlier releases stored them relative to the sweep's working directory, which was
    usually the registry's folder: such a path is taken from the working directory if it
    exists there, else from the registry's folder.

    Parameters
    ----------
    reg : Registry
        The registry that stored the path.
    artifact : str or None
        The stored path.

    Returns
    -------
    str or None
        The absolute path; None or an empty path, an absolute one, or any path of a
        PostgreSQL registry is returned as it is.
    """
    if not artifact or os.path.isabs(artifact) or "://" in reg.path:
        return artifact
    here = Path(artifact).resolve()
    if here.exists():
        return str(here)
    beside = Path(reg.path).resolve().parent / artifact
    return str(beside if beside.exists() else here)


def summary(reg: Registry, keys: list[str] | None = None) -> dict[str, Any]:
    """How a sweep ended: counts per status of `keys` (all runs when None), whether every
    one is done, and the failed runs with their attempts and the last line of their error.

    Parameters
    ----------
    reg : Registry
        The sweep's registry.
    keys : list of str or None
        The runs to count; None: every run in the registry.

    Returns
    -------
    dict
        ``total``, ``counts`` (status -> runs), ``all_done`` and ``failed`` (a list of
        ``{"name", "attempts", "error"}``).
    """
    wanted = set(keys) if keys is not None else None
    rows = [r for r in reg.rows() if wanted is None or r["key"] in wanted]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    failed = [
        {
            "name": r["name"],
            "attempts": r["attempts"],
            "error": ((r["error"] or "").strip().splitlines() or [""])[-1],
        }
        for r in rows
        if r["status"] == "failed"
    ]
    return {
        "total": len(rows),
        "counts": counts,
        "all_done": counts.get("done", 0) == len(rows),
        "failed": failed,
    }


def eta(reg: Registry, keys: list[str] | None = None, workers: int = 1) -> dict[str, Any]:
    """Counts and an estimate of the time left: mean wall time of done runs of each kind
    times the runs of that kind still to do, divided by the workers.

    Parameters
    ----------
    reg : Registry
        The sweep's registry.
    keys : list of str or None
        The runs to count; None: every run in the registry.
    workers : int
        Workers sharing the runs left.

    Returns
    -------
    dict
        ``total``, ``counts`` (status -> runs) and ``eta_s``: seconds left, None when
        nothing is left or no run of a kind still to do has finished yet.
    """
    rows = [r for r in reg.rows() if keys is None or r["key"] in set(keys)]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    left = 0.0
    for kind in ("pretrain", "finetune"):
        done = [
            r["finished"] - r["started"]
            for r in rows
            if r["kind"] == kind and r["status"] == "done" and r["finished"] and r["started"]
        ]
        todo = sum(1 for r in rows if r["kind"] == kind and r["status"] != "done")
        if todo and done:
            left += todo * float(sum(done) / len(done))
    return {"total": len(rows), "counts": counts, "eta_s": left / workers if left else None}


def export(registry: str | Path, path: str | Path | None = None, keys: list[str] | None = None):
    """Done runs as rows in the scalinglab schema (`testbed.rows`: the one row builder of
    every runner); `keys`: only those runs (e.g. a spec's, when the registry also holds runs
    of earlier specs).

    Parameters
    ----------
    registry : str or Path
        An existing registry (SQLite path or PostgreSQL URL).
    path : str, Path or None
        Also write the rows to this table file (format from its suffix); None: do not.
    keys : list of str or None
        Only these runs; None: every done run.

    Returns
    -------
    DataFrame
        One row per done run.

    Raises
    ------
    RegistryNotFoundError
        A SQLite registry file that does not exist.
    """
    from ..rows import frame, run_row

    rows = []
    wanted = set(keys) if keys is not None else None
    for r in Registry(registry, create=False).rows():  # a mistyped path is an error
        if r["status"] != "done" or (wanted is not None and r["key"] not in wanted):
            continue
        rows.append(run_row(r["name"], r["key"], r["kind"], r["config"], r["metrics"]))
    df = frame(rows)
    if path is not None:
        from ...io.tables import write_table

        write_table(df, path)
    return df


def compare_runs(
    registry: str | Path, run_a: str, run_b: str, metric: str = "chrf", n_boot: int = 1000
) -> dict[str, Any]:
    """Paired bootstrap of two finetuning runs' scores (b - a, with its 95% interval) on the
    test verses both translated (their saved translations): the interval a claim like "chrF
    rises 7.5 points from 0.25M to 4M pretraining tokens" needs, narrower than the two runs'
    own intervals because the verses' spread is shared.

    Parameters
    ----------
    registry : str or Path
        The sweep's registry.
    run_a, run_b : str
        Names of two done finetuning runs tested on the same verses.
    metric : str
        The score to compare (``"chrf"``, ``"bleu"``).
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    dict
        ``run_a``, ``run_b``, ``metric`` and the bootstrap's ``a``, ``b``, ``delta`` (b - a),
        ``lo``, ``hi`` (its 95% interval), ``p`` (share of resamples with b <= a) and ``n``
        (verses).

    Raises
    ------
    SweepError
        A run without saved translations, or two runs tested on different verses.
    """
    import json

    from ..evaluate import paired_bootstrap

    reg = Registry(registry, create=False)
    rows = {r["name"]: r for r in reg.rows() if r["name"] in (run_a, run_b)}
    outs = []
    for name in (run_a, run_b):
        row = rows.get(name)
        path = artifact_path(reg, row["artifact"]) if row else None
        if not row or row["kind"] != "finetune" or not path or not Path(path).exists():
            raise SweepError(f"run '{name}' has no saved translations in {registry}")
        outs.append(json.loads(Path(path).read_text(encoding="utf-8")))
    a, b = outs
    if [r["reference"] for r in a] != [r["reference"] for r in b]:
        raise SweepError(f"runs '{run_a}' and '{run_b}' were tested on different verses")
    res = paired_bootstrap(
        [r["hypothesis"] for r in a],
        [r["hypothesis"] for r in b],
        [r["reference"] for r in a],
        metric,
        n_boot=n_boot,
    )
    return {"run_a": run_a, "run_b": run_b, "metric": metric, **res}
