"""Named designs of the transfer experiment (issue 20 item 2: Hernandez et al. as a preset):
`testbed transfer --preset cpu` expands to the stated design, options given on the command
line win over the preset's values, bad values are named errors, and old files resume."""

import pandas as pd
import pytest

pytest.importorskip("torch", reason="the testbed needs torch (scalinglab[testbed])")

from click.testing import CliRunner  # noqa: E402

from scalinglab.cli import main  # noqa: E402
from scalinglab.testbed import corpora  # noqa: E402
from scalinglab.testbed.model import GPTConfig  # noqa: E402
from scalinglab.testbed.train import TestbedError  # noqa: E402
from scalinglab.testbed.transfer_presets import (  # noqa: E402
    TRANSFER_PRESETS,
    get_transfer_preset,
    with_options,
)


def test_cpu_preset_is_the_stated_design():
    """3 sizes (16x in N) x 4 D_F (64x), from scratch and pretrained on kjv, target python,
    early-stopped; within the cost its docstring states."""
    p = get_transfer_preset("cpu")
    assert (p.source, p.target) == ("kjv", "python")
    assert p.d_models == (32, 64, 128) and p.finetune_sizes == (12_500, 50_000, 200_000, 800_000)
    assert (p.source_tokens, p.train_tokens, p.min_epochs) == (4_000_000, 4_000_000, 4.0)
    assert (p.eval_every, p.patience) == (25_000, 8)
    n = [GPTConfig(vocab_size=260, context=p.context, **m).non_embedding_params for m in p.models()]
    assert n == [25_472, 100_096, 396_800] and n[-1] / n[0] > 15
    runs = pd.DataFrame(p.runs())
    assert len(runs) == 3 + 3 * 4 * 2
    arms = runs[runs["arm"] != "pretrain"].groupby(["d_model", "finetune_size"])["arm"]
    assert (arms.apply(sorted) == pd.Series([["pretrained", "scratch"]] * 12).values).all()
    # every run's cap: max(train_tokens, 4 epochs of D_F); the largest D_F needs 3.2M
    assert set(runs.loc[runs["arm"] == "scratch", "max_tokens"]) == {4_000_000}
    assert p.estimate_seconds() / 60 == pytest.approx(356.9, abs=0.5)  # every run to its cap
    assert p.estimate_seconds(0.3) < p.estimate_seconds() / 2
    p.check()  # a valid design
    assert sorted(TRANSFER_PRESETS) == ["cpu"]


def test_an_option_given_wins_over_the_preset():
    p = with_options(get_transfer_preset("cpu"), d_models=[16, 32], patience=3)
    assert p.d_models == (16, 32) and p.patience == 3
    assert p.finetune_sizes == (12_500, 50_000, 200_000, 800_000)  # the rest is the preset's
    with pytest.raises(TestbedError, match="unknown transfer preset 'gpu2'; choose from cpu"):
        get_transfer_preset("gpu2")
    with pytest.raises(TestbedError, match="unknown transfer setting"):
        with_options(p, layers=4)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--d-models", "abc"], "'abc' is not a number"),
        (["--d-models", "33"], "d_models must be even"),
        (["--finetune-sizes", "0,50K"], "finetune_sizes must all be >= 1"),
        (["--finetune-sizes", "50K,50K"], "finetune_sizes lists a value twice"),
        (["--source-tokens", "1.5"], "'1.5' is not a whole number"),
        (["--patience", "3"], "patience needs eval_every"),
        (["--preset", "laptop"], "unknown transfer preset 'laptop'"),
    ],
)
def test_bad_transfer_options_are_named_errors(tmp_path, args, message):
    """A width that was not a number ended in an internal error (exit 3); zero or duplicate
    sizes trained nothing or twice. All are refused before any training, naming the value."""
    out = tmp_path / "t.csv"
    r = CliRunner().invoke(main, ["testbed", "transfer", *args, "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert message in r.output and not out.exists()


@pytest.mark.skipif(
    not corpora.CORPORA["kjv"].available(),
    reason="SWORD Bibles not installed: apt-get install -y sword-text-kjv diatheke",
)
def test_preset_run_scaled_down_records_preset_and_overrides(tmp_path):
    """The cpu preset with its sizes scaled down on the command line: the preset's corpora,
    min_epochs and schedule, the options' sizes; resumable like any transfer experiment."""
    out = tmp_path / "runs.csv"
    args = ["testbed", "transfer", "--preset", "cpu", "--d-models", "16",
            "--finetune-sizes", "600,1.2K", "--source-tokens", "3K", "--train-tokens", "2K",
            "--eval-every", "1K", "--patience", "2", "--out", str(out)]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "transfer preset 'cpu': source=kjv, target=python" in r.output
    df = pd.read_csv(out)
    assert len(df) == 4 and set(df["pretrain_data"]) == {"none", "kjv"}
    assert set(df["finetune_size"]) == {600, 1200} and set(df["d_model"]) == {16}
    row = df.iloc[0]
    assert (row["exp_source"], row["exp_target"]) == ("kjv", "python")  # the preset's
    assert row["exp_min_epochs"] == 4.0 and row["exp_eval_batches"] == 32  # the preset's
    assert (row["exp_source_tokens"], row["exp_train_cap"]) == (3000, 2000)  # the options'
    assert (row["exp_eval_every"], row["exp_patience"]) == (1000, 2)  # the options'
    # 4 epochs of D_F come first: no run stops before min_epochs x D_F tokens
    assert (df["train_tokens"] >= 4 * df["finetune_size"]).all()
    r = CliRunner().invoke(main, [*args, "--resume"])
    assert r.exit_code == 0 and "0 new runs, 4 in" in r.output
    # another value of a preset setting is another experiment: refused, nothing written
    kept = out.read_text()
    r = CliRunner().invoke(main, [*args, "--resume", "--min-epochs", "2"])
    assert r.exit_code == 2 and "exp_min_epochs" in r.output and out.read_text() == kept


def test_a_file_written_before_eval_batches_was_recorded_resumes():
    from scalinglab.testbed.transfer_exp import _done_runs, settings_of

    settings = settings_of("kjv", "python", 10, 10, 32, 8, 3e-3, 6, 0.0, None, None, 0, 100)
    old = pd.DataFrame(
        [{**settings, "d_model": 16, "finetune_size": 500, "pretrain_data": "none"}]
    ).drop(columns="exp_eval_batches")
    assert _done_runs(old, settings) == {(16, 500, "none")}
    mixed = pd.concat([old, old.assign(pretrain_data="kjv", exp_eval_batches=32)])
    assert _done_runs(mixed, settings) == {(16, 500, "none"), (16, 500, "kjv")}
    with pytest.raises(ValueError, match="exp_eval_batches"):
        _done_runs(old, {**settings, "exp_eval_batches": 4})
