"""Side tables for harness results: model sizes and tokens per step, joined on the model id
(matched by the rules in `harness_names`); a side table that matches nothing is refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError, MissingColumnError, SideTableMismatchError

_TOKENS_PER_STEP = ("tokens_per_step", "batch_tokens")

__all__ = ["SideTableMismatchError", "read_side"]


def read_side(side: pd.DataFrame | str | Path, on: str) -> pd.DataFrame:
    """A side table of model sizes / tokens, checked and keyed for joining onto harness rows
    (results files do not say how big a model is).

    Parameters
    ----------
    side : DataFrame, str or path
        The table, or a path to it.
    on : str
        Its column holding the model ids to match.

    Returns
    -------
    DataFrame
        Indexed by `on` (stripped text), with the useful columns among n_params,
        n_params_nonembedding, tokens and tokens_per_step (``batch_tokens`` renamed).
    """
    if not isinstance(side, pd.DataFrame):
        from .tables import read_table

        side = read_table(side)
    if on not in side.columns:
        raise MissingColumnError(f"side table has no '{on}' column to join on", column=on)
    side = side.copy()
    side[on] = side[on].astype(str).str.strip()
    for alt in _TOKENS_PER_STEP[1:]:
        if alt in side.columns and "tokens_per_step" not in side.columns:
            side = side.rename(columns={alt: "tokens_per_step"})
    useful = [
        c
        for c in ("n_params", "n_params_nonembedding", "tokens", "tokens_per_step")
        if c in side.columns
    ]
    if not useful:
        raise MissingColumnError(
            "side table has none of n_params, n_params_nonembedding, tokens, tokens_per_step "
            f"(columns: {', '.join(map(str, side.columns))})",
            column="n_params",
        )
    side = side[[on, *useful]].drop_duplicates()
    clash = side[on][side[on].duplicated()].unique()
    if len(clash):
        raise DataError(
            f"side table gives different values for {', '.join(clash[:5])} (one row per model)",
            column=on,
        )
    return side.set_index(on)
