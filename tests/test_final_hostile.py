"""Hostile inputs found by the final check: a text column as the metric crashed inspect
(TypeError), and an edited result file gave AttributeError / TypeError instead of a named
error naming the file."""

import json

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import FileFormatError
from scalinglab.inspect import inspect_table
from scalinglab.results import Result
from scalinglab.workflows import audit


def _runs():
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    return pd.DataFrame(
        {"n_params": n, "tokens": d, "loss": 1.7 + 400 / n**0.34 + 410 / d**0.28, "tag": "a"}
    )


def test_inspect_with_a_text_metric_does_not_crash():
    info = inspect_table(_runs(), metric="tag")
    assert info["rows"] == 36


def test_an_edited_result_file_is_a_named_error_naming_the_file(tmp_path):
    res = audit.holdout(
        _runs().drop(columns="tag"), ["chinchilla"], "n_params > 3e9", n_bootstrap=0
    )
    obj = json.loads(res.to_json())
    path = tmp_path / "audit.json"
    for edit in ("null-state", "no-points"):
        bad = json.loads(json.dumps(obj))
        if edit == "null-state":
            bad["state"] = None
        else:
            bad["state"].pop("points")
        path.write_text(json.dumps(bad))
        with pytest.raises(FileFormatError) as exc:
            Result.from_json(str(path))
        assert str(path) in str(exc.value)
    path.write_text(json.dumps({"kind": "holdout", "summary": []}))  # an audit --json output
    with pytest.raises(FileFormatError, match="--json output is for reading"):
        Result.from_json(str(path))


def test_a_forecast_without_resamples_says_what_its_intervals_are(tmp_path):
    """forecast --bootstrap 0 printed brackets (scatter plus extrapolation term) under the
    words 'no intervals (--bootstrap 0)'."""
    from click.testing import CliRunner

    from scalinglab.cli import main

    df = _runs().drop(columns="tag")
    df["error"] = 0.9 - 2.0 * np.exp(-1.2 * df["loss"])
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    args = ["forecast", str(path), "--target-where", "n_params > 3e9", "--bootstrap", "0"]
    r = CliRunner().invoke(main, [*args, "--fit-where", "n_params < 3e9"])
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "no intervals" not in flat
    assert "intervals from the fit's scatter plus an extrapolation term" in flat
