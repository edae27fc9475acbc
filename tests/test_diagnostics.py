"""Every fit checks itself: each diagnostic code is triggered by the case it names and absent
on a clean fit; starts come from the data, so the fast search finds the full search's basin."""

import json

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.diagnostics import CODES, Diagnostic
from scalinglab.fitting.presets import apply_preset
from tests.conftest import shared_file

RNG = np.random.default_rng(0)
TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


def chinchilla_rows(n_sizes=6, n_tokens=6, noise=0.0):
    n = np.repeat(np.geomspace(1e7, 1e10, n_sizes), n_tokens)
    d = np.tile(np.geomspace(1e8, 1e11, n_tokens), n_sizes)
    loss = TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]
    loss = loss * np.exp(noise * RNG.standard_normal(loss.size))
    return pd.DataFrame({"n_params": n, "tokens": d, "loss": loss})


def sigmoid_rows(x0=23.1, k=3.0, lo=21.0, hi=25.5, n=60, noise=0.01):
    x = np.linspace(lo, hi, n)
    y = 0.5 / (1 + np.exp(-k * (x - x0))) + 0.25 + noise * RNG.standard_normal(n)
    return pd.DataFrame({"log_flops": x, "mmlu": y})


def codes(res):
    return [d.code for d in res.diagnostics_]


def test_clean_fit_has_no_diagnostics_and_reports_dof_aic_stop():
    res = sl.fit(chinchilla_rows(noise=0.01), "chinchilla")
    assert codes(res) == [] and res.converged_ and res.clean_
    assert res.dof_ == 31 and np.isfinite(res.aic_) and res.bic_ > res.aic_
    assert res.stop_reason_.startswith("converged after")
    back = sl.FitResult.from_json(res.to_json())
    assert back.diagnostics_ == [] and back.stop_reason_ == res.stop_reason_


@pytest.mark.parametrize("preset", [None, "paper"])
@pytest.mark.parametrize("x0", [23.1, -40.0, 80.0])
def test_sigmoid_starts_follow_the_data(preset, x0):
    """The old x0 grid (0.25-6) missed data at 21-25: the fast search stopped on a flat
    curve (x0 = 0.25, objective 3x the optimum) and said converged."""
    df = sigmoid_rows(x0=x0, lo=x0 - 2, hi=x0 + 2.5)
    law, kw = apply_preset(sl.get_law("sigmoid"), preset)
    fast = sl.fit(df, law, mapping={"x": "log_flops"}, metric="mmlu", **kw)
    full = sl.fit(df, law, mapping={"x": "log_flops"}, metric="mmlu", strategy="full", **kw)
    assert fast.objective_ == pytest.approx(full.objective_, rel=1e-6)
    assert fast.params_["x0"] == pytest.approx(x0, abs=0.2)
    assert fast.converged_ and "flat" not in codes(fast)


def test_flat_fit_is_an_error_not_converged():
    df = sigmoid_rows()
    law, kw = apply_preset(sl.get_law("sigmoid"), "paper")
    grid = {"x0": [0.25], "k": [3.0], "a": [0.5], "b": [0.0]}  # the old grid's basin
    res = sl.fit(df, law, mapping={"x": "log_flops"}, metric="mmlu", grid=grid, **kw)
    assert "flat" in codes(res)
    assert not res.converged_ and not res.clean_
    assert "converged  NO" in res.summary() and "[flat]" in res.summary()


def test_obsscaling_mmlu_fast_equals_full():
    models = shared_file("obsscaling/models.csv")
    scores = pd.read_csv(shared_file("obsscaling/scores.csv"))
    df = scores[scores.benchmark == "MMLU"].merge(pd.read_csv(models), on="model")
    df = df[(df.kind == "base") & df.flops_1e21.notna()]
    df = df.assign(log_flops=np.log10(df.flops_1e21 * 1e21), mmlu=df.value)
    df = df[df.log_flops > 21][["log_flops", "mmlu"]].reset_index(drop=True)
    for preset in (None, "paper"):
        law, kw = apply_preset(sl.get_law("sigmoid"), preset)
        fast = sl.fit(df, law, mapping={"x": "log_flops"}, metric="mmlu", **kw)
        full = sl.fit(df, law, mapping={"x": "log_flops"}, metric="mmlu", strategy="full", **kw)
        assert fast.objective_ == pytest.approx(full.objective_, rel=1e-4), preset
        assert 22.5 < fast.params_["x0"] < 24 and fast.converged_


