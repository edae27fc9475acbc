"""Data in: harness results, tracker exports, merging, inspect, and the bad-input suite."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import (
    DataError,
    DuplicateColumnError,
    FileFormatError,
    MissingColumnError,
    MixedUnitsError,
    NonFiniteValueError,
    NonNumericValueError,
    NonPositiveValueError,
    NoResultsError,
    OutOfRangeError,
)
from scalinglab.inspect import inspect_table
from scalinglab.io import aggregate_error, merge_runs, read_harness, read_tracker_export
from tests.conftest import shared_file

FIX = Path(__file__).parent / "fixtures"


def _write(tmp_path, text, name="runs.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


# -- lm-evaluation-harness -------------------------------------------------------------


def test_harness_v04_file_parses_into_schema():
    df = read_harness(FIX / "harness" / "v04")
    arc = df[(df["task"] == "arc_easy") & (df["metric"] == "acc")].iloc[0]
    assert arc["value"] == pytest.approx(0.4377104377104377)
    assert arc["stderr"] == pytest.approx(0.010179856486006902)
    assert arc["filter"] == "none" and arc["num_fewshot"] == 0
    assert arc["model"] == "EleutherAI/pythia-160m" and arc["step"] == 143000
    assert arc["n_params"] == 162322944 and arc["n_params_source"].startswith("harness")
    lam = df[(df["task"] == "lambada_openai") & (df["metric"] == "acc")].iloc[0]
    assert math.isnan(lam["stderr"])  # "N/A" in the file
    assert set(df["metric"]) == {"acc", "acc_norm", "perplexity"}
    assert len(df) == 6


def test_harness_old_flat_file_and_tokens_from_steps():
    df = read_harness(
        FIX / "harness" / "old" / "results.json", set_values={"tokens_per_step": 2097152}
    )
    row = df[(df["task"] == "piqa") & (df["metric"] == "acc")].iloc[0]
    assert row["value"] == pytest.approx(0.6942) and row["stderr"] == pytest.approx(0.0107)
    assert row["num_fewshot"] == 0 and row["step"] == 13000
    assert row["tokens"] == 13000 * 2097152
    assert row["n_params"] == pytest.approx(1.4e9)
    assert row["n_params_source"] == "model name (nominal)"


def test_harness_side_table_outranks_file_values(tmp_path):
    side = _write(tmp_path, "model,n_params,tokens\nEleutherAI/pythia-160m,162M,300B\n", "side.csv")
    df = read_harness([FIX / "harness"], side_table=side)
    v04 = df[df["model"] == "EleutherAI/pythia-160m"]
    assert (v04["n_params"] == 162e6).all() and (v04["tokens"] == 300e9).all()
    assert (v04["n_params_source"] == "side_table").all()
    assert df["source_file"].nunique() == 2  # both layouts in one call


def test_harness_aggregation_with_chance_correction():
    long = read_harness(FIX / "harness" / "v04")
    agg = aggregate_error(long, metric="acc", tasks=["arc_easy", "piqa"])
    assert agg["error"].iloc[0] == pytest.approx(1 - (0.4377104377104377 + 0.6175190424374319) / 2)
    chance = {"arc_easy": 0.25, "piqa": 0.5}
    corr = aggregate_error(
        long, metric="acc", tasks=["arc_easy", "piqa"], chance=chance, correct_chance=True
    )
    expected = ((0.4377104377104377 - 0.25) / 0.75 + (0.6175190424374319 - 0.5) / 0.5) / 2
    assert corr["accuracy"].iloc[0] == pytest.approx(expected)
    sel = aggregate_error(
        long, metric="acc", tasks=["arc_easy", "piqa"], chance=chance, min_above_chance=0.15
    )
    assert sel["n_tasks"].iloc[0] == 1  # piqa is only 0.118 above chance
    with pytest.raises(DataError, match="chance"):  # built-in chances cover these tasks: rename
        aggregate_error(
            long.assign(task=long["task"].replace("piqa", "my_task")), correct_chance=True
        )


def test_harness_folder_without_results(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("nothing")
    with pytest.raises(NoResultsError, match="no lm-evaluation-harness results"):
        read_harness(tmp_path / "out")


def test_harness_file_that_is_not_results(tmp_path):
    p = _write(tmp_path, '{"foo": 1}', "results_x.json")
    with pytest.raises(FileFormatError, match="no 'results' object"):
        read_harness(p)


def test_import_harness_cli(tmp_path):
    out = tmp_path / "runs.csv"
    r = CliRunner().invoke(
        main,
        [
            "import-harness",
            str(FIX / "harness"),
            "-o",
            str(out),
            "--tasks",
            "arc_easy,piqa",
            "--set",
            "tokens_per_step=2097152",
        ],
    )
    assert r.exit_code == 0, r.output
    df = sl.read_table(out)
    assert len(df) == 2 and set(df.columns) >= {"model", "accuracy", "error", "n_params", "tokens"}


# -- tracker exports and merging ---------------------------------------------------------


def test_wandb_export_without_mapping():
    df = read_tracker_export(FIX / "wandb_export.csv")
    assert df.attrs["scalinglab_tracker"] == "wandb"
    assert list(df["run_id"]) == ["ladder-20m-5x", "ladder-20m-10x", "ladder-40m-5x"]
    assert df["n_params"].tolist() == [20e6, 20e6, 40e6]
    assert df["loss"].tolist() == [5.77, 5.07, 6.90]
    assert df["state"].tolist()[2] == "crashed"  # kept and visible, not silently dropped
    assert "flops" in df.columns


def test_mlflow_export_with_mapping_file():
    df = read_tracker_export(FIX / "mlflow_export.csv", mapping=FIX / "mlflow_mapping.yaml")
    assert df.attrs["scalinglab_tracker"] == "mlflow"
    assert df["run_id"].tolist() == ["ft-lora-1", "ft-fmt-1"]
    assert df["method"].tolist() == ["lora", "fmt"] and df["bleu"].tolist() == [21.5, 23.0]
    assert df["tokens_per_param"].iloc[0] == pytest.approx(20.0)


def test_mapping_naming_unknown_column(tmp_path):
    m = _write(tmp_path, "columns:\n  loss: metrics.nope\n", "map.yaml")
    with pytest.raises(MissingColumnError, match="metrics.nope"):
        read_tracker_export(FIX / "mlflow_export.csv", mapping=m)


def test_merge_reports_unmatched_on_both_sides():
    evals = pd.DataFrame({"model": ["a", "b", "c"], "accuracy": [0.5, 0.6, 0.7]})
    meta = pd.DataFrame({"model": ["a", "b", "d"], "n_params": [1e8, 2e8, 4e8]})
    merged, rep = merge_runs(evals, meta, "model")
    assert len(merged) == 2 and rep.unmatched_left == ["c"] and rep.unmatched_right == ["d"]
    assert not rep.complete and "1 eval key(s) with no metadata: c" in rep.lines()[1]
    outer, _ = merge_runs(evals, meta, "model", how="outer")
    assert len(outer) == 4
    with pytest.raises(DataError, match="incomplete"):
        merge_runs(evals, meta, "model", strict=True)
    with pytest.raises(DataError, match="duplicated key"):
        merge_runs(evals, pd.concat([meta, meta]), "model")


# -- shared data and inspect -------------------------------------------------------------


def test_shared_tables_load_with_no_options():
    g = sl.read_table(shared_file("gadre2024", "runs.csv"))
    assert len(g) == 104 and "n_params_nonembedding" in g.columns
    c = sl.read_table(shared_file("chinchilla", "points.csv"))
    assert len(c) == 245 and c.attrs["scalinglab_derived"] == ["tokens_per_param", "perplexity"]
    assert c["perplexity"].iloc[0] == pytest.approx(np.exp(c["loss"].iloc[0]))


def test_inspect_flags_chinchilla_high_loss_runs():
    c = sl.read_table(shared_file("chinchilla", "points.csv"))
    rep = inspect_table(c)
    top5 = set(c["loss"].nlargest(5).index + 1)
    assert top5 <= set(rep["outliers"]["rows"])
    assert len(rep["outliers"]["rows"]) <= 12
    ready = {law["law"] for law in rep["laws"] if law["ready"]}
    assert {"chinchilla", "kaplan", "overtrain"} <= ready
    spans = {r["column"]: r["orders_of_magnitude"] for r in rep["ranges"]}
    assert spans["n_params"] == pytest.approx(np.log10(c["n_params"].max() / c["n_params"].min()))


def test_inspect_cli_json():
    r = CliRunner().invoke(
        main, ["inspect", str(shared_file("gadre2024", "runs.csv")), "--json", "--no-outliers"]
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["rows"] == 104
    renamed = {c["column"]: c["from"] for c in rep["columns"]}
    assert renamed["n_params_nonembedding"] == "n_params_no_embed"
    overtrain = next(law for law in rep["laws"] if law["law"] == "overtrain")
    assert "loss_c4_val" in overtrain["note"]


# -- the bad-input suite -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text,error,match",
    [
        ("", DataError, "empty"),
        ("n_params,tokens,loss\n", DataError, "no rows"),
        ("N,n_params,loss\n1,2,3\n", DuplicateColumnError, "both mean 'n_params'"),
        ("n_params,tokens,loss\n1.4Q,2e9,3\n", NonNumericValueError, "1.4Q"),
        ("n_params,tokens,loss\n1e8,-2e9,3\n", NonPositiveValueError, "tokens"),
        ("n_params,accuracy\n1e8,0.5\n2e8,1.2\n", OutOfRangeError, "outside"),
        ("n_params,tokens,loss\n900M,2e9,3\n1.4,4e9,2.9\n", MixedUnitsError, "mixed units"),
    ],
)
def test_bad_files_get_named_errors(tmp_path, text, error, match):
    p = _write(tmp_path, text)
    with pytest.raises(error, match=match) as e:
        sl.read_table(p)
    assert str(p) in str(e.value)


def test_bad_cell_location_is_exact(tmp_path):
    p = _write(tmp_path, "n_params,tokens,loss\n1e8,2e9,3\n2e8,4e9,2.9\n3e8,-1,2.8\n")
    with pytest.raises(NonPositiveValueError) as e:
        sl.read_table(p)
    assert (e.value.row, e.value.line, e.value.column) == (3, 4, "tokens")


def test_nan_loss_is_refused_by_the_fit_with_its_row(tmp_path):
    rows = "\n".join(f"{n},{20 * n},{3 + 1 / n}" for n in (1e8, 2e8, 4e8, 8e8, 1.6e9, 3.2e9))
    p = _write(tmp_path, "n_params,tokens,loss\n" + rows + "\n1e10,2e11,nan\n")
    df = sl.read_table(p)  # loading keeps the row (inspect reports it) ...
    with pytest.raises(NonFiniteValueError) as e:  # ... fitting refuses it, naming it
        sl.fit(df, "chinchilla")
    assert e.value.row == 7 and e.value.column == "loss"


def test_unknown_map_column_is_named(tmp_path):
    df = pd.DataFrame(
        {
            "n_params": [1e8, 2e8, 4e8, 8e8, 1.6e9],
            "finetune_size": 1e3,
            "loss": [3.0, 2.9, 2.8, 2.7, 2.6],
        }
    )
    with pytest.raises(MissingColumnError, match="'modelsize_typo'"):
        sl.fit(df, "finetune_multiplicative", mapping={"x": "modelsize_typo"})


def test_jsonl_line_and_parquet_errors(tmp_path):
    p = _write(tmp_path, '{"n_params": 1}\nnot json\n', "r.jsonl")
    with pytest.raises(FileFormatError) as e:
        sl.read_table(p)
    assert e.value.line == 2
    q = _write(tmp_path, "PAR1 but not really", "r.parquet")
    with pytest.raises(FileFormatError, match="Parquet"):
        sl.read_table(q)


def test_parquet_round_trip(tmp_path):
    df = pd.DataFrame({"N": [1e8, 2e8], "D": [2e9, 4e9], "loss": [3.0, 2.9]})
    p = tmp_path / "r.parquet"
    df.to_parquet(p)
    back = sl.read_table(p)
    assert list(back.columns[:3]) == ["n_params", "tokens", "loss"]
    assert back["flops"].tolist() == [6 * 1e8 * 2e9, 6 * 2e8 * 4e9]


def test_merge_and_tracker_cli(tmp_path):
    evals = _write(tmp_path, "model,accuracy\na,0.5\nb,0.6\nc,0.7\n", "evals.csv")
    meta = _write(tmp_path, "model,n_params,tokens\na,1e8,2e9\nb,2e8,4e9\n", "meta.csv")
    out = tmp_path / "merged.csv"
    r = CliRunner().invoke(main, ["merge", str(evals), str(meta), "--on", "model", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "1 eval key(s) with no metadata: c" in r.stderr
    assert len(pd.read_csv(out)) == 2
    r = CliRunner().invoke(
        main,
        ["merge", str(evals), str(meta), "--on", "model", "-o", str(out), "--strict", "--force"],
    )
    assert r.exit_code == 2 and "incomplete" in r.stderr
    runs = tmp_path / "runs.parquet"
    r = CliRunner().invoke(
        main,
        [
            "import-tracker",
            str(FIX / "mlflow_export.csv"),
            "--mapping",
            str(FIX / "mlflow_mapping.yaml"),
            "-o",
            str(runs),
        ],
    )
    assert r.exit_code == 0, r.output
    assert sl.read_table(runs)["bleu"].tolist() == [21.5, 23.0]


def test_inspect_flags_a_one_row_table_and_a_flops_unit_slip(tmp_path):
    """A 1-row table was 'ready' for every law, and flops 6 orders off 6ND passed unnoticed."""
    from scalinglab.inspect import inspect_table

    p = tmp_path / "one.csv"
    p.write_text("n_params,tokens,loss,flops\n1e9,2e10,2.5,1.2e14\n")
    rep = inspect_table(sl.read_table(p), outliers=False)
    laws = {r["law"]: r for r in rep["laws"]}
    assert not laws["chinchilla"]["ready"] and "too few rows" in laws["chinchilla"]["note"]
    assert len(rep["plausibility"]) == 1 and "1e-06x" in rep["plausibility"][0]
    ok = tmp_path / "ok.csv"
    ok.write_text(
        "n_params,tokens,loss\n"
        + "".join(f"{n},{d},3\n" for n in (1e8, 1e9) for d in (1e9, 1e10, 1e11))
    )
    rep = inspect_table(sl.read_table(ok), outliers=False)
    assert rep["plausibility"] == []
    assert {r["law"]: r for r in rep["laws"]}["chinchilla"]["ready"]


def test_fit_range_check_reads_the_prepared_values_and_names_the_row():
    """fit() hands validate() the columns it already read (no second pandas lookup): the
    range check still runs on them and names the source row of a filtered table."""
    x = np.linspace(-2.0, 2.0, 10)
    acc = 0.2 + 0.6 / (1.0 + np.exp(-2.0 * x))
    acc[6] = 1.2
    df = pd.DataFrame({"x": x, "accuracy": acc}, index=range(5, 15))
    with pytest.raises(OutOfRangeError) as e:
        sl.fit(df, "sigmoid", metric="accuracy")
    assert (e.value.row, e.value.column) == (12, "accuracy")
