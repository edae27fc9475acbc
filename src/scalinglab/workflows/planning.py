"""Planning from a fitted law: compute-optimal allocation, over-training, inference budgets,
and "bigger model or more finetuning data?".

Compute-optimal (Hoffmann et al., approach 3): minimising E + A N^-alpha + B D^-beta subject to
C = 6 N D gives N* = G (C/6)^a, D* = G^-1 (C/6)^b with a = beta/(alpha+beta),
b = alpha/(alpha+beta), G = (alpha A / (beta B))^(1/(alpha+beta)). With an inference budget of
T tokens (2 N FLOPs each), the cheapest (N, D) reaching a target loss minimises
6 N D + 2 N T along the iso-loss curve D(N) (a 1-D bounded search in log N).

When the fit carries bootstrap draws, every draw replans and the plan states intervals at a
given level (`plan_intervals`); a fit without draws says so and how to get them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from ..diagnostics import Diagnostic
from ..errors import DataError
from ..fitting import FitResult
from ..laws.optimum import compute_optimal, loss_at
from ..results import Result
from ..schema import parse_number
from . import plan_intervals as pi

DEFAULT_LEVEL = 0.9
NO_DRAWS = (
    "the fit holds no bootstrap draws, so this plan has no intervals: run "
    "`scalinglab plan FIT.json --bootstrap 1000` (resamples the data stored in the fit file) "
    "or refit with `scalinglab fit ... --bootstrap 1000 --out FIT.json` "
    "(in Python: res.bootstrap(1000) before plan, or plan(..., n_bootstrap=1000))"
)


@dataclass
class Plan(Result):
    """Allocations for a FLOP budget (or a target loss), with their intervals.

    Built by `scalinglab.plan`.

    Attributes
    ----------
    rows : list of dict
        One per allocation: ``plan`` (its name), N, D, FLOPs, the loss, ``beyond_data``
        (orders of magnitude past the fitted runs) and ``<name>_lower``/``<name>_upper``
        for its uncertain values when the fit carries bootstrap draws.
    exponents : dict of str to float
        The fitted exponents behind the allocation: ``a (N* ~ C^a)`` and ``b (D* ~ C^b)``
        for a Chinchilla-form law, ``eta`` for an over-training law.
    flags : list of Diagnostic
        Allocations beyond the fitted data.
    fit : FitResult or None
        The fit planned from (for `plot`).
    interval : dict or None
        ``level``, ``kind`` and ``n_resamples`` of the intervals; None without draws.
    exponent_intervals : dict of str to list of float
        Each exponent's interval.
    interval_note : str
        Where the intervals come from, or why there are none.
    """

    title: ClassVar[str] = "training plan"
    rows: list[dict[str, Any]]
    exponents: dict[str, float]
    flags: list[Diagnostic] = field(default_factory=list)
    fit: FitResult | None = field(default=None, repr=False)
    interval: dict[str, Any] | None = None
    exponent_intervals: dict[str, list[float]] = field(default_factory=dict)
    interval_note: str = ""

    @property
    def interval_label(self) -> str:
        """'90% bootstrap interval, 1000 resamples', or that there is none.

        Returns
        -------
        str
            ``"no intervals"`` when the plan has none.
        """
        iv = self.interval
        if not iv:
            return "no intervals"
        return f"{iv['level']:.0%} bootstrap interval, {iv['n_resamples']} resamples"

    def summary(self) -> str:
        """The table, where the intervals come from (or why there are none), diagnostics.

        Returns
        -------
        str

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> p = sl.plan(res, budget=1e22, n_bootstrap=1000)  # doctest: +SKIP
        >>> print(p.summary())  # doctest: +SKIP
        """
        lines = [self.title, self.to_frame().to_string(max_rows=30, max_cols=12)]
        if self.interval_note:
            lines.append(f"intervals: {self.interval_note}")
        lines += [f"{d.severity.upper():<8} [{d.code}] {d.message}" for d in self.diagnostics]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The base table, and where its intervals come from (level, draws) or why none."""
        import html

        text = super()._repr_html_()
        if not self.interval_note:
            return text
        note = f"<p>intervals: {html.escape(self.interval_note)}</p>"
        return text[: -len("</div>")] + note + "</div>"

    def _own_diagnostics(self) -> list[Diagnostic]:
        return list(self.flags)

    def to_frame(self) -> pd.DataFrame:
        """The allocations (`rows`) as a table, one row per allocation.

        Returns
        -------
        pandas.DataFrame
            A new table built from `rows`.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> p = sl.plan(res, budget=1e22, n_bootstrap=1000)  # doctest: +SKIP
        >>> p.to_frame()  # doctest: +SKIP
        """
        return pd.DataFrame(self.rows)

    def plot(self) -> Any:
        """The compute-optimal frontier of the fit planned from: loss, N* and D* against
        the compute budget, solid within the fitted runs' sizes and dashed beyond.

        Returns
        -------
        plotly.graph_objects.Figure

        Raises
        ------
        ValueError
            The plan carries no fit (e.g. one loaded from a file written without it).

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> p = sl.plan(res, budget=1e22, n_bootstrap=1000)  # doctest: +SKIP
        >>> p.plot().show()  # doctest: +SKIP
        """
        from ..plots import plan_figure

        if self.fit is None:
            raise ValueError("this plan carries no fit to plot")
        return plan_figure(self.fit)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data (``--json``).

        Returns
        -------
        dict
            ``exponents``, ``exponent_intervals``, ``interval``, ``interval_note``,
            ``plans`` (the rows) and ``diagnostics``.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> p = sl.plan(res, budget=1e22, n_bootstrap=1000)  # doctest: +SKIP
        >>> p.to_dict()["plans"][0]  # doctest: +SKIP
        """
        return {
            "exponents": self.exponents,
            "exponent_intervals": self.exponent_intervals,
            "interval": self.interval,
            "interval_note": self.interval_note,
            "plans": self.rows,
            "diagnostics": [d.to_dict() for d in self.flags],
        }


def _flag_extrapolation(res: FitResult, plan: Plan) -> Plan:
    """Per plan row: orders of magnitude beyond the fitted data (the largest over the law's
    variables), and an extrapolation diagnostic past one order of magnitude."""
    frame = pd.DataFrame(plan.rows)
    have = [v for v in res.law.variables if v in frame.columns]
    if len(have) < len(res.law.variables) or res.data_ is None:
        return plan
    ext = res.extrapolation(frame[have])
    for row, far in zip(plan.rows, ext.max(axis=1).to_numpy(), strict=True):
        row["beyond_data"] = float(far)
    seen = set()
    for d in res.check_inputs(frame[have]):
        if d.params not in seen:
            seen.add(d.params)
            plan.flags.append(d)
    return plan


def _plan_overtrain(
    res: FitResult,
    budget: float | None,
    multiplier: float | None,
    draws: pi.Draws | None,
    level: float,
) -> Plan:
    """Gadre et al.'s L(C, M): at a budget C and token multiplier M = D/N, N = sqrt(C/(6M)).
    N and D follow from C and M alone; only the loss (and eta) carry an interval."""
    if budget is None or budget <= 0:
        raise DataError("an over-training plan needs a positive --budget (FLOPs)")
    rows = []
    for m in sorted({20.0, float(multiplier)} if multiplier else {20.0}):
        n = float(np.sqrt(budget / (6 * m)))
        at = {"flops": [budget], "tokens_per_param": [m]}
        loss = float(res.law.evaluate(res.params_, at)[0])
        row: dict[str, Any] = {
            "plan": f"M={m:g} tokens per parameter",
            "flops": budget,
            "n_params": n,
            "tokens": m * n,
            "tokens_per_param": m,
            "loss": loss,
        }
        if draws is not None:
            pi.add_bounds(row, "loss", res.law.evaluate(draws.theta, at)[:, 0], level)
        rows.append(row)
    params = _all_params(res)
    plan_ = Plan(rows, {"eta": params["eta"]}, fit=res)
    if draws is not None:
        plan_.exponent_intervals = {"eta": list(pi.bounds(draws.params["eta"], level))}
    return plan_


def _all_params(res: FitResult) -> dict[str, float]:
    """Fitted and fixed parameters together (a law with `fix(E=...)` plans as well)."""
    return {**res.law.fixed_values, **res.params_}


def _chinchilla_params(res: FitResult) -> dict[str, float]:
    need = {"E", "A", "B", "alpha", "beta"}
    params = _all_params(res)
    if not need <= set(params):
        raise DataError(
            f"planning needs a chinchilla-form fit (parameters {sorted(need)}); "
            f"got law '{res.law.name}' with {sorted(params)}"
        )
    return params


def numeric_optimum(params: dict[str, float], budget: float) -> tuple[float, float]:
    """N*, D* by direct minimisation over log N (checks the closed form)."""
    r = minimize_scalar(
        lambda ln: loss_at(params, np.exp(ln), budget / (6 * np.exp(ln))),
        bounds=(np.log(1e3), np.log(budget / 6)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    n = float(np.exp(r.x))
    return n, budget / (6 * n)


def tokens_for_loss(params: dict[str, float], n: float, target: float) -> float:
    gap = target - params["E"] - params["A"] / n ** params["alpha"]
    return (params["B"] / gap) ** (1 / params["beta"]) if gap > 0 else np.inf


def cheapest_for_loss(
    params: dict[str, float], target: float, inference_tokens: float
) -> tuple[float, float, float]:
    """(N, D, total FLOPs) minimising 6ND + 2N*inference_tokens with L(N, D) = target."""
    n_min = (params["A"] / (target - params["E"])) ** (1 / params["alpha"]) * 1.0001

    def total(ln: float) -> float:
        n = np.exp(ln)
        d = tokens_for_loss(params, n, target)
        return 6 * n * d + 2 * n * inference_tokens if np.isfinite(d) else np.inf

    r = minimize_scalar(
        total,
        bounds=(np.log(n_min), np.log(n_min) + 30),
        method="bounded",
        options={"xatol": 1e-10},
    )
    n = float(np.exp(r.x))
    return n, tokens_for_loss(params, n, target), float(r.fun)


def _number(value: Any, name: str, *, minimum: float = 0.0, strict: bool = True) -> float | None:
    """A plan input as a float: unit suffixes parse as on the command line ('2T', '5.76e23');
    nan, inf and out-of-range values are named errors, never a row of nan."""
    if value is None:
        return None
    try:
        v = parse_number(value)
    except ValueError as exc:
        raise DataError(f"{name} (--{name.replace('_', '-')}): {exc}") from None
    if not np.isfinite(v) or (v <= minimum if strict else v < minimum):
        need = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise DataError(
            f"{name} (--{name.replace('_', '-')}) must be a finite number {need}, got {value!r}"
        )
    return v


def _check_level(interval: float | None) -> None:
    if interval is not None and not (
        isinstance(interval, (int, float)) and 0 < float(interval) < 1
    ):
        raise DataError(f"interval must be a level between 0 and 1 (e.g. 0.9), got {interval!r}")


def _draws_for(
    res: FitResult, interval: float | None, n_bootstrap: int, group_by: str | None = None
) -> tuple[pi.Draws | None, str]:
    """The draws the plan's intervals come from: the fit's own, or `n_bootstrap` new ones
    (resampling whole runs where the fitted rows name them, `plan_intervals.run_groups`);
    and, for new ones, what they resampled."""
    if interval is None:
        return None, ""
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)):
        raise DataError(f"n_bootstrap must be a whole number, got {n_bootstrap!r}")
    if n_bootstrap < 0:
        raise DataError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    if n_bootstrap > 0:
        if res.data_ is None:
            raise DataError(
                "the fit holds no data to resample (it was saved without them): refit with "
                "`scalinglab fit ... --bootstrap N --out FIT.json`"
            )
        groups, what = pi.run_groups(res, group_by)
        res.bootstrap(int(n_bootstrap), group_by=groups)
        return pi.usable_draws(res), what
    if group_by:
        raise DataError(
            "group_by (--group-by) says what a new bootstrap resamples whole: add "
            "n_bootstrap (--bootstrap N)"
        )
    return pi.usable_draws(res), ""


def _interval_note(
    res: FitResult,
    draws: pi.Draws | None,
    interval: float | None,
    n_bootstrap: int,
    resampled: str = "",
) -> str:
    """Where the intervals come from, or why there are none (not a diagnostic: a plan from
    a fit without draws is not defective, it is unqualified, and says so)."""
    if interval is None:
        return ""
    if draws is None:
        if res.exact_fit_:
            why = "an exact fit (no more points than parameters) has no intervals"
        elif res.bootstrap_ is not None:
            why = "none of the fit's bootstrap draws is usable, so this plan has no intervals"
        else:
            why = NO_DRAWS
        return why
    src = (
        f"{n_bootstrap} bootstrap resamples of the fit's data, run now, each drawing {resampled}"
        if n_bootstrap
        else f"the fit's {draws.n_resamples} stored bootstrap draws"
        + (f", resampled by {draws.group_by}" if draws.group_by else "")
    )
    used = (
        ""
        if draws.n_usable == draws.n_resamples
        else f"; {draws.n_resamples - draws.n_usable} did not converge and are left out"
    )
    return (
        f"{interval:.0%} percentile intervals over {draws.n_usable} draws ({src}{used}): each "
        "draw replans; they describe the fit's parameter uncertainty, not a new run's scatter"
    )


def plan(
    res: FitResult,
    budget: float | None = None,
    *,
    tokens_per_param: float | None = None,
    inference_tokens: float | None = None,
    target_loss: float | None = None,
    interval: float | None = DEFAULT_LEVEL,
    n_bootstrap: int = 0,
    group_by: str | None = None,
) -> Plan:
    """Allocation(s) for a FLOP budget (and/or a target loss with an inference budget),
    with bootstrap intervals whenever the fit carries draws.

    A Chinchilla-form fit gives the compute-optimal allocation (and a fixed-M one); an
    `overtrain` fit (Gadre et al.) gives the allocation at M = 20 and at `tokens_per_param`.
    Every row says how far it lies beyond the fitted data (`beyond_data`, orders of
    magnitude) and the plan carries an extrapolation diagnostic past one order.

    Parameters
    ----------
    res : FitResult
        A fitted Chinchilla-form law (E, A, B, alpha, beta; some may be fixed) or an
        `overtrain` law.
    budget : float, optional
        Training FLOPs to allocate.
    tokens_per_param : float, optional
        A fixed tokens-per-parameter ratio M to plan at as well.
    inference_tokens : float, optional
        Tokens to be served over the model's life; with `target_loss`, the
        plan minimises training plus inference compute (6ND + 2N per served token).
    target_loss : float, optional
        The loss to reach at least cost.
    interval : float, optional
        Level of the intervals (default 0.9); None for none. Each usable bootstrap
        draw of the fit replans; a row's uncertain values get `<name>_lower` and
        `<name>_upper` (the optimum's N and D, the loss at the planned allocation, the
        inference plan's N, D and FLOPs). Without draws the plan says so in a note.
    n_bootstrap : int, default 0
        When > 0, first run this many bootstrap resamples on the fit's data
        (replacing any stored draws; `res.bootstrap_` keeps them). Each resample draws
        whole runs where the fitted rows name them (a `run` column, or a model's
        checkpoints), as forecast, ladder and audit do; the note says what was drawn.
    group_by : str, optional
        With `n_bootstrap`, resample whole groups of this column instead (a column
        of the fitted rows, or a variable a fit file keeps, e.g. ``n_params``).

    Returns
    -------
    Plan
        `rows` (one per allocation: N, D, FLOPs, predicted loss, beyond_data, intervals),
        the fitted exponents with `exponent_intervals`, `interval` (level, kind, number of
        draws; None without draws), and diagnostics for allocations beyond the fitted data.

    Examples
    --------
    >>> import scalinglab as sl
    >>> res = sl.fit("runs.csv", "chinchilla")                  # doctest: +SKIP
    >>> res.bootstrap(1000)                                     # doctest: +SKIP
    >>> sl.plan(res, budget=1e22, interval=0.9).to_frame()      # doctest: +SKIP
    """
    _check_level(interval)
    budget = _number(budget, "budget")
    tokens_per_param = _number(tokens_per_param, "tokens_per_param")
    inference_tokens = _number(inference_tokens, "inference_tokens", strict=False)
    target_loss = _number(target_loss, "target_loss")
    overtrain = set(res.law.variables) == {"flops", "tokens_per_param"}
    if target_loss is not None and inference_tokens is None:
        raise DataError(
            "target_loss (--target-loss) plans with inference_tokens (--inference-tokens); "
            "give --inference-tokens 0 for the cheapest training run that reaches it"
        )
    if overtrain and inference_tokens is not None:
        raise DataError(
            f"law '{res.law.name}' plans at a budget and a token multiplier (--budget, "
            "--tokens-per-param); the inference-aware plan (--inference-tokens, --target-loss) "
            "needs a chinchilla-form fit of N and D"
        )
    p = _all_params(res) if overtrain else _chinchilla_params(res)
    draws, resampled = _draws_for(res, interval, n_bootstrap, group_by)
    level = float(interval) if interval is not None else DEFAULT_LEVEL
    if overtrain:
        plan_ = _plan_overtrain(res, budget, tokens_per_param, draws, level)
    else:
        plan_ = _plan_chinchilla(
            res, p, budget, tokens_per_param, inference_tokens, target_loss, draws, level
        )
    if draws is not None:
        plan_.interval = draws.describe(level)
    plan_.interval_note = _interval_note(res, draws, interval, n_bootstrap, resampled)
    return _flag_extrapolation(res, plan_)


def _plan_chinchilla(
    res: FitResult,
    p: dict[str, float],
    budget: float | None,
    tokens_per_param: float | None,
    inference_tokens: float | None,
    target_loss: float | None,
    draws: pi.Draws | None,
    level: float,
) -> Plan:
    """The compute-optimal, fixed-M and inference-aware rows, each with its intervals."""
    ab = p["alpha"] + p["beta"]
    dp = draws.params if draws is not None else None
    rows: list[dict[str, Any]] = []
    if budget is not None:
        if budget <= 0:
            raise DataError(f"--budget must be positive, got {budget}")
        n, d, loss = compute_optimal(p, budget)
        row: dict[str, Any] = {
            "plan": "compute-optimal",
            "flops": budget,
            "n_params": n,
            "tokens": d,
            "tokens_per_param": d / n,
            "loss": loss,
        }
        if dp is not None:
            nb, db, lb = pi.optimum_draws(dp, budget)
            pi.add_bounds(row, "n_params", nb, level)
            pi.add_bounds(row, "tokens", db, level)
            pi.add_bounds(row, "tokens_per_param", db / nb, level)
            pi.add_bounds(row, "loss", pi.loss_draws(dp, n, d), level)
        rows.append(row)
        if tokens_per_param:
            n2 = float(np.sqrt(budget / (6 * tokens_per_param)))
            d2 = tokens_per_param * n2
            row = {
                "plan": f"fixed M={tokens_per_param:g}",
                "flops": budget,
                "n_params": n2,
                "tokens": d2,
                "tokens_per_param": tokens_per_param,
                "loss": loss_at(p, n2, d2),
                "loss_vs_optimal": loss_at(p, n2, d2) - loss,
            }
            if dp is not None:
                l2 = pi.loss_draws(dp, n2, d2)
                pi.add_bounds(row, "loss", l2, level)
                pi.add_bounds(row, "loss_vs_optimal", l2 - lb, level)
            rows.append(row)
    if inference_tokens is not None:
        if target_loss is None:
            if budget is None:
                raise DataError("an inference plan needs --target-loss or --budget")
            target_loss = rows[0]["loss"]
        if target_loss <= p["E"]:
            raise DataError(
                f"target loss {target_loss} is below the law's irreducible loss E={p['E']:.4g}"
            )
        for label, served in (
            (f"train + inference ({inference_tokens:.3g} tokens)", inference_tokens),
            ("train-only optimum at the same loss", 0.0),
        ):
            n, d, tot = cheapest_for_loss(p, target_loss, served)
            row = {
                "plan": label,
                "flops": 6 * n * d,
                "inference_flops": 2 * n * inference_tokens,
                "total_flops": 6 * n * d + 2 * n * inference_tokens,
                "n_params": n,
                "tokens": d,
                "tokens_per_param": d / n,
                "loss": target_loss,
            }
            if dp is not None:
                nb, db, _ = pi.cheapest_draws(dp, target_loss, served)
                pi.add_bounds(row, "flops", 6 * nb * db, level)
                pi.add_bounds(row, "inference_flops", 2 * nb * inference_tokens, level)
                pi.add_bounds(row, "total_flops", 6 * nb * db + 2 * nb * inference_tokens, level)
                pi.add_bounds(row, "n_params", nb, level)
                pi.add_bounds(row, "tokens", db, level)
                with np.errstate(invalid="ignore"):  # unreachable draws: inf, not nan
                    ratio = np.where(np.isfinite(nb), db / nb, np.inf)
                pi.add_bounds(row, "tokens_per_param", ratio, level)
            rows.append(row)
    if not rows:
        raise DataError("give --budget and/or --inference-tokens")
    names = ("a (N* ~ C^a)", "b (D* ~ C^b)")
    plan_ = Plan(rows, {names[0]: p["beta"] / ab, names[1]: p["alpha"] / ab}, fit=res)
    if dp is not None:
        a_b = dp["beta"] / (dp["alpha"] + dp["beta"])
        plan_.exponent_intervals = {
            names[0]: list(pi.bounds(a_b, level)),
            names[1]: list(pi.bounds(1 - a_b, level)),
        }
    if dp is not None and inference_tokens is not None:
        unreachable = int(np.sum(~(dp["E"] < target_loss)))
        if unreachable:
            plan_.flags.append(
                Diagnostic(
                    "note",
                    "warning",
                    f"in {unreachable} of {len(dp['E'])} bootstrap draws the target loss "
                    f"{target_loss:.4g} is at or below the draw's irreducible loss E: no size "
                    "reaches it there, so those draws count as unbounded (an upper bound of "
                    "inf)",
                    ("E",),
                )
            )
    return plan_


def finetune_tradeoff(
    res: FitResult, x: float, finetune_size: float, target_loss: float
) -> dict[str, Any]:
    """With a fitted multiplicative finetuning law: the factor X needed at the current D_f,
    and the D_f needed at the current X, to reach `target_loss` (Zhang et al.: scaling the
    model usually buys more than scaling data).

    Parameters
    ----------
    res : FitResult
        A fit of ``finetune_multiplicative`` (``L = A / (X^alpha D_f^beta) + E``).
    x : float
        The current value of the scaled factor X (e.g. model size).
    finetune_size : float
        The current finetuning data size D_f.
    target_loss : float
        The loss to reach; must lie above the fitted floor E.

    Returns
    -------
    dict
        ``current_loss``, ``target_loss``, ``x_needed_at_current_df``, ``x_multiplier``,
        ``df_needed_at_current_x``, ``df_multiplier`` and ``cheaper_axis`` (the factor
        needing the smaller multiplier).
    """
    p = res.params_
    if not {"A", "alpha", "beta", "E"} <= set(p) or "B" in p:
        raise DataError("finetune trade-off needs a finetune_multiplicative fit")
    gap = target_loss - p["E"]
    if gap <= 0:
        raise DataError(f"target loss {target_loss} is at or below E={p['E']:.4g}")
    x_needed = (p["A"] / (gap * finetune_size ** p["beta"])) ** (1 / p["alpha"])
    df_needed = (p["A"] / (gap * x ** p["alpha"])) ** (1 / p["beta"])
    now = p["A"] / (x ** p["alpha"] * finetune_size ** p["beta"]) + p["E"]
    return {
        "current_loss": now,
        "target_loss": target_loss,
        "x_needed_at_current_df": x_needed,
        "x_multiplier": x_needed / x,
        "df_needed_at_current_x": df_needed,
        "df_multiplier": df_needed / finetune_size,
        "cheaper_axis": "model (x)"
        if x_needed / x < df_needed / finetune_size
        else "finetuning data",
    }
