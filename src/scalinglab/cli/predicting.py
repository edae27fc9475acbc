"""`predict`: a saved fit at new points, saying how far each lies beyond the data and
which parameter count is N."""

from __future__ import annotations

import click

from .common import (
    LEVEL,
    _parse_pairs,
    handle_errors,
    main,
    refit_bootstrap_option,
)
from .render import render_predict_resampled, render_predict_run


@main.command("predict")
@click.argument("fit_json", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--at",
    "at_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Table of points to predict at.",
)
@click.option("--set", "sets", multiple=True, help="VAR=VALUE (repeat, or comma-separate).")
@click.option(
    "--interval",
    type=LEVEL,
    default=None,
    help="Interval level (default 0.9 whenever the fit file holds bootstrap draws, from "
    "`fit --bootstrap N --out FIT.json`, or with --bootstrap).",
)
@refit_bootstrap_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON to stdout.")
@handle_errors
def predict_cmd(fit_json, at_path, sets, interval, n_boot, as_json) -> None:
    """Predict with a saved fit at new points; says how far each point lies beyond the data.

    \b
    Example:
      scalinglab predict fit.json --set n_params=70B --set tokens=1.4T --interval 0.9
    """
    from ..workflows.predict_run import run_predict

    # parse: option strings -> library arguments (syntax only; run_predict checks the rest)
    run = run_predict(
        fit_json,
        at=at_path or None,
        sets=_parse_pairs(sets, "--set") if sets else None,
        interval=interval,
        n_bootstrap=n_boot,
        on_resampled=render_predict_resampled,
    )
    render_predict_run(run, as_json)
