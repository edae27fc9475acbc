"""Planning from a fitted law: compute-optimal allocation, over-training, inference budgets,
and "bigger model or more finetuning data?".

Compute-optimal (Hoffmann et al., approach 3): minimising E + A N^-alpha + B D^-beta subject to
C = 6 N D gives N* = G (C/6)^a, D* = G^-1 (C/6)^b with a = beta/(alpha+beta),
b = alpha/(alpha+beta), G = (alpha A / (beta B))^(1/(alpha+beta)). With an inference budget of
T tokens (2 N FLOPs each), the cheapest (N, D) reaching a target loss minimises
6 N D + 2 N T along the iso-loss curve D(N) (a 1-D bounded search in log N).
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


@dataclass
class Plan(Result):
    title: ClassVar[str] = "training plan"
    rows: list[dict[str, Any]]
    exponents: dict[str, float]
    flags: list[Diagnostic] = field(default_factory=list)
    fit: FitResult | None = field(default=None, repr=False)

    def _own_diagnostics(self) -> list[Diagnostic]:
        return list(self.flags)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def plot(self) -> Any:
        from ..plots import plan_figure

        if self.fit is None:
            raise ValueError("this plan carries no fit to plot")
        return plan_figure(self.fit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exponents": self.exponents,
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


def _plan_overtrain(res: FitResult, budget: float | None, multiplier: float | None) -> Plan:
    """Gadre et al.'s L(C, M): at a budget C and token multiplier M = D/N, N = sqrt(C/(6M))."""
    if budget is None or budget <= 0:
        raise DataError("an over-training plan needs a positive --budget (FLOPs)")
    rows = []
    for m in sorted({20.0, float(multiplier)} if multiplier else {20.0}):
        n = float(np.sqrt(budget / (6 * m)))
        loss = float(res.law.evaluate(res.params_, {"flops": [budget], "tokens_per_param": [m]})[0])
        rows.append(
            {
                "plan": f"M={m:g} tokens per parameter",
                "flops": budget,
                "n_params": n,
                "tokens": m * n,
                "tokens_per_param": m,
                "loss": loss,
            }
        )
    return _flag_extrapolation(res, Plan(rows, {"eta": res.params_["eta"]}, fit=res))


def _chinchilla_params(res: FitResult) -> dict[str, float]:
    need = {"E", "A", "B", "alpha", "beta"}
    if not need <= set(res.params_):
        raise DataError(
            f"planning needs a chinchilla-form fit (parameters {sorted(need)}); "
            f"got law '{res.law.name}' with {sorted(res.params_)}"
        )
    return res.params_


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


def plan(
    res: FitResult,
    budget: float | None = None,
    *,
    tokens_per_param: float | None = None,
    inference_tokens: float | None = None,
    target_loss: float | None = None,
) -> Plan:
    """Allocation(s) for a FLOP budget (and/or a target loss with an inference budget).

    A Chinchilla-form fit gives the compute-optimal allocation (and a fixed-M one); an
    `overtrain` fit (Gadre et al.) gives the allocation at M = 20 and at `tokens_per_param`.
    Every row says how far it lies beyond the fitted data (`beyond_data`, orders of
    magnitude) and the plan carries an extrapolation diagnostic past one order.

    Parameters
    ----------
    res : a fitted Chinchilla-form law (E, A, B, alpha, beta) or an `overtrain` law.
    budget : training FLOPs to allocate.
    tokens_per_param : a fixed tokens-per-parameter ratio M to plan at as well.
    inference_tokens : tokens to be served over the model's life; with `target_loss`, the
        plan minimises training plus inference compute (6ND + 2N per served token).
    target_loss : the loss to reach at least cost.

    Returns
    -------
    Plan
        `rows` (one per allocation: N, D, FLOPs, predicted loss, beyond_data), the fitted
        exponents, and diagnostics for allocations beyond the fitted data.

    Examples
    --------
    >>> import scalinglab as sl
    >>> res = sl.fit("runs.csv", "chinchilla")                  # doctest: +SKIP
    >>> sl.plan(res, budget=1e22).to_frame()                    # doctest: +SKIP
    """
    if set(res.law.variables) == {"flops", "tokens_per_param"}:
        return _plan_overtrain(res, budget, tokens_per_param)
    p = _chinchilla_params(res)
    ab = p["alpha"] + p["beta"]
    rows: list[dict[str, Any]] = []
    if budget is not None:
        if budget <= 0:
            raise DataError(f"--budget must be positive, got {budget}")
        n, d, loss = compute_optimal(p, budget)
        rows.append(
            {
                "plan": "compute-optimal",
                "flops": budget,
                "n_params": n,
                "tokens": d,
                "tokens_per_param": d / n,
                "loss": loss,
            }
        )
        if tokens_per_param:
            n2 = np.sqrt(budget / (6 * tokens_per_param))
            d2 = tokens_per_param * n2
            rows.append(
                {
                    "plan": f"fixed M={tokens_per_param:g}",
                    "flops": budget,
                    "n_params": n2,
                    "tokens": d2,
                    "tokens_per_param": tokens_per_param,
                    "loss": loss_at(p, n2, d2),
                    "loss_vs_optimal": loss_at(p, n2, d2) - loss,
                }
            )
    if inference_tokens is not None:
        if target_loss is None:
            if budget is None:
                raise DataError("an inference plan needs --target-loss or --budget")
            target_loss = rows[0]["loss"]
        if target_loss <= p["E"]:
            raise DataError(
                f"target loss {target_loss} is below the law's irreducible loss E={p['E']:.4g}"
            )

        n, d, tot = cheapest_for_loss(p, target_loss, inference_tokens)
        rows.append(
            {
                "plan": f"train + inference ({inference_tokens:.3g} tokens)",
                "flops": 6 * n * d,
                "inference_flops": 2 * n * inference_tokens,
                "total_flops": tot,
                "n_params": n,
                "tokens": d,
                "tokens_per_param": d / n,
                "loss": target_loss,
            }
        )
        n0, d0, _ = cheapest_for_loss(p, target_loss, 0.0)
        rows.append(
            {
                "plan": "train-only optimum at the same loss",
                "flops": 6 * n0 * d0,
                "inference_flops": 2 * n0 * inference_tokens,
                "total_flops": 6 * n0 * d0 + 2 * n0 * inference_tokens,
                "n_params": n0,
                "tokens": d0,
                "tokens_per_param": d0 / n0,
                "loss": target_loss,
            }
        )
    if not rows:
        raise DataError("give --budget and/or --inference-tokens")
    plan_ = Plan(rows, {"a (N* ~ C^a)": p["beta"] / ab, "b (D* ~ C^b)": p["alpha"] / ab}, fit=res)
    return _flag_extrapolation(res, plan_)


def finetune_tradeoff(
    res: FitResult, x: float, finetune_size: float, target_loss: float
) -> dict[str, Any]:
    """With a fitted multiplicative finetuning law: the factor X needed at the current D_f,
    and the D_f needed at the current X, to reach `target_loss` (Zhang et al.: scaling the
    model usually buys more than scaling data)."""
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
