"""Where two finetuning methods' fitted curves cross, and how sure that is: each method's
law fitted at the decision scale, the crossing between the measured finetuning sizes (and
any other), its bootstrap interval from paired draws of both fits, and the same decision
checked held out (fitted without the decision scale's runs). `finetune_choice` decides with
it and says which law and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ..diagnostics import Diagnostic
from ..errors import DataError
from ..fitting import FitResult, fit
from ..laws import get_law
from ..laws.base import Law, Parameter

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

    # Saved as the same formula written out, so a result holding this fit loads back (it
    # is neither a catalog law nor a user's expression; from_json said 'unknown law').
    terms = " + ".join(f"is_{f} * (A_{f} / x_{f}**alpha_{f})" for f in factors)
    spec = {  # the keys in expression_law's order, so a reload writes the same file
        "expression": f"({terms}) / finetune_size**beta + E",
        "metric": "loss",
        "name": "finetune_multiplicative_joint",
        "variables": list(variables),
    }
    return Law(
        name="finetune_multiplicative_joint",
        spec=spec,
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


@dataclass
class _Setup:
    """What every fit of one choose-method call shares."""

    main: str
    factors: list[str]
    joint: bool
    metric: str
    x_at: float
    n_bootstrap: int
    interval: float
    seed: int
    df_range: tuple[float, float]  # measured finetuning sizes


def _fit_methods(
    df: pd.DataFrame, methods: Sequence[str], law: str, st: _Setup
) -> dict[str, FitResult]:
    fits: dict[str, FitResult] = {}
    for m in methods:
        sub = df[df["method"] == m]
        if sub[st.main].nunique() < 2 or sub["finetune_size"].nunique() < 2:
            raise DataError(
                f"method '{m}' needs at least 2 values of {st.main} and of "
                "finetune_size to fit a joint law"
            )
        if st.joint:
            jl = joint_multiplicative_law(st.factors)
            fits[m] = fit(_joint_frame(sub, st.factors), jl, metric=st.metric, n_refine=16)
        else:
            fits[m] = fit(sub, law, mapping={"x": st.main}, metric=st.metric, n_refine=16)
    return fits


def _boot_draws(fits: dict[str, FitResult], st: _Setup) -> dict[str, np.ndarray]:
    out = {}
    if st.n_bootstrap:
        for m, res in fits.items():
            b = res.bootstrap(st.n_bootstrap, seed=st.seed)
            out[m] = b.params[b.usable]
    return out


def _pair_crossing(
    fits: dict[str, FitResult],
    boots: dict[str, np.ndarray],
    m1: str,
    m2: str,
    st: _Setup,
) -> dict[str, Any]:
    """Where m1's and m2's fitted curves cross at `x_at`, who wins either side, and the
    crossing's bootstrap interval (from paired draws of both fits)."""
    r1, r2 = fits[m1], fits[m2]
    main, joint, x_at = st.main, st.joint, st.x_at

    def f(ld: float) -> float:
        a = _curve(r1, x_at, main, joint, np.array([ld]))[0]
        return float(a - _curve(r2, x_at, main, joint, np.array([ld]))[0])

    diff = _curve(r1, x_at, main, joint, LOG_DF) - _curve(r2, x_at, main, joint, LOG_DF)
    xs = crossings_of(diff, LOG_DF, f)
    crit = _primary(xs, st.df_range)
    if np.isfinite(crit):  # who wins just either side of the crossing that matters
        below, above = _curve(r1, x_at, main, joint, np.log([crit / 1.5, crit * 1.5])) - _curve(
            r2, x_at, main, joint, np.log([crit / 1.5, crit * 1.5])
        )
    else:
        below, above = diff[0], diff[-1]
    row: dict[str, Any] = {
        "method_a": m1,
        "method_b": m2,
        main: x_at,
        "critical_finetune_size": crit,
        "all_crossings": xs,
        "better_at_small_df": m1 if below < 0 else m2,
        "better_at_large_df": m1 if above < 0 else m2,
    }
    if boots and xs:
        k = min(len(boots[m1]), len(boots[m2]))
        c1 = _curve_params(r1.law, boots[m1][:k], x_at, main, joint, LOG_DF)
        c2 = _curve_params(r2.law, boots[m2][:k], x_at, main, joint, LOG_DF)
        draws = [_nearest(c, crit) for c in (crossings_of(d, LOG_DF) for d in (c1 - c2))]
        arr = np.asarray(draws)
        ok = np.isfinite(arr)
        q = [50 * (1 - st.interval), 50 * (1 + st.interval)]
        lo, hi = np.percentile(arr[ok], q) if ok.any() else (np.nan, np.nan)
        lo, hi, stretched = stretch_to_point(float(lo), float(hi), float(crit))
        row.update(
            critical_lo=float(lo),
            critical_hi=float(hi),
            n_resamples=int(k),
            draws_with_crossing=float(ok.mean()),
            interval_stretched=stretched,
        )
    return row


