"""Fitter internals changed for speed at checkpoint scale (issue 18, session 15): screening
residuals in single precision, element-wise blocks larger than the matrix-product slices,
the all-rows refinement with the last stage's Hessian held fixed. Each keeps the optimum
and the numbers of what it replaced."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.fitting import search
from scalinglab.fitting.fitter import _as_columns, build_starts
from scalinglab.fitting.prepare import prepare
from scalinglab.fitting.problem import MATMUL_BLOCK, Problem, _dot_rows

TRUTH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    """Checkpoint-like rows, each its own (N, D); 1% log-normal noise, 1% outliers."""
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    D = np.exp(rng.uniform(np.log(1e8), np.log(1e11), n))
    loss = sl.get_law("chinchilla").evaluate(TRUTH, {"n_params": N, "tokens": D})
    loss = loss * np.exp(0.01 * rng.standard_normal(n))
    loss[rng.random(n) < 0.01] *= 1.2
    return pd.DataFrame({"n_params": N, "tokens": D, "loss": loss})


def _problem(df: pd.DataFrame, **kw) -> tuple:
    law = sl.get_law("chinchilla")
    prep = prepare(df, law)
    return law, Problem(law, _as_columns(prep.x), prep.y, prep.weights, 1e-3, **kw)


@pytest.mark.parametrize("b_shape", ["vector", "matrix", "stacked"])
def test_row_sliced_products_equal_one_product(b_shape):
    rng = np.random.default_rng(1)
    m = 3 * 1000 + 17  # three full slices and a ragged one
    a = rng.standard_normal((4, 5, m))
    b = {
        "vector": rng.standard_normal(m),
        "matrix": rng.standard_normal((m, 25)),
        "stacked": rng.standard_normal((4, m, 5)),
    }[b_shape]
    np.testing.assert_allclose(_dot_rows(a, b, 1000), a @ b, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(
        _dot_rows(a[..., :900], b[:900] if b.ndim < 3 else b[:, :900], 1000),
        a[..., :900] @ (b[:900] if b.ndim < 3 else b[:, :900]),
    )


def test_long_blocks_with_sliced_products_equal_short_blocks():
    """One start on 20,000 rows: one element-wise block, its products in 3 slices of
    MATMUL_BLOCK rows, against blocks of 2,000 rows (10 blocks, one product each)."""
    law, long = _problem(_table(20_000, seed=2), aggregate=False, block=1 << 20)
    _, short = _problem(_table(20_000, seed=2), aggregate=False, block=2_000)
    assert long._chunks(1) == [(0, 20_000, 0, 20_000, None, None)] and MATMUL_BLOCK < 20_000
    z = law.to_internal(np.array([[TRUTH[n] for n in law.param_names]])) + 0.01
    for order in (0, 1, 2):
        a, b = long.reduce(z, order=order), short.reduce(z, order=order)
        np.testing.assert_allclose(a.f, b.f, rtol=1e-12)
        for x, y in ((a.g, b.g), (a.H, b.H), (a.Hn, b.Hn)):
            if y is not None:
                np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12 * np.abs(y).max())


@pytest.mark.parametrize("seed", [0, 4])
def test_single_precision_screening_ranks_as_double(seed):
    """Hoffmann's 4,500 starts on a 48-row screening sample: the float32 residuals give the
    double objective to 1e-6, and with the best 32 recomputed in double (ties near the 32nd
    differ by ~1e-8, below float32's error) the same 32 best starts in the same order."""
    law, full = _problem(_table(2_000, seed=seed), aggregate=False)
    rows = search._subsample(full.n, 48)
    scr = Problem(law, {k: v[:, rows] for k, v in full.cols.items()}, full.y[rows],
                  full.w[rows], 1e-3, aggregate=False)  # fmt: skip
    lo, hi = law.internal_bounds()
    z0 = np.clip(law.to_internal(build_starts(law)), lo, hi)
    single, exact = search.screen_objective(scr, z0), scr.value(z0)
    ok = np.isfinite(exact)
    assert ok.sum() > 4000 and np.array_equal(np.isfinite(single), ok)
    assert 0 < np.max(np.abs(single[ok] - exact[ok]) / np.abs(exact[ok])) < 1e-6
    chosen = search.screen_objective(scr, z0, exact_best=32)
    np.testing.assert_array_equal(search.smallest(chosen, 32), search.smallest(exact, 32))
    best = search.smallest(chosen, 32)
    np.testing.assert_allclose(chosen[best], exact[best], rtol=1e-13)  # double


def _refinement_from_stage(n: int):
    law, full = _problem(_table(n, seed=6))
    lo, hi = law.internal_bounds()
    z = law.to_internal(np.array([[TRUTH[k] for k in law.param_names]]))
    sub = full.subset(search._subsample(full.n, search.SEARCH_ROWS))
    kw = dict(lower=lo, upper=hi, max_iter=200, newton_below=np.inf)
    z = search.levenberg_marquardt(sub, z, **kw).z
    z_stage, _, H = search.staged_refinement(full, z, lo, hi, 200)
    return full, z_stage, H, lo, hi


def test_all_rows_refinement_with_the_stage_hessian_uses_first_derivatives_only(monkeypatch):
    """80,000 rows (one 32,768-row stage): the all-rows refinement evaluates first
    derivatives only and ends where the exact-Hessian refinement ends, to the tolerance."""
    full, z, H, lo, hi = _refinement_from_stage(80_000)
    assert H is not None and H.shape == (1, 5, 5)
    orders = []
    real = Problem.reduce

    def spy(self, zz, W=None, delta=None, order=1, which=None):
        if self is full:
            orders.append(order)
        return real(self, zz, W, delta, order, which)

    monkeypatch.setattr(Problem, "reduce", spy)
    fixed = search.all_rows_refinement(full, z, H, lo, hi, 200)
    assert fixed.converged.all() and set(orders) == {1} and len(orders) <= 5
    orders.clear()
    exact = search.all_rows_refinement(full, z, None, lo, hi, 200)
    assert 2 in orders  # the exact path: second-order evaluations
    np.testing.assert_allclose(fixed.f, exact.f, rtol=1e-10)
    np.testing.assert_allclose(fixed.z, exact.z, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scale", [100.0, 1e6])
def test_a_wrong_stage_hessian_falls_back_to_the_exact_one(scale):
    """A Hessian 100x or 1e6x too large (as from a stage unlike the table) makes tiny steps
    whose gradient change disagrees with it, so its Newton decrement cannot declare the
    start converged (at 1e6x it did, after one step, 3.8e-5 above the optimum); after
    STAGE_HESSIAN_ITER iterations the exact Hessian takes over and reaches the optimum."""
    full, z, H, lo, hi = _refinement_from_stage(80_000)
    exact = search.all_rows_refinement(full, z, None, lo, hi, 200)
    wrong = search.all_rows_refinement(full, z, scale * H, lo, hi, 200)
    assert wrong.converged.all() and wrong.n_iter[0] > search.STAGE_HESSIAN_ITER
    np.testing.assert_allclose(wrong.f, exact.f, rtol=1e-10)


def test_a_fixed_hessian_needs_newton_steps():
    law, full = _problem(_table(500))
    lo, hi = law.internal_bounds()
    z = law.to_internal(np.array([[TRUTH[k] for k in law.param_names]]))
    H = np.eye(5)[None]
    for kw in ({"newton": False}, {"frozen": True}):
        with pytest.raises(ValueError, match="hessian= needs"):
            search.levenberg_marquardt(full, z, lower=lo, upper=hi, hessian=H, **kw)


def test_grid_points_are_built_once_and_handed_out_as_copies():
    """The law's start grid is cached: each caller gets its own writable copy, so a caller
    that edits its starts cannot change the next fit's."""
    law = sl.get_law("chinchilla")
    first = law.grid_points()
    assert first.shape == (4500, 5) and first.flags.writeable
    want = np.stack(
        [
            a.ravel()
            for a in np.meshgrid(*(np.asarray(p.grid) for p in law.parameters), indexing="ij")
        ],
        axis=1,
    )
    np.testing.assert_array_equal(first, want)
    first[:] = -1.0
    np.testing.assert_array_equal(law.grid_points(), want)
    other = law.with_grid({"alpha": [0.1, 0.2]})
    assert other.grid_points().shape == (1800, 5)  # a different grid: its own product


def _diagnostics_both_ways(df, law, monkeypatch):
    from scalinglab.fitting import diagnose

    fast = sl.fit(df, law)
    calls = []
    real = diagnose._identifiability

    def full(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(diagnose, "_identifiability", full)
    monkeypatch.setattr(diagnose, "_identifiability_by_gram", lambda *a, **k: None)
    slow = sl.fit(df, law)
    assert calls, "the full-Jacobian route ran"
    return [(d.code, d.message) for d in fast.diagnostics_], [
        (d.code, d.message) for d in slow.diagnostics_
    ]


@pytest.mark.parametrize("case", ["clean_long", "no_tokens_effect"])
def test_identifiability_from_row_blocks_says_what_the_whole_jacobian_says(case, monkeypatch):
    """The diagnostics' pass over the table in blocks of DIAG_BLOCK rows (the Gram matrix
    only, unless a direction may be near-null) gives the same diagnostics as the whole
    Jacobian at once, on tables longer than a block."""
    from scalinglab.fitting.diagnose import DIAG_BLOCK

    law: object = "chinchilla"
    df = _table(3 * DIAG_BLOCK + 5, seed=7)
    if case == "no_tokens_effect":  # a tiny B: beta moves no prediction
        law = sl.get_law("chinchilla").with_parameter("B", lower=1e-12, upper=1e-12, grid=(1e-12,))
    fast, slow = _diagnostics_both_ways(df, law, monkeypatch)
    assert fast == slow
    named = [m for c, m in fast if c == "not_identified"]
    assert bool(named) == (case == "no_tokens_effect")


def test_gram_route_defers_to_the_jacobian_only_near_a_null_direction():
    """A clear Jacobian is settled by its Gram matrix (no diagnostic, as the full route
    says); one with B and beta trading off is left to the Jacobian's QR, which names them."""
    from scalinglab.fitting.diagnose import _identifiability, _identifiability_by_gram

    law = sl.get_law("chinchilla")
    rng = np.random.default_rng(4)
    n = 30_000
    jac = rng.standard_normal((5, n))
    pred, w = rng.uniform(1, 2, n), np.ones(n)
    J = jac / pred
    free = list(range(5))
    assert _identifiability_by_gram(law, J @ J.T, free, n) == []
    assert _identifiability(law, jac, pred, w, []) == []
    jac[2] = 3.0 * jac[4] + 1e-8 * rng.standard_normal(n)
    J = jac / pred
    assert _identifiability_by_gram(law, J @ J.T, free, n) is None
    (d,) = _identifiability(law, jac, pred, w, [])
    assert set(d.params) == {"B", "beta"}


def _screening(law, df, delta, monkeypatch):
    """(single-precision screen with the best 64 exact, double screen, sizes of the plain
    evaluations the screen made) on a 48-row screening sample of df."""
    prep = prepare(df, law)
    rows = search._subsample(len(prep.y), 48)
    cols = {k: v[:, rows] for k, v in _as_columns(prep.x).items()}
    scr = Problem(law, cols, prep.y[rows], prep.weights[rows], delta, aggregate=False)
    lo, hi = law.internal_bounds()
    z0 = np.clip(law.to_internal(build_starts(law)), lo, hi)
    sizes = []
    real = Problem.value

    def spy(self, z, *a, **k):
        sizes.append(z.shape[0])
        return real(self, z, *a, **k)

    monkeypatch.setattr(Problem, "value", spy)
    fast = search.screen_objective(scr, z0, search.SCREEN_EXACT)
    monkeypatch.setattr(Problem, "value", real)
    return fast, scr.value(z0), sizes


@pytest.mark.parametrize("case", ["least_squares", "identity_large_y"])
def test_single_precision_screening_holds_where_delta_is_infinite_or_y_is_large(case, monkeypatch):
    """Least squares (the 'paper' preset's delta = inf) and identity-space residuals of a
    metric near 1e6: the float32 pass is checked and used (8 + ~100 starts evaluated in
    double, not every start), and the 64 best starts equal double precision's."""
    law = sl.get_law("chinchilla")
    df = _table(2_000, seed=8)
    delta = 1e-3
    if case == "least_squares":
        delta = np.inf
    else:  # the same law fitted on a metric scaled to ~1e6, identity residuals
        law = (
            law.with_parameter("E", grid=(1e6, 2e6))
            .with_parameter("A", grid=(1e7, 1e9, 1e11))
            .with_parameter("B", grid=(1e7, 1e9, 1e11))
        )
        from dataclasses import replace

        law = replace(law, space="identity")
        df = df.assign(loss=df["loss"] * 1e6)
    fast, exact, sizes = _screening(law, df, delta, monkeypatch)
    # one double evaluation: the 8 check starts with the best and their ties
    assert len(sizes) == 1 and sizes[0] >= 8 + search.SCREEN_EXACT
    assert sizes[0] < (0.1 if exact.size == 4500 else 0.5) * exact.size
    best = search.smallest(exact, 64)
    np.testing.assert_array_equal(search.smallest(fast, 64), best)
    np.testing.assert_allclose(fast[best], exact[best], rtol=1e-13)


def test_a_grid_no_larger_than_the_exact_count_is_screened_in_double(monkeypatch):
    law = sl.get_law("chinchilla").with_grid(
        {"E": [1.0, 2.0], "A": [100.0, 1000.0], "B": [100.0, 1000.0], "alpha": [0.3, 0.5]}
    )  # 2 x 2 x 2 x 2 x 5 = 80 starts > 64; and a 40-start grid <= 64
    small = law.with_grid({"beta": [0.3, 0.5]})
    df = _table(500, seed=9)
    for lw, n in ((law, 80), (small, 32)):
        fast, exact, sizes = _screening(lw, df, 1e-3, monkeypatch)
        assert fast.size == n
        if n <= search.SCREEN_EXACT:
            assert sizes == [n]  # all in double, no float32 pass
            np.testing.assert_array_equal(fast, exact)
        else:
            best = search.smallest(exact, search.SCREEN_EXACT)
            np.testing.assert_array_equal(search.smallest(fast, search.SCREEN_EXACT), best)


def test_start_conversions_are_cached_and_the_ends_table_is_unchanged():
    """The starts' internal and public coordinates are converted once per start array and
    law; both are read-only (a caller cannot change what the next fit gets), and the ends
    of unmoved starts are the numbers law.to_public gives for every row."""
    law = sl.get_law("chinchilla")
    lo, hi = law.internal_bounds()
    starts = build_starts(law)
    z0, pub = search.internal_starts(law, starts, lo, hi)
    np.testing.assert_array_equal(z0, np.clip(law.to_internal(starts), lo, hi))
    with pytest.raises(ValueError, match="read-only"):
        z0[:] = 0.0
    again, pub2 = search.internal_starts(law, starts.copy(), lo, hi)
    np.testing.assert_array_equal(again, np.clip(law.to_internal(starts), lo, hi))
    assert again is z0 and pub2 is pub and not pub.flags.writeable
    moved = np.zeros(len(starts), dtype=bool)
    moved[[3, 70, 4499]] = True
    ends = again.copy()
    ends[moved] += 0.25
    np.testing.assert_array_equal(search._public_ends(law, ends, pub, moved), law.to_public(ends))
    other = law.with_parameter("alpha", lower=0.1, grid=(0.5,))  # other bounds: anew
    z_other, _ = search.internal_starts(other, starts, *other.internal_bounds())
    assert z_other[:, 3].min() == 0.1


def test_metrics_near_float32s_range_are_screened_in_double(monkeypatch):
    """A log-space metric of ~1e39 (past float32's 3.4e38) is screened in double; and a
    start whose single-precision value came out infinite is recomputed in double, so it is
    chosen when it is the best (before: inf - inf failed the '<=' test and it was lost)."""
    law = sl.get_law("chinchilla")
    df = _table(2_000, seed=8)
    huge = df.assign(loss=df["loss"] * 1e39)
    law_huge = (
        law.with_parameter("E", grid=(1e39, 2e39))
        .with_parameter("A", grid=(1e40, 1e42))
        .with_parameter("B", grid=(1e40, 1e42))
    )
    fast, exact, sizes = _screening(law_huge, huge, 1e-3, monkeypatch)
    assert sizes == [exact.size]  # all in double
    np.testing.assert_array_equal(fast, exact)

    real = search._grid_objective
    _, exact, _ = _screening(law, df, 1e-3, monkeypatch)
    best = int(np.argmin(exact))

    def overflowed(problem, axes):
        f = real(problem, axes)
        f[best] = np.inf  # as if its prediction had overflowed float32
        return f

    monkeypatch.setattr(search, "_grid_objective", overflowed)
    fast, exact, _ = _screening(law, df, 1e-3, monkeypatch)
    assert int(np.argmin(fast)) == best and fast[best] == exact[best]


def test_a_rounding_drift_below_the_grid_corner_is_not_a_bound():
    """The fixed-Hessian refinement lets an invisible B drift from its grid corner 1 to
    1 - 3e-7; 'driven below every start' needs a real step (BELOW_START), while a term the
    data push towards 0 is still on its bound."""
    from scalinglab.fitting.fitter import _bound_warnings
    from scalinglab.laws import get_law

    law = get_law("chinchilla")
    n = np.geomspace(1e7, 1e9, 6)
    x = {"n_params": n, "tokens": np.full(6, 1e11)}
    lowest = np.array([np.exp(-1.0), 1.0, 1.0, 0.0, 0.0])
    drifted = np.array([1.9, 480.0, 1.0 - 2.8e-7, 0.35, 1.5])
    assert _bound_warnings(law, drifted, x, lowest) == []
    pushed = drifted.copy()
    pushed[2] = 0.5
    assert _bound_warnings(law, pushed, x, lowest) == ["B"]


def test_a_rounding_step_past_the_divergence_threshold_is_not_a_run_off():
    """A = 1e30 recovered from exact data ends at 1e30 x (1 + 3e-14) or (1 - 1e-13) by
    rounding, depending on how the derivatives are summed; only a real step past 1e30 is a
    parameter that ran off to infinity."""
    from scalinglab.fitting.fitter import _bound_warnings
    from scalinglab.laws import get_law

    law = get_law("power_law")
    assert _bound_warnings(law, np.array([0.5, 1e30 * (1 + 2.6e-14), 2.5])) == []
    assert _bound_warnings(law, np.array([0.5, 1.01e30, 2.5])) == ["A"]
