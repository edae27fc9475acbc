"""Fitting long tables: subsampled search equals the all-rows search, memory stays bounded,
bootstrap weights equal copies, absurd bootstraps are refused with an estimate."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.errors import DataError
from scalinglab.fitting import search
from scalinglab.fitting.bootstrap import BootstrapSizeError, resample_counts
from scalinglab.fitting.fitter import _as_columns, build_starts
from scalinglab.fitting.prepare import prepare
from scalinglab.fitting.problem import Problem

TRUTH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}


def synthetic(n: int, seed: int = 0, noise: float = 0.01) -> pd.DataFrame:
    """Checkpoint-like rows: every row its own (N, D); log-normal noise, 1% outliers."""
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    D = np.exp(rng.uniform(np.log(1e8), np.log(1e11), n))
    law = sl.get_law("chinchilla")
    loss = law.evaluate(TRUTH, {"n_params": N, "tokens": D})
    loss = loss * np.exp(noise * rng.standard_normal(n))
    loss[rng.random(n) < 0.01] *= 1.2
    return pd.DataFrame({"n_params": N, "tokens": D, "loss": loss})


def test_long_table_recovers_truth_and_equals_all_rows_search(monkeypatch):
    df = synthetic(240_000)
    res = sl.fit(df, "chinchilla")
    assert res.converged_
    st = res.starts_["status"].value_counts()
    assert st["refined"] >= 1 and "subsample" in st  # the long-table path was taken
    for name, v in TRUTH.items():
        assert abs(res.params_[name] / v - 1) < 0.02, name
    # The same search forced to use every row at every stage.
    monkeypatch.setattr(search, "SEARCH_ROWS", 10**12)
    ref = sl.fit(df, "chinchilla")
    assert "subsample" not in set(ref.starts_["status"])
    assert abs(res.objective_ / ref.objective_ - 1) < 1e-6
    for name in TRUTH:
        assert abs(res.params_[name] / ref.params_[name] - 1) < 1e-4, name


def test_subsample_basin_is_checked_on_all_rows():
    """The subsample's distinct optima are re-scored on all rows before one is chosen."""
    df = synthetic(20_000, seed=3)
    law = sl.get_law("chinchilla")
    prep = prepare(df, law)
    res = search.multistart(
        law, _as_columns(prep.x), prep.y, prep.weights, build_starts(law), delta=1e-3
    )
    assert res.search_rows == search.SEARCH_ROWS and res.rows == 20_000
    refined = res.status == search.STATUS_REFINED
    checked = res.status == search.STATUS_SUBSAMPLE
    assert refined.sum() >= 1
    # Every re-scored candidate has an all-rows objective no better than the chosen optimum.
    rescored = checked & np.isfinite(res.objective)
    assert np.all(res.objective[rescored] >= res.objective[res.best] * (1 - 1e-12))
    assert res.status[res.best] == search.STATUS_REFINED


def test_chunked_and_aggregated_evaluation_equal_plain():
    """Row chunks and rows with identical inputs evaluated once give the same objective,
    gradient and Hessians as one plain pass."""
    rng = np.random.default_rng(1)
    base = synthetic(500, seed=2)
    df = base.iloc[rng.integers(0, 500, 6000)].reset_index(drop=True)
    df["loss"] *= np.exp(0.01 * rng.standard_normal(len(df)))  # same inputs, other metric
    law = sl.get_law("chinchilla")
    prep = prepare(df, law)
    cols = _as_columns(prep.x)
    plain = Problem(law, cols, prep.y, prep.weights, 1e-3, aggregate=False, block=1 << 30)
    chunked = Problem(law, cols, prep.y, prep.weights, 1e-3, aggregate=False, block=800)
    grouped = Problem(law, cols, prep.y, prep.weights, 1e-3, aggregate=True, block=800)
    assert grouped.n_groups <= 500 and plain.n_groups == 6000
    z = law.to_internal(np.array([[TRUTH[k] * 1.01 for k in law.param_names]] * 3))
    z[1, 3] += 0.02
    W = rng.integers(0, 3, (3, len(df))).astype(float)
    for Wi in (None, W):
        ref = plain.reduce(z, Wi, order=2)
        for other in (chunked, grouped):
            got = other.reduce(z, other.row_weights(Wi), order=2)
            np.testing.assert_allclose(got.f, ref.f, rtol=1e-10)
            np.testing.assert_allclose(got.g, ref.g, rtol=1e-8, atol=1e-12 * np.abs(ref.g).max())
            np.testing.assert_allclose(got.H, ref.H, rtol=1e-8, atol=1e-10 * np.abs(ref.H).max())
            np.testing.assert_allclose(got.Hn, ref.Hn, rtol=1e-7, atol=1e-9 * np.abs(ref.Hn).max())


