"""Shared CLI pieces: the `main` group, output consoles, JSON, errors, parsing helpers.

Thin by design: parse options, call the API, render. The JSON shapes printed with --json
are a contract other tools script against.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from .._version import __version__
from ..errors import DataError, ScalingLabError
from ..schema import parse_number

# Piped output keeps whole numbers: rich would otherwise squeeze tables to 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _clean(o: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(_clean(obj), default=_json_default, indent=2))


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Named scalinglab errors become one clear line on stderr and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ScalingLabError as exc:
            err.print(
                f"[bold red]error[/] ({type(exc).__name__}): {exc}", markup=True, highlight=False
            )
            sys.exit(2)

    return wrapper


def _parse_pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise DataError(f"{what} {part!r}: expected NAME=VALUE")
            k, v = part.split("=", 1)
            pairs[k.strip()] = v.strip()
    return pairs


def _parse_grids(grids: tuple[str, ...]) -> dict[str, list[float]] | None:
    """--grid NAME=v1,v2,... (repeatable) -> {NAME: [v1, v2, ...]}."""
    out_grid: dict[str, list[float]] = {}
    for g in grids:
        if "=" not in g:
            raise DataError(f"--grid {g!r}: expected NAME=v1,v2,...")
        name, values = g.split("=", 1)
        try:
            out_grid[name.strip()] = [parse_number(v) for v in values.split(",") if v.strip()]
        except ValueError as exc:
            raise DataError(f"--grid {g!r}: {exc}") from None
    return out_grid or None


@contextmanager
def progress_bar(total: int, label: str, quiet: bool):
    """A rich progress bar on a terminal; nothing when quiet or not a TTY."""
    if quiet or not sys.stderr.isatty() or (total is not None and total <= 0):
        yield None
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as prog:
        task = prog.add_task(label, total=total)
        yield lambda k=1: prog.advance(task, k)


def _fmt(v: Any, col: str) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "-"
        if col in ("rel_error", "mean_rel_error", "max_rel_error", "coverage"):
            return f"{v:.2%}"
        if col == "compute_ratio" or col == "compute_ratio_max":
            return f"{v:.0f}x"
        return f"{v:.5g}"
    return str(v)


def compute_saving(ratio: float, what: str = "") -> str:
    """'330x less compute' as Gadre et al. say it; a fit set that used more compute than the
    target (ratio < 1: a held-out model at a small budget) is said as such, not as '0x'."""
    tag = f" ({what})" if what else ""
    if ratio >= 1:
        return f"{ratio:.{0 if ratio >= 10 else 1}f}x{tag} less compute"
    return f"{1 / ratio:.1f}x{tag} more compute (no saving)"


def _table(df: pd.DataFrame, title: str, cols: list[str] | None = None) -> None:
    cols = [c for c in (cols or list(df.columns)) if c in df.columns]
    t = Table(title=title)
    for c in cols:
        t.add_column(c, justify="right")
    for _, r in df.iterrows():
        t.add_row(*(_fmt(r[c], c) for c in cols))
    out.print(t)


def _targets(items: tuple[str, ...]) -> list[dict[str, float]]:
    out_rows = []
    for item in items:
        row = {}
        for part in item.split(","):
            if "=" not in part:
                raise DataError(f"--target {item!r}: expected VAR=VALUE,VAR=VALUE")
            k, v = part.split("=", 1)
            try:
                row[k.strip()] = parse_number(v)
            except ValueError as exc:
                raise DataError(f"--target {item!r}: {exc}") from None
        out_rows.append(row)
    return out_rows


def _write(df: pd.DataFrame, path: str) -> None:
    from ..io.tables import write_table

    write_table(df, path)
    out.print(f"wrote {len(df)} rows to {path}")


def _command_line() -> str:
    import shlex

    return "scalinglab " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scalinglab")
def main() -> None:
    """Forecast downstream LLM performance from small runs (scaling laws)."""
