"""Which parameter count is N: a table with both `n_params` (total) and
`n_params_nonembedding` (Pythia's side table has both) must not leave the choice unsaid
(issue 15 item 3). `--params-col` makes it, and every command that takes N says which one
it used, in text and in --json."""

from __future__ import annotations

import click

# the choice itself is library code (workflows/n_column.py: `audit` calls it there)
from ..workflows.n_column import (  # noqa: F401 (re-exported)
    check_no_map_conflict,
    choose_n,
)
from ..workflows.predict_run import fit_n_column, n_phrase  # noqa: F401 (re-exported)

PARAMS_COL_HELP = (
    "Parameter count to use as N, e.g. n_params_nonembedding [default: n_params]; flops and "
    "tokens_per_param are then computed from it (6 N D, D/N) unless the file gives its own."
)
params_col_option = click.option("--params-col", default=None, help=PARAMS_COL_HELP)
