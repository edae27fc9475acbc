"""Law machinery: exact Jacobians, batching, number parsing, JSON round trips."""

import numpy as np
import pytest

import scalinglab as sl
from scalinglab.laws.autodiff import PositiveColumn
from scalinglab.schema import parse_number


@pytest.mark.parametrize("name", sorted(sl.CATALOG))
def test_jacobian_matches_finite_differences(name):
    law = sl.get_law(name)
    rng = np.random.default_rng(1)
    data = {
        v: np.geomspace(1e2, 1e9, 7) if v not in ("loss", "x") else np.linspace(1, 4, 7)
        for v in law.variables
    }
    if name == "bleu_loglaw":
        starts = np.array([[np.exp(-5), 0.4, 2.0]])
    else:
        starts = law.grid_points()[rng.choice(len(law.grid_points()), 3, replace=False)]
    z = law.to_internal(starts)
    cols = {k: PositiveColumn(v[None]) for k, v in data.items()}
    pred, jac = law.evaluate_internal(z, cols, True)
    for j in range(law.n_params):
        h = 1e-6 * (1 + abs(z[:, j]))
        zp, zm = z.copy(), z.copy()
        zp[:, j] += h
        zm[:, j] -= h
        fd = law.evaluate_internal(zp, cols, False)[0] - law.evaluate_internal(zm, cols, False)[0]
        fd = fd / (2 * h[:, None])
        ok = np.isfinite(fd) & np.isfinite(jac[j])
        np.testing.assert_allclose(jac[j][ok], fd[ok], rtol=1e-4, atol=1e-7 * np.abs(pred).max())


def test_formula_batches_over_rows_and_parameter_sets():
    law = sl.get_law("chinchilla")
    theta = np.array([[1.8, 480, 2100, 0.35, 0.37], [1.7, 400, 400, 0.34, 0.28]])
    data = {"n_params": np.array([1e8, 1e9, 1e10]), "tokens": np.array([2e9, 2e10, 2e11])}
    out = law.evaluate(theta, data)
    assert out.shape == (2, 3)
    row = law.evaluate(dict(zip(law.param_names, theta[1], strict=True)), data)
    np.testing.assert_allclose(out[1], row)
    assert out[0, 1] == pytest.approx(1.8 + 480 / 1e9**0.35 + 2100 / 2e10**0.37)


@pytest.mark.parametrize(
    "text,value",
    [
        ("1.4B", 1.4e9),
        ("900B", 9e11),
        ("20K", 2e4),
        ("3.5e9", 3.5e9),
        ("2T", 2e12),
        ("70m", 7e7),
        (" 12 ", 12.0),
        (5, 5.0),
    ],
)
def test_parse_number_suffixes(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["1.4Q", "abc", "1.2.3", "B"])
def test_parse_number_rejects(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_fit_result_json_round_trip(tmp_path):
    from tests.test_recovery import CASES

    truth, df = CASES["downstream_ce"]
    law = sl.get_law("downstream_ce")
    res = sl.fit(df.assign(downstream_ce=law.evaluate(truth, df)), law)
    path = tmp_path / "fit.json"
    res.to_json(path)
    back = sl.FitResult.from_json(path)
    assert back.params_ == res.params_ and back.law.name == "downstream_ce"
    np.testing.assert_allclose(back.residuals(), res.residuals())
    assert back.converged_ and back.n_points_ == 20


def test_at_bound_is_flagged():
    # Data from a pure power law with no offset: E wants to be 0 (its lower bound).
    x = np.geomspace(1e3, 1e8, 20)
    import pandas as pd

    res = sl.fit(pd.DataFrame({"x": x, "y": 20 / x**0.3}), "power_law")
    assert "E" in res.at_bounds_
    assert any("bound" in w for w in res.warnings_)
    assert "at bound" in res.summary()


def test_non_converged_fit_says_so():
    from tests.test_recovery import CASES

    truth, df = CASES["chinchilla"]
    y = sl.get_law("chinchilla").evaluate(truth, df)
    noise = np.exp(0.02 * np.random.default_rng(3).standard_normal(len(y)))
    res = sl.fit(df.assign(loss=y * noise), "chinchilla", max_iter=1)
    assert not res.converged_
    assert any("did not converge" in w for w in res.warnings_)
    assert "converged  NO" in res.summary()


def test_data_constrained_law_is_chinchilla_within_one_epoch():
    import pandas as pd

    p = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.35, "beta": 0.35}
    df = pd.DataFrame({"n_params": [1e8, 1e9], "tokens": [2e9, 2e10], "unique_tokens": [4e9, 2e10]})
    dc = sl.get_law("data_constrained").evaluate({**p, "R_star": 15.4}, df)
    np.testing.assert_allclose(dc, sl.get_law("chinchilla").evaluate(p, df), rtol=1e-12)
    # Repeated data is worth less: 4 epochs of U beat 1 epoch of U but lose to 4U unique tokens.
    rep = df.assign(tokens=4 * df["unique_tokens"])
    four = sl.get_law("data_constrained").evaluate({**p, "R_star": 15.4}, rep)
    fresh = sl.get_law("chinchilla").evaluate(p, rep)
    assert (four > fresh).all() and (four < dc).all()
