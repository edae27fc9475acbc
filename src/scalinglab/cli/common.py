"""Shared CLI pieces: the `main` group, output consoles, JSON, errors, parsing helpers.

Thin by design: parse options, call the API, render. The JSON shapes printed with --json
are a contract other tools script against.

The error boundary (`main`'s invoke and `handle_errors`): a named scalinglab error is one
line `error (TYPE): message` on stderr and exit status 2 (click's usage errors keep click's
2; the environment's errors, a full disk, no permission, out of memory, are said the same
way); anything else is one line `internal error (TYPE): message — please report; details in
LOG` and exit status 3, the traceback written to LOG under $XDG_STATE_HOME/scalinglab/errors/
(~/.local/state/scalinglab/errors/, else the temporary folder), or shown with
`scalinglab --debug` / SCALINGLAB_DEBUG=1. Messages are printed as text, never as markup, so
`scalinglab[ray]` stays `scalinglab[ray]`.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn

import click
import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._version import __version__
from ..errors import DataError, ScalingLabError
from ..fitting.presets import PRESETS
from ..io.encoding import ReadNote, default_encoding
from ..io.safe_write import check_output
from ..query import command_line_names
from ..report.html import (  # one convention for the CLI and the report
    interval_note,  # noqa: F401  (re-exported for the commands)
    is_percent_column,
    ratio_text,
)
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


# -- the error boundary ------------------------------------------------------------------
# OS conditions that are the environment's, not a bug: a named error, exit 2
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def _debug() -> bool:
    if os.environ.get("SCALINGLAB_DEBUG", "") not in ("", "0"):
        return True
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def error_log_dir() -> Path:
    """Where internal-error tracebacks are written: $XDG_STATE_HOME/scalinglab/errors
    (default ~/.local/state/scalinglab/errors)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state) / "scalinglab" / "errors"