def stretch_to_point(lo: float, hi: float, point: float) -> tuple[float, float, bool]:
    """(lo, hi) widened to include `point`, and whether it had to be. The resampled fits can
    put a crossing away from the fit's own (few runs, a shallow angle between the curves): a
    percentile interval that excludes the point it is quoted beside would read as certainty,
    so it is stretched to the point and the caveat says so."""
    if not (np.isfinite(point) and np.isfinite(lo)) or lo <= point <= hi:
        return lo, hi, False
    return min(lo, point), max(hi, point), True


def _resamples(used: int, asked: int) -> str:
    """'300 resamples', or '270 of 300 resamples' when some fits could not be used."""
    return f"{used} resamples" if used >= asked else f"{used} of {asked} resamples usable"


def _interval_caveat(row: Mapping[str, Any]) -> str:
    """What a crossing's interval does not say by itself: that it was stretched to reach the
    fit's own crossing, or that many resampled fits do not cross at all."""
    out = ""
    if row.get("interval_stretched"):
        out += ", stretched to include the fit's crossing: the resampled fits put it elsewhere"
    share = row.get("draws_with_crossing", 1.0)
    if np.isfinite(share) and share < 0.9:
        out += f"; only {share:.0%} of resampled fits cross at all"
    return out


def _primary(xs: Sequence[float], df_range: tuple[float, float]) -> float:
    """The crossing a decision rests on: inside the measured finetuning sizes if one is,
    else the nearest to them (in orders of magnitude). A far crossing at D_f ~ 3 must not
    hide the one between the measured sizes."""
    if not xs:
        return float("nan")
    lo, hi = np.log(df_range[0]), np.log(df_range[1])
    dist = [max(lo - np.log(x), np.log(x) - hi, 0.0) for x in xs]
    return float(xs[int(np.argmin(dist))])


def _nearest(xs: Sequence[float], ref: float) -> float:
    """A bootstrap draw's crossing that corresponds to the fit's one: the nearest to it."""
    if not xs:
        return float("nan")
    return float(xs[int(np.argmin(np.abs(np.log(xs) - np.log(ref))))])


def _winners(pair: pd.DataFrame, fits: dict[str, FitResult], st: _Setup) -> tuple[int, str]:
    """How many measured winners at `x_at` the fitted laws pick, and who won where."""
    m1, m2 = pair.columns
    sizes = pair.index.to_numpy(dtype=float)
    law = {m: _curve(fits[m], st.x_at, st.main, st.joint, np.log(sizes)) for m in (m1, m2)}
    won = np.where(pair[m1] < pair[m2], m1, m2)
    agree = int(np.sum(won == np.where(law[m1] < law[m2], m1, m2)))
    wins = ", ".join(
        f"{w} at {s:g} ({min(a, b):.4g} vs {max(a, b):.4g})"
        for w, s, a, b in zip(won, sizes, pair[m1], pair[m2], strict=True)
    )
    return agree, wins


def _fit_flags(method: str, res: FitResult, which: str = "") -> list[Diagnostic]:
    """Every diagnostic of one method's fit (not_converged, flat, ...), named with the method
    and the law, so a decision never rests on a failed fit without the result saying so;
    parameters on a bound in the method's own words (_bound_flags)."""
    out = []
    for d in res.diagnostics_:
        if d.code == "at_bound" or d.severity == "info":
            continue
        out.append(
            Diagnostic(
                d.code,
                d.severity,
                f"{method} ({_short(res.law.name)} law{which}): {d.message}",
                d.params,
            )
        )
    return out + _bound_flags(method, res, which)


def _bound_flags(method: str, res: FitResult, which: str = "") -> list[Diagnostic]:
    """A parameter on its bound is a finding about the method, not only about the fit:
    prompt tuning's beta = 0 says more finetuning data did not help it at all here."""
    out = []
    for name in res.at_bounds_:
        p = res.law.parameter(name)
        v = res.params_[name]
        side = "lower" if abs(v - p.lower) <= abs(v - p.upper) else "upper"
        meaning = (
            ": the fit finds no gain from more finetuning data for this method"
            if name == "beta" and side == "lower"
            else ""
        )
        out.append(
            Diagnostic(
                "at_bound",
                "warning",
                f"{method} ({_short(res.law.name)} law{which}): {name} = {v:.4g} sits on "
                f"its {side} bound{meaning}; its interval "
                "and any crossing that rests on it are not determined by the data",
                (name,),
            )
        )
    return out


