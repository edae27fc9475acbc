"""Rendering of the `testbed` and `sweep` commands' results (rich tables and lines), in one
module: the commands in `cli/testbed.py` parse options, call the testbed, and hand what it
returned to a `render_*` function here (issue 16: parse -> call -> render, as `cli/render.py`
does for the fitting commands). Every user string (paths, registry URLs, run and corpus
names, error text) is escaped, so a `[` in a folder name is printed, not read as markup."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from rich.markup import escape
from rich.table import Table

from .common import _table, err, out


def render_corpora(rows: list[dict[str, Any]]) -> None:
    """The corpora table (installed or the command that installs it) and how to add text."""
    t = Table(title="testbed corpora")
    for c in ("name", "language", "installed", "license", "install"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            escape(str(r["name"])),
            escape(str(r["language"])),
            "[green]yes[/]" if r["installed"] else "[red]no[/]",
            escape(str(r["license"])),
            "" if r["installed"] else escape(str(r["install"])),
        )
    out.print(t)
    out.print(
        "Your own text: pretrain_data=text:/path/file.txt (or a folder of *.txt), alone or in a "
        "mixture ('text:/data/web.txt:0.8,python:0.2')."
    )


def render_runs_written(n_runs: int, out_dir: str | Path) -> None:
    """`testbed run`'s last line: how many runs runs.csv holds, and where."""
    out.print(f"{n_runs} runs written to {escape(str(Path(out_dir) / 'runs.csv'))}")


class ProgressLine:
    """A running preset's status: one line on stdout, rewritten in place when the counts
    change; `close()` ends it with a newline."""

    def __init__(self) -> None:
        self.last = ""

    def __call__(self, info: Mapping[str, Any]) -> None:
        c = info["counts"]
        eta = f"{info['eta_s'] / 60:.0f} min left" if info.get("eta_s") else "eta pending"
        line = (
            f"{c.get('done', 0)}/{info['total']} runs done, {c.get('running', 0)} running, "
            f"{c.get('failed', 0)} failed, {eta}"
        )
        if line != self.last:
            print(f"\r{line:<72}", end="", flush=True)
            self.last = line

    def close(self) -> None:
        print(flush=True)


def render_transfer_run(r: Mapping[str, Any]) -> None:
    """One measured run of the transfer experiment, as soon as it is written."""
    out.print(
        f"N={r['n_params']:,} D_F={r['finetune_size']:,} "
        f"{'from scratch' if r['pretrain_data'] == 'none' else 'pretrained'}: "
        f"loss {r['loss']:.4f} ({r['wall_time_s']:.0f} s)"
    )


def render_transfer_done(n_new: int, n_rows: int, out_path: str) -> None:
    """The transfer experiment's end: new and total runs, and the command that reads them."""
    out.print(
        escape(
            f"{n_new} new runs, {n_rows} in {out_path}; next: "
            f"scalinglab transfer {out_path} --params-col n_params_nonembedding"
        )
    )


def render_transfer_design(design: Mapping[str, Any], preset: str | None) -> None:
    """The transfer design about to run (the preset's values with the options given), on
    stderr: what a resumed or overridden experiment actually trains."""
    if preset is None:
        return
    parts = ", ".join(f"{k}={v}" for k, v in design.items())
    err.print(f"transfer preset '{preset}': {parts}", markup=False, highlight=False)


def render_plan(rows: list[dict[str, Any]], unchecked: list[str], tflops: float | None) -> None:
    """`sweep plan`: notes on what could not be checked, the runs table and the total time."""
    for note in unchecked:
        err.print(f"note: {note}", markup=False, highlight=False)
    _table(pd.DataFrame(rows), f"{len(rows)} runs")
    where = f"at {tflops:g} TFLOP/s" if tflops else "on one CPU worker"
    total_s = sum(r["est_seconds"] for r in rows)
    out.print(
        f"total: {sum(r['flops'] for r in rows):.3g} FLOPs, about {total_s / 60:.1f} min {where}"
        + ("" if tflops else f" (about {total_s / 120:.1f} min on 2 workers x 1 thread)")
    )


def render_sweep_end(registry: str, counts: Mapping[str, int], info: Mapping[str, Any]) -> None:
    """`sweep run`'s end: the registry's counts; when the spec is not all done, what is
    missing and each failed run's last error (on stderr)."""
    out.print(f"registry {registry}: {dict(counts)}", markup=False)
    if info["all_done"]:
        return
    parts = ", ".join(f"{n} {s}" for s, n in sorted(info["counts"].items()))
    err.print(
        f"sweep incomplete: {info['counts'].get('done', 0)} of {info['total']} runs done ({parts})",
        highlight=False,
        markup=False,
    )
    for f in info["failed"]:
        err.print(
            f"failed {f['name']} (attempts {f['attempts']}): {f['error']}",
            highlight=False,
            markup=False,
        )
    if not info["failed"]:
        err.print(
            "no run failed, yet some are not done: did every worker die? "
            "(`scalinglab sweep status` shows the registry)",
            highlight=False,
            markup=False,
        )


def render_sweep_status(
    n_runs: int, counts: Mapping[str, int], eta_s: float | None, fails: list[dict[str, Any]]
) -> None:
    """`sweep status`: counts per status, time left, and each failure's last error line."""
    left = f", about {eta_s / 60:.1f} min left (one worker)" if eta_s else ""
    out.print(escape(f"{n_runs} runs: {dict(counts)}{left}"))
    for f in fails:
        out.print(escape(f"failed {f['name']} (attempts {f['attempts']}): {f['error'][0]}"))


def render_exported(n_runs: int, to_path: str) -> None:
    """`sweep export`'s line: how many runs went to which table."""
    out.print(f"wrote {n_runs} runs to {escape(to_path)}")


def render_compare(r: Mapping[str, Any], metric: str) -> None:
    """`sweep compare`: B - A with its paired-bootstrap interval and one-sided p."""
    out.print(
        f"{metric}: {r['a']:.2f} -> {r['b']:.2f}, difference {r['delta']:+.2f} "
        f"[{r['lo']:+.2f}, {r['hi']:+.2f}] (95% paired bootstrap over {r['n']} verses, "
        f"one-sided p = {r['p']:.3f})",
        markup=False,
        highlight=False,
    )