def test_fit_with_repeated_inputs_equals_plain_evaluation():
    """A checkpoint table where many rows share their inputs (seeds, repeated evaluations):
    the search on rows grouped by identical inputs ends where the plain one does."""
    rng = np.random.default_rng(6)
    base = synthetic(300, seed=7)
    df = base.iloc[rng.integers(0, 300, 9000)].reset_index(drop=True)
    df["loss"] *= np.exp(0.02 * rng.standard_normal(len(df)))
    law = sl.get_law("chinchilla")
    prep = prepare(df, law)
    cols = _as_columns(prep.x)
    starts = build_starts(law)
    out = {}
    for agg in (True, False):
        p = Problem(law, cols, prep.y, prep.weights, 1e-3, aggregate=agg)
        assert (p.n_groups <= 300) == agg
        res = search.multistart(law, cols, prep.y, prep.weights, starts, delta=1e-3, problem=p)
        out[agg] = res.objective[res.best]
    assert abs(out[True] / out[False] - 1) < 1e-9


def test_exact_hessian_equals_finite_differences_of_gradient():
    df = synthetic(300, seed=4)
    law = sl.get_law("chinchilla")
    prep = prepare(df, law)
    p = Problem(law, _as_columns(prep.x), prep.y, prep.weights, 1e-3)
    z = law.to_internal(np.array([[TRUTH[k] for k in law.param_names]]))
    red = p.reduce(z, order=2)
    fd = p._fd_newton(z, None, 1e-3, red.g)
    np.testing.assert_allclose(red.Hn, fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())


def test_finite_difference_fallback_reaches_the_same_optimum(chinchilla_240):
    """A formula second-order duals cannot run gets Newton Hessians by finite differences of
    the exact gradient, and the search ends at the same optimum."""
    law = sl.get_law("chinchilla")
    prep = prepare(chinchilla_240, law)
    cols = _as_columns(prep.x)
    starts = build_starts(law)
    out = []
    for second in (True, False):
        p = Problem(law, cols, prep.y, prep.weights, 1e-3)
        p.second_order = second
        res = search.multistart(law, cols, prep.y, prep.weights, starts, delta=1e-3, problem=p)
        out.append(res.objective[res.best])
    assert out[0] <= 0.0010182741 and abs(out[1] / out[0] - 1) < 1e-8


def test_bootstrap_count_weights_equal_copies(chinchilla_240):
    """A resample as multinomial count weights is the same problem as the resampled copy of
    the table: same objective at the bootstrap's optimum, and a refit of the copy from the
    full-data optimum lands on the same parameters."""
    res = sl.fit(chinchilla_240, "chinchilla")
    boot = res.bootstrap(5, seed=7)
    counts = resample_counts(len(chinchilla_240), 5, np.random.default_rng(7))
    law = res.law
    for b in range(3):
        copy = chinchilla_240.iloc[np.repeat(np.arange(len(chinchilla_240)), counts[b].astype(int))]
        prep = prepare(copy, law)
        p = Problem(law, _as_columns(prep.x), prep.y, prep.weights, res.delta_)
        f_copy = p.value(law.to_internal(boot.params[b][None, :]))[0]
        assert abs(f_copy / boot.objective[b] - 1) < 1e-12
        refit = sl.fit(copy.reset_index(drop=True), law, grid=res.param_vector_[None, :])
        assert abs(refit.objective_ / boot.objective[b] - 1) < 1e-6
        np.testing.assert_allclose(
            law.to_internal(refit.param_vector_),
            law.to_internal(boot.params[b]),
            rtol=1e-4,
            atol=1e-6,
        )


def test_absurd_bootstrap_is_a_named_error_with_estimate(chinchilla_240):
    res = sl.fit(chinchilla_240, "chinchilla")
    tracemalloc.start()
    try:
        with pytest.raises(BootstrapSizeError) as err:
            res.bootstrap(100_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(err.value, DataError)  # exit status 2 in the CLI
    msg = str(err.value)
    assert "100,000,000" in msg and "GB" in msg and "resamples" in msg
    assert peak < 50 << 20  # refused before allocating anything large


def test_two_million_rows_fit_in_bounded_memory():
    """No (starts x rows) array: the search adds ~20 MB at 2M rows, far below one
    (32 x N) float64 array (512 MB), and the whole fit (with its diagnostics) stays below
    that array too."""
    n = 2_000_000
    df = synthetic(n, seed=5)
    law = sl.get_law("chinchilla")
    prep = prepare(df, law)
    cols = _as_columns(prep.x)
    starts = build_starts(law)
    tracemalloc.start()
    try:
        res = search.multistart(law, cols, prep.y, prep.weights, starts, delta=1e-3)
        _, peak_search = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fit = sl.fit(df, law)
        _, peak_fit = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(res.objective[res.best])
    assert fit.converged_
    assert peak_search < 100 << 20, peak_search / 2**20
    assert peak_fit < 32 * n * 8, peak_fit / 2**20
