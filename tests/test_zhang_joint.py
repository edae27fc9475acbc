"""Zhang et al.'s Eq. 2 (joint over factors: A_X, alpha_X per factor; beta, E shared) as a
catalog law usable by fit and audit, and the 'which factor helps finetuning more' comparison,
on data generated from the law with known parameters."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.errors import DataError
from scalinglab.workflows.audit import holdout
from scalinglab.workflows.factor_effects import factor_effects, joint_frame

TRUE = {
    "A_model": 400.0,
    "alpha_model": 0.2,
    "A_data": 80.0,
    "alpha_data": 0.1,
    "A_pet": 5.0,
    "alpha_pet": 0.05,
    "beta": 0.15,
    "E": 1.0,
}


def _long(seed=0, noise=0.002):
    """Runs tagged by the factor they vary; the other factors sit at their base values."""
    rng = np.random.default_rng(seed)
    law = sl.get_law("finetune_joint")
    vals = {
        "n_params": np.geomspace(1e9, 1.6e10, 4),
        "tokens": np.geomspace(1e10, 1e12, 4),
        "lora_rank": np.array([4.0, 8, 16, 32]),
    }
    key = {"n_params": "model", "tokens": "data", "lora_rank": "pet"}
    rows = []
    for f, xs in vals.items():
        for x in xs:
            for d in np.geomspace(1e3, 1e7, 5):
                r = {"factor": f, "n_params": 1e9, "tokens": 1e11, "lora_rank": 8.0}
                r[f], r["finetune_size"] = x, d
                one = {f"x_{k}": [0.0] for k in key.values()} | {f"x_{key[f]}": [x]}
                y = law.evaluate(TRUE, {**one, "finetune_size": [d]})[0]
                r["loss"] = y * np.exp(noise * rng.standard_normal())
                rows.append(r)
    return pd.DataFrame(rows)


COLS = {"model": "n_params", "data": "tokens", "pet": "lora_rank"}


def test_catalog_joint_law_recovers_known_parameters():
    res = sl.fit(joint_frame(_long(), COLS), "finetune_joint")
    assert res.converged_ and res.n_points_ == 60
    for k, v in TRUE.items():
        assert res.params_[k] == pytest.approx(v, rel=0.06), k
    assert "finetune_joint" in sl.CATALOG


def test_catalog_joint_law_audits_and_names_a_factor_it_cannot_identify():
    frame = joint_frame(_long(), COLS)
    aud = holdout(frame, "finetune_joint", "finetune_size >= 1e7", n_bootstrap=0)
    assert float(aud.by_law().loc["finetune_joint", "mean_rel_error"]) < 0.01
    # without PET rows, A_pet and alpha_pet are not determined: the fit says so
    no_pet = joint_frame(_long()[lambda d: d["factor"] != "lora_rank"], COLS)
    res = sl.fit(no_pet, "finetune_joint")
    codes = {d.code for d in res.diagnostics_ if "x_pet" in d.params or "A_pet" in d.params}
    assert codes, [str(d) for d in res.diagnostics_]
    with pytest.raises(DataError, match="none of"):
        joint_frame(_long().assign(factor="width"), COLS)


def test_factor_effects_side_by_side_with_a_verdict():
    df = _long()
    df["method"] = "lora"
    res = factor_effects(df, ["n_params", "tokens", "lora_rank"], n_bootstrap=100)
    t = res.table.set_index("factor")
    assert t.loc["n_params", "alpha"] == pytest.approx(0.2, rel=0.05)
    assert t.loc["tokens", "alpha"] == pytest.approx(0.1, rel=0.05)
    assert t.loc["lora_rank", "alpha"] == pytest.approx(0.05, rel=0.15)
    for f in t.index:
        assert t.loc[f, "alpha_lo"] < t.loc[f, "alpha"] < t.loc[f, "alpha_hi"]
    assert t.loc["n_params", "loss_cut_per_10x"] == pytest.approx(1 - 10**-0.2, rel=0.05)
    # the paper's Table 2: each factor's largest value held out and predicted
    assert t["heldout_mad"].between(0, 0.02).all()
    v = res.verdicts["lora"]
    assert v.startswith("scaling model size helps finetuning more on these data")
    assert "vs pretraining data" in v


def test_factor_effects_says_when_the_data_cannot_tell():
    """Two factors with the same true exponent and noisy runs: no winner is declared."""
    df = _long(noise=0.02)
    df = df[df["factor"] != "lora_rank"].copy()
    mask = df["factor"] == "tokens"
    # tokens' runs regenerated with model size's exponent
    d, x = df.loc[mask, "finetune_size"], df.loc[mask, "tokens"]
    rng = np.random.default_rng(1)
    df.loc[mask, "loss"] = (80 / (x**0.2 * d**0.15) + 1.0) * np.exp(
        0.02 * rng.standard_normal(mask.sum())
    )
    res = factor_effects(df, ["n_params", "tokens"], by=None, n_bootstrap=100)
    assert res.verdicts["all"].startswith("the data cannot tell")
    with pytest.raises(DataError, match="at least 2"):
        factor_effects(df, ["n_params"], by=None)


def test_factor_effects_cli(tmp_path):
    import json

    from click.testing import CliRunner

    from scalinglab.cli import main

    path = tmp_path / "ft.csv"
    _long().assign(method="fmt").to_csv(path, index=False)
    args = ["factor-effects", str(path), "--factor", "n_params", "--factor", "tokens"]
    r = CliRunner().invoke(main, [*args, "--factor", "lora_rank", "--bootstrap", "30", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["verdicts"]["fmt"].startswith("scaling model size helps finetuning more")
    assert {row["factor"] for row in d["table"]} == {"n_params", "tokens", "lora_rank"}


def test_joint_out_feeds_fit_and_audit_on_the_cli(tmp_path):
    """No pandas between the commands: factor-effects writes the catalog law's columns, and
    fit / audit take them."""
    from click.testing import CliRunner

    from scalinglab.cli import main

    path, joint = tmp_path / "ft.csv", tmp_path / "joint.csv"
    _long().assign(method="fmt").to_csv(path, index=False)
    r = CliRunner().invoke(
        main,
        ["factor-effects", str(path), "--factor", "n_params", "--factor", "tokens"]
        + ["--factor", "lora_rank", "--bootstrap", "0", "--joint-out", str(joint)],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["fit", str(joint), "--law", "finetune_joint", "--json"])
    assert r.exit_code == 0, r.output
    import json

    params = json.loads(r.output)["params"]
    assert params["alpha_model"] == pytest.approx(0.2, rel=0.05)
    r = CliRunner().invoke(
        main,
        ["audit", str(joint), "--law", "finetune_joint", "--holdout", "finetune_size >= 1e7"],
    )
    assert r.exit_code == 0, r.output
