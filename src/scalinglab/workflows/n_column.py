"""Which parameter count is N, for the library: a table with both `n_params` (total) and
`n_params_nonembedding` must not leave the choice unsaid (issue 15 item 3). The CLI's
`--params-col` (cli/n_choice.py) is parsed into the `params_col` these functions take, so a
library call such as `workflows.audit_run.run_audit` refuses and notes what the CLI does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError
from .checkpoints import user_column

# law variables whose value depends on which parameter count is N
_N_VARS = ("n_params", "flops", "tokens_per_param")


def _derived_from_total(df: pd.DataFrame, col: str) -> bool:
    """Whether `col` (flops or tokens_per_param) is 6 N D or D/N of the total count, so it
    must follow N when N changes; a measured flops column of the user's own is kept."""
    if col not in df.columns or not {"n_params", "tokens"} <= set(df.columns):
        return False
    n = pd.to_numeric(df["n_params"], errors="coerce").to_numpy(dtype=float)
    d = pd.to_numeric(df["tokens"], errors="coerce").to_numpy(dtype=float)
    got = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = 6.0 * n * d if col == "flops" else d / n
    ok = np.isfinite(want) & np.isfinite(got)
    return bool(ok.any()) and bool(np.allclose(got[ok], want[ok], rtol=1e-9, atol=0.0))


def uses_n(variables: Iterable[str], mapping: Mapping[str, str]) -> bool:
    """Whether a law (its variables, after --map) reads a quantity that depends on N."""
    return any(v in _N_VARS and mapping.get(v, v) == v for v in variables)


def choose_n(
    df: pd.DataFrame,
    params_col: str | None,
    variables: Iterable[str],
    mapping: Mapping[str, str],
) -> tuple[dict[str, str], str | None, list[str]]:
    """The mapping with N switched to `params_col`, the N column used (None when the law
    reads no N) and the note saying which count N is.

    The switch is a mapping (n_params <- COL, flops <- 6 * COL * tokens, tokens_per_param
    <- tokens / COL), so the fit file records it and `predict` reads the same columns."""
    variables = list(variables)
    mapping = dict(mapping)
    if not uses_n(variables, mapping):
        if params_col:
            raise DataError(
                f"--params-col {params_col}: the law reads no parameter count "
                f"(its variables: {', '.join(variables)})"
            )
        return mapping, None, []
    both = {"n_params", "n_params_nonembedding"} <= set(df.columns)
    if not params_col:
        if both:
            return (
                mapping,
                "n_params",
                [
                    "N is the 'n_params' column (total parameters; the table also has "
                    "n_params_nonembedding): --params-col picks another"
                ],
            )
        return mapping, "n_params", []
    pc = user_column(df, params_col, "--params-col")
    if pc == "n_params":
        return mapping, pc, ["N is the 'n_params' column (total parameters, --params-col)"]
    if not pd.api.types.is_numeric_dtype(df[pc]):
        raise DataError(f"--params-col '{pc}' is not a numeric column", column=pc)
    derived = []
    for v in variables:
        if v == "n_params":
            mapping[v] = pc
        elif v == "flops" and _derived_from_total(df, "flops"):
            mapping[v] = f"6 * {pc} * tokens"
            derived.append("flops = 6 N D")
        elif v == "tokens_per_param" and _derived_from_total(df, "tokens_per_param"):
            mapping[v] = f"tokens / {pc}"
            derived.append("tokens_per_param = D / N")
        elif v in ("flops", "tokens_per_param"):
            derived.append(f"{v} is the file's own column, not computed from N")
    what = "non-embedding parameters" if pc == "n_params_nonembedding" else "--params-col"
    note = f"N is the '{pc}' column ({what}, --params-col)"
    if derived:
        note += "; " + ", ".join(derived)
    return mapping, pc, [note]


def check_no_map_conflict(params_col: str | None, mapping: Mapping[str, str]) -> None:
    """--params-col and --map n_params=... both say what N is: an error naming both."""
    clash = [v for v in _N_VARS if v in mapping]
    if params_col and clash:
        raise DataError(
            f"--params-col and --map {clash[0]}=... both choose what N is; give one of them"
        )


def replace_n(
    df: pd.DataFrame, params_col: str | None, variables: Iterable[str]
) -> tuple[pd.DataFrame, str | None, list[str]]:
    """For commands that fit several laws on one table (audit): the table with `params_col`
    as its n_params (flops and tokens_per_param recomputed where they were 6 N D and D/N),
    the N column used and the note saying which count N is."""
    variables = list(variables)
    if not uses_n(variables, {}):
        if params_col:
            raise DataError(
                f"--params-col {params_col}: no audited law reads a parameter count "
                f"(their variables: {', '.join(dict.fromkeys(variables))})"
            )
        return df, None, []
    if not params_col:
        _, col, notes = choose_n(df, None, variables, {})
        return df, col, notes
    pc = user_column(df, params_col, "--params-col")
    if pc == "n_params":
        return df, pc, ["N is the 'n_params' column (total parameters, --params-col)"]
    if not pd.api.types.is_numeric_dtype(df[pc]):
        raise DataError(f"--params-col '{pc}' is not a numeric column", column=pc)
    attrs = dict(df.attrs)
    redo = [c for c in ("flops", "tokens_per_param") if _derived_from_total(df, c)]
    new = df.assign(n_params=df[pc]).copy()
    if "flops" in redo:
        new["flops"] = 6.0 * new["n_params"] * new["tokens"]
    if "tokens_per_param" in redo:
        new["tokens_per_param"] = new["tokens"] / new["n_params"]
    new.attrs = attrs
    what = "non-embedding parameters" if pc == "n_params_nonembedding" else "--params-col"
    note = f"N is the '{pc}' column ({what}, --params-col): n_params in the tables and queries"
    note += " means it" + ("; " + ", ".join(f"{c} computed from it" for c in redo) if redo else "")
    return new, pc, [note]
