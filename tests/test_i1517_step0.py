"""Issue 15, 'the importer writes tokens = 0 for step 0': 0 tokens at the random
initialisation is true and is now written as it is (it was left empty), and every command
filters before it checks, so `inspect`, `fit --where "tokens > 0"` and `merge` work on the
imported file. Old code: the step-0 tokens were empty and inspect gave no way out."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from scalinglab.cli import main


def _imported(tmp_path):
    src = tmp_path / "h"
    for step in (0, 1000, 2000, 4000, 8000):
        d = src / "m" / f"r{step}.json"
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_text(
            json.dumps(
                {
                    "results": {
                        "lambada_openai": {
                            "acc": 0.1 + step / 1e4,
                            "ppl": 2 + 100.0 / (1 + step / 1000),
                        },
                        "piqa": {"acc": 0.5 + step / 1e5},
                    },
                    "config": {
                        "model_args": f"pretrained=org/tiny-70m,revision=step{step}",
                        "num_fewshot": 0,
                    },
                }
            )
        )
    side = tmp_path / "side.csv"
    pd.DataFrame(
        {"model": ["org/tiny-70m"], "n_params": [7e7], "tokens_per_step": [2_097_152]}
    ).to_csv(side, index=False)
    out = tmp_path / "t.csv"
    r = CliRunner().invoke(
        main, ["import-harness", str(src), "--side-table", str(side), "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    return out, r.output


def test_step0_tokens_are_written_as_0_and_commands_filter_them(tmp_path):
    out, text = _imported(tmp_path)
    df = pd.read_csv(out).sort_values("step")
    assert df["tokens"].tolist() == [s * 2_097_152.0 for s in (0, 1000, 2000, 4000, 8000)]
    assert "--where 'tokens > 0'" in text
    run = CliRunner().invoke
    r = run(main, ["inspect", str(out), "--no-outliers"])
    assert r.exit_code == 0, r.output
    assert "'tokens' must be > 0: 1 row(s) break it" in r.stderr
    assert "0 tokens: untrained checkpoints, e.g. step 0" in r.stderr
    r = run(main, ["inspect", str(out), "--no-outliers", "--where", "tokens > 0", "--json"])
    assert json.loads(r.stdout)["bad_values"] == []
    r = run(
        main,
        ["fit", str(out), "--law", "downstream_ce", "--metric", "ce_lambada_openai",
         "--where", "tokens > 0", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n_points"] == 4
    r = run(main, ["merge", str(out), str(tmp_path / "side.csv"), "--on", "model", "-o",
                   str(tmp_path / "m.csv"), "--where", "tokens > 0"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(tmp_path / "m.csv")) == 4
