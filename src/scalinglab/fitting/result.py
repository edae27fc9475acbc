"""FitResult: the learned state of one fit, sklearn-style (trailing underscores).

It keeps the fit data so residuals, bootstrap and audits can be computed later without the
original table, and round-trips through JSON so a fit can be shared and used by `predict`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import MissingColumnError
from ..laws.base import Law
from ..query import column_expression, is_expression
from ..results import Result, register
from ..schema import canonical_name, numeric_column
from .bootstrap import Bootstrap
from .objective import residual
from .result_bootstrap import bootstrap_fit, fit_intervals
from .result_io import fit_from_dict, fit_from_json, fit_to_dict, fit_to_json


def _alias_in(data: pd.DataFrame | Mapping[str, Any], col: str, var: str) -> str | None:
    """The one key of a query that means `col` or `var` under the alias table (N for
    n_params, D for tokens), as files are read: one vocabulary for fits and queries."""
    want = {canonical_name(col), canonical_name(var)}
    keys = list(data.columns) if isinstance(data, pd.DataFrame) else list(data)
    hits = [k for k in keys if canonical_name(str(k)) in want]
    return str(hits[0]) if len(hits) == 1 else None


@dataclass
class FitResult(Result):
    """One fit's learned state. The `Result` protocol: `diagnostics`, `summary()`,
    `to_frame()` (the parameter table), `to_json()`/`from_json()`, `plot()`,
    `_repr_html_()`.

    Built by `scalinglab.fit` (or loaded with `from_json`); learned attributes end in an
    underscore, as in scikit-learn.

    Attributes
    ----------
    law : Law
        The law fitted (with any parameters held fixed).
    params_ : dict of str to float
        The estimate of every parameter, in its public units.
    objective_ : float
        The summed Huber loss at the optimum.
    converged_ : bool
        Whether the best start met the optimiser's tolerance.
    n_points_ : int
        Rows fitted.
    columns_ : dict of str to str
        Law variable -> the data column (or ``--map`` expression) it was read from.
    metric_ : str
        The column predicted.
    delta_ : float
        The Huber threshold (``inf``: least squares).
    starts_ : pandas.DataFrame
        One row per start of the multi-start search, with its ``status``.
    warnings_ : list of str
        The warnings' messages (also in `diagnostics`).
    at_bounds_ : list of str
        Parameters that ended on a bound.
    fit_time_s_ : float
        Seconds the fit took.
    data_ : dict or None
        The fitted ``x`` (per variable), ``y`` and ``weights``, kept so residuals and the
        bootstrap need no table; ``None`` for a fit loaded without data.
    source_ : str or None
        The file the rows came from.
    bootstrap_ : Bootstrap or None
        The last `bootstrap` run.
    frame_ : pandas.DataFrame or None
        The rows fitted (not saved by `to_json`).
    diagnostics_ : list of Diagnostic
        Findings of the checks run at the optimum (and of the bootstrap).
    stop_reason_ : str
        Why the optimiser stopped.
    n_iter_ : int
        Optimiser iterations of the best start.
    """

    title: ClassVar[str] = "fit"
    law: Law
    params_: dict[str, float]
    objective_: float
    converged_: bool
    n_points_: int
    columns_: dict[str, str]  # law variable -> data column
    metric_: str
    delta_: float
    starts_: pd.DataFrame = field(repr=False)
    warnings_: list[str] = field(default_factory=list)
    at_bounds_: list[str] = field(default_factory=list)
    fit_time_s_: float = math.nan
    data_: dict[str, Any] | None = field(default=None, repr=False)
    source_: str | None = None
    bootstrap_: Bootstrap | None = field(default=None, repr=False)
    frame_: pd.DataFrame | None = field(default=None, repr=False)  # the rows fitted (not saved)
    diagnostics_: list[Diagnostic] = field(default_factory=list)
    stop_reason_: str = ""
    n_iter_: int = 0

    # -- prediction ---------------------------------------------------------------------
    def law_inputs(self, data: pd.DataFrame | Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The law's variables read from `data` as this fit read them: through its column
        mapping, the schema's aliases and --map transforms (``log10(flops)``), so a workflow
        evaluating the law elsewhere reads the same numbers as `predict`.

        Parameters
        ----------
        data : DataFrame or mapping
            Columns (or names -> values) holding the law's variables.

        Returns
        -------
        dict of str to numpy.ndarray
            Law variable -> values.

        Raises
        ------
        MissingColumnError
            A variable the data do not hold.

        Examples
        --------
        >>> res.law_inputs({"n_params": [7e10], "tokens": [1.4e12]})  # doctest: +SKIP
        """
        out = {}
        for var in self.law.variables:
            col = self.columns_.get(var, var)
            key = col if col in data else var if var in data else _alias_in(data, col, var)
            if key is None and is_expression(col):  # a --map transform, e.g. log10(flops)
                out[var] = column_expression(data, col, f"--map {var}=")
                continue
            if key is None:
                have = list(data.columns) if isinstance(data, pd.DataFrame) else list(data)
                raise MissingColumnError(
                    f"prediction needs '{col}' (law variable '{var}'); given: {have}", column=col
                )
            vals = data[key]
            if not isinstance(vals, pd.Series):  # unit suffixes ('70B', '1.4T') as on the CLI
                vals = pd.Series(np.atleast_1d(np.asarray(vals, dtype=object)))
            out[var] = np.atleast_1d(numeric_column(vals, str(key)).to_numpy(dtype=float))
        n = max(len(v) for v in out.values()) if out else 1
        return {k: np.broadcast_to(v, (n,)) for k, v in out.items()}

    def _index_of(self, data: pd.DataFrame | Mapping[str, Any], n: int) -> pd.Index:
        """The query's own index (a DataFrame's, a Series value's), else 0..n-1."""
        if isinstance(data, pd.DataFrame) and len(data.index) == n:
            return data.index
        for v in data.values():
            if isinstance(v, pd.Series) and len(v.index) == n:
                return v.index
        return pd.RangeIndex(n)

    def _predict_array(self, data: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """The predicted metric as a bare array (position-aligned): for internal callers
        that do array arithmetic with other arrays."""
        return np.asarray(self.law.evaluate(self.params_, self.law_inputs(data)), dtype=float)

    def predict(
        self,
        data: pd.DataFrame | Mapping[str, Any],
        interval: float | None = None,
        kind: str = "confidence",
    ) -> pd.Series | pd.DataFrame:
        """Predicted metric for each row of `data` (a DataFrame, or a mapping of arrays or
        scalars; unit suffixes such as '70B' parse as on the command line).

        Returns a Series named after the metric, aligned with the input's index (a
        DataFrame's index; 0..n-1 for a mapping, so a single query is `pred[0]` or
        `float(pred.iloc[0])`). With `interval=0.9`, a DataFrame with the same index and
        columns `prediction`, `lower`, `upper` from the bootstrap (run with defaults, with a
        warning, if `bootstrap()` was not called); `.attrs` hold the level, kind and number
        of resamples. kind="confidence" bounds the fitted curve; kind="prediction" also adds
        the scatter of a new run (resampled fit residuals).

        Parameters
        ----------
        data : pandas.DataFrame or mapping
            The law's variables (or the columns they were fitted from, or their aliases
            such as ``N`` and ``D``), one value or one array per variable.
        interval : float, optional
            Level in (0, 1) of a bootstrap interval; ``None`` (default) predicts only.
        kind : {"confidence", "prediction"}
            What the interval bounds: the fitted curve, or a new run's measurement.

        Returns
        -------
        pandas.Series or pandas.DataFrame
            The Series of predictions without `interval`; with it, a DataFrame with
            columns ``prediction``, ``lower``, ``upper`` (NaN bounds for an exact fit, which
            leaves nothing to resample).

        Raises
        ------
        MissingColumnError
            A law variable is missing from `data`.
        ValueError
            `interval` is outside (0, 1) or `kind` is unknown.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.predict({"n_params": "70B", "tokens": "1.4T"})  # doctest: +SKIP
        >>> res.bootstrap(500, group_by="run_id")  # doctest: +SKIP
        >>> res.predict({"n_params": 7e10, "tokens": 1.4e12}, interval=0.9)  # doctest: +SKIP
        """
        frame = self._predict_frame(data, interval, kind)
        if interval is None:
            return frame["prediction"].rename(self.metric_)
        return frame

    def _predict_frame(
        self, data: pd.DataFrame | Mapping[str, Any], interval: float | None, kind: str
    ) -> pd.DataFrame:
        inputs = self.law_inputs(data)
        pred = self.law.evaluate(self.params_, inputs)
        index = self._index_of(data, len(pred))
        if interval is None:
            return pd.DataFrame({"prediction": pred}, index=index)
        if not (0 < interval < 1):
            raise ValueError(f"interval must be in (0, 1), got {interval}")
        if kind not in ("confidence", "prediction"):
            raise ValueError(f"kind must be 'confidence' or 'prediction', got {kind!r}")
        if self.exact_fit_:  # an interpolation: resampling it measures nothing
            nan = np.full(pred.shape, np.nan)
            out = pd.DataFrame({"prediction": pred, "lower": nan, "upper": nan}, index=index)
            out.attrs.update(level=interval, kind=kind, n_resamples=0)
            return out
        if self.bootstrap_ is None:  # never silently: say that it refits
            import warnings

            warnings.warn(
                "predict(interval=...) on a fit without a bootstrap runs one now "
                "(1,000 warm refits); call res.bootstrap(...) first to choose how",
                stacklevel=3,
            )
        boot = self.bootstrap_ if self.bootstrap_ is not None else self.bootstrap()
        draws = boot.predict_draws(inputs)
        if kind == "prediction":
            res = self._residual_array()
            rng = np.random.default_rng(boot.seed + 1)
            eps = rng.choice(res[np.isfinite(res)], size=draws.shape)
            draws = draws * np.exp(eps) if self.law.space == "log" else draws + eps
        lo, hi = np.nanpercentile(draws, [50 * (1 - interval), 50 * (1 + interval)], axis=0)
        out = pd.DataFrame({"prediction": pred, "lower": lo, "upper": hi}, index=index)
        out.attrs.update(level=interval, kind=kind, n_resamples=int(boot.usable.sum()))
        return out

    def plot(self, heldout: pd.DataFrame | None = None, kind: str = "fit") -> Any:
        """A plotly figure for notebooks: kind="fit" (curves, points, bootstrap band) or
        "residuals"; `heldout` rows (e.g. the runs a holdout left out) are drawn in both, so
        the plot shows how the law extrapolates to them.

        Parameters
        ----------
        heldout : pandas.DataFrame, optional
            Rows not fitted, drawn as distinct markers with the law's prediction for them.
        kind : {"fit", "residuals"}
            The figure: the curves through the data, or the residuals in the law's space.

        Returns
        -------
        plotly.graph_objects.Figure

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.plot().show()  # doctest: +SKIP
        >>> res.plot(kind="residuals").write_html("residuals.html")  # doctest: +SKIP
        """
        from .. import plots

        if kind == "residuals":
            return plots.residual_figure(self, heldout)
        return plots.fit_figure(self, heldout)

    def bootstrap(
        self,
        n_resamples: int = 1000,
        *,
        group_by: str | np.ndarray | None = None,
        method: str = "warm",
        seed: int = 0,
        progress: Any = None,
        counts: np.ndarray | None = None,
    ) -> Bootstrap:
        """Refit on resampled data (rows, or whole groups with `group_by`); stores `bootstrap_`.

        method="warm" starts every resample at this fit's optimum; "grid" re-runs the full
        multi-start search per resample (robust to multi-modal objectives).

        Parameters
        ----------
        n_resamples : int
            Resamples to refit (at least 1; a count that would not finish or not fit in
            memory is refused with a BootstrapSizeError giving the estimate).
        group_by : str or array-like, optional
            Resample whole groups rather than rows: a column of the fitted rows (e.g.
            ``"run_id"``, so a run's checkpoints stay together) or one label per fitted
            point. Rows are not independent when they share a run, and resampling them one
            by one gives too narrow intervals.
        method : {"warm", "grid"}
            Where each refit starts (see above).
        seed : int
            Seed of the resampling.
        progress : callable, optional
            Called after each chunk of resamples with the chunk's size (a progress bar's
            ``update``).
        counts : numpy.ndarray, optional
            A (B, n) matrix of multiplicities to use instead of drawing them, so two fits
            on overlapping runs can share their resampled runs.

        Returns
        -------
        Bootstrap
            Also stored as `bootstrap_`; `diagnostics_` gain ``not_identified`` (parameters
            the resamples move over orders of magnitude or onto a bound), ``bootstrap_drift``
            and ``bootstrap_failures`` findings when they apply (replacing a previous run's).

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> boot = res.bootstrap(1000, group_by="run_id", seed=1)  # doctest: +SKIP
        >>> res.intervals(0.9)  # doctest: +SKIP
        """
        return bootstrap_fit(self, n_resamples, group_by, method, seed, progress, counts)

    def intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Bootstrap percentile intervals per parameter (bootstrap run if needed).

        Parameters
        ----------
        level : float
            Interval level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter, columns ``estimate``, ``lower``, ``upper`` and ``se`` (the
            bootstrap standard error), over the usable resamples.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.bootstrap(500)  # doctest: +SKIP
        >>> res.intervals(0.9).loc["alpha"]  # doctest: +SKIP
        """
        return fit_intervals(self, level)

    @property
    def param_vector_(self) -> np.ndarray:
        """The estimates as one array, in the law's parameter order.

        Returns
        -------
        numpy.ndarray
            ``params_[name]`` for each name of ``law.param_names``.
        """
        return np.array([self.params_[n] for n in self.law.param_names])

    def _residual_array(self) -> np.ndarray:
        if self.data_ is None:
            raise ValueError("this FitResult carries no fit data (loaded without it)")
        pred = self.law.evaluate(self.params_, self.data_["x"])
        return residual(pred, np.asarray(self.data_["y"]), self.law.space)

    def residuals(self) -> pd.Series:
        """Residuals on the fit data, in the law's space (log(pred/y) for log-space laws), as
        a Series aligned with the fitted rows' index (0..n-1 for a fit loaded from a file).

        Returns
        -------
        pandas.Series
            Named ``residual``.

        Raises
        ------
        ValueError
            The fit carries no data.
        """
        r = self._residual_array()
        index = (
            self.frame_.index
            if self.frame_ is not None and len(self.frame_) == len(r)
            else pd.RangeIndex(len(r))
        )
        return pd.Series(r, index=index, name="residual")

    # -- reporting ------------------------------------------------------------------------
    def convergence_text(self) -> str:
        """How the fit ended, in words: "NO", "yes", or "yes, not clean" with the codes of
        the warnings that qualify it (a parameter on its bound, few degrees of freedom):
        an optimum the search reached but that carries warnings is never shown as a plain
        "yes".

        Returns
        -------
        str
        """
        if not self.converged_:
            return "NO"
        codes = sorted({d.code for d in self.diagnostics_ if d.severity != "info"})
        return f"yes, not clean ({', '.join(codes)})" if codes else "yes"

    @property
    def clean_(self) -> bool:
        """Converged, and no diagnostic above "info": a result to use without caveats.

        Returns
        -------
        bool
        """
        return self.converged_ and all(d.severity == "info" for d in self.diagnostics_)

    @property
    def dof_(self) -> int:
        """Degrees of freedom: points minus parameters.

        Returns
        -------
        int
            Zero or less for an exact fit (an interpolation).
        """
        return self.n_points_ - self.law.n_params

    @property
    def exact_fit_(self) -> bool:
        """Whether there are no more points than parameters (`dof_` <= 0).

        Such a fit interpolates: resampling it measures nothing, so its intervals are NaN.

        Returns
        -------
        bool
        """
        return self.dof_ <= 0

    def _rss(self) -> float:
        r = self._residual_array()
        assert self.data_ is not None  # residuals() raised otherwise
        return float(np.sum(np.asarray(self.data_["weights"]) * r**2))

    @property
    def aic_(self) -> float:
        """Akaike information criterion (Gaussian residuals in the law's space, as lmfit):
        n log(RSS/n) + 2k. Lower is better; compare laws fitted to the same rows only.

        Returns
        -------
        float
            NaN for a fit without data.
        """
        n, k = self.n_points_, self.law.n_params
        rss = self._rss() if self.data_ is not None else math.nan
        return n * math.log(max(rss, 1e-300) / n) + 2 * k if n > 0 else math.nan

    @property
    def bic_(self) -> float:
        """Bayesian information criterion: n log(RSS/n) + k log n.

        Returns
        -------
        float
            NaN for a fit without data.
        """
        n, k = self.n_points_, self.law.n_params
        rss = self._rss() if self.data_ is not None else math.nan
        return n * math.log(max(rss, 1e-300) / n) + k * math.log(n) if n > 0 else math.nan

    def fitted_range(self) -> dict[str, tuple[float, float]]:
        """(min, max) of every law variable over the fitted rows.

        Returns
        -------
        dict of str to (float, float)
            Empty for a fit without data.
        """
        if self.data_ is None:
            return {}
        return {
            v: (float(np.min(a)), float(np.max(a)))
            for v, a in self.data_["x"].items()
            if np.size(a)
        }

    def extrapolation(self, data: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
        """Per query row and variable: how far beyond the fitted range it lies — orders of
        magnitude (log10 ratio to the nearest end) for positive variables, else multiples
        of the fitted span. 0 inside the range.

        Parameters
        ----------
        data : pandas.DataFrame or mapping
            A prediction query, as for `predict`.

        Returns
        -------
        pandas.DataFrame
            One column per law variable, one row per query row.
        """
        inputs = self.law_inputs(data)
        rng = self.fitted_range()
        out = {}
        for var, v in inputs.items():
            if var not in rng:
                continue
            lo, hi = rng[var]
            v = np.asarray(v, dtype=float)
            with np.errstate(all="ignore"):
                if lo > 0 and np.all(v > 0):
                    d = np.maximum(np.log10(v / hi), np.log10(lo / v))
                else:
                    span = hi - lo if hi > lo else max(abs(hi), 1.0)
                    d = np.maximum(v - hi, lo - v) / span
            out[var] = np.maximum(d, 0.0)
        return pd.DataFrame(out)

    def check_inputs(self, data: pd.DataFrame | Mapping[str, Any]) -> list[Diagnostic]:
        """Diagnostics of a prediction query: `extrapolation` for each variable more than
        one order of magnitude (or one fitted span) beyond the data.

        Parameters
        ----------
        data : pandas.DataFrame or mapping
            A prediction query, as for `predict`.

        Returns
        -------
        list of Diagnostic
            Empty when every query lies within an order of magnitude of the fitted range.
        """
        ext = self.extrapolation(data)
        out = []
        for var in ext.columns:
            far = float(ext[var].max()) if len(ext) else 0.0
            if far > 1.0:
                lo, hi = self.fitted_range()[var]
                unit = "orders of magnitude" if lo > 0 else "fitted spans"
                out.append(
                    Diagnostic(
                        "extrapolation",
                        "warning",
                        f"'{var}' goes {far:.1f} {unit} beyond the fitted range "
                        f"[{lo:.4g}, {hi:.4g}]: the law is extrapolated there, and its error "
                        "grows with distance (see `scalinglab audit --leave-largest-out`)",
                        (var,),
                    )
                )
        return out

    def summary(self) -> str:
        """Plain text: the law and its formula, the data, the objective, convergence,
        degrees of freedom (with AIC and BIC), every parameter (flagged when on a bound),
        the starts, and the diagnostics.

        Returns
        -------
        str

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> print(res.summary())  # doctest: +SKIP
        """
        lines = [
            f"law        {self.law.name}: {self.metric_} = {self.law.formula_text}",
            f"citation   {self.law.citation}",
            f"data       {self.n_points_} points"
            + (f" from {self.source_}" if self.source_ else "")
            + (
                " (" + ", ".join(f"{v}<-{c}" for v, c in self.columns_.items() if v != c) + ")"
                if any(v != c for v, c in self.columns_.items())
                else ""
            ),
            f"objective  {self.objective_:.12g} (summed Huber, delta={self.delta_:g}, "
            f"{self.law.space} space)",
            f"converged  {self.convergence_text()}"
            + (f"; {self.stop_reason_}" if self.stop_reason_ else ""),
            f"dof        {self.dof_} ({self.n_points_} points, {self.law.n_params} parameters)"
            + (f"; AIC {self.aic_:.4g}, BIC {self.bic_:.4g}" if self.data_ is not None else ""),
            "parameters",
        ]
        for p in self.law.parameters:
            flag = "  <- at bound" if p.name in self.at_bounds_ else ""
            lines.append(f"  {p.name:>10} = {self.params_[p.name]:.6g}{flag}")
        if len(self.starts_):
            st = self.starts_["status"].value_counts().to_dict()
            lines.append(
                f"starts     {len(self.starts_)} ("
                + ", ".join(f"{v} {k}" for k, v in st.items())
                + f"), {self.fit_time_s_ * 1e3:.0f} ms"
            )
        else:  # a fit file keeps the optimum, not the search ("starts 0 ()" read as none)
            lines.append(f"starts     not in the saved fit, {self.fit_time_s_ * 1e3:.0f} ms")
        if self.diagnostics_:
            for d in self.diagnostics_:
                lines.append(f"{d.severity.upper():<10} [{d.code}] {d.message}")
        else:
            for w in self.warnings_:
                lines.append(f"WARNING    {w}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        """Short and informative (the dataclass repr was a 1,500-character line)."""
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        flags = [d.code for d in self.diagnostics_ if d.severity != "info"]
        return (
            f"FitResult(law={self.law.name!r}, n_points={self.n_points_}, "
            f"objective={self.objective_:.4g}, converged={self.converged_}, {ps}"
            + (f", diagnostics={flags}" if flags else "")
            + ")"
        )

    @property
    def diagnostics(self) -> list[Diagnostic]:  # type: ignore[override]
        """The fit's findings (a copy of `diagnostics_`).

        Returns
        -------
        list of Diagnostic
        """
        return list(self.diagnostics_)

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: estimate, bounds, whether on a bound, and the bootstrap's
        95% interval when one was run.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``parameter``: ``estimate``, ``lower_bound``, ``upper_bound``,
            ``at_bound``, and ``ci95_lower``/``ci95_upper`` after `bootstrap`.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.to_frame()["estimate"]  # doctest: +SKIP
        """
        rows = []
        for p in self.law.parameters:
            rows.append(
                {
                    "parameter": p.name,
                    "estimate": self.params_[p.name],
                    "lower_bound": p.lower,
                    "upper_bound": p.upper,
                    "at_bound": p.name in self.at_bounds_,
                }
            )
        frame = pd.DataFrame(rows).set_index("parameter")
        if self.bootstrap_ is not None and self.bootstrap_.usable.any():
            iv = self.bootstrap_.intervals(0.95)
            frame["ci95_lower"], frame["ci95_upper"] = iv["lower"], iv["upper"]
        return frame

    def _repr_html_(self) -> str:
        import html as _html

        head = (
            f"<b>{_html.escape(self.law.name)}</b>: {_html.escape(self.metric_)} = "
            f"{_html.escape(self.law.formula_text)} — {self.n_points_} points, "
            f"converged: {_html.escape(self.convergence_text())}"
        )
        return head + super()._repr_html_()

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self, include_starts: bool = False) -> dict[str, Any]:
        """The fit as JSON-ready data: what ``fit --out`` writes and `from_dict` reads.

        Parameters
        ----------
        include_starts : bool
            Add the multi-start table (``starts``), one record per start.

        Returns
        -------
        dict
            The version, the law (name and spec), the parameters, the fit's statistics and
            diagnostics, the fitted data when kept and the bootstrap when run.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.to_dict()["params"]  # doctest: +SKIP
        """
        return fit_to_dict(self, include_starts)

    def to_json(self, path: str | Path | None = None, **kw: Any) -> str:
        """The fit file's JSON text (`to_dict`), written atomically to `path` when given.

        Parameters
        ----------
        path : str or pathlib.Path, optional
            Where to write it (a kill or a full disk never leaves half a file).
        **kw
            Passed to `to_dict` (``include_starts=True``).

        Returns
        -------
        str

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.to_json("fit.json")  # doctest: +SKIP
        >>> sl.FitResult.from_json("fit.json").params_ == res.params_  # doctest: +SKIP
        True
        """
        return fit_to_json(self, path, **kw)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str | None = None) -> FitResult:
        """A saved fit; its schema is checked first (scalinglab.fitting.fitfile): anything
        malformed, non-finite or out of bounds is a FitFileError naming the key.

        Parameters
        ----------
        d : mapping
            What `to_dict` returned (e.g. parsed from a fit file).
        source : str, optional
            The file it came from, named in errors.

        Returns
        -------
        FitResult

        Examples
        --------
        >>> import json  # doctest: +SKIP
        >>> d = json.loads(open("fit.json").read())  # doctest: +SKIP
        >>> res = sl.FitResult.from_dict(d, source="fit.json")  # doctest: +SKIP
        """
        return fit_from_dict(cls, d, source=source)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> FitResult:
        """A fit from a JSON file (or JSON text); anything but a valid fit is FitFileError.

        Parameters
        ----------
        text_or_path : str or pathlib.Path
            JSON text (starting with ``{``) or the path of a file written by `to_json` or
            ``scalinglab fit --out``.

        Returns
        -------
        FitResult

        Examples
        --------
        >>> res = sl.FitResult.from_json("fit.json")  # doctest: +SKIP
        >>> res.predict({"n_params": 7e10, "tokens": 1.4e12})  # doctest: +SKIP
        """
        return fit_from_json(cls, text_or_path)


