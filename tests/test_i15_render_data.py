"""Issue 16's leftover for the data commands: `inspect`, `merge` and `import-harness` render
through cli/render_data.py, and every user string is escaped (a column, model or file name
that looks like rich markup is printed as written, never swallowed)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_inspect_prints_markup_like_names_as_written(tmp_path):
    """Old: inspect's tables put column names in unescaped: '[bold]lr' lost its brackets
    and a run column value '[red]' vanished from the runs line."""
    p = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "n_params": [1e7, 2e7, 4e7, 8e7],
            "tokens": [1e9] * 4,
            "loss": [3.2, 3.0, 2.9, 2.8],
            "[bold]lr": [1, 2, 3, 4],
        }
    ).to_csv(p, index=False)
    r = _run("inspect", p, "--no-outliers")
    assert r.exit_code == 0, r.output
    assert "other columns (1): [bold]lr" in r.output
    assert "laws this data can feed:" in r.output and "chinchilla" in r.output


def test_merge_and_import_render_escaped(tmp_path):
    """Merge findings and the import summary quote file values: printed as written."""
    ev = tmp_path / "ev.csv"
    meta = tmp_path / "meta.csv"
    pd.DataFrame({"model": ["[b]m1", "m2"], "loss": [3.0, 2.9]}).to_csv(ev, index=False)
    pd.DataFrame({"model": ["[b]m1", "m3"], "n_params": [1e7, 2e7]}).to_csv(meta, index=False)
    r = _run("merge", ev, meta, "--on", "model", "-o", tmp_path / "o.csv")
    assert r.exit_code == 0, r.output
    assert "m2" in r.output  # the unmatched eval row is listed
    obj = {
        "results": {"arc_easy": {"acc": 0.5, "acc_norm": 0.45}},
        "config": {"model_args": "pretrained=org/[red]model-160m", "num_fewshot": 0},
    }
    d = Path(tmp_path / "h")
    d.mkdir()
    (d / "r.json").write_text(json.dumps(obj))
    r = _run("import-harness", d, "-o", tmp_path / "h.csv", "--long")
    assert r.exit_code == 0, r.output
    assert "read 1 results file(s)" in r.output
    side = tmp_path / "side.csv"
    side.write_text("model,n_params\norg/[red]model-160m,1.6e8\nother,1e9\n")
    r = _run("import-harness", d, "--side-table", side, "-o", tmp_path / "h2.csv")
    assert r.exit_code == 0, r.output
    assert "side table: matched 1 of 1 models (exact id: 1)" in r.output
    df = pd.read_csv(tmp_path / "h2.csv")
    assert df["model"].iloc[0] == "org/[red]model-160m" and df["n_params"].iloc[0] == 1.6e8
    assert (
        "no tokens: the side table gives no tokens or tokens_per_step for org/[red]model-160m"
        in (r.output)
    )
