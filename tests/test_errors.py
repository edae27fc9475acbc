"""Bad input gets a named error that says where (file, row, column) and what."""

import math

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.errors import (
    BoundsError,
    DataError,
    ExpressionError,
    FileFormatError,
    MissingColumnError,
    NonFiniteValueError,
    NonNumericValueError,
    NonPositiveValueError,
    TooFewPointsError,
    UnknownLawError,
    UnknownParameterError,
)


def _runs(n=12):
    n_params = np.geomspace(1e7, 1e9, n)
    tokens = 20 * n_params
    loss = 1.8 + 480 / n_params**0.35 + 2100 / tokens**0.37
    return pd.DataFrame({"n_params": n_params, "tokens": tokens, "loss": loss})


def _write(tmp_path, text, name="runs.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_missing_column_names_law_and_column():
    with pytest.raises(MissingColumnError) as e:
        sl.fit(_runs().drop(columns="tokens"), "chinchilla")
    assert "tokens" in str(e.value) and "chinchilla" in str(e.value)
    assert e.value.column == "tokens"


def test_missing_metric_column():
    with pytest.raises(MissingColumnError, match="metric"):
        sl.fit(_runs(), "chinchilla", metric="dev_loss")


def test_non_numeric_value_names_file_row_column(tmp_path):
    p = _write(tmp_path, "n_params,tokens,loss\n1e8,2e9,3.1\n2e8,abc,2.9\n")
    with pytest.raises(NonNumericValueError) as e:
        sl.fit(p, "chinchilla")
    assert e.value.row == 2 and e.value.column == "tokens" and e.value.line == 3
    assert str(p) in str(e.value) and "abc" in str(e.value)


def test_bad_suffix_is_not_a_number(tmp_path):
    p = _write(tmp_path, "n_params,tokens,loss\n1.4Q,2e9,3.1\n")
    with pytest.raises(NonNumericValueError, match="1.4Q"):
        sl.read_table(p)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_rejected_with_row(bad):
    df = _runs()
    df.loc[4, "loss"] = bad
    with pytest.raises(NonFiniteValueError) as e:
        sl.fit(df, "chinchilla")
    assert e.value.row == 5 and e.value.column == "loss"


def test_empty_cell_is_missing_value(tmp_path):
    p = _write(tmp_path, "n_params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,\n")
    with pytest.raises(NonFiniteValueError, match="missing") as e:
        sl.fit(p, "chinchilla")
    assert e.value.row == 2


@pytest.mark.parametrize("col,value", [("tokens", 0.0), ("n_params", -5.0), ("loss", 0.0)])
def test_non_positive_where_log_taken(col, value):
    df = _runs()
    df.loc[2, col] = value
    with pytest.raises(NonPositiveValueError) as e:
        sl.fit(df, "chinchilla")
    assert e.value.row == 3 and e.value.column == col


def test_identity_space_law_accepts_negative_metric():
    df = pd.DataFrame({"x": np.linspace(-1, 1, 20)})
    df["y"] = 0.5 / (1 + np.exp(-3 * (df["x"] - 0.1))) - 0.2
    res = sl.fit(df, "sigmoid")
    assert res.params_["b"] == pytest.approx(-0.2, abs=1e-4)
    assert res.params_["k"] == pytest.approx(3.0, rel=1e-3)


def test_fewer_points_than_parameters():
    with pytest.raises(TooFewPointsError, match="5 free parameters but only 3"):
        sl.fit(_runs(3), "chinchilla")


def test_unknown_law_suggests_close_name():
    with pytest.raises(UnknownLawError, match="Did you mean 'chinchilla'"):
        sl.fit(_runs(), "chinchila")


def test_unknown_parameter_name_in_grid():
    with pytest.raises(UnknownParameterError, match="no parameter 'gamma'"):
        sl.fit(_runs(), "chinchilla", grid={"gamma": [1.0]})


def test_bound_lower_above_upper():
    with pytest.raises(BoundsError, match="lower bound 2.0 is greater than upper bound 1.0"):
        sl.Parameter("alpha", 2.0, 1.0, (1.5,))
    with pytest.raises(BoundsError, match="greater than upper"):
        sl.expression_law("A/tokens**alpha", {"A": (0, math.inf), "alpha": (3, 1)})


def test_grid_outside_bounds():
    with pytest.raises(BoundsError, match="outside its bounds"):
        sl.get_law("chinchilla").with_parameter("alpha", grid=[-1.0, 0.5])


@pytest.mark.parametrize(
    "expr,match",
    [
        ("__import__('os').system('echo hi')", "not allowed|unknown function"),
        ("E + tokens.__class__", "Attribute"),
        ("E + open('x')", "unknown function 'open'"),
        ("E + (lambda: 1)()", "Lambda|unknown function"),
        ("E + [tokens][0]", "not allowed"),
        ("E + A/tokens**alpah", "unknown name"),
        ("E + 'a'", "not a number"),
        ("E +", "not valid"),
    ],
)
def test_unsafe_or_unknown_expression_rejected(expr, match):
    with pytest.raises(ExpressionError, match=match):
        sl.expression_law(
            expr,
            {"E": (0, 10), "A": (0, math.inf), "alpha": (0, 2)} if "A" in expr else {"E": (0, 10)},
        )


def test_expression_parameter_not_used():
    with pytest.raises(ExpressionError, match="do not appear"):
        sl.expression_law("E + A/tokens", {"E": (0, 10), "A": (0, 1e9), "beta": (0, 1)})


def test_where_selecting_nothing():
    with pytest.raises(DataError, match="selects no rows"):
        sl.fit(_runs(), "chinchilla", where="n_params > 1e20")


def test_map_to_unknown_column():
    with pytest.raises(MissingColumnError, match="--map"):
        sl.fit(_runs(), "finetune_multiplicative", mapping={"x": "model_size_typo"})


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(DataError, match="empty"):
        sl.read_table(_write(tmp_path, ""))
    with pytest.raises(DataError, match="header .* but no rows"):
        sl.read_table(_write(tmp_path, "n_params,tokens,loss\n", "h.csv"))


def test_jsonl_bad_line_gives_line_number(tmp_path):
    p = _write(tmp_path, '{"n_params": 1e8, "tokens": 2e9, "loss": 3}\n{oops\n', "r.jsonl")
    with pytest.raises(FileFormatError) as e:
        sl.read_table(p)
    assert e.value.line == 2


def test_not_parquet(tmp_path):
    p = _write(tmp_path, "n_params,tokens\n1,2\n", "r.parquet")
    with pytest.raises(FileFormatError, match="Parquet"):
        sl.read_table(p)