def _get_starts(self: FitResult) -> pd.DataFrame:
    """Every start of the search: where it began and ended, its objective and status.

    Built on first access (most inner fits never read it).

    Returns
    -------
    pandas.DataFrame
        One row per start: ``start_<param>`` and ``<param>`` columns, ``objective``,
        ``screen_objective``, ``converged``, ``status`` and ``n_iter``.
    """
    d = self.__dict__
    if "_starts_table" not in d:  # pickled before the table was built lazily
        d["_starts_table"] = d.pop("starts_", None)
    table = d["_starts_table"]
    if callable(table):  # built on first use (see _set_starts)
        table = d["_starts_table"] = table()
    return table


def _set_starts(self: FitResult, table: pd.DataFrame | Callable[[], pd.DataFrame]) -> None:
    """`starts_` may be given as a function that builds the table: most fits (bootstrap
    folds, audits, the workflows' inner fits) never read it, and building its 4,500 rows
    cost 1 ms of a 30 ms fit."""
    self.__dict__["_starts_table"] = table


def _getstate(self: FitResult) -> dict[str, Any]:
    """Pickled with its starts table built (a pending builder is a closure)."""
    _get_starts(self)
    return dict(self.__dict__)


FitResult.__getstate__ = _getstate  # type: ignore[method-assign, assignment]
# After @dataclass: a property in the class body would be taken as the field's default.
FitResult.starts_ = property(_get_starts, _set_starts)  # type: ignore[assignment]

register(FitResult, lambda r: r.to_dict(include_starts=True), FitResult.from_dict)
