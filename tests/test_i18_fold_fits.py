"""Issue 18: audit folds reuse the batched machinery (row weights, not copies).

A fold's fit in the batched search must equal a separate fit() on the fold's rows: same
optimum (to 1e-6 relative; measured ~1e-11), same convergence and warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.fitting.fold_fits import fit_folds
from scalinglab.fitting.problem import Problem
from scalinglab.laws import get_law


def _synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    D = np.exp(rng.uniform(np.log(1e8), np.log(1e11), n))
    loss = (1.82 + 482.0 / N**0.35 + 2085.0 / D**0.37) * np.exp(0.01 * rng.standard_normal(n))
    return pd.DataFrame({"n_params": N, "tokens": D, "loss": loss})


def _same(sep, bat) -> None:
    for a, b in zip(sep, bat, strict=True):
        assert b.n_points_ == a.n_points_
        assert b.objective_ == pytest.approx(a.objective_, rel=1e-6)
        for name, v in a.params_.items():
            assert b.params_[name] == pytest.approx(v, rel=1e-6), name
        assert b.converged_ == a.converged_
        assert b.warnings_ == a.warnings_
        assert len(b.starts_) == len(a.starts_)
        assert list(b.frame_.index) == list(a.frame_.index)


def test_leave_largest_out_folds_equal_separate_fits(chinchilla_240):
    n = chinchilla_240["n_params"].to_numpy()
    cuts = np.quantile(n, [0.3, 0.45, 0.6, 0.75, 0.9])
    masks = np.array([n <= c for c in cuts])
    sep = [sl.fit(chinchilla_240[m], "chinchilla") for m in masks]
    bat = fit_folds(chinchilla_240, "chinchilla", masks)
    _same(sep, bat)
    # the largest fold's fit is the published-scale answer (E ~ 1.8, alpha ~ 0.35)
    assert bat[-1].params_["alpha"] == pytest.approx(sep[-1].params_["alpha"], rel=1e-6)


def test_long_folds_search_on_their_own_subsample():
    """Folds longer than SEARCH_ROWS take the subsample path; each fold's subsample is its
    own block (not the union), and the all-rows refinement uses the fold's weights."""
    df = _synthetic(11_000, seed=3)
    n = df["n_params"].to_numpy()
    masks = np.array([n <= np.quantile(n, q) for q in (0.45, 0.95)])  # 4,950 and 10,450 rows
    sep = [sl.fit(df[m], "chinchilla") for m in masks]
    assert all("subsample" in set(r.starts_["status"]) for r in sep)  # the long path
    bat = fit_folds(df, "chinchilla", masks)
    _same(sep, bat)
    assert all("subsample" in set(r.starts_["status"]) for r in bat)


def test_options_it_does_not_batch_fall_back_to_separate_fits(chinchilla_240):
    n = chinchilla_240["n_params"].to_numpy()
    masks = np.array([n <= np.quantile(n, 0.7), n <= np.quantile(n, 0.9)])
    sep = [sl.fit(chinchilla_240[m], "chinchilla", n_random_starts=50) for m in masks]
    bat = fit_folds(chinchilla_240, "chinchilla", masks, n_random_starts=50)
    _same(sep, bat)


def test_a_row_left_out_cannot_make_the_objective_infinite():
    """A row whose prediction is invalid (log of a negative value) but whose weight for a
    start is 0 is absent for that start (as in a fit on a copy of the other rows); before,
    0 x inf made the objective NaN -> inf, so a fold or resample without that row failed."""
    law = sl.laws.expression_law(
        "E - A * x",
        {
            "E": {"lower": 0, "upper": 10, "grid": [3.0]},
            "A": {"lower": 0, "upper": 1, "grid": [0.1]},
        },
    )
    x = np.array([1.0, 2.0, 3.0, 40.0])  # E - A x < 0 at x = 40 for E = 3, A = 0.1
    y = np.array([2.9, 2.8, 2.7, 2.6])
    p = Problem(law, {"x": x}, y, np.ones(4), 1e-3)
    z = law.to_internal(np.array([[3.0, 0.1]]))
    W = np.array([[1.0, 1.0, 1.0, 0.0]])
    sub = Problem(law, {"x": x[:3]}, y[:3], np.ones(3), 1e-3)
    assert np.isinf(p.value(z))  # all rows: invalid
    got, ref = p.reduce(z, W, order=2), sub.reduce(z, order=2)
    assert got.f[0] == pytest.approx(ref.f[0], rel=1e-12)
    np.testing.assert_allclose(got.g, ref.g, rtol=1e-12)
    np.testing.assert_allclose(got.H, ref.H, rtol=1e-12)
    np.testing.assert_allclose(got.Hn, ref.Hn, rtol=1e-12)


