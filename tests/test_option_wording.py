"""Messages that named the wrong problem (third review of issue 19's wording)."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.errors import BoundsError, ExpressionError, QueryError


def _points() -> pd.DataFrame:
    n = np.repeat([1e7, 3e7, 1e8, 3e8], 3)
    d = np.tile([1e9, 3e9, 1e10], 4)
    return pd.DataFrame({"N": n, "D": d, "loss": 1.7 + 400 / n**0.34 + 410 / d**0.28})


def test_a_condition_in_a_mapping_is_named_as_such_not_as_a_missing_column():
    with pytest.raises(QueryError, match="if/else is not allowed"):
        sl.fit(_points(), "chinchilla", mapping={"n_params": "N if N > 0 else 1", "tokens": "D"})
    with pytest.raises(QueryError, match="a transform is arithmetic, not a condition"):
        sl.fit(_points(), "chinchilla", mapping={"n_params": "N > 0", "tokens": "D"})


def test_fixing_a_parameter_at_nan_says_it_must_be_finite():
    with pytest.raises(BoundsError, match="must be a finite number") as e:
        sl.get_law("chinchilla").fix(E=float("nan"))
    assert "must be > 0" not in str(e.value)


def test_an_overflowing_constant_is_named_alone():
    with pytest.raises(ExpressionError, match=r"constant part '10 \*\* 10 \*\* 10' overflows"):
        sl.expression_law(
            "E + A/n_params**alpha * 10**10**10", {"E": (0, 10), "A": (0, 1e6), "alpha": (0, 2)}
        )


def test_a_missing_variable_hint_names_the_python_keyword_first():
    """Issue 23 item 2: in Python the hint led with a CLI flag (--map)."""
    from scalinglab.errors import MissingColumnError

    with pytest.raises(MissingColumnError, match=r"mapping=\{'n_params': 'COLUMN'\} in Python"):
        sl.fit(_points().rename(columns={"N": "size", "D": "tokens"}), "chinchilla")


def test_small_compute_ratios_keep_their_digits():
    """Issue 17 review: a held-out checkpoint at 1.4% of the fit set's compute read '0x'."""
    from scalinglab.cli.common import _fmt

    assert _fmt(0.0142, "compute_ratio") == "0.014x"
    assert _fmt(2.5, "compute_ratio_max") == "2.5x" and _fmt(330.4, "compute_ratio") == "330x"


def test_tokens_written_in_billions_are_named_by_inspect():
    """Issue 15 item 7: tokens in billions got only a generic flops message."""
    df = pd.DataFrame(
        {"n_params": [1e8, 4e8, 1e9], "tokens": [2.0, 8.0, 20.0], "loss": [3, 2.8, 2.6]}
    )
    info = sl.inspect_table(df)
    assert any("tokens in billions or millions?" in m for m in info["plausibility"])
    clean = sl.inspect_table(df.assign(tokens=df["tokens"] * 1e9))
    assert not any("'tokens'" in m for m in clean["plausibility"])
