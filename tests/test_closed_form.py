"""The catalog's hand-derived derivatives (laws/closed_form.py) against the dual numbers.

A closed form is a second copy of a law's formula; these tests keep the two from drifting
apart: every value, first and second derivative, and the fit itself, agree with what the
duals compute from the formula, and the closed form steps aside wherever it no longer
describes the law.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.fitting.problem import Problem
from scalinglab.laws import CATALOG

WITH_CLOSED_FORM = sorted(n for n, law in CATALOG.items() if law.closed_form is not None)


def _data(law, n=60, seed=0):
    rng = np.random.default_rng(seed)
    return {v: np.exp(rng.uniform(np.log(1e3), np.log(1e11), n)) for v in law.variables}


def _points(law, K=7, seed=1):
    """Internal points with scales e^-2..e^8 and exponents 0.05..1, each its own (a mixed-up
    exponent would otherwise go unseen), the first start's at 0 (a bound)."""
    rng = np.random.default_rng(seed)
    shape = (K, law.n_params)
    z = np.where(law.log_mask, rng.uniform(-2, 8, shape), rng.uniform(0.05, 1, shape))
    z[0, ~law.log_mask] = 0.0
    return z


def _problems(law, cols, y):
    w = np.ones_like(y)
    fast = Problem(law, cols, y, w, 1e-3)
    dual = Problem(replace(law, closed_form=None), cols, y, w, 1e-3)
    return fast, dual


def test_the_power_sum_laws_carry_a_closed_form():
    assert set(WITH_CLOSED_FORM) == {
        "chinchilla",
        "downstream_ce",
        "finetune_additive",
        "finetune_multiplicative",
        "power_law",
        "transfer",
    }


