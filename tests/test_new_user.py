"""The new user's path: the API reads a DataFrame as the CLI reads a file, parses unit
suffixes in predict, and prints short reprs."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.errors import MissingColumnError


def _table():
    n = np.repeat(np.geomspace(1e7, 1e10, 5), 5)
    d = np.tile(np.geomspace(1e8, 1e11, 5), 5)
    return pd.DataFrame({"N": n, "D": d, "val_loss": 1.8 + 480 / n**0.35 + 2100 / d**0.37})


def test_fit_on_a_dataframe_finds_aliases_like_a_file(tmp_path):
    """sl.fit(df) with columns N, D raised MissingColumnError (a CSV of it worked)."""
    df = _table()
    api = sl.fit(df, "chinchilla")
    df.to_csv(tmp_path / "t.csv", index=False)
    cli_like = sl.fit(tmp_path / "t.csv", "chinchilla")
    assert api.params_ == pytest.approx(cli_like.params_, rel=1e-9)
    assert api.columns_ == {"n_params": "N", "tokens": "D"} and api.metric_ == "val_loss"


def test_missing_column_hint_names_the_python_keyword():
    with pytest.raises(MissingColumnError, match=r"mapping=\{'tokens': 'COLUMN'\}"):
        sl.fit(_table().drop(columns="D"), "chinchilla")


def test_predict_parses_unit_suffixes_and_aliases():
    res = sl.fit(_table(), "chinchilla")
    a = res.predict({"n_params": "70B", "tokens": "1.4T"})
    b = res.predict({"N": 70e9, "D": 1.4e12})
    assert (
        a[0] == pytest.approx(b[0]) == pytest.approx(1.8 + 480 / 70e9**0.35 + 2100 / 1.4e12**0.37)
    )


def test_repr_is_short():
    r = repr(sl.fit(_table(), "chinchilla"))
    assert r.startswith("FitResult(law='chinchilla', n_points=25") and len(r) < 250


def test_predict_with_an_interval_keeps_the_index_and_states_its_level():
    df = _table()
    res = sl.fit(df, "chinchilla")
    res.bootstrap(50, seed=1)
    query = df.iloc[[20, 3]]
    band = res.predict(query, interval=0.9)
    assert list(band.columns) == ["prediction", "lower", "upper"]
    assert list(band.index) == [20, 3]
    assert band.attrs == {"level": 0.9, "kind": "confidence", "n_resamples": 50}
    assert (band["lower"] <= band["prediction"]).all() and (
        band["prediction"] <= band["upper"]
    ).all()
    assert np.allclose(band["prediction"], res.predict(query))