def _write_log(exc: BaseException) -> str:
    """The traceback in a new log file; its path (or a note when nothing can be written)."""
    import platform
    import tempfile
    import time
    import traceback

    text = (
        f"{_command_line()}\nscalinglab {__version__}, Python {platform.python_version()}, "
        f"{platform.platform()}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    stamp = time.strftime("%Y%m%dT%H%M%S")
    tmp = Path(tempfile.gettempdir()) / f"scalinglab-errors-{os.getuid()}"
    for folder in (error_log_dir(), tmp):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, path = tempfile.mkstemp(
                prefix=f"internal-error-{stamp}-", suffix=".log", dir=folder, text=True
            )
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return "no log file could be written: rerun with --debug"


def _one_line(exc: BaseException, limit: int = 400) -> str:
    msg = " ".join(str(exc).split()) or repr(exc)
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def fail(exc: BaseException) -> NoReturn:
    """Print `exc` as the boundary does (see module docstring) and exit."""
    import traceback

    if _debug():
        err.print(
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            markup=False,
            highlight=False,
        )
    name = type(exc).__name__
    environment = isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS
    if isinstance(exc, (ScalingLabError, MemoryError, FloatingPointError)) or environment:
        known: dict[type[BaseException], str] = {
            MemoryError: "out of memory: try fewer rows or resamples",
            FloatingPointError: f"a numeric operation overflowed or was undefined ({exc})",
        }
        msg = known.get(type(exc), str(exc))
        err.print(f"[bold red]error[/] ({name}): {escape(msg)}", highlight=False)
        sys.exit(2)
    where = "the traceback is above" if _debug() else f"details in {_write_log(exc)}"
    err.print(
        f"[bold red]internal error[/] ({name}): {escape(_one_line(exc))} — please report; "
        f"{escape(where)}",
        highlight=False,
    )
    sys.exit(3)


_PASS_THROUGH = (click.exceptions.ClickException, click.exceptions.Exit, click.Abort, SystemExit)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Named scalinglab errors become one clear line on stderr and exit status 2; anything
    else an internal error (exit 3) with its traceback in a log file (see `fail`)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            fail(exc)

    return wrapper


def _note_shower(previous: Callable[..., Any]) -> Callable[..., None]:
    """warnings.showwarning that prints a ReadNote as `note: ...` and passes the rest on."""

    def show(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
        if issubclass(category, ReadNote):
            err.print(f"[cyan]note[/]: {escape(str(message))}", highlight=False)
        else:
            previous(message, category, *args, **kwargs)

    return show


class _WholeSummaries(click.Group):
    """A group whose command list shows each command's whole first sentence, wrapped, instead
    of click's cut at the terminal width ('... audits of one or...')."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


_WholeSummaries.group_class = _WholeSummaries  # subgroups (testbed, sweep) list theirs whole


class _Boundary(_WholeSummaries):
    """The root group: every command runs inside the error boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ReadNote)
            if not (ctx.params.get("debug") or _debug()):
                # numpy's overflow/invalid-value chatter: what it means for a result is said
                # by named errors and diagnostics, not by a source line on stderr
                warnings.simplefilter("ignore", RuntimeWarning)
            warnings.showwarning = _note_shower(warnings.showwarning)
            try:
                return super().invoke(ctx)
            except _PASS_THROUGH:
                raise
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                fail(exc)


def redact_url(text: str) -> str:
    """A URL's password replaced by *** (postgresql://user:secret@host -> user:***@host)."""
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", r"\1***@", str(text))


class _Number(click.ParamType):
    """A number as scalinglab reads them (1.4B, 2e10, 900M); finite, optionally > 0."""

    name = "number"

    def __init__(self, positive: bool = False) -> None:
        self.positive = positive

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = float(value)
        else:
            try:
                v = parse_number(value)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.positive and v <= 0:
            self.fail(f"{value!r} must be > 0", param, ctx)
        return v


NUMBER = _Number()
POSITIVE_NUMBER = _Number(positive=True)


class FiniteRange(click.FloatRange):
    """click's FloatRange without nan (its range check let nan through: `--interval nan`
    ended in an internal error)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        v = super().convert(value, param, ctx)
        if v != v:  # nan
            self.fail(f"{value!r} is not a number ({self._describe_range()})", param, ctx)
        return v


LEVEL = FiniteRange(0, 1, min_open=True, max_open=True)  # an interval level, e.g. 0.9

# One definition of the options several commands share.
preset_option = click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default=None,
    help="paper: least squares on raw values (Gadre et al.'s code).",
)


def print_diagnostics(diags: Iterable[Any]) -> None:
    """Diagnostics (or plain warning strings) on stderr, one line each: severity, code,
    message, escaped so user text is never read as markup."""
    colour = {"error": "bold red", "warning": "bold yellow", "info": "cyan"}
    for d in diags:
        if isinstance(d, str):
            err.print(f"[bold yellow]warning[/]: {escape(d)}", highlight=False)
        else:
            err.print(
                f"[{colour[d.severity]}]{d.severity}[/] \\[{d.code}]: {escape(d.message)}",
                highlight=False,
            )


FORCE_HELP = "Replace the output if it exists (never an input, never through a link)."


def output_path(
    path: str | Path | None,
    *,
    inputs: Iterable[str | Path | None] = (),
    force: bool = False,
    what: str = "output",
) -> None:
    """Refuse, before any work, an output that is an input, exists (without --force), is a
    link or has no folder (scalinglab.io.safe_write.check_output)."""
    if path is not None:
        check_output(path, inputs=inputs, force=force, what=what)


def _split_outside_quotes(text: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return parts


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def _parse_pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    """NAME=VALUE pairs, repeated or comma-separated. A comma-part without '=' continues the
    value before it and a quoted value keeps its commas, so a column named 'size,params'
    maps as `--map n_params=size,params` or `--map 'n_params="size,params"'`."""
    pairs: dict[str, str] = {}
    for item in items:
        these: dict[str, str] = {}
        last = None
        for part in _split_outside_quotes(item):
            if not part.strip():
                continue
            if "=" not in part:
                if last is None:
                    raise DataError(f"{what} {part!r}: expected NAME=VALUE")
                these[last] = f"{these[last]},{part}"
                continue
            k, v = part.split("=", 1)
            last = _unquote(k)
            these[last] = v
        again = sorted(set(these) & set(pairs))
        if again:  # `--fix E=1 --fix E=2`: the last one won without a word
            raise DataError(f"{what} names {', '.join(again)} twice; give each name once")
        pairs.update({k: _unquote(v) for k, v in these.items()})
    return pairs


def _parse_numbers(items: tuple[str, ...], what: str) -> dict[str, float]:
    """NAME=NUMBER pairs (as `_parse_pairs`); a value that is not a number is a named error."""
    values = {}
    for k, v in _parse_pairs(items, what).items():
        try:
            values[k] = parse_number(v)
        except ValueError as exc:
            raise DataError(f"{what} {k}={v}: {exc}") from None
    return values


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
def progress_bar(total: int | None, label: str, quiet: bool):
    """A rich progress bar on a terminal; nothing when quiet or not a TTY. `total=None`: a
    count not known in advance (audit folds), shown as a pulsing bar."""
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
        if is_percent_column(col):
            return f"{v:.2%}"
        if (ratio := ratio_text(col, float(v))) is not None:
            return ratio
        return f"{v:.5g}"
    return escape(str(v))  # user text (law, fold, task names) is never rich markup


def compute_saving(ratio: float, what: str = "") -> str:
    """'330x less compute' as Gadre et al. say it; a fit set that used more compute than the
    target (ratio < 1: a held-out model at a small budget) is said as such, not as '0x'."""
    tag = f" ({what})" if what else ""
    if ratio >= 1:
        return f"{ratio:.{0 if ratio >= 10 else 1}f}x{tag} less compute"
    return f"{1 / ratio:.1f}x{tag} more compute (no saving)"


def _table(df: pd.DataFrame, title: str, cols: list[str] | None = None) -> None:
    cols = [c for c in (cols or list(df.columns)) if c in df.columns]
    t = Table(title=escape(title))  # titles and headers name user columns and values
    for c in cols:
        t.add_column(escape(str(c)), justify="right")
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


def _write(df: pd.DataFrame, path: str, *, force: bool = False, inputs: Iterable[Any] = ()) -> None:
    """Write a table atomically, after the same checks as `output_path`."""
    from ..io.tables import write_table

    output_path(path, inputs=inputs, force=force)
    write_table(df, path)
    out.print(f"wrote {len(df)} rows to {escape(str(path))}", highlight=False)


def _command_line() -> str:
    import shlex

    return "scalinglab " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scalinglab")
@click.option(
    "--debug",
    is_flag=True,
    help="Show the traceback of an internal error instead of writing it to a log file.",
)
@click.option(
    "--encoding",
    default=None,
    metavar="ENCODING",
    help="Text encoding of the input tables (default: detected: UTF-8 with or without BOM, "
    "UTF-16/32 by BOM, else Windows-1252 with a note). Compressed tables (.gz) are read as is.",
)
def main(debug: bool, encoding: str | None) -> None:
    """Forecast downstream LLM performance from small runs (scaling laws)."""
    ctx = click.get_current_context()
    ctx.with_resource(default_encoding(encoding))
    ctx.with_resource(command_line_names())  # query errors name --where, not where=


_NONNEGATIVE = FiniteRange(min=0.0)


def checkpoint_options(fn: Any) -> Any:
    """--run-col, --final-only, --min-tokens, --min-step: runs and their checkpoints."""
    fn = click.option(
        "--min-step",
        type=_NONNEGATIVE,
        default=None,
        help="Drop warm-up checkpoints with step below this (the count is said).",
    )(fn)
    fn = click.option(
        "--min-tokens",
        type=_NONNEGATIVE,
        default=None,
        help="Drop warm-up checkpoints with tokens below this (the count is said).",
    )(fn)
    fn = click.option("--final-only", is_flag=True, help="Keep each run's last checkpoint only.")(
        fn
    )
    return fn


def refit_bootstrap_option(fn: Any) -> Any:
    """--bootstrap N for commands that read a saved fit (predict, plan): resample the rows
    the fit file stores, for a file saved without draws."""
    return click.option(
        "--bootstrap",
        "n_boot",
        default=0,
        show_default=True,
        type=click.IntRange(min=0),
        help="Run N bootstrap resamples of the rows stored in the fit file first (for a fit "
        "saved without draws; replaces any, and says so).",
    )(fn)


def expression_law_options(fix_help: str) -> Any:
    """--expr, --param and --fix, the user-written law of fit-like commands (audit, report):
    one declaration, so every command reads them alike."""

    def decorate(fn: Any) -> Any:
        fn = click.option("--fix", "fixes", multiple=True, metavar="NAME=VALUE", help=fix_help)(fn)
        fn = click.option(
            "--param",
            "params",
            multiple=True,
            metavar="NAME=LO:HI",
            help="Bounds of an --expr parameter (repeatable), as for `fit`.",
        )(fn)
        return click.option(
            "--expr",
            default=None,
            help="A law written as an expression, fitted beside the --law ones (bounds: --param).",
        )(fn)

    return decorate
