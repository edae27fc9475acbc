"""`--map x=log10(flops)` (issue 21: variable transforms in --map, checked by the safe
expression parser, so users do not build columns by hand) in fit, predict and the API."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import QueryError


def _mmlu() -> pd.DataFrame:
    c = np.geomspace(1e18, 1e22, 12)
    acc = 0.25 + 0.6 / (1 + np.exp(-2.0 * (np.log10(c) - 20.5)))
    return pd.DataFrame({"flops": c, "mmlu": acc})


def test_a_transform_in_the_mapping_fits_and_predicts():
    res = sl.fit(_mmlu(), "sigmoid", mapping={"x": "log10(flops)"}, metric="mmlu")
    assert res.params_["x0"] == pytest.approx(20.5, rel=1e-6)
    assert res.params_["k"] == pytest.approx(2.0, rel=1e-6)
    want = 0.25 + 0.6 / (1 + np.exp(-2.0 * (23 - 20.5)))
    assert res.predict({"flops": [1e23]})[0] == pytest.approx(want, rel=1e-9)
    back = sl.FitResult.from_dict(res.to_dict())
    assert back.predict(pd.DataFrame({"flops": [1e23]})).iloc[0] == pytest.approx(want)


def test_map_transform_on_the_cli_and_what_it_refuses(tmp_path):
    p = tmp_path / "mmlu.csv"
    _mmlu().to_csv(p, index=False)
    out = tmp_path / "fit.json"
    args = ["fit", str(p), "--law", "sigmoid", "--metric", "mmlu", "--out", str(out)]
    r = CliRunner().invoke(main, [*args, "--map", "x=log10(flops)"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["predict", str(out), "--set", "flops=1e23", "--json"])
    assert r.exit_code == 0, r.output
    pred = json.loads(r.stdout)["predictions"][0]
    assert pred["log10(flops)"] == 23.0 and pred["prediction"] == pytest.approx(0.846, abs=1e-3)
    for bad, says in (("x=__import__('os')", "not allowed"), ("x=log10(nosuch)", "nosuch")):
        r = CliRunner().invoke(main, [*args[:-2], "--map", bad])
        assert r.exit_code == 2 and says in r.stderr, r.output
    with pytest.raises(QueryError, match="not a condition"):
        sl.fit(_mmlu(), "sigmoid", mapping={"x": "(flops > 3) + 1"}, metric="mmlu")
