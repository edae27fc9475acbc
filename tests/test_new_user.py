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


@pytest.mark.slow
def test_readme_published_data_block_runs_with_the_path_as_an_argument(tmp_path, monkeypatch):
    """README's reproductions take the data's path ($DATA); a clone has no ../shared, so no
    command may name it. Run here with DATA=../shared/data and check the numbers."""
    import shlex
    from pathlib import Path

    from click.testing import CliRunner

    from scalinglab.cli import main
    from tests.conftest import SHARED, shared_file

    shared_file("chinchilla", "points.csv")
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for block in readme.split("```bash\n")[1:]:
        assert "../shared" not in "\n".join(
            ln.split("#")[0] for ln in block.split("```")[0].splitlines()
        )
    block = readme.split("### On published data", 1)[1].split("```bash\n", 1)[1].split("```")[0]
    lines = [ln for ln in block.replace("\\\n", " ").splitlines() if ln.split("#")[0].strip()]
    assert lines[0].startswith("DATA=")
    commands = [shlex.split(ln.replace('"$DATA', f'"{SHARED}'), comments=True) for ln in lines[1:]]
    assert len(commands) == 8 and all(c[0] == "scalinglab" for c in commands)
    monkeypatch.chdir(tmp_path)
    outputs = []
    for cmd in commands:
        r = CliRunner().invoke(main, cmd[1:])
        assert r.exit_code == 0, (cmd, r.output)
        outputs.append(" ".join(r.output.split()))  # rich wraps long lines
    assert "330x less compute" in outputs[0]
    band = sl.FitResult.from_json(tmp_path / "chinchilla.json").predict(
        {"n_params": "70B", "tokens": "1.4T"}, interval=0.95
    )
    assert band["prediction"].iloc[0] == pytest.approx(1.9734, abs=5e-4)
    assert 1.94 < band["lower"].iloc[0] < 1.96 and 1.99 < band["upper"].iloc[0] < 2.01
    assert "20 row(s) joined on a blank step" in outputs[3]
    assert "77000 rows matched" in outputs[3]
    assert "76960 rows (of 77000, --where 'tokens > 0')" in outputs[4]
    assert "33 runs, 3848 checkpoints" in outputs[4] and "finding" not in outputs[4]
    assert "wrote 216 rows to pythia.csv" in outputs[5]
    lambada = [ln for ln in outputs[6].split("│ score_lambada_openai")[1:4]]
    assert [ln.split("│")[8].strip() for ln in lambada] == ["+0.002", "+0.015", "+0.001"]
    assert "inside 3 of 3" in outputs[6]
    mmlu = outputs[7].split("│ mmlu")[1].split("│")
    assert mmlu[4].strip() == "0.513" and mmlu[7].strip() == "0.516"


def test_residual_plot_shows_held_out_rows_passed_to_it():
    """plot(kind='residuals') dropped `heldout` (only kind='fit' drew it)."""
    pytest.importorskip("plotly")
    df = _table()
    res = sl.fit(df[df["N"] < 1e10], "chinchilla")
    fig = res.plot(heldout=df[df["N"] >= 1e10], kind="residuals")
    held = [t for t in fig.data if (t.meta or {}).get("role") == "heldout"]
    assert sum(len(t.x) for t in held) == 5  # one trace per group or one for all
    assert all(np.allclose(t.y, 0, atol=1e-3) for t in held)  # noise-free: exact


def test_predict_returns_a_series_aligned_with_the_input_index():
    """predict gave an ndarray for a DataFrame or dict but a DataFrame with an interval."""
    df = _table()
    res = sl.fit(df, "chinchilla")
    query = df.iloc[[20, 3, 7]]
    pred = res.predict(query)
    assert isinstance(pred, pd.Series) and list(pred.index) == [20, 3, 7]
    assert pred.name == "val_loss"
    truth = 1.8 + 480 / query["N"] ** 0.35 + 2100 / query["D"] ** 0.37
    assert np.allclose(pred, truth, rtol=1e-4)
    # arithmetic with the query's own columns aligns row by row
    assert ((pred - query["val_loss"]).abs() / query["val_loss"]).max() < 1e-4
    single = res.predict({"n_params": "70B", "tokens": "1.4T"})
    assert isinstance(single, pd.Series) and list(single.index) == [0]
    series_in = res.predict({"N": query["N"], "D": query["D"]})
    assert list(series_in.index) == [20, 3, 7]


def test_residuals_are_a_series_on_the_fitted_rows():
    df = _table().iloc[::-1]  # a non-default index
    res = sl.fit(df, "chinchilla")
    r = res.residuals()
    assert isinstance(r, pd.Series) and list(r.index) == list(df.index)
    expect = np.log(res.predict(df) / df["val_loss"])
    assert np.allclose(r, expect, atol=1e-12)
