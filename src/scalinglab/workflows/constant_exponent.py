"""Is the compute exponent the same at every token multiplier? (Gadre et al. 2024)

Gadre et al.'s over-training law L(C, M) = E + (a M^eta + b M^-eta) C^-eta rests on one
assumption: at every token multiplier M = D/N the loss follows a power law in compute with
the *same* exponent eta (only the scale A_M = a M^eta + b M^-eta moves with M). The paper
checks it by fitting each M apart. This does the same: per M, L = E + A_M C^-eta_M on the
runs at that M, with E held at the joint fit's value (the irreducible loss is the same for
every M; fitting it per M from 4 runs would leave each exponent undetermined), a bootstrap
interval on each eta_M, and a verdict: one eta fits all M when some value lies inside every
interval (and whether the joint fit's eta is such a value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import DataError, ScalingLabError
from ..fitting import FitResult, fit
from ..laws import get_law
from ..laws.base import Law, Parameter
from ..query import select
from ..results import Result, records
from .audit import _load
from .pretrain_choice import require_columns


@dataclass
class ConstantExponent(Result):
    """Per token multiplier: the compute exponent with its interval; the verdict.

    Built by `scalinglab.constant_exponent`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group (the `by` column, else ``group``) and token multiplier ``M``:
        ``n_runs``, ``eta`` with ``eta_lo``/``eta_hi``, ``A_M`` and ``E_shared``.
    joint : dict of str to FitResult
        Per group, the over-training law fitted on all its runs (its ``eta`` is the one
        the verdict tests).
    verdicts : dict of str to str
        Per group, one sentence: does one eta fit every M?
    interval : float
        The level of the intervals on eta.
    flags : list of Diagnostic
        Multipliers with too few runs for their own eta, a degenerate joint fit, per-M fits
        that did not converge.
    """

    title: ClassVar[str] = "one compute exponent for every token multiplier?"
    table: pd.DataFrame  # group, M, n_runs, eta, eta_lo, eta_hi, A
    joint: dict[str, FitResult]  # per group: the over-training law fitted on all its runs
    verdicts: dict[str, str]
    interval: float = 0.9
    flags: list[Diagnostic] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The exponent per group and token multiplier (`table`).

        Returns
        -------
        pandas.DataFrame
            The `table` itself (not a copy).

        Examples
        --------
        >>> res = sl.constant_exponent("runs.csv", by="train_dataset")  # doctest: +SKIP
        >>> res.to_frame()[["M", "eta", "eta_lo", "eta_hi"]]  # doctest: +SKIP
        """
        return self.table

    def _own_diagnostics(self) -> list[Diagnostic]:
        return list(self.flags)

    def plot(self, group: str | None = None) -> Any:
        """Forest plot of eta per token multiplier, the shared range and the joint eta.

        Parameters
        ----------
        group : str, optional
            Draw only this group (a value of the `by` column); default all.

        Returns
        -------
        plotly.graph_objects.Figure

        Examples
        --------
        >>> res = sl.constant_exponent("runs.csv", by="train_dataset")  # doctest: +SKIP
        >>> res.plot(group="c4").show()  # doctest: +SKIP
        """
        from ..plots import constant_exponent_figure

        return constant_exponent_figure(self, group)

    def summary(self) -> str:
        """Plain text: the table, one verdict per group, then the flags.

        Returns
        -------
        str

        Examples
        --------
        >>> res = sl.constant_exponent("runs.csv", by="train_dataset")  # doctest: +SKIP
        >>> print(res.summary())  # doctest: +SKIP
        """
        lines = [self.title, self.table.to_string(index=False)]
        lines += [f"{g}: {v}" for g, v in self.verdicts.items()]
        lines += [str(d) for d in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The test as JSON-ready data (``--json``).

        Returns
        -------
        dict
            ``interval``, ``table`` (rows), ``joint`` (each group's joint parameters),
            ``verdicts`` and ``diagnostics``.

        Examples
        --------
        >>> res = sl.constant_exponent("runs.csv", by="train_dataset")  # doctest: +SKIP
        >>> res.to_dict()["verdicts"]  # doctest: +SKIP
        """
        return {
            "interval": self.interval,
            "table": records(self.table),
            "joint": {g: r.params_ for g, r in self.joint.items()},
            "verdicts": self.verdicts,
            "diagnostics": [d.to_dict() for d in self.flags],
        }


def constant_exponent(
    data: pd.DataFrame | str | Path,
    *,
    loss_col: str = "loss",
    where: str | None = None,
    by: str | None = None,
    min_runs: int = 3,
    n_bootstrap: int = 200,
    interval: float = 0.9,
    seed: int = 0,
) -> ConstantExponent:
    """Test Gadre et al.'s assumption that over-training keeps the compute exponent eta.

    Fits L = E + A_M * C^-eta_M with one A and eta per token multiplier M and E shared, and
    says whether one eta fits all M (every interval holds the joint fit's eta, and they share
    a common range). The over-training law's forecasts rest on this assumption.

    Parameters
    ----------
    data : DataFrame, str or path
        One row per run with the loss, flops and tokens_per_param (derived from n_params
        and tokens when absent).
    loss_col : str, default 'loss'
        The loss column.
    where : str, optional
        Rows to use (a query).
    by : str, optional
        Run the test per value of this column (e.g. ``train_dataset``).
    min_runs : int, default 3
        The fewest runs an M needs to get its own eta.
    n_bootstrap : int, default 200
        Resamples behind the interval on each eta (0: none).
    interval : float, default 0.9
        The intervals' level.
    seed : int, default 0
        The bootstrap's seed.

    Returns
    -------
    ConstantExponent
        Per group and M, eta with its interval; the joint eta; the common range; a verdict.

    Examples
    --------
    >>> import scalinglab as sl
    >>> sl.constant_exponent("runs.csv", by="train_dataset")  # doctest: +SKIP
    """
    df = _load(data)
    if where:
        df = select(df, where)
    if "tokens_per_param" not in df.columns and {"n_params", "tokens"} <= set(df.columns):
        df = df.assign(tokens_per_param=df["tokens"] / df["n_params"])
    if "flops" not in df.columns and {"n_params", "tokens"} <= set(df.columns):
        df = df.assign(flops=6.0 * df["n_params"] * df["tokens"])
    require_columns(
        df, ["flops", "tokens_per_param", loss_col] + ([by] if by else []), "constant-exponent"
    )
    groups = [(str(k), g) for k, g in df.groupby(by, sort=True)] if by else [("all", df)]
    rows: list[dict[str, Any]] = []
    joint: dict[str, FitResult] = {}
    verdicts: dict[str, str] = {}
    flags: list[Diagnostic] = []
    q = [50 * (1 - interval), 50 * (1 + interval)]
    for name, g in groups:
        # M values as written (5, 10, ... 640): round off float noise of D/N
        m = np.round(g["tokens_per_param"].to_numpy(dtype=float), 6)
        g = g.assign(_M=m)
        counts = g.groupby("_M").size()
        few = sorted(float(v) for v in counts[counts < min_runs].index)
        if few:
            flags.append(
                Diagnostic(
                    "few_dof",
                    "info",
                    f"{name}: M = {', '.join(f'{v:g}' for v in few)} have fewer than "
                    f"{min_runs} runs and are left out of the per-M fits",
                )
            )
        ms = [float(v) for v in counts[counts >= min_runs].index]
        if len(ms) < 2:
            raise DataError(
                f"{name}: fewer than 2 token multipliers with {min_runs}+ runs; nothing to "
                "compare (the test needs runs at several M)"
            )
        res = fit(g, "overtrain", metric=loss_col)
        joint[name] = res
        for d in res.diagnostics_:  # a degenerate joint fit (constant loss) is said, not judged
            if d.severity == "error":
                flags.append(Diagnostic(d.code, d.severity, f"{name}: {d.message}", d.params))
        use = g[g["_M"].isin(ms)]
        # start each M where a fit at the joint E puts it, then free E (shared by all M)
        starts: dict[str, list[float]] = {"E": [min(res.params_["E"], 0.99 * _min(use, loss_col))]}
        for k, M in enumerate(ms):
            try:
                r = _fit_at(use[use["_M"] == M], starts["E"][0], loss_col)
                starts[f"A_{k}"], starts[f"eta_{k}"] = [r.params_["A"]], [r.params_["alpha"]]
            except ScalingLabError:
                starts[f"A_{k}"], starts[f"eta_{k}"] = [100.0], [0.15]
        free = fit(_indicator_frame(use, ms), _per_m_law(len(ms)), metric=loss_col, grid=starts)
        iv = np.full((len(ms), 2), np.nan)
        if n_bootstrap:
            b = free.bootstrap(n_bootstrap, seed=seed)
            draws = b.params[b.usable]
            if draws.size:
                cols = [free.law.param_names.index(f"eta_{k}") for k in range(len(ms))]
                iv = np.percentile(draws[:, cols], q, axis=0).T
        if not free.converged_:
            flags.append(
                Diagnostic(
                    "not_converged",
                    "warning",
                    f"{name}: the per-M fit (shared E) did not converge: {free.stop_reason_}",
                )
            )
        for k, M in enumerate(ms):
            rows.append(
                {
                    (by or "group"): name,
                    "M": M,
                    "n_runs": int((use["_M"] == M).sum()),
                    "eta": free.params_[f"eta_{k}"],
                    "eta_lo": float(iv[k, 0]),
                    "eta_hi": float(iv[k, 1]),
                    "A_M": free.params_[f"A_{k}"],
                    "E_shared": free.params_["E"],
                }
            )
        mine = [r for r in rows if r[by or "group"] == name]
        verdicts[name] = _verdict(mine, res.params_["eta"], interval, bool(n_bootstrap))
    return ConstantExponent(pd.DataFrame(rows), joint, verdicts, interval, flags)


def _min(df: pd.DataFrame, col: str) -> float:
    return float(df[col].min())


def _fit_at(sub: pd.DataFrame, E: float, loss_col: str) -> FitResult:
    """L = E + A C^-eta on one multiplier's runs, E held (a start for the shared-E fit)."""
    law = get_law("power_law").fix(E=min(E, 0.999 * _min(sub, loss_col)))
    return fit(sub, law, mapping={"x": "flops"}, metric=loss_col)


def _indicator_frame(df: pd.DataFrame, ms: list[float]) -> pd.DataFrame:
    return df.assign(**{f"is_{k}": (df["_M"] == M).astype(float) for k, M in enumerate(ms)})


def _per_m_law(n: int) -> Law:
    """L = E + A_k C^-eta_k for the runs at the k-th multiplier: the alternative in which
    every M has its own exponent; E shared, as in the over-training law."""
    params = [Parameter("E", 0.0, np.inf, (1.0,), log=True)]
    for k in range(n):
        params += [
            Parameter(f"A_{k}", 0.0, np.inf, (100.0,), log=True),
            Parameter(f"eta_{k}", 0.0, 5.0, (0.15,)),
        ]

    def formula(**kw: Any) -> Any:
        term = 0.0
        for k in range(n):
            term = term + kw[f"is_{k}"] * (kw[f"A_{k}"] / kw["flops"] ** kw[f"eta_{k}"])
        return term + kw["E"]

    return Law(
        name="per_m_power_law",
        variables=("flops", *(f"is_{k}" for k in range(n))),
        metric="loss",
        parameters=tuple(params),
        formula=formula,
        formula_text="E + A_M * C^-eta_M (one A and eta per token multiplier M; E shared)",
        space="log",
        citation="Gadre et al. 2024: the per-M check of the constant-exponent assumption",
        positive_variables=("flops",),
    )


def _verdict(rows: list[dict[str, Any]], eta_joint: float, interval: float, iv: bool) -> str:
    etas = np.array([r["eta"] for r in rows])
    spread = f"eta ranges {etas.min():.3g}-{etas.max():.3g} over {len(rows)} values of M"
    if not iv:
        return f"{spread} (no intervals: bootstrap 0, so no verdict)"
    lo = max(r["eta_lo"] for r in rows)
    hi = min(r["eta_hi"] for r in rows)
    joint_in = all(r["eta_lo"] <= eta_joint <= r["eta_hi"] for r in rows)
    if lo <= hi:
        return (
            f"one eta fits all M: every {interval:.0%} interval contains {lo:.3g}-{hi:.3g}; "
            f"{spread}; the joint fit's eta = {eta_joint:.3g} is "
            + ("inside every interval" if joint_in else "outside some of them")
        )
    low = min(rows, key=lambda r: r["eta_hi"])
    high = max(rows, key=lambda r: r["eta_lo"])
    return (
        f"one eta does not fit all M: at M={low['M']:g} eta = {low['eta']:.3g} "
        f"({low['eta_lo']:.3g}-{low['eta_hi']:.3g}) vs at M={high['M']:g} {high['eta']:.3g} "
        f"({high['eta_lo']:.3g}-{high['eta_hi']:.3g}), {interval:.0%} intervals apart; "
        f"{spread}; the joint fit's eta = {eta_joint:.3g}"
    )
