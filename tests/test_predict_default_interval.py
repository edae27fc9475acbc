"""`predict` on a fit file that holds bootstrap draws states a 90% interval without being
asked (issue 23 item 1: the draws were in the file and the answer was a bare number);
`--bootstrap N` makes draws for a file saved without them."""

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _fit(tmp_path, *extra):
    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(1e7, 1e9, 5), 4)
    d = np.tile(np.geomspace(1e9, 1e11, 4), 5)
    loss = (1.8 + 480 / n**0.35 + 2100 / d**0.37) * np.exp(rng.normal(0, 0.01, n.size))
    pd.DataFrame({"n_params": n, "tokens": d, "loss": loss}).to_csv(tmp_path / "p.csv")
    out = tmp_path / f"fit{len(extra)}.json"
    r = _run("fit", tmp_path / "p.csv", "--law", "chinchilla", "--out", out, *extra)
    assert r.exit_code == 0, r.output
    return out


def _predict(path, *extra):
    r = _run("predict", path, "--set", "n_params=2B", "--set", "tokens=40B", "--json", *extra)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_draws_in_the_file_give_a_stated_90_percent_interval(tmp_path):
    obj = _predict(_fit(tmp_path, "--bootstrap", "200"))
    p = obj["predictions"][0]
    assert obj["interval"]["level"] == 0.9 and 150 <= obj["interval"]["n_resamples"] <= 200
    assert p["lower"] < p["prediction"] < p["upper"]


def test_no_draws_no_interval_unless_bootstrap_is_asked(tmp_path):
    path = _fit(tmp_path)
    assert "interval" not in _predict(path)
    obj = _predict(path, "--bootstrap", "100")
    p = obj["predictions"][0]
    assert obj["interval"]["level"] == 0.9 and p["lower"] < p["prediction"] < p["upper"]
