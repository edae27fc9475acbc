"""Which parameter count is N: a table with both `n_params` (total) and
`n_params_nonembedding` (Pythia's side table has both) must not leave the choice unsaid
(issue 15 item 3). `--params-col` makes it, and every command that takes N says which one
it used, in text and in --json."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import click

# the choice itself is library code (workflows/n_column.py: `audit` calls it there)
from ..workflows.n_column import (  # noqa: F401 (re-exported)
    check_no_map_conflict,
    choose_n,
)

PARAMS_COL_HELP = (
    "Parameter count to use as N, e.g. n_params_nonembedding [default: n_params]; flops and "
    "tokens_per_param are then computed from it (6 N D, D/N) unless the file gives its own."
)
params_col_option = click.option("--params-col", default=None, help=PARAMS_COL_HELP)


def fit_n_column(columns: Mapping[str, str], variables: Iterable[str]) -> str | None:
    """The N column a saved fit used (its law variable n_params, after --map), if any."""
    return columns.get("n_params", "n_params") if "n_params" in list(variables) else None


def n_phrase(col: str) -> str:
    """'n_params' (total) / 'n_params_nonembedding' (non-embedding), for predict's note."""
    kind = {"n_params": "total", "n_params_nonembedding": "non-embedding"}.get(col)
    return f"'{col}'" + (f" ({kind} parameters)" if kind else "")
