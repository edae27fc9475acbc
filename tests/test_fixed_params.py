"""Fixed parameters (lmfit's vary=False) on the law side, and Zhang et al.'s PET-size recipe
(beta and E fixed from the model-size / pretraining-data fits, then the PET exponent)."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.errors import BoundsError, DataError, UnknownParameterError
from scalinglab.workflows.pet_size import pet_size_recipe


def _chinchilla(noise=0.005):
    n, d = np.meshgrid(np.geomspace(1e7, 1e10, 7), np.geomspace(1e8, 1e11, 7))
    df = pd.DataFrame({"n_params": n.ravel(), "tokens": d.ravel()})
    truth = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
    y = sl.get_law("chinchilla").evaluate(truth, df)
    rng = np.random.default_rng(0)
    return df.assign(loss=y * np.exp(noise * rng.standard_normal(len(df)))), truth


def test_fix_holds_parameters_and_counts_only_the_free_ones():
    law = sl.get_law("chinchilla").fix(E=1.8, beta=0.37)
    assert law.param_names == ("A", "B", "alpha") and law.n_params == 3
    assert law.fixed_values == {"E": 1.8, "beta": 0.37}
    assert law.name == "chinchilla[fixed E=1.8, beta=0.37]"
    assert law.formula_text.endswith("[fixed: E=1.8, beta=0.37]")
    data = {"n_params": [1e9], "tokens": [2e10]}
    full = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
    np.testing.assert_allclose(
        law.evaluate({k: full[k] for k in ("A", "B", "alpha")}, data),
        sl.get_law("chinchilla").evaluate(full, data),
    )
    with pytest.raises(UnknownParameterError, match="no parameter 'gamma'"):
        sl.get_law("chinchilla").fix(gamma=1.0)
    with pytest.raises(BoundsError, match="outside its bounds"):
        sl.get_law("chinchilla").fix(alpha=-1.0)
    with pytest.raises(BoundsError, match="already fixed"):
        law.fix(E=2.0)
    with pytest.raises(UnknownParameterError, match="'beta' is fixed at 0.37, not fitted"):
        law.with_grid({"beta": [0.2, 0.4]})
    with pytest.raises(BoundsError, match="leaves no parameter"):
        sl.get_law("power_law").fix(E=0.5, A=20.0, alpha=0.3)


def test_fit_with_fixed_parameters_recovers_the_free_ones_and_round_trips():
    df, truth = _chinchilla()
    res = sl.fit(df, sl.get_law("chinchilla").fix(E=1.8, beta=0.37))
    assert res.converged_ and res.dof_ == 49 - 3
    for k in ("A", "B", "alpha"):
        assert res.params_[k] == pytest.approx(truth[k], rel=0.05), k
    assert "[fixed: E=1.8, beta=0.37]" in res.summary()
    d = res.to_dict()
    assert d["law_spec"]["fixed"] == {"E": 1.8, "beta": 0.37}
    back = sl.FitResult.from_json(res.to_json())
    assert back.law.fixed_values == {"E": 1.8, "beta": 0.37}
    np.testing.assert_allclose(back.predict(df), res.predict(df))
    # a bootstrap refits only the free parameters
    res.bootstrap(40)
    assert res.bootstrap_ is not None and res.bootstrap_.params.shape == (40, 3)
    # a wrong fixed value shows: the free parameters absorb it and the fit is worse
    worse = sl.fit(df, sl.get_law("chinchilla").fix(E=1.0))
    assert worse.objective_ > 5 * sl.fit(df, "chinchilla").objective_


def test_expression_law_with_a_fixed_parameter_round_trips():
    law = sl.expression_law(
        "E + A/n_params**alpha",
        {
            "E": (0, 10, [1, 2]),
            "A": {"lower": 0, "upper": np.inf, "grid": [10, 1e3], "log": True},
            "alpha": (0, 2, [0.2, 0.5]),
        },
        metric="loss",
    ).fix(E=1.5)
    n = np.geomspace(1e6, 1e9, 12)
    df = pd.DataFrame({"n_params": n, "loss": 1.5 + 40 / n**0.3})
    res = sl.fit(df, law)
    assert res.params_["alpha"] == pytest.approx(0.3, rel=1e-3)
    back = sl.FitResult.from_json(res.to_json())
    assert back.law.param_names == ("A", "alpha") and back.law.fixed_values == {"E": 1.5}


TRUE = {"A_n": 400.0, "a_n": 0.2, "A_d": 80.0, "a_d": 0.1, "A_p": 3.0, "a_p": 0.08}
BETA, E = 0.15, 1.0


def _pet_data(seed=0, noise=0.003):
    """One PET method's runs (LoRA): model sizes, pretraining budgets and 4 LoRA ranks."""
    rng = np.random.default_rng(seed)
    rows = []
    axes = {
        "n_params": (np.geomspace(1e9, 1.6e10, 4), TRUE["A_n"], TRUE["a_n"]),
        "tokens": (np.geomspace(1e10, 1e12, 4), TRUE["A_d"], TRUE["a_d"]),
        "lora_rank": (np.array([4.0, 8, 16, 32]), TRUE["A_p"], TRUE["a_p"]),
    }
    for f, (xs, A, a) in axes.items():
        for x in xs:
            for d in np.geomspace(1e3, 1e7, 5):
                r = {"factor": f, "n_params": 1e9, "tokens": 1e11, "lora_rank": 8.0}
                r[f], r["finetune_size"] = x, d
                loss = (A / (x**a * d**BETA) + E) * np.exp(noise * rng.standard_normal())
                rows.append({**r, "loss": loss})
    return pd.DataFrame(rows)


def test_pet_size_recipe_recovers_known_parameters():
    res = pet_size_recipe(_pet_data(), pet="lora_rank", n_bootstrap=60)
    assert res.fixed["beta"] == pytest.approx(BETA, rel=0.03)
    assert res.fixed["E"] == pytest.approx(E, rel=0.03)
    assert res.pet_fit.law.fixed_values == res.fixed
    assert res.pet_fit.law.param_names == ("A", "alpha")
    assert res.pet_fit.params_["alpha"] == pytest.approx(TRUE["a_p"], rel=0.1)
    assert res.pet_fit.params_["A"] == pytest.approx(TRUE["A_p"], rel=0.15)
    t = res.table.set_index("parameter")
    assert t.loc["alpha", "lower"] < TRUE["a_p"] < t.loc["alpha", "upper"]
    assert t.loc["beta", "source"].endswith("fixed in step 2")
    assert res.notes[0].startswith("step 1: beta = 0.15")
    with pytest.raises(DataError, match="rows varying 'lora_rank'"):
        pet_size_recipe(_pet_data()[lambda d: d["factor"] != "lora_rank"], pet="lora_rank")