def _crossing_note(row: dict[str, Any], st: _Setup, df_lo: float, df_hi: float) -> str:
    xs, m1, m2 = row["all_crossings"], row["method_a"], row["method_b"]
    if not xs:
        return (
            f"at {st.main}={st.x_at:g}: {row['better_at_small_df']} is better than "
            f"{m2 if row['better_at_small_df'] == m1 else m1} at every D_f in [1, 1e15]"
        )
    others = [x for x in xs if x != row["critical_finetune_size"]]
    return (
        f"at {st.main}={st.x_at:g}: {row['better_at_small_df']} is better below "
        f"D_f ~ {_num(row['critical_finetune_size'])}"
        + (
            f" ({st.interval:.0%} interval {row['critical_lo']:.3g}-{row['critical_hi']:.3g}, "
            f"{_resamples(row['n_resamples'], st.n_bootstrap)}{_interval_caveat(row)})"
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
        + (
            f"; the curves also cross at D_f ~ {', '.join(_num(x) for x in others)}"
            if others
            else ""
        )
    )


def _heldout_check(
    df: pd.DataFrame,
    methods: Sequence[str],
    law: str,
    st: _Setup,
    measured: pd.DataFrame,
    crossings: pd.DataFrame,
    in_fits: dict[str, FitResult],
) -> tuple[pd.DataFrame, list[str], pd.DataFrame, list[Diagnostic]]:
    """Refit every method without the runs at the decision scale and predict what was
    measured there: the crossing and the winner at each measured D_f. In-sample agreement
    is easy (the runs pulled the curves towards themselves); this is the honest score.
    The held-out fits' own diagnostics come back named, as the in-sample ones."""
    train = df[~np.isclose(df[st.main].to_numpy(dtype=float), st.x_at, rtol=1e-9)]
    short = [m for m in methods if train.loc[train["method"] == m, st.main].nunique() < 2]
    if short:
        return (
            pd.DataFrame(),
            [
                f"no held-out check of the decision: without {st.main}={st.x_at:g}, "
                f"{', '.join(short)} keep fewer than 2 scales to fit"
            ],
            pd.DataFrame(),
            [],
        )
    fits = _fit_methods(train, methods, law, st)
    which = f", fitted without {st.main}={st.x_at:g}"
    flags = [d for m, r in fits.items() for d in _fit_flags(m, r, which)]
    boots = _boot_draws(fits, st)
    rows, notes = [], []
    ins = crossings.set_index(["method_a", "method_b"])
    for m1, m2 in combinations(methods, 2):
        r = _pair_crossing(fits, boots, m1, m2, st)
        pair = measured[[m1, m2]].dropna() if {m1, m2} <= set(measured.columns) else None
        right = _winners(pair, fits, st)[0] if pair is not None and len(pair) else None
        right_in = _winners(pair, in_fits, st)[0] if pair is not None and len(pair) else None
        row = {
            "method_a": m1,
            "method_b": m2,
            "critical_in_sample": float(ins.loc[(m1, m2), "critical_finetune_size"]),
            "critical_heldout": r["critical_finetune_size"],
            "heldout_lo": r.get("critical_lo", np.nan),
            "heldout_hi": r.get("critical_hi", np.nan),
            "heldout_interval_stretched": r.get("interval_stretched", False),
            "winners_right_in_sample": right_in,
            "winners_right_heldout": right,
            "n_measured_sizes": len(pair) if pair is not None else 0,
        }
        rows.append(row)
        if pair is None or not len(pair):
            continue
        c_in, c_out = row["critical_in_sample"], row["critical_heldout"]
        iv = (
            f" ({st.interval:.0%} {_num(row['heldout_lo'])}-{_num(row['heldout_hi'])}, "
            f"{_resamples(r['n_resamples'], st.n_bootstrap)}{_interval_caveat(r)})"
            if np.isfinite(row["heldout_lo"])
            else ""
        )
        cross = (
            f"the crossing moves from {_num(c_in)} (in-sample) to {_num(c_out)}{iv}"
            if np.isfinite(c_in) and np.isfinite(c_out)
            else f"crossing in-sample {_fmt_cross(c_in)}, held out {_fmt_cross(c_out)}{iv}"
        )
        notes.append(
            f"held out (laws fitted without {st.main}={st.x_at:g}), {m1} vs {m2}: {cross}; "
            f"the laws pick the measured winner at {right} of {len(pair)} sizes"
        )
    curves = pd.DataFrame({"finetune_size": np.exp(LOG_DF)})
    for m, res in fits.items():
        curves[m] = _curve(res, st.x_at, st.main, st.joint, LOG_DF)
    return pd.DataFrame(rows), notes, curves, flags


def _num(v: float) -> str:
    """4000 as '4,000' (not '4e+03'); large or fractional values in 3 significant digits."""
    if (v == round(v) and abs(v) < 1e7) or 100 <= abs(v) < 1e5:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _fmt_cross(v: float) -> str:
    return _num(v) if np.isfinite(v) else "none in [1, 1e15]"


def _short(law: str) -> str:
    return law.removeprefix("finetune_")
