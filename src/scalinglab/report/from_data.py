"""The HTML report of a table, as a library call: which sections it has (overview, one per
law, the audit, the workflows asked for) and with which options is decided here, so
`scalinglab report` only parses its options, calls `write_report` and prints what was
written (issue 16: parse -> call -> render). `build_report` returns the `Report` without
writing it; both refuse what the command refuses, with the same messages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..laws.base import Law
from .html import Report

# --law values the choose-method section decides with (per method), rather than law sections
CHOICE_LAWS = ("finetune_multiplicative", "finetune_additive")

WORKFLOW_SECTIONS = (
    "forecast",
    "choose-method",
    "transfer",
    "pretrain-choice",
    "plan",
    "factor-effects",
    "select-tasks",
    "constant-exponent",
)


@dataclass
class WrittenReport:
    """A report written by `write_report`: its file, size and sections, and the static
    figure files written beside it (none unless a static format was asked for)."""

    path: Path
    size_bytes: int
    plotly: str
    sections: list[str]
    static_formats: list[str] = field(default_factory=list)
    figures_folder: Path | None = None
    figure_files: list[Path] = field(default_factory=list)


def check_section_options(
    workflows: Sequence[str], given: Mapping[str, tuple[bool, tuple[str, ...]]]
) -> None:
    """An option of a workflow section given without that section was ignored without a
    word (`report --target-where Q` without `--workflow forecast`): now it is an error."""
    for option, (used, sections) in given.items():
        if used and not set(sections) & set(workflows):
            raise DataError(
                f"{option} applies to the {' / '.join(sections)} section; add "
                f"--workflow {sections[0]} (or drop {option})"
            )


def build_report(
    data: pd.DataFrame | str | Path,
    law_names: Sequence[str] = (),
    *,
    expr: str | None = None,
    params: Mapping[str, Any] | None = None,
    fixes: Mapping[str, float] | None = None,
    metric: str | None = None,
    mapping: Mapping[str, str] | None = None,
    where: str | None = None,
    holdout: str | None = None,
    leave_largest_out: str | None = None,
    preset: str | None = None,
    workflows: Sequence[str] = (),
    targets: Sequence[Mapping[str, float]] | None = None,
    target_where: str | None = None,
    fit_where: str | None = None,
    error_fit_where: str | None = None,
    loss_law: str = "overtrain",
    loss_col: str = "loss",
    error_col: str = "error",
    factor: str = "n_params",
    at: Mapping[str, float] | None = None,
    target_tokens: float | None = None,
    budget: float = 1e23,
    factors: Sequence[str] = ("n_params", "tokens", "pet"),
    by: str | None = None,
    section_where: str | None = None,
    chance_table: pd.DataFrame | str | Path | None = None,
    select_at: str | None = None,
    n_bootstrap: int = 500,
    seed: int = 0,
    before_read: Callable[[], Any] | None = None,
) -> Report:
    """A self-contained HTML report of a table: overview, one section per law (fitted,
    with held-out points when `holdout`), an audit section (`holdout` or
    `leave_largest_out`) and the `workflows` sections asked for.

    Parameters
    ----------
    data : table or path
    law_names, expr, params, fixes : the laws (catalog names; an expression law and its
        parameter specs; parameters held fixed), as `workflows.audit_run.audit_laws`
    metric, mapping, where, preset, n_bootstrap, seed : as for `fit`; `where` selects the
        rows of every section
    holdout, leave_largest_out : the audit section's mode (not both)
    workflows : sections among WORKFLOW_SECTIONS; the options after it belong to one
        section each (forecast: targets or target_where, fit_where, error_fit_where,
        loss_law, loss_col, error_col; choose-method: factor, at; pretrain-choice:
        target_tokens; plan: budget; factor-effects: factors; select-tasks: chance_table,
        select_at; transfer / constant-exponent: section_where, by), and one given without
        its section is an error
    before_read : called once the options are checked, before the data are read (the
        output checks of `write_report`, so no fit is wasted)

    Returns
    -------
    Report : the sections, not yet written (`Report.write`)
    """
    o = dict(locals())  # the options, for the section helpers below
    laws = _checked_laws(o)
    if before_read is not None:
        before_read()
    from ..fitting.prepare import apply_where
    from ..io import read_table
    from ..schema import validation_deferred
    from ..workflows.checkpoints import describe_runs, load, run_ids
    from . import build

    with validation_deferred():  # --where first; each section checks the columns it uses
        df = read_table(data) if isinstance(data, (str, Path)) else load(data)
    n_file = len(df)
    df = apply_where(df, where)
    runs = run_ids(df)
    subtitle = f"{len(df)} rows" + (f" of {n_file} (--where {where})" if where else "")
    if runs is not None and runs.duplicated().any():  # '8 runs, 128 checkpoints'
        subtitle = describe_runs(df, runs) + (f" (--where {where})" if where else "")
    name = Path(data).name if isinstance(data, (str, Path)) else _table_name(df)
    rep = Report(f"scalinglab report: {name}", subtitle)
    build.overview_section(rep, df, metric=metric, where=(where, n_file) if where else None)
    fits = _law_sections(rep, df, laws, o)
    _workflow_sections(rep, df, fits, o)
    return rep


def write_report(
    data: str | Path,
    out: str | Path,
    *,
    force: bool = False,
    plotly: str = "inline",
    formats: Iterable[str] = ("html",),
    command: str = "",
    on_written: Callable[[WrittenReport], Any] | None = None,
    **options: Any,
) -> WrittenReport:
    """`build_report(data, **options)` written to `out` (atomically; `force` to replace an
    existing file, never an input), plotly.js inlined or from its CDN (`plotly`), and every
    figure also written as PNG/SVG/PDF in a folder beside it for each static format in
    `formats`. The output and the formats are checked before any fit; `on_written` is
    called as soon as the HTML file is written (before the slower figure export), with the
    result so far; `command` is the command line the report shows."""
    from ..io.safe_write import check_output
    from .export import check_formats, export_figures

    static: list[str] = []

    def before_read() -> None:
        check_output(out, inputs=[data], force=force, what="report")
        static.extend(check_formats(formats))  # a missing kaleido is named before the fits

    from . import build

    rep = build_report(data, before_read=before_read, **options)
    path = rep.write(out, command=command, data_files=[str(data)], plotly=plotly)
    written = WrittenReport(path, path.stat().st_size, plotly, build.section_names(rep), static)
    if on_written is not None:
        on_written(written)
    if static:
        written.figures_folder = path.with_name(f"{path.stem}_figures")
        written.figure_files = list(export_figures(rep.figures, written.figures_folder, static))
    return written


def _given(table: Any) -> bool:
    """Whether a table option is given (a path, or a DataFrame, which has no truth value)."""
    return isinstance(table, pd.DataFrame) or bool(table)


def _table_name(df: pd.DataFrame) -> str:
    src = df.attrs.get("scalinglab_source")
    return Path(src).name if src else "table"


def _checked_laws(o: Mapping[str, Any]) -> list[Law]:
    """The options checked before any work, and the laws of the law sections."""
    if o["holdout"] and o["leave_largest_out"]:
        raise DataError(
            "give one of --holdout or --leave-largest-out, not both: the audit section runs "
            "one kind of audit (write two reports for both)"
        )
    unknown = [w for w in o["workflows"] if w not in WORKFLOW_SECTIONS]
    if unknown:
        raise DataError(
            f"unknown report section(s) {', '.join(unknown)}: choose from "
            f"{', '.join(WORKFLOW_SECTIONS)}"
        )
    check_section_options(
        o["workflows"],
        {
            "--target": (bool(o["targets"]), ("forecast",)),
            "--target-where": (bool(o["target_where"]), ("forecast",)),
            "--error-fit-where": (bool(o["error_fit_where"]), ("forecast",)),
            "--at": (bool(o["at"]), ("choose-method",)),
            "--target-tokens": (bool(o["target_tokens"]), ("pretrain-choice",)),
            "--chance-table": (_given(o["chance_table"]), ("select-tasks",)),
            "--select-at": (bool(o["select_at"]), ("select-tasks",)),
            "--section-where": (bool(o["section_where"]), ("transfer", "constant-exponent")),
            "--by": (bool(o["by"]), ("factor-effects", "constant-exponent", "transfer")),
        },
    )
    if not (o["law_names"] or o["expr"]):
        return []
    from ..workflows.audit_run import audit_laws

    return audit_laws(o["law_names"], o["expr"], o["params"], o["fixes"], o["metric"])


def _law_sections(
    rep: Report, df: pd.DataFrame, laws: list[Law], o: Mapping[str, Any]
) -> dict[str, Any]:
    """One section per law (not the method choice's own laws) and the audit section; the
    fits by law name (the plan section plans from chinchilla's)."""
    from . import build

    mapping = dict(o["mapping"] or {})
    common = dict(metric=o["metric"], mapping=mapping, preset=o["preset"], seed=o["seed"])
    fits = {}
    for law in laws:
        if "choose-method" in o["workflows"] and law.name in CHOICE_LAWS:
            continue  # the method-choice section's per-method law, not a pooled fit
        fits[law.name] = build.law_section(
            rep, df, law, holdout=o["holdout"], n_bootstrap=o["n_bootstrap"], **common
        )
    if laws and (o["holdout"] or o["leave_largest_out"]):
        build.audit_section(
            rep,
            df,
            laws,
            holdout=o["holdout"],
            axis=o["leave_largest_out"],
            n_bootstrap=o["n_bootstrap"],
            **common,
        )
    return fits


def _workflow_sections(
    rep: Report, df: pd.DataFrame, fits: Mapping[str, Any], o: Mapping[str, Any]
) -> None:
    """The workflow sections in the order asked for, each checking the options it needs."""
    from . import build

    n_boot, seed, metric = o["n_bootstrap"], o["seed"], o["metric"]
    for wf in o["workflows"]:
        if wf == "forecast":
            targets, target_where = o["targets"], o["target_where"]
            if targets and target_where:
                raise DataError(
                    "give --target or --target-where, not both: the forecast section predicts "
                    "either the points you list or the runs a query selects"
                )
            if not (targets or target_where):
                raise DataError("the forecast section needs --target or --target-where")
            build.forecast_section(
                rep,
                df,
                dict(
                    targets=[dict(t) for t in targets] if targets else target_where,
                    loss_law=o["loss_law"],
                    loss_col=o["loss_col"],
                    error_col=o["error_col"],
                    fit_where=o["fit_where"],
                    error_fit_where=o["error_fit_where"],
                    preset=o["preset"],
                    n_bootstrap=n_boot,
                    seed=seed,
                ),
            )
        elif wf == "choose-method":
            cands = [n for n in o["law_names"] if n in CHOICE_LAWS]
            if len(cands) > 1:
                raise DataError(
                    "the choose-method section decides with one law: give one of "
                    "--law finetune_multiplicative / finetune_additive, or neither (the one "
                    "with the lower held-out error)"
                )
            build.method_section(
                rep,
                df,
                o["factor"],
                dict(o["at"] or {}),
                metric=metric or "loss",
                law=cands[0] if cands else None,
                n_bootstrap=n_boot,
                seed=seed,
            )
        elif wf == "transfer":
            build.transfer_section(rep, df, by=o["by"], where=o["section_where"])
        elif wf == "factor-effects":
            build.factor_effects_section(
                rep,
                df,
                list(o["factors"]),
                metric=metric or "loss",
                by=o["by"] or "method",
                n_bootstrap=n_boot,
            )
        elif wf == "select-tasks":
            if not _given(o["chance_table"]):
                raise DataError("the select-tasks section needs --chance-table")
            build.task_selection_section(
                rep, df, _chances(o["chance_table"]), select_at=o["select_at"]
            )
        elif wf == "constant-exponent":
            build.constant_exponent_section(
                rep,
                df,
                loss_col=o["loss_col"],
                by=o["by"],
                where=o["section_where"],
                n_bootstrap=n_boot,
            )
        elif wf == "pretrain-choice":
            if not o["target_tokens"]:
                raise DataError("the pretrain-choice section needs --target-tokens")
            build.pretrain_section(rep, df, o["target_tokens"], metric=metric or "bleu")
        elif wf == "plan":
            if "chinchilla" not in fits:
                raise DataError("the plan section needs --law chinchilla")
            build.plan_section(rep, fits["chinchilla"], o["budget"])


def _chances(table: pd.DataFrame | str | Path) -> pd.DataFrame:
    """The chance table of the select-tasks section: a path is read as the CLI reads it."""
    if isinstance(table, pd.DataFrame):
        return table
    from ..workflows.task_selection import chance_table

    return chance_table(table)