@pytest.mark.parametrize("name", WITH_CLOSED_FORM)
def test_values_and_derivatives_equal_the_duals(name):
    law = CATALOG[name]
    cols = _data(law)
    fast, dual = _problems(law, cols, np.full(60, 2.0))
    assert fast._closed is not None and dual._closed is None
    z = _points(law)
    K, P, m = z.shape[0], law.n_params, 60
    for order in (0, 1, 2):
        with np.errstate(all="ignore"):
            pf, tf, hf = fast._eval_sparse(z, fast.cols, order)
            pd_, td, hd = dual._eval_sparse(z, dual.cols, order)
        np.testing.assert_allclose(pf, pd_, rtol=1e-13)
        if order == 0:
            continue
        assert set(tf) == set(td)
        for j in td:
            a, b = (np.broadcast_to(np.asarray(x, dtype=float), (K, m)) for x in (tf[j], td[j]))
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=f"d/dz{j}")
        if order == 2:
            dense_f, dense_d = np.zeros((P, P, K, m)), np.zeros((P, P, K, m))
            for h, dense in ((hf, dense_f), (hd, dense_d)):
                for (i, j), v in h.items():
                    assert i <= j
                    dense[i, j] += np.broadcast_to(v, (K, m))
            np.testing.assert_allclose(dense_f, dense_d, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", WITH_CLOSED_FORM)
def test_reductions_equal_the_duals(name):
    """Objective, gradient, IRLS and Newton matrices, Huber and least squares."""
    law = CATALOG[name]
    cols = _data(law, seed=3)
    y = np.exp(np.random.default_rng(4).uniform(0, 1, 60))
    fast, dual = _problems(law, cols, y)
    z = _points(law, seed=5)
    for delta in (1e-3, 1e6):
        a, b = fast.reduce(z, None, delta, 2), dual.reduce(z, None, delta, 2)
        # rounding noise measured against each quantity's own scale (a Newton Hessian whose
        # terms cancel, as the transfer law's in log space, is all noise: the IRLS scale)
        scale = {"f": b.f, "g": b.g, "H": b.H, "Hn": b.H}
        for key in scale:
            x, y_ = getattr(a, key), getattr(b, key)
            atol = 1e-12 * np.abs(scale[key]).max()
            np.testing.assert_allclose(x, y_, rtol=1e-9, atol=atol, err_msg=f"{key}, {delta}")


def test_chinchilla_fit_is_the_duals_fit():
    """The same optimum on synthetic Chinchilla data, with and without the closed form."""
    rng = np.random.default_rng(0)
    n = rng.choice(np.geomspace(1e7, 1e10, 12), 200)
    d = n * rng.uniform(5, 100, 200)
    loss = (1.8 + 480 / n**0.34 + 2000 / d**0.37) * np.exp(rng.normal(0, 0.01, 200))
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": loss})
    law = sl.get_law("chinchilla")
    fast = sl.fit(df, law)
    slow = sl.fit(df, replace(law, closed_form=None))
    assert fast.objective_ == pytest.approx(slow.objective_, rel=1e-10)
    for k, v in slow.params_.items():
        assert fast.params_[k] == pytest.approx(v, rel=1e-6), k


def test_a_changed_law_falls_back_to_the_duals():
    """fix() replaces the formula; a log flag changed by with_parameter changes the
    coordinates the derivatives are taken in; a non-positive column has no logarithm."""
    law = sl.get_law("chinchilla")
    assert law.closed_form.bind(law) is not None
    assert law.closed_form.bind(law.fix(E=1.7)) is None
    assert law.closed_form.bind(law.with_parameter("A", log=False)) is None
    log_alpha = law.with_parameter("alpha", log=True, lower=1e-6, grid=(0.3, 0.5))
    assert law.closed_form.bind(log_alpha) is None
    assert law.closed_form.bind(law.with_parameter("E", log=False)) is not None  # linear E
    cols = {"n_params": np.array([1e8, 0.0, 1e9]), "tokens": np.array([1e9, 1e10, 1e11])}
    p = Problem(law, cols, np.array([3.0, 2.5, 2.2]), np.ones(3), 1e-3)
    assert p._closed is None


def test_a_linear_constant_matches_the_duals():
    """E optimised on its own scale (with_parameter(log=False)): d pred / dE = 1."""
    law = sl.get_law("chinchilla").with_parameter("E", log=False)
    cols = _data(law, seed=7)
    fast, dual = _problems(law, cols, np.full(60, 2.5))
    z = _points(law, seed=8)
    z[:, 0] = np.abs(z[:, 0]) + 0.5
    a, b = fast.reduce(z, None, 1e-3, 2), dual.reduce(z, None, 1e-3, 2)
    np.testing.assert_allclose(a.g, b.g, rtol=1e-9)
    np.testing.assert_allclose(a.Hn, b.Hn, rtol=1e-9, atol=1e-12 * np.abs(b.Hn).max())


def test_two_tables_of_one_size_each_get_their_own_exponent_matrix():
    """The exponent matrix is cached per table (by its columns' logs): evaluating two tables
    of the same size in turn must never reuse the other's."""
    law = CATALOG["chinchilla"]
    z = _points(law, seed=9)
    pairs = [_problems(law, _data(law, seed=s), np.full(60, 2.0)) for s in (10, 11)]
    for _ in range(2):
        for fast, dual in pairs:
            np.testing.assert_allclose(fast.reduce(z).g, dual.reduce(z).g, rtol=1e-9)


def test_a_non_finite_parameter_is_evaluated_term_by_term():
    """A = e^-inf = 0 (a start on the bound 0): the matrix product would give inf * 0 = NaN
    in the other term's row; the term-by-term path gives what the duals give."""
    law = CATALOG["chinchilla"]
    fast, dual = _problems(law, _data(law, seed=12), np.full(60, 2.0))
    z = _points(law, seed=13)
    z[1, 1] = -np.inf  # A = 0
    with np.errstate(all="ignore"):
        pf, tf, _ = fast._eval_sparse(z, fast.cols, 1)
        pd_, td, _ = dual._eval_sparse(z, dual.cols, 1)
    assert np.isfinite(pf).all()
    np.testing.assert_allclose(pf, pd_, rtol=1e-13)
    np.testing.assert_allclose(np.broadcast_to(tf[4], pf.shape), td[4], rtol=1e-12)


@pytest.mark.parametrize("K", [1, 3, 8])
def test_few_starts_term_by_term_equal_the_duals_at_second_order(K):
    """Fewer than 4 starts on a table whose exponent matrix is not cached go term by term
    (finite parameters); more use the matrix: both equal the duals' Newton matrices."""
    law = CATALOG["finetune_multiplicative"]  # one term with two powers
    fast, dual = _problems(law, _data(law, seed=20), np.full(60, 2.0))
    law.bound_closed_form._designs.clear()
    z = _points(law, K=K, seed=21)
    a, b = fast.reduce(z, None, 1e-3, 2), dual.reduce(z, None, 1e-3, 2)
    np.testing.assert_allclose(a.g, b.g, rtol=1e-9, atol=1e-12 * np.abs(b.H).max())
    np.testing.assert_allclose(a.Hn, b.Hn, rtol=1e-9, atol=1e-12 * np.abs(b.H).max())


@pytest.mark.parametrize("table", ["blocks", "grouped", "weighted"])
def test_long_grouped_and_weighted_tables_equal_the_duals(table):
    """Several row blocks (a view of the column per block), rows with repeated inputs
    evaluated once, and per-start weights (a bootstrap's counts)."""
    law = CATALOG["chinchilla"]
    rng = np.random.default_rng(22)
    n = 6000
    cols = _data(law, n=n, seed=23)
    if table == "grouped":
        cols = {k: np.repeat(v[:1500], 4) for k, v in cols.items()}
    y = np.exp(rng.uniform(0.5, 1.5, n))
    w = np.ones(n)
    fast = Problem(law, cols, y, w, 1e-3, aggregate=table == "grouped", block=4000)
    dual = Problem(replace(law, closed_form=None), cols, y, w, 1e-3, block=4000)
    assert fast._closed is not None and (table != "grouped" or fast.gid is not None)
    z = _points(law, K=5, seed=24)
    W = rng.multinomial(n, np.full(n, 1 / n), size=5).astype(float) if table == "weighted" else None
    a = fast.reduce(z, fast.row_weights(W), 1e-3, 2)
    b = dual.reduce(z, dual.row_weights(W), 1e-3, 2)
    for key in ("f", "g", "H", "Hn"):
        x, y_ = getattr(a, key), getattr(b, key)
        np.testing.assert_allclose(x, y_, rtol=1e-9, atol=1e-12 * np.abs(b.H).max(), err_msg=key)


def test_evaluate_internal_uses_the_closed_form_and_equals_the_duals():
    law = CATALOG["chinchilla"]
    cols = Problem(law, _data(law, seed=25), np.full(60, 2.0), np.ones(60), 1e-3).cols
    z = _points(law, K=2, seed=26)
    p1, j1 = law.evaluate_internal(z, cols, True)
    p2, j2 = replace(law, closed_form=None).evaluate_internal(z, cols, True)
    assert law.bound_closed_form is not None
    np.testing.assert_allclose(p1, p2, rtol=1e-13)
    np.testing.assert_allclose(j1, j2, rtol=1e-12)


def test_a_pickled_law_rebinds_its_closed_form_and_the_cache_holds_no_long_table():
    """A pickle carries the declaration, not the bound closed form or its cache; the cache
    keeps only small tables whose logs own their memory, never a view of a long column."""
    import gc
    import pickle
    import weakref

    law = CATALOG["chinchilla"]
    _ = law.bound_closed_form
    copy = pickle.loads(pickle.dumps(law))
    assert "bound_closed_form" not in copy.__dict__ and copy.bound_closed_form is not None
    cf = law.bound_closed_form
    cf._designs.clear()
    big = Problem(law, _data(law, n=40_000, seed=27), np.full(40_000, 2.0), np.ones(40_000), 1e-3)
    log_ref = weakref.ref(big.cols["n_params"].log)
    big.reduce(_points(law, K=8, seed=28))  # several blocks: views of the column
    assert cf._designs == []
    del big
    gc.collect()
    assert log_ref() is None
    small = Problem(law, _data(law, seed=29), np.full(60, 2.0), np.ones(60), 1e-3)
    small.reduce(_points(law, K=8, seed=30))
    assert len(cf._designs) == 1


def test_a_power_sign_other_than_one_is_refused():
    from scalinglab.laws.closed_form import PowerTerm

    with pytest.raises(ValueError, match="sign"):
        PowerTerm("A", (("alpha", "x", -2.0),))