def test_loss_to_error_and_power_law_starts_follow_the_data():
    loss = np.linspace(12.0, 16.0, 30)  # far from the fixed gamma grid's scale
    err = 0.9 - 2e4 * np.exp(-0.9 * loss)  # k = 2e4 lies beyond the fixed e^8 grid
    df = pd.DataFrame({"loss": loss, "error": err})
    fast = sl.fit(df, "loss_to_error")
    full = sl.fit(df, "loss_to_error", strategy="full")
    assert fast.objective_ <= full.objective_ * (1 + 1e-6) + 1e-12
    assert fast.params_["gamma"] == pytest.approx(0.9, rel=1e-3)
    x = np.geomspace(1e12, 1e14, 20)
    y = 0.5 + 1e30 / x**2.5  # A = 1e30: far beyond the fixed e^16 grid
    fast = sl.fit(pd.DataFrame({"x": x, "y": y}), "power_law")
    assert fast.params_["alpha"] == pytest.approx(2.5, rel=1e-3) and fast.clean_


def test_exact_fit_has_no_interval():
    df = chinchilla_rows().iloc[:3]
    res = sl.fit(df, "downstream_ce", mapping={"tokens": "tokens"}, metric="loss")
    assert "exact_fit" in codes(res) and res.exact_fit_
    band = res.predict({"tokens": [1e12]}, interval=0.9)
    assert band["lower"].isna().all() and band["upper"].isna().all()


def test_few_dof():
    df = chinchilla_rows().iloc[[0, 7, 14, 21, 28, 35, 5]]  # 7 points, 5 parameters
    assert "few_dof" in codes(sl.fit(df, "chinchilla"))


def test_at_bound():
    df = chinchilla_rows()
    law = sl.get_law("chinchilla").with_parameter("alpha", upper=0.3, grid=(0.1, 0.2, 0.3))
    res = sl.fit(df, law)
    assert [d.params for d in res.diagnostics_ if d.code == "at_bound"] == [("alpha",)]


def test_a_fit_with_warnings_is_never_shown_as_a_plain_converged_yes():
    """Issue 14: a degenerate optimum is reported as such everywhere. A parameter on its
    bound converges (the search reached the constrained optimum) but is not clean: the
    summary and the notebook view say which warning qualifies it; a clean fit says yes."""
    df = chinchilla_rows()
    law = sl.get_law("chinchilla").with_parameter("alpha", upper=0.3, grid=(0.1, 0.2, 0.3))
    res = sl.fit(df, law)
    assert res.converged_ and not res.clean_
    assert res.convergence_text() == "yes, not clean (at_bound)"
    assert "converged  yes, not clean (at_bound)" in res.summary()
    assert "converged: yes, not clean (at_bound)" in res._repr_html_()
    clean = sl.fit(df, "chinchilla")
    assert clean.clean_ and clean.convergence_text() == "yes"
    assert "converged  yes; converged after" in clean.summary()


def test_single_value_and_not_identified_name_the_parameters():
    """Constant tokens: B and beta act through tokens alone and are not determined."""
    df = chinchilla_rows()
    df = df[df.tokens == df.tokens.max()]
    res = sl.fit(df, "chinchilla")
    single = [d for d in res.diagnostics_ if d.code == "single_value"]
    assert [d.params for d in single] == [("tokens",)]
    named = {p for d in res.diagnostics_ if d.code == "not_identified" for p in d.params}
    assert {"B", "beta"} <= named | {"E"} and "B" in named


