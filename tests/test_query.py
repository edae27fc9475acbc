"""Row queries are parsed, never run: the pandas-query forms users write keep working, and
anything that could run code is a named QueryError (issue: hostile input, finding 1)."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import QueryError
from scalinglab.query import select

DF = pd.DataFrame(
    {
        "n_params": [1e6, 2e6, 3e6, 4e6],
        "tokens": [1e9, 2e9, 3e9, 4e9],
        "pretrain_data": ["a", "b", "c", "a"],
        "val loss": [3.0, 2.0, 1.0, 0.5],
    }
)


@pytest.mark.parametrize(
    "query, rows",
    [
        ("n_params > 1.5e6", [1, 2, 3]),
        ("tokens >= 2e9 and n_params < 3e6", [1]),
        ("tokens < 2e9 or n_params >= 4e6", [0, 3]),
        ("pretrain_data in ['a', 'c']", [0, 2, 3]),
        ("pretrain_data not in ['a']", [1, 2]),
        ("pretrain_data == 'b'", [1]),
        ("`val loss` < 2.5", [1, 2, 3]),
        ("1e6 < n_params <= 3e6", [1, 2]),
        ("~(n_params > 2e6)", [0, 1]),
        ("not n_params > 2e6", [0, 1]),
        ("(n_params > 1.5e6) & (tokens < 4e9)", [1, 2]),
        ("(n_params < 1.5e6) | (tokens > 3.5e9)", [0, 3]),
        ("log10(n_params) > 6.4", [2, 3]),
        ("6 * n_params * tokens > 2e16", [1, 2, 3]),
        ("tokens / n_params == 1000", [0, 1, 2, 3]),
    ],
)
def test_pandas_query_forms_select_what_pandas_selects(query, rows):
    assert list(select(DF, query).index) == rows
    assert list(DF.query(query).index) == rows  # same meaning as pandas' own query


@pytest.mark.parametrize(
    "query, says",
    [
        ('@pd.io.common.os.system("id") == 0 or tokens > 0', "'@'"),
        ("__import__('os').system('id') == 0", "calling"),
        ("tokens > 0 or open('/etc/passwd')", "calling 'open'"),
        ("n_params.__class__ == 1", "attribute access"),
        ("tokens[0] > 1", "indexing"),
        ("[c for c in tokens] == 1", "comprehensions"),
        ("(lambda: 1)() == 1", "calling"),
        ("10**10**10 > 1", "exponent too large"),
        ("toknes > 1", "did you mean 'tokens'"),
        ("n_params >", "not a valid query"),
        ("n_params", "True/False per row"),
        ("n_params in tokens", "list of values"),
        ("x" * 3000, "characters long"),
    ],
)
def test_code_and_nonsense_are_refused_by_name(query, says):
    with pytest.raises(QueryError, match=None) as err:
        select(DF, query)
    assert says in str(err.value)


def test_os_system_in_where_runs_nothing_in_any_entry_point(tmp_path):
    """The reported exploit: `--where '@pd.io.common.os.system(...)'` ran a shell command
    and fitted normally. Now every entry point refuses it and nothing is written."""
    n = np.repeat(np.geomspace(1e7, 1e10, 5), 5)
    d = np.tile(np.geomspace(1e8, 1e11, 5), 5)
    data = pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.8 + 480 / n**0.35 + 2100 / d**0.37})
    csv = tmp_path / "runs.csv"
    data.to_csv(csv, index=False)
    flag = tmp_path / "pwned"
    payload = f"@pd.io.common.os.system('touch {flag}') == 0 or tokens > 0"
    runner = CliRunner()
    for args in (
        ["fit", csv, "--law", "chinchilla", "--where", payload],
        ["audit", csv, "--law", "chinchilla", "--holdout", payload],
        ["audit", csv, "--law", "chinchilla", "--holdout", "n_params > 5e9", "--fit-where",
         payload],
        ["report", csv, "--law", "chinchilla", "--where", payload, "-o", tmp_path / "r.html"],
    ):  # fmt: skip
        r = runner.invoke(main, [str(a) for a in args])
        assert r.exit_code == 2, (args, r.output)
        assert "not allowed" in r.output
        assert not flag.exists(), args
    with pytest.raises(QueryError):
        sl.fit(data, law="chinchilla", where=payload)
    assert not flag.exists()


def test_unknown_column_lists_the_closest_first_and_at_most_20_names():
    """Issue 17 review: a --where typo on Pythia's imported table (147 columns) listed every
    column in table order; now the likeliest come first and at most 20 names are listed."""
    cols = ["model", "step", "run"] + [f"score_task{k:03d}" for k in range(140)]
    cols += ["ce_lambada_openai", "score_lambada_openai", "n_params", "tokens"]
    wide = pd.DataFrame([[1.0] * len(cols)], columns=cols)
    with pytest.raises(QueryError) as err:
        select(wide, "lambada > 0")
    msg = str(err.value)
    assert "did you mean 'ce_lambada_openai'?" in msg
    assert (
        "(closest: ce_lambada_openai, score_lambada_openai; other columns: model, step, run," in msg
    )
    listed = msg.split("closest: ")[1].replace("; other columns:", ",").split(", and ")[0]
    assert len(listed.split(", ")) == 20
    assert msg.endswith(f", and {len(cols) - 20} more)")
    with pytest.raises(QueryError) as err:  # nothing close: the first 20, and how many more
        select(wide, "zzz > 0")
    assert str(err.value).endswith("score_task016, and 127 more)")
    with pytest.raises(QueryError) as err:  # a small table: every column, no "more"
        select(DF, "toknes > 1")
    assert str(err.value).endswith(
        "(closest: tokens; other columns: n_params, pretrain_data, val loss)"
    )


def test_errors_name_the_argument_the_caller_used(tmp_path):
    """A notebook that passed where= was told "--where '...' is not a valid query" (issue 16
    review): the library names its argument, the command line its option."""
    n = np.repeat(np.geomspace(1e7, 1e10, 4), 4)
    d = np.tile(np.geomspace(1e8, 1e11, 4), 4)
    data = pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.8 + 480 / n**0.35 + 2100 / d**0.37})
    with pytest.raises(QueryError) as err:
        sl.fit(data, "chinchilla", where="n_params >")
    assert str(err.value).startswith("where='n_params >' is not a valid query")
    with pytest.raises(QueryError) as err:
        sl.fit(data, "chinchilla", mapping={"n_params": "tokens > 1"})
    assert "mapping['n_params']='tokens > 1'" in str(err.value)
    with pytest.raises(QueryError) as err:
        sl.audit(data, "chinchilla", holdout="n_params > 1e9", fit_where="tokns > 1")
    assert str(err.value).startswith("fit_where='tokns > 1'")
    csv = tmp_path / "runs.csv"
    data.to_csv(csv, index=False)
    r = CliRunner().invoke(main, ["fit", str(csv), "--where", "n_params >"])
    assert r.exit_code == 2 and "--where 'n_params >' is not a valid query" in r.output
    r = CliRunner().invoke(main, ["fit", str(csv), "--map", "n_params=tokens > 1"])
    assert r.exit_code == 2 and "--map n_params='tokens > 1'" in r.output
