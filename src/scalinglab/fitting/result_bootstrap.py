"""The bootstrap behind `FitResult.bootstrap` and `FitResult.intervals`.

Kept apart from result.py so the result class holds the fit's state and its reading, and
this module the resampling and the findings it adds (the methods delegate here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import MissingColumnError
from .bootstrap import Bootstrap, run_bootstrap
from .diagnose import BOOTSTRAP_PREFIX, bootstrap_identifiability

if TYPE_CHECKING:
    from .result import FitResult


def bootstrap_fit(
    res: FitResult,
    n_resamples: int,
    group_by: str | np.ndarray | None,
    method: str,
    seed: int,
    progress: Any,
    counts: np.ndarray | None,
) -> Bootstrap:
    """`FitResult.bootstrap`: refit resamples, store `bootstrap_` and replace the previous
    run's findings in `diagnostics_` and `warnings_` with this run's."""
    groups, name = None, None
    if group_by is not None:
        groups, name = group_labels(res, group_by)
    res.bootstrap_ = run_bootstrap(
        res,
        n_resamples,
        groups=groups,
        group_by=name,
        method=method,
        seed=seed,
        progress=progress,
        counts=counts,
    )

    def own(d: Diagnostic) -> bool:  # a finding of a previous bootstrap
        return d.code in ("bootstrap_failures", "bootstrap_drift") or (
            d.code == "not_identified" and d.message.startswith(BOOTSTRAP_PREFIX)
        )

    old = [d.message for d in res.diagnostics_ if own(d)]
    res.diagnostics_ = [d for d in res.diagnostics_ if not own(d)]
    res.warnings_ = [w for w in res.warnings_ if w not in old]
    boot = res.bootstrap_
    for d in bootstrap_identifiability(
        res.law, boot.params[boot.usable], res.params_, res.at_bounds_
    ):
        res.diagnostics_.append(d)
        res.warnings_.append(d.message)
    if boot.n_drifting:
        names = ", ".join(boot.drift_params) or "some parameter"
        res.diagnostics_.append(
            Diagnostic(
                "bootstrap_drift",
                # a few such draws are a remark; many mean the parameter is not pinned
                "warning" if boot.n_drifting >= 0.1 * boot.n_resamples else "info",
                f"{boot.n_drifting} of {boot.n_resamples} bootstrap resamples were still "
                f"moving along {names} when stopped, each by less than 1e-5 of its "
                "objective over 25 iterations: kept (the resample does not fix "
                f"{names}; dropping them would narrow the intervals)",
                params=boot.drift_params,
            )
        )
        if res.diagnostics_[-1].severity == "warning":
            res.warnings_.append(res.diagnostics_[-1].message)
    usable, n_resamples = int(res.bootstrap_.usable.sum()), res.bootstrap_.n_resamples
    if usable < 0.9 * n_resamples:
        res.diagnostics_.append(
            Diagnostic(
                "bootstrap_failures",
                "warning",
                f"{n_resamples - usable} of {n_resamples} bootstrap resamples did not "
                "converge and are left out: the intervals describe the resamples that "
                "did, and understate the uncertainty",
            )
        )
        res.warnings_.append(res.diagnostics_[-1].message)
    return res.bootstrap_


def fit_intervals(res: FitResult, level: float = 0.95) -> pd.DataFrame:
    """`FitResult.intervals`: the stored bootstrap's intervals, running one first if none."""
    boot = res.bootstrap_ if res.bootstrap_ is not None else res.bootstrap()
    return boot.intervals(level)


def group_labels(res: FitResult, group_by: str | np.ndarray) -> tuple[np.ndarray, str | None]:
    """One group label per fitted point, and the grouping's name, from a column of the
    fitted rows, a law variable's column, or labels given directly."""
    if not isinstance(group_by, str):
        arr = np.asarray(group_by)
        if arr.shape != (res.n_points_,):
            raise MissingColumnError(
                f"group labels must be one per fitted point ({res.n_points_}), got "
                f"shape {arr.shape}"
            )
        # recorded as grouped (a run's checkpoints resampled together), though unnamed
        return arr, getattr(group_by, "name", None) or "group labels"
    if res.frame_ is not None and group_by in res.frame_.columns:
        return res.frame_[group_by].to_numpy(), group_by
    for var, col in res.columns_.items():
        if group_by in (var, col) and res.data_ is not None:
            return np.asarray(res.data_["x"][var]), group_by
    have = list(res.frame_.columns) if res.frame_ is not None else list(res.columns_.values())
    raise MissingColumnError(
        f"cannot group the bootstrap by '{group_by}': no such column in the fitted data "
        f"(columns: {', '.join(map(str, have))})",
        column=group_by,
    )
