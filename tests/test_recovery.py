"""Every catalog law recovers known parameters from data simulated with small noise."""

import itertools

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl


def _grid(**axes):
    keys = list(axes)
    rows = list(itertools.product(*axes.values()))
    return pd.DataFrame(rows, columns=keys)


CASES = {
    "chinchilla": (
        {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37},
        _grid(n_params=np.geomspace(1e7, 1e10, 7), tokens=np.geomspace(1e8, 1e11, 7)),
    ),
    # Muennighoff et al.'s fitted values; 1 to 64 epochs of 5 unique-data sizes.
    "data_constrained": (
        {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.35, "beta": 0.35, "R_star": 15.4},
        _grid(
            n_params=np.geomspace(1e7, 1e10, 5),
            unique_tokens=np.geomspace(1e8, 1e10, 5),
            epochs=[1, 2, 4, 8, 16, 32, 64],
        ).pipe(lambda d: d.assign(tokens=d["unique_tokens"] * d.pop("epochs"))),
    ),
    "kaplan": (
        {"Nc": 8.8e13, "Dc": 5.4e13, "alphaN": 0.076, "alphaD": 0.095},
        _grid(n_params=np.geomspace(1e6, 1e10, 7), tokens=np.geomspace(1e7, 1e11, 7)),
    ),
    "overtrain": (
        {"E": 1.9, "a": 30.0, "b": 50.0, "eta": 0.15},
        _grid(flops=np.geomspace(1e15, 1e23, 9), tokens_per_param=[5, 10, 20, 40, 80, 160, 320]),
    ),
    "loss_to_error": ({"eps": 0.85, "k": 2.0, "gamma": 0.6}, _grid(loss=np.linspace(2, 6, 25))),
    "downstream_ce": (
        {"E": 1.2, "A": 50.0, "alpha": 0.25},
        _grid(tokens=np.geomspace(1e8, 1e11, 20)),
    ),
    "bleu_loglaw": (
        {"A": float(np.exp(-5)), "alpha": 0.4, "beta": 2.0},
        _grid(tokens=np.geomspace(1e8, 1e11, 20)),
    ),
    "finetune_multiplicative": (
        {"A": 150.0, "alpha": 0.2, "beta": 0.1, "E": 1.0},
        _grid(x=np.geomspace(1e8, 1e10, 6), finetune_size=np.geomspace(1e3, 1e6, 6)),
    ),
    "finetune_additive": (
        {"A": 100.0, "B": 20.0, "alpha": 0.25, "beta": 0.2, "E": 1.2},
        _grid(x=np.geomspace(1e8, 1e10, 6), finetune_size=np.geomspace(1e3, 1e6, 6)),
    ),
    "transfer": (
        {"k": 1.9e4, "alpha": 0.18, "beta": 0.38},
        _grid(finetune_size=np.geomspace(1e5, 1e9, 6), n_params=np.geomspace(1e6, 1e9, 6)),
    ),
    "power_law": ({"E": 0.5, "A": 20.0, "alpha": 0.3}, _grid(x=np.geomspace(1e3, 1e8, 20))),
    "sigmoid": (
        {"a": -0.6, "k": 4.0, "x0": 1.0, "b": 0.85},
        _grid(x=np.linspace(0.3, 1.8, 30)),
    ),
    "finetune_joint": (  # Zhang et al. Eq. 2: each row varies one factor (0 in the others)
        {
            "A_model": 400.0,
            "alpha_model": 0.2,
            "A_data": 80.0,
            "alpha_data": 0.1,
            "A_pet": 5.0,
            "alpha_pet": 0.05,
            "beta": 0.15,
            "E": 1.0,
        },
        pd.concat(
            [
                _grid(
                    x_model=np.geomspace(1e9, 1.6e10, 4),
                    x_data=[0.0],
                    x_pet=[0.0],
                    finetune_size=np.geomspace(1e3, 1e7, 5),
                ),
                _grid(
                    x_model=[0.0],
                    x_data=np.geomspace(1e10, 1e12, 4),
                    x_pet=[0.0],
                    finetune_size=np.geomspace(1e3, 1e7, 5),
                ),
                _grid(
                    x_model=[0.0],
                    x_data=[0.0],
                    x_pet=[4.0, 8, 16, 32],
                    finetune_size=np.geomspace(1e3, 1e7, 5),
                ),
            ],
            ignore_index=True,
        ),
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_recovers_known_parameters(name):
    assert set(CASES) == set(sl.CATALOG)
    law = sl.get_law(name)
    truth, df = CASES[name]
    rng = np.random.default_rng(0)
    clean = law.evaluate(truth, df)
    if law.space == "log":
        y = clean * np.exp(2e-4 * rng.standard_normal(len(df)))
    else:
        y = clean + 2e-4 * rng.standard_normal(len(df))
    df = df.assign(**{law.metric: y})
    res = sl.fit(df, law)
    assert res.converged_, res.summary()
    for p, v in truth.items():
        assert res.params_[p] == pytest.approx(v, rel=0.05), (p, res.summary())
    # and the fitted law predicts the clean curve closely
    np.testing.assert_allclose(res.predict(df), clean, rtol=5e-3, atol=5e-3)


def test_expression_law_recovers_chinchilla_form():
    truth, df = CASES["chinchilla"]
    law = sl.expression_law(
        "E + A/n_params**alpha + B/tokens**beta",
        {
            "E": {"lower": 0, "upper": 10, "grid": [1, 2, 3]},
            "A": {"lower": 0, "upper": np.inf, "grid": [1e1, 1e3, 1e5], "log": True},
            "B": {"lower": 0, "upper": np.inf, "grid": [1e1, 1e3, 1e5], "log": True},
            "alpha": (0, 2, [0.2, 0.5, 1.0]),
            "beta": (0, 2, [0.2, 0.5, 1.0]),
        },
        metric="loss",
    )
    y = sl.get_law("chinchilla").evaluate(truth, df)
    res = sl.fit(df.assign(loss=y), law)
    for p, v in truth.items():
        assert res.params_[p] == pytest.approx(v, rel=1e-3), p
    # It round-trips through JSON and predicts identically.
    back = sl.FitResult.from_json(res.to_json())
    np.testing.assert_allclose(back.predict(df), res.predict(df))
    assert back.law.formula_text == law.formula_text


def test_mapping_a_generic_variable_to_a_column():
    truth, df = CASES["finetune_multiplicative"]
    law = sl.get_law("finetune_multiplicative")
    df = df.rename(columns={"x": "n_params"})
    y = law.evaluate(truth, {"x": df["n_params"], "finetune_size": df["finetune_size"]})
    res = sl.fit(df.assign(ppl_loss=y), law, mapping={"x": "n_params"}, metric="ppl_loss")
    assert res.columns_ == {"x": "n_params", "finetune_size": "finetune_size"}
    assert res.metric_ == "ppl_loss"
    assert res.params_["alpha"] == pytest.approx(0.2, rel=1e-3)
    pred = res.predict({"n_params": 1e11, "finetune_size": 1e4})
    expected = law.evaluate(truth, {"x": [1e11], "finetune_size": [1e4]})
    assert pred[0] == pytest.approx(expected[0], rel=1e-3)


def test_weights_change_the_fit():
    truth, df = CASES["power_law"]
    law = sl.get_law("power_law")
    y = law.evaluate(truth, df)
    y[-1] *= 1.5  # one corrupted point
    df = df.assign(y=y, w=1.0)
    df.loc[df.index[-1], "w"] = 0.0
    res = sl.fit(df, law, weights="w")
    assert res.params_["alpha"] == pytest.approx(0.3, rel=1e-3)
