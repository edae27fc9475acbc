"""Finetuning-method choice (Zhang et al. 2024): which of FMT / LoRA / prompt tuning wins at
a given scale, and the critical finetuning size D_f at which one overtakes another.

Per method, the multiplicative joint law L = A X^-alpha D_f^-beta + E is fitted (and the
additive law for comparison, with held-out error for both: the runs at the largest X are
held out, as the paper holds out its largest settings). With several factors (e.g. model size
and pretraining tokens, rows tagged by a `factor` column), the paper's Eq. 2 joint fit is
used: A_X and alpha_X per factor, beta and E shared.

The critical D_f between two methods at X is where their fitted curves cross, found by a scan
over log D_f and bisection (every crossing in [1, 1e15] is reported); its interval comes from
the crossings of bootstrap draws of both fits.

Forecasts are only as good as their distance from the data, so the result says where it
extrapolates: a scale X outside the measured range, a crossing outside the measured
finetuning sizes. When X is a measured scale, the runs there are compared with the laws:
who actually won at each measured D_f, and whether the fitted curves agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ..errors import DataError
from ..fitting import FitResult, fit
from ..laws import get_law
from ..laws.base import Law, Parameter
from ..results import Result
from .audit import _load, holdout
from .pretrain_choice import require_columns

LOG_DF = np.linspace(0.0, np.log(1e15), 600)


def joint_multiplicative_law(factors: Sequence[str]) -> Law:
    """Zhang et al.'s Eq. 2: per-factor A_f, alpha_f; shared beta and E. Each row belongs to
    one factor: indicator columns `is_<f>` select its term, the other factors' columns are 1."""
    base = get_law("finetune_multiplicative")
    p = {q.name: q for q in base.parameters}
    params: list[Parameter] = []
    for f in factors:
        params.append(Parameter(f"A_{f}", p["A"].lower, p["A"].upper, p["A"].grid[::2], log=True))
        params.append(
            Parameter(f"alpha_{f}", p["alpha"].lower, p["alpha"].upper, p["alpha"].grid[::2])
        )
    params += [p["beta"], p["E"]]
    variables = tuple(
        [*(f"x_{f}" for f in factors), *(f"is_{f}" for f in factors), "finetune_size"]
    )

    def formula(**kw: Any) -> Any:
        term = 0.0
        for f in factors:
            term = term + kw[f"is_{f}"] * (kw[f"A_{f}"] / kw[f"x_{f}"] ** kw[f"alpha_{f}"])
        return term / kw["finetune_size"] ** kw["beta"] + kw["E"]

    return Law(
        name="finetune_multiplicative_joint",
        variables=variables,
        metric="loss",
        parameters=tuple(params),
        formula=formula,
        formula_text=" | ".join(f"A_{f} {f}^-alpha_{f}" for f in factors)
        + " * finetune_size^-beta + E",
        space="log",
        citation=base.citation + " (Eq. 2, joint over factors)",
        positive_variables=("finetune_size", *(f"x_{f}" for f in factors)),
    )