def test_blocks_problem_scores_each_start_on_its_own_rows(chinchilla_240):
    law = get_law("chinchilla")
    df = chinchilla_240
    a, b = np.arange(0, 100), np.arange(120, 220)
    cols = {v: np.stack([df[v].to_numpy()[a], df[v].to_numpy()[b]]) for v in law.variables}
    y = np.stack([df["loss"].to_numpy()[a], df["loss"].to_numpy()[b]])
    blocks = Problem.blocks(law, cols, y, np.ones_like(y), 1e-3)
    z = law.to_internal(np.array([[1.8, 480.0, 2000.0, 0.34, 0.36], [1.7, 400.0, 400.0, 0.3, 0.3]]))
    which = np.array([1, 0])
    got = blocks.reduce(z, order=2, which=which)
    for k, rows in ((0, b), (1, a)):
        own = Problem(law, {v: df[v].to_numpy()[rows] for v in law.variables},
                      df["loss"].to_numpy()[rows], np.ones(rows.size), 1e-3)  # fmt: skip
        ref = own.reduce(z[k : k + 1], order=2)
        assert got.f[k] == pytest.approx(ref.f[0], rel=1e-12)
        np.testing.assert_allclose(got.g[k], ref.g[0], rtol=1e-10)
        np.testing.assert_allclose(got.Hn[k], ref.Hn[0], rtol=1e-10)


def test_leave_largest_out_audit_uses_the_batched_fits(chinchilla_240, monkeypatch):
    """The audit fits its folds with one fit_folds call per law, and every fold's optimum,
    prediction and flags equal the old audit's, which called fit() once per fold."""
    from scalinglab.workflows import audit as audit_mod

    calls = []
    real = audit_mod.fit_folds

    def spy(df, law, masks, **kw):
        calls.append(masks.shape)
        return real(df, law, masks, **kw)

    monkeypatch.setattr(audit_mod, "fit_folds", spy)
    new = audit_mod.leave_largest_out(chinchilla_240, "chinchilla", n_bootstrap=0)
    assert len(calls) == 1 and calls[0][0] == len(new.folds) == 8

    def one_fit_per_fold(df, law, masks, **kw):  # the audit before issue 18's change
        return [sl.fit(df[m], law, **kw) for m in masks]

    monkeypatch.setattr(audit_mod, "fit_folds", one_fit_per_fold)
    old = audit_mod.leave_largest_out(chinchilla_240, "chinchilla", n_bootstrap=0)
    for (_, a), (_, b) in zip(old.folds.iterrows(), new.folds.iterrows(), strict=True):
        assert (a["fold"], a["n_fit"], a["converged"]) == (b["fold"], b["n_fit"], b["converged"])
        for name, v in a["params"].items():
            assert b["params"][name] == pytest.approx(v, rel=1e-6), (a["fold"], name)
    np.testing.assert_allclose(new.points["prediction"], old.points["prediction"], rtol=1e-6)


def test_leave_one_group_out_folds_equal_separate_fits(chinchilla_240, monkeypatch):
    from scalinglab.workflows import audit as audit_mod

    df = chinchilla_240.assign(size=pd.qcut(chinchilla_240["n_params"], 4, labels=False))
    new = audit_mod.leave_one_group_out(df, "chinchilla", "size", n_bootstrap=0)
    monkeypatch.setattr(
        audit_mod, "fit_folds", lambda d, law, masks, **kw: [sl.fit(d[m], law, **kw) for m in masks]
    )
    old = audit_mod.leave_one_group_out(df, "chinchilla", "size", n_bootstrap=0)
    assert len(new.folds) == 4
    for (_, a), (_, b) in zip(old.folds.iterrows(), new.folds.iterrows(), strict=True):
        assert a["fold"] == b["fold"] and a["n_fit"] == b["n_fit"]
        for name, v in a["params"].items():
            assert b["params"][name] == pytest.approx(v, rel=1e-6), (a["fold"], name)


def test_a_fold_with_too_few_rows_is_the_named_error_fit_gives(chinchilla_240):
    n = chinchilla_240["n_params"].to_numpy()
    masks = np.array([n <= np.sort(n)[3], n <= np.median(n)])  # 4 rows < 5 parameters
    with pytest.raises(sl.errors.TooFewPointsError):
        fit_folds(chinchilla_240, "chinchilla", masks)