def test_trade_off_direction_is_named():
    """Over one tokens value, E and B/D^beta are the same constant: E and B trade off."""
    df = chinchilla_rows()
    df = df[df.tokens == df.tokens.min()]
    law = sl.get_law("chinchilla").with_parameter("beta", lower=0.37, upper=0.37, grid=(0.37,))
    res = sl.fit(df, law)
    msgs = [d for d in res.diagnostics_ if d.code == "not_identified"]
    assert msgs and {"E", "B"} <= set(msgs[0].params) and "trade off" in msgs[0].message


def test_constant_target_and_duplicate_rows():
    df = chinchilla_rows()
    df = pd.concat([df, df.iloc[:4]], ignore_index=True)
    res = sl.fit(df, "chinchilla")
    assert "duplicate_rows" in codes(res)
    flat = df.assign(loss=2.0)
    res = sl.fit(flat, "chinchilla")
    assert "constant_target" in codes(res) and not res.converged_


def test_extrapolation_named_for_predictions():
    res = sl.fit(chinchilla_rows(), "chinchilla")
    inside = res.check_inputs({"n_params": [1e9], "tokens": [1e10]})
    assert inside == []
    far = res.check_inputs({"n_params": [70.0], "tokens": [1e10]})
    assert [(d.code, d.params) for d in far] == [("extrapolation", ("n_params",))]
    assert "5.2 orders of magnitude" in far[0].message
    ext = res.extrapolation({"n_params": [1e11], "tokens": [1e10]})
    assert ext["n_params"].iloc[0] == pytest.approx(1.0) and ext["tokens"].iloc[0] == 0


def test_bootstrap_failures_are_a_diagnostic():
    df = chinchilla_rows()
    df = df[df.tokens == df.tokens.max()]
    res = sl.fit(df, "chinchilla")
    res.bootstrap(50, seed=0)
    usable = int(res.bootstrap_.usable.sum())
    assert ("bootstrap_failures" in codes(res)) == (usable < 45)


def test_every_code_is_known_and_serialises():
    for code in CODES:
        d = Diagnostic(code, "warning", "m", ("p",))
        assert Diagnostic.from_dict(json.loads(json.dumps(d.to_dict()))) == d
    with pytest.raises(ValueError):
        Diagnostic("nonsense", "warning", "m")


def test_plan_flags_extrapolation_and_takes_an_overtrain_fit():
    from scalinglab.workflows.planning import plan

    res = sl.fit(chinchilla_rows(), "chinchilla")  # data to 1e10 params, 1e11 tokens
    p = plan(res, 1e26)
    assert p.rows[0]["beyond_data"] > 1
    assert {d.code for d in p.diagnostics} == {"extrapolation"}
    near = plan(res, 6 * 1e9 * 2e10)
    assert near.diagnostics == [] and near.rows[0]["beyond_data"] < 1
    m = np.tile([5.0, 20.0, 80.0], 8)
    c = np.repeat(np.geomspace(1e17, 1e20, 8), 3)
    loss = 1.7 + (30 * m**0.1 + 300 / m**0.1) / c**0.1
    ot = sl.fit(pd.DataFrame({"flops": c, "tokens_per_param": m, "loss": loss}), "overtrain")
    p = plan(ot, 1e21, tokens_per_param=80)
    assert [r["tokens_per_param"] for r in p.rows] == [20.0, 80.0]
    assert p.rows[1]["n_params"] == pytest.approx(np.sqrt(1e21 / (6 * 80)))
    expected = 1.7 + (30 * 80**0.1 + 300 / 80**0.1) / 1e21**0.1
    assert p.rows[1]["loss"] == pytest.approx(expected, rel=1e-4)


def test_not_converged_is_an_error_with_its_iteration_limit():
    """A search stopped by its iteration limit says so; it is never called converged."""
    res = sl.fit(chinchilla_rows(noise=0.01), "chinchilla", max_iter=1)
    (d,) = [d for d in res.diagnostics_ if d.code == "not_converged"]
    assert d.severity == "error"
    assert d.message == (
        "the best start did not converge within 1 iterations; treat the parameters as unreliable"
    )
    assert not res.converged_ and not res.clean_
    assert "converged  NO" in res.summary() and "[not_converged]" in res.summary()
    assert json.loads(res.to_json())["diagnostics"][0]["code"] == "not_converged"