def _joint_frame(df: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    out = df.copy()
    for f in factors:
        on = (df["factor"] == f).to_numpy()
        out[f"is_{f}"] = on.astype(float)
        out[f"x_{f}"] = np.where(on, df[f].to_numpy(dtype=float), 1.0)
    return out


@dataclass
class MethodChoice(Result):
    title: ClassVar[str] = "finetuning-method choice"
    factor: str
    at: dict[str, float]
    fits: dict[str, FitResult]
    comparison: pd.DataFrame  # per method: params, held-out MAD multiplicative vs additive
    crossings: pd.DataFrame  # per method pair: critical D_f (+ interval), who wins below/above
    curves: pd.DataFrame  # predicted loss vs D_f per method at `at`
    notes: list[str] = field(default_factory=list)
    # mean measured metric per finetune_size (rows) and method (columns) at `at`; empty when
    # no runs were made at that scale
    measured: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        return self.crossings

    def plot(self) -> Any:
        from ..plots import method_figure

        return method_figure(self)

    def to_dict(self) -> dict[str, Any]:
        import json

        return {
            "factor": self.factor,
            "at": self.at,
            "comparison": json.loads(self.comparison.to_json(orient="records")),
            "crossings": json.loads(self.crossings.to_json(orient="records")),
            "measured": json.loads(self.measured.reset_index().to_json(orient="records")),
            "notes": self.notes,
        }


def _curve(res: FitResult, x: float, factor: str, joint: bool, log_df: np.ndarray) -> np.ndarray:
    return _curve_params(res.law, res.param_vector_[None, :], x, factor, joint, log_df)[0]


def _curve_params(
    law: Law, theta: np.ndarray, x: float, factor: str, joint: bool, log_df: np.ndarray
) -> np.ndarray:
    dfs = np.exp(log_df)
    if joint:
        data = {v: np.ones_like(dfs) for v in law.variables}
        for v in law.variables:
            if v.startswith("is_"):
                data[v] = np.full_like(dfs, 1.0 if v == f"is_{factor}" else 0.0)
        data[f"x_{factor}"] = np.full_like(dfs, x)
    else:
        data = {"x": np.full_like(dfs, x)}
    data["finetune_size"] = dfs
    return law.evaluate(theta, data)


def crossings_of(diff: np.ndarray, log_df: np.ndarray, f=None) -> list[float]:
    """Every sign change of `diff` on the grid, refined by bisection when `f` is given."""
    out = []
    s = np.sign(diff)
    for i in np.flatnonzero(s[:-1] * s[1:] < 0):
        if f is None:
            t = diff[i] / (diff[i] - diff[i + 1])
            out.append(float(np.exp(log_df[i] + t * (log_df[i + 1] - log_df[i]))))
        else:
            out.append(float(np.exp(brentq(f, log_df[i], log_df[i + 1], xtol=1e-10))))
    return out


def choose_method(
    data: pd.DataFrame | str | Path,
    factor: str | Sequence[str] = "n_params",
    at: Mapping[str, float] | None = None,
    *,
    metric: str = "loss",
    n_bootstrap: int = 300,
    interval: float = 0.9,
    seed: int = 0,
) -> MethodChoice:
    """Fit per-method laws, compare multiplicative vs additive held out, find crossings."""
    df = _load(data)
    factors = [factor] if isinstance(factor, str) else list(factor)
    joint = len(factors) > 1
    require_columns(
        df,
        ["method", "finetune_size", metric, *factors] + (["factor"] if joint else []),
        "finetuning-method choice",
    )
    main = factors[0]
    if at is None or main not in at:
        raise DataError(f"choose-method needs --at {main}=VALUE (the scale to decide at)")
    x_at = float(at[main])
    methods = sorted(df["method"].dropna().unique())
    if len(methods) < 2:
        raise DataError(
            f"finetuning-method choice needs at least 2 methods in 'method'; found {methods}"
        )
    fits: dict[str, FitResult] = {}
    comp = []
    for m in methods:
        sub = df[df["method"] == m]
        if sub[main].nunique() < 2 or sub["finetune_size"].nunique() < 2:
            raise DataError(
                f"method '{m}' needs at least 2 values of {main} and of "
                "finetune_size to fit a joint law"
            )
        if joint:
            law = joint_multiplicative_law(factors)
            res = fit(_joint_frame(sub, factors), law, metric=metric, n_refine=16)
        else:
            res = fit(
                sub, "finetune_multiplicative", mapping={"x": main}, metric=metric, n_refine=16
            )
        fits[m] = res
        row: dict[str, Any] = {
            "method": m,
            "n_runs": len(sub),
            **res.params_,
            "converged": res.converged_,
        }
        if not joint and sub[main].nunique() >= 3:
            q = f"{main} >= {float(sub[main].max())!r}"
            aud = holdout(
                sub,
                ["finetune_multiplicative", "finetune_additive"],
                q,
                mapping={"x": main},
                metric=metric,
                n_bootstrap=0,
            )
            bl = aud.by_law()
            row["heldout_mad_multiplicative"] = float(bl.loc["finetune_multiplicative", "mad"])
            row["heldout_mad_additive"] = float(bl.loc["finetune_additive", "mad"])
        comp.append(row)
    curves = pd.DataFrame({"finetune_size": np.exp(LOG_DF)})
    for m, res in fits.items():
        curves[m] = _curve(res, x_at, main, joint, LOG_DF)
    cross_rows, notes = [], []
    own = df[df["factor"] == main] if joint else df  # joint fits: rows that vary `main`
    x_lo, x_hi = float(own[main].min()), float(own[main].max())
    df_lo, df_hi = float(df["finetune_size"].min()), float(df["finetune_size"].max())
    if not x_lo <= x_at <= x_hi:
        orders = abs(np.log10(x_at / (x_hi if x_at > x_hi else x_lo)))
        notes.append(
            f"{main}={x_at:g} is {orders:.2g} orders of magnitude outside the measured "
            f"{_num(x_lo)}-{_num(x_hi)}: every curve and crossing here extrapolates the fitted laws"
        )
    at_runs = own[np.isclose(own[main].to_numpy(dtype=float), x_at, rtol=1e-9)]
    measured = (
        at_runs.groupby(["finetune_size", "method"])[metric].mean().unstack("method")
        if len(at_runs)
        else pd.DataFrame()
    )
    boots = {}
    if n_bootstrap:
        for m, res in fits.items():
            b = res.bootstrap(n_bootstrap, seed=seed)
            boots[m] = b.params[b.usable]
    for m1, m2 in combinations(methods, 2):
        r1, r2 = fits[m1], fits[m2]

        def f(ld, r1=r1, r2=r2):
            a = _curve(r1, x_at, main, joint, np.array([ld]))[0]
            return a - _curve(r2, x_at, main, joint, np.array([ld]))[0]

        diff = curves[m1].to_numpy() - curves[m2].to_numpy()
        xs = crossings_of(diff, LOG_DF, f)
        row = {
            "method_a": m1,
            "method_b": m2,
            main: x_at,
            "critical_finetune_size": xs[0] if xs else np.nan,
            "all_crossings": xs,
            "better_at_small_df": m1 if diff[0] < 0 else m2,
            "better_at_large_df": m1 if diff[-1] < 0 else m2,
            "crossing_within_measured_df": bool(xs) and df_lo <= xs[0] <= df_hi,
        }
        if n_bootstrap and xs:
            k = min(len(boots[m1]), len(boots[m2]))
            c1 = _curve_params(r1.law, boots[m1][:k], x_at, main, joint, LOG_DF)
            c2 = _curve_params(r2.law, boots[m2][:k], x_at, main, joint, LOG_DF)
            draws = [c[0] if c else np.nan for c in (crossings_of(d, LOG_DF) for d in (c1 - c2))]
            draws = np.asarray(draws)
            ok = np.isfinite(draws)
            q = [50 * (1 - interval), 50 * (1 + interval)]
            lo, hi = np.percentile(draws[ok], q) if ok.any() else (np.nan, np.nan)
            row.update(
                critical_lo=float(lo), critical_hi=float(hi), draws_with_crossing=float(ok.mean())
            )
        cross_rows.append(row)
        if xs:
            notes.append(
                f"at {main}={x_at:g}: {row['better_at_small_df']} is better below "
                f"D_f ~ {xs[0]:.3g}"
                + (
                    f" ({interval:.0%} interval {row['critical_lo']:.3g}-{row['critical_hi']:.3g})"
                    if np.isfinite(row.get("critical_lo", np.nan))
                    else ""
                )
                + f", {row['better_at_large_df']} above"
                + (
                    ""
                    if row["crossing_within_measured_df"]
                    else f" (outside the measured finetune sizes {_num(df_lo)}-{_num(df_hi)}: "
                    "the laws' extrapolation, not a measurement)"
                )
            )
        else:
            notes.append(
                f"at {main}={x_at:g}: {row['better_at_small_df']} is better than "
                f"{m2 if row['better_at_small_df'] == m1 else m1} at every D_f in "
                "[1, 1e15]"
            )
        if {m1, m2} <= set(measured.columns):
            notes.append(_measured_note(measured[[m1, m2]].dropna(), fits, x_at, main, joint))
    return MethodChoice(
        main,
        dict(at),
        fits,
        pd.DataFrame(comp),
        pd.DataFrame(cross_rows),
        curves,
        notes,
        measured,
    )


def _num(v: float) -> str:
    """4000 as '4,000' (not '4e+03'); large or fractional values in 3 significant digits."""
    return f"{v:,.0f}" if v == round(v) and abs(v) < 1e7 else f"{v:.3g}"


def _measured_note(
    pair: pd.DataFrame, fits: dict[str, FitResult], x_at: float, main: str, joint: bool
) -> str:
    """Who won at each measured D_f at this scale, and whether the fitted laws say the same."""
    m1, m2 = pair.columns
    sizes = pair.index.to_numpy(dtype=float)
    law = {m: _curve(fits[m], x_at, main, joint, np.log(sizes)) for m in (m1, m2)}
    won = np.where(pair[m1] < pair[m2], m1, m2)
    agree = int(np.sum(won == np.where(law[m1] < law[m2], m1, m2)))
    wins = ", ".join(
        f"{w} at {s:g} ({min(a, b):.4g} vs {max(a, b):.4g})"
        for w, s, a, b in zip(won, sizes, pair[m1], pair[m2], strict=True)
    )
    return (
        f"measured at {main}={x_at:g}, {m1} vs {m2}: {wins}; the fitted laws pick the same "
        f"winner at {agree} of {len(sizes)} sizes"
    )
