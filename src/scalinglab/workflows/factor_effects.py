"""Which scaling helps finetuning more (Zhang et al. 2024): model size, pretraining data or
PET size.

Per method, the paper's Eq. 2 is fitted: L = A_X X^-alpha_X D_f^-beta + E, with A_X and
alpha_X per factor X and beta, E shared; rows are tagged by a `factor` column naming the
factor they vary (as in `choose-method --factor A --factor B`). The exponents are comparable
across factors because each says the same thing: a 10x larger X multiplies the reducible
finetuning loss by 10^-alpha_X. So the factor with the larger alpha_X (its interval clear of
the other's) is the scaling that helps finetuning more on these data. A factor whose rows do
not identify it for a method (fewer than 2 values, or an exponent on its bound) is named,
not ranked. Each factor's held-out error (`heldout_mad`: Eq. 2 fitted without its largest
value, scored on those runs) is given beside it, as in the paper's Table 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import DataError, ScalingLabError
from ..fitting import FitResult, fit
from ..results import Result, records
from .finetune_crossings import _joint_frame, joint_multiplicative_law
from .pretrain_choice import require_columns
from .table_input import _load

# what a factor is called in a sentence
_WORDS = {
    "n_params": "model size",
    "tokens": "pretraining data",
    "lora_rank": "LoRA rank",
    "prompt_length": "prompt length",
    "pet_params": "PET parameters",
}


def _word(f: str) -> str:
    return _WORDS.get(f, f)


@dataclass
class FactorEffects(Result):
    """Per method and factor: alpha_X with its interval, and which factor helps more.

    Built by `scalinglab.factor_effects`.

    Attributes
    ----------
    factors : list of str
        The factors compared (columns such as ``n_params``, ``tokens``).
    table : pandas.DataFrame
        One row per group (the `by` column, else ``group``) and ``factor``: ``alpha`` with
        ``alpha_lo``/``alpha_hi``, ``A``, ``loss_cut_per_10x`` (1 - 10^-alpha), the shared
        ``beta``, ``n_runs``, ``heldout_mad`` and ``identified`` (False when alpha ended on
        a bound: present, but not to be ranked).
    fits : dict of str to FitResult
        Per group, the joint finetuning law (Zhang et al.'s Eq. 2) fitted.
    verdicts : dict of str to str
        Per group, one sentence: which factor helps more, and whether the intervals say so.
    interval : float
        The level of the intervals on each alpha.
    flags : list of Diagnostic
        Factors with a single value in a group (nothing to fit an exponent on), exponents
        on a bound.
    """

    title: ClassVar[str] = "which factor helps finetuning more"
    factors: list[str]
    table: pd.DataFrame  # method, factor, alpha (+ interval), A, loss cut per 10x, identified
    fits: dict[str, FitResult]
    verdicts: dict[str, str]  # method -> one sentence
    interval: float = 0.9
    flags: list[Diagnostic] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Each factor's exponent per group (`table`).

        Returns
        -------
        pandas.DataFrame
            The `table` itself (not a copy).

        Examples
        --------
        >>> res = sl.factor_effects("ft.csv", ["n_params", "tokens"])  # doctest: +SKIP
        >>> res.to_frame()[["factor", "alpha", "alpha_lo", "alpha_hi"]]  # doctest: +SKIP
        """
        return self.table

    def _own_diagnostics(self) -> list[Diagnostic]:
        return list(self.flags)

    def plot(self, group: str | None = None) -> Any:
        """Forest plot of each factor's exponent with its interval; the verdict as title.

        Parameters
        ----------
        group : str, optional
            Draw only this group (e.g. one method); default all.

        Returns
        -------
        plotly.graph_objects.Figure

        Examples
        --------
        >>> res = sl.factor_effects("ft.csv", ["n_params", "tokens"])  # doctest: +SKIP
        >>> res.plot(group="lora").show()  # doctest: +SKIP
        """
        from ..plots import factor_effects_figure

        return factor_effects_figure(self, group)

    def summary(self) -> str:
        """Plain text: the table, one verdict per group, then the flags.

        Returns
        -------
        str

        Examples
        --------
        >>> res = sl.factor_effects("ft.csv", ["n_params", "tokens"])  # doctest: +SKIP
        >>> print(res.summary())  # doctest: +SKIP
        """
        lines = [self.title, self.table.to_string(index=False)]
        lines += [f"{m}: {v}" for m, v in self.verdicts.items()]
        lines += [str(d) for d in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-ready data (``--json``).

        Returns
        -------
        dict
            ``factors``, ``interval``, ``table`` (rows), ``verdicts`` and ``diagnostics``.

        Examples
        --------
        >>> res = sl.factor_effects("ft.csv", ["n_params", "tokens"])  # doctest: +SKIP
        >>> res.to_dict()["verdicts"]  # doctest: +SKIP
        """
        return {
            "factors": self.factors,
            "interval": self.interval,
            "table": records(self.table),
            "verdicts": self.verdicts,
            "diagnostics": [d.to_dict() for d in self.flags],
        }


def factor_effects(
    data: pd.DataFrame | str | Path,
    factors: Sequence[str] = ("n_params", "tokens"),
    *,
    metric: str = "loss",
    by: str | None = "method",
    n_bootstrap: int = 200,
    interval: float = 0.9,
    seed: int = 0,
) -> FactorEffects:
    """Which scaling helps finetuning more: Zhang et al.'s Eq. 2 per method, exponents compared.

    Eq. 2 (catalog law ``finetune_joint``) gives each factor (model size, pretraining data,
    PET size) its own A_X and alpha_X with beta and E shared; the exponents, side by side with
    intervals and held-out errors per factor (the paper's Table 2), say which factor's scaling
    lowers the finetuning loss faster on this data.

    Parameters
    ----------
    data : DataFrame, str or path
        One row per run with `factor` (the factor column the row varies), the factor
        columns, `finetune_size` and the metric.
    factors : sequence of str, default ('n_params', 'tokens')
        The factor columns compared.
    metric : str, default 'loss'
        The finetuning loss column.
    by : str or None, default 'method'
        One fit per value of this column (default ``method``; None: one group).
    n_bootstrap : int, default 200
        Resamples behind the intervals on the exponents (0: none).
    interval : float, default 0.9
        The intervals' level.
    seed : int, default 0
        The bootstrap's seed.

    Returns
    -------
    FactorEffects
        Per method, each factor's exponent with its interval, the loss cut per 10x, its
        held-out error, and one sentence naming the factor that matters more only when the
        intervals do not overlap.

    Examples
    --------
    >>> import scalinglab as sl
    >>> sl.factor_effects("finetune.csv", ["n_params", "tokens"]).to_frame()  # doctest: +SKIP
    """
    df = _load(data)
    factors = list(factors)
    if len(factors) < 2:
        raise DataError("comparing factors needs at least 2 (repeat --factor)")
    need = ["factor", "finetune_size", metric, *factors] + ([by] if by else [])
    require_columns(df, need, "factor comparison")
    unknown = sorted(set(df["factor"].dropna().astype(str)) - set(factors))
    if unknown:
        raise DataError(
            f"column 'factor' names {unknown}, not among the factors compared ({factors}); "
            "add them with --factor or leave those rows out with --where"
        )
    groups = [(str(k), g) for k, g in df.groupby(by, sort=True)] if by else [("all", df)]
    rows: list[dict[str, Any]] = []
    fits: dict[str, FitResult] = {}
    verdicts: dict[str, str] = {}
    flags: list[Diagnostic] = []
    q = [50 * (1 - interval), 50 * (1 + interval)]
    for name, sub in groups:
        usable = [f for f in factors if sub.loc[sub["factor"] == f, f].nunique() >= 2]
        for f in factors:
            if f not in usable:
                n = int((sub["factor"] == f).sum())
                has = "has no rows" if n == 0 else "takes fewer than 2 values in its rows"
                flags.append(
                    Diagnostic(
                        "single_value",
                        "info" if n == 0 else "warning",
                        f"{name}: {_word(f)} ({f}) {has}, so its exponent is not identified "
                        "and it is left out of the comparison",
                        (f,),
                    )
                )
        if len(usable) < 1 or sub["finetune_size"].nunique() < 2:
            flags.append(
                Diagnostic(
                    "single_value",
                    "warning",
                    f"{name}: not enough distinct factor values or finetuning sizes to fit",
                )
            )
            continue
        rows_used = sub[sub["factor"].isin(usable)]
        res = fit(_joint_frame(rows_used, usable), joint_multiplicative_law(usable), metric=metric)
        fits[name] = res
        held_mad = _heldout_mad(rows_used, usable, metric)
        iv = None
        if n_bootstrap:
            res.bootstrap(n_bootstrap, seed=seed)
            assert res.bootstrap_ is not None
            draws = res.bootstrap_.params[res.bootstrap_.usable]
            iv = dict(zip(res.law.param_names, np.percentile(draws, q, axis=0).T, strict=True))
        beta = res.params_["beta"]
        for f in usable:
            a = res.params_[f"alpha_{f}"]
            lo, hi = iv[f"alpha_{f}"] if iv else (np.nan, np.nan)
            on_bound = f"alpha_{f}" in res.at_bounds_
            rows.append(
                {
                    by or "group": name,
                    "factor": f,
                    "alpha": a,
                    "alpha_lo": float(lo),
                    "alpha_hi": float(hi),
                    "A": res.params_[f"A_{f}"],
                    "loss_cut_per_10x": 1 - 10.0**-a,
                    "beta": beta,
                    "n_runs": int((rows_used["factor"] == f).sum()),
                    "heldout_mad": held_mad.get(f, np.nan),
                    "identified": not on_bound,
                }
            )
            if on_bound:
                flags.append(
                    Diagnostic(
                        "at_bound",
                        "warning",
                        f"{name}: alpha_{f} = {a:.3g} sits on its bound: the data do not "
                        f"determine how {_word(f)} scales finetuning",
                        (f"alpha_{f}",),
                    )
                )
        verdicts[name] = _verdict([r for r in rows if r[by or "group"] == name], interval, bool(iv))
    table = pd.DataFrame(rows)
    return FactorEffects(factors, table, fits, verdicts, interval, flags)


def _heldout_mad(rows: pd.DataFrame, factors: Sequence[str], metric: str) -> dict[str, float]:
    """The paper's Table 2 check: Eq. 2 fitted without each factor's largest value, its
    mean absolute error on those runs, per factor (factors with 3+ values only: with 2 the
    fit left would not determine the factor's exponent)."""
    held = np.zeros(len(rows), dtype=bool)
    for f in factors:
        own = (rows["factor"] == f).to_numpy()
        if rows.loc[own, f].nunique() >= 3:
            held |= own & np.isclose(rows[f].to_numpy(dtype=float), float(rows.loc[own, f].max()))
    if not held.any():
        return {}
    try:
        res = fit(
            _joint_frame(rows[~held], factors), joint_multiplicative_law(factors), metric=metric
        )
    except ScalingLabError:
        return {}
    test = rows[held]
    err = np.abs(np.asarray(res.predict(_joint_frame(test, factors)), dtype=float) - test[metric])
    return {str(f): float(e.mean()) for f, e in err.groupby(test["factor"].to_numpy())}


def _verdict(rows: Sequence[Mapping[str, Any]], interval: float, has_iv: bool) -> str:
    """One sentence: the factor with the largest exponent, and whether the data tell it from
    the runner-up (intervals clear of each other)."""
    ok = sorted((r for r in rows if r["identified"]), key=lambda r: -r["alpha"])
    if len(ok) < 2:
        return "fewer than 2 factors are identified here: no comparison"
    a, b = ok[0], ok[1]
    said = (
        f"{_word(a['factor'])} (alpha = {a['alpha']:.3g}"
        + (f", {interval:.0%} {a['alpha_lo']:.3g}-{a['alpha_hi']:.3g}" if has_iv else "")
        + f"; 10x cuts the reducible loss by {a['loss_cut_per_10x']:.0%}) vs "
        f"{_word(b['factor'])} (alpha = {b['alpha']:.3g}"
        + (f", {b['alpha_lo']:.3g}-{b['alpha_hi']:.3g}" if has_iv else "")
        + f"; {b['loss_cut_per_10x']:.0%})"
    )
    if not has_iv:
        return f"scaling {said}: larger, without intervals (bootstrap 0) to say it is clear"
    if a["alpha_lo"] > b["alpha_hi"]:
        return f"scaling {_word(a['factor'])} helps finetuning more on these data: {said}"
    return (
        f"the data cannot tell which helps finetuning more: {said}; the {interval:.0%} "
        "intervals overlap"
    )


def joint_columns(factors: Sequence[str]) -> dict[str, str]:
    """Which factor column is the catalog law's model / data / PET factor: n_params is model
    size, tokens pretraining data, and the one other factor (lora_rank, prompt_length, a PET
    parameter count) the PET size."""
    cols: dict[str, str] = {}
    rest = []
    for f in factors:
        if f == "n_params":
            cols["model"] = f
        elif f == "tokens":
            cols["data"] = f
        else:
            rest.append(f)
    if len(rest) > 1:
        raise DataError(f"finetune_joint has one PET-size factor; {rest} are several (keep one)")
    if rest:
        cols["pet"] = rest[0]
    return cols


def joint_frame(
    data: pd.DataFrame,
    columns: Mapping[str, str],
    factor_col: str = "factor",
) -> pd.DataFrame:
    """The catalog law `finetune_joint`'s columns from a table tagged by `factor_col`:
    columns maps model/data/pet to the factor columns (e.g. {"model": "n_params", "data":
    "tokens", "pet": "lora_rank"}); each row's own factor's value goes to x_<that>, 0 to the
    others, so `sl.fit(joint_frame(df, ...), "finetune_joint")` and `audit` run on it."""
    bad = sorted(set(columns) - {"model", "data", "pet"})
    if bad:
        raise DataError(f"joint_frame: keys must be model, data, pet; got {bad}")
    require_columns(data, [factor_col, *columns.values()], "finetune_joint")
    out = data.copy()
    tagged = np.zeros(len(data), dtype=bool)
    for key in ("model", "data", "pet"):
        col = columns.get(key)
        on = (data[factor_col] == col).to_numpy() if col else np.zeros(len(data), bool)
        tagged |= on
        vals = data[col].to_numpy(dtype=float) if col else np.zeros(len(data))
        out[f"x_{key}"] = np.where(on, vals, 0.0)
    if not tagged.all():
        first = data.index[~tagged][:5].tolist()
        raise DataError(
            f"{int((~tagged).sum())} rows have a '{factor_col}' that is none of "
            f"{sorted(columns.values())} (first rows: {first})",
            column=factor_col,
        )
    return out