def test_no_finite_objective_when_the_law_cannot_reach_the_data():
    """sqrt(x - c) with c in [20, 30] is NaN at every x in 1-10: no start is finite."""
    df = pd.DataFrame({"x": np.linspace(1, 10, 20), "y": 2 + np.linspace(1, 10, 20)})
    law = sl.expression_law("A*sqrt(x - c)", {"A": (0.1, 10), "c": (20, 30)}, variables=["x"])
    res = sl.fit(df, law, metric="y")
    assert codes(res) == ["no_finite_objective"]
    (d,) = res.diagnostics_
    assert d.severity == "error"
    assert d.message == (
        "no start gave a finite objective: the law cannot describe this data with these bounds/grid"
    )
    assert not res.converged_ and not np.isfinite(res.objective_)


def test_clean_fit_has_neither_convergence_error():
    res = sl.fit(chinchilla_rows(noise=0.01), "chinchilla")
    assert not {"not_converged", "no_finite_objective"} & set(codes(res))
    assert res.converged_ and np.isfinite(res.objective_)


def test_duplicate_rows_counted_alike_on_long_and_short_tables():
    """Long tables count duplicates by row hashes (a sort cost 0.5 s at 240,000 rows): the
    same count as the row sort, -0.0 equal to 0.0, and distinct rows never flagged."""
    from scalinglab.fitting.diagnose import SORT_ROWS, _n_unique_rows

    rng = np.random.default_rng(3)
    n = SORT_ROWS + 5_000
    a, b = rng.uniform(1, 2, n), rng.uniform(1, 2, n)
    assert _n_unique_rows([a, b]) == n
    a[10:13], b[10:13] = a[100], b[100]  # 3 copies of row 100
    a[200], b[200] = 0.0, b[201]
    a[201] = -0.0  # equal to row 200 as numbers
    for cols in ([a, b], [a[:SORT_ROWS], b[:SORT_ROWS]]):
        sort = len(np.unique(np.column_stack(cols), axis=0))
        assert _n_unique_rows(cols) == sort == cols[0].size - 4


def test_rows_whose_hash_keys_collide_are_compared_exactly(monkeypatch):
    """Only rows sharing a 32-bit hash key are compared row by row: with every key made
    equal (the worst collision), the count is still the exact one."""
    from scalinglab.fitting import diagnose

    rng = np.random.default_rng(4)
    n = diagnose.SORT_ROWS + 1_000
    a, b = rng.uniform(1, 2, n), rng.uniform(1, 2, n)
    a[5:8], b[5:8] = a[50], b[50]  # 3 copies of row 50
    monkeypatch.setattr(diagnose, "row_hashes", lambda cols: np.zeros(cols[0].size, np.uint64))
    assert diagnose._n_unique_rows([a, b]) == n - 3


def test_identifiability_on_a_long_jacobian_matches_the_direct_svd():
    """The near-null direction and its singular value, from the QR route used on long
    tables, equal the SVD of the column-normalised Jacobian itself."""
    from scalinglab.fitting.diagnose import _identifiability

    law = sl.get_law("chinchilla")
    rng = np.random.default_rng(4)
    for n in (300, 30_000):
        jac = rng.standard_normal((5, n))
        jac[2] = 3.0 * jac[4] + 1e-8 * rng.standard_normal(n)  # B and beta trade off
        pred, w = rng.uniform(1, 2, n), rng.uniform(0.5, 1.5, n)
        (d,) = _identifiability(law, jac, pred, w, [])
        assert set(d.params) == {"B", "beta"}
        J = (jac / pred).T * np.sqrt(w)[:, None]
        s = np.linalg.svd(J / np.linalg.norm(J, axis=0), compute_uv=False)
        assert f"{s[-1] / s[0]:.1e}" in d.message
