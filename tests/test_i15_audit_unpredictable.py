"""Issue 15 item 5, found by verification: a held-out row the law cannot take (a checkpoint
suite's step 0, tokens 0, when --fit-where filtered only the fit set) had an empty
prediction, so the audit's MAD and relative errors read '-' for every point and its coverage
counted the row as a miss, without a word. It is left out of the scores and said."""

import numpy as np
import pandas as pd

from scalinglab.workflows import audit


def _suite():
    rng = np.random.default_rng(0)
    rows = []
    for n in np.geomspace(1e7, 3e9, 6):
        for step in (0, 1000, 2000, 4000, 8000):
            d = step * 2e6
            loss = 1.8 + 400 / n**0.34 + (410 / d**0.28 if d else 9.0)
            rows.append(
                {"run": f"m{n:.0e}", "step": step, "n_params": n, "tokens": d, "loss": loss}
            )
    df = pd.DataFrame(rows)
    df["loss"] *= np.exp(0.003 * rng.standard_normal(len(df)))
    return df


def test_unpredictable_held_out_rows_are_left_out_and_said():
    res = audit.holdout(
        _suite(), ["chinchilla"], "n_params > 1e9", fit_where="tokens > 0", n_bootstrap=0
    )
    pts = res.points
    assert len(pts) == 4 and (pts["tokens"] > 0).all()  # the 2.99e9 run's 4 real checkpoints
    assert np.isfinite(pts["prediction"]).all()
    row = res.folds.iloc[0]
    assert np.isfinite(row["mad"]) and row["mad"] < 0.05 and row["n_test"] == 4
    assert "n_unpredictable" not in res.folds.columns
    note = [n for n in res.notes if "have no prediction" in n]
    assert len(note) == 1 and "1 held-out row(s)" in note[0]


def test_cli_audit_without_intervals_prints_no_miss(tmp_path):
    """--bootstrap 0 gives no intervals: the points table said 'inside: no' for every point
    (a miss), now '-' as the coverage columns do."""
    from click.testing import CliRunner

    from scalinglab.cli import main

    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    path = tmp_path / "runs.csv"
    pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.7 + 400 / n**0.34 + 410 / d**0.28}).to_csv(
        path, index=False
    )
    args = ["audit", str(path), "--law", "chinchilla", "--holdout", "n_params > 3e9"]
    r = CliRunner().invoke(main, [*args, "--bootstrap", "0"])
    assert r.exit_code == 0, r.output
    rows = [ln for ln in r.output.splitlines() if ln.startswith("│ holdout")][:6]  # points
    assert len(rows) == 6 and all(ln.split("│")[-3].strip() == "-" for ln in rows)
    r = CliRunner().invoke(main, [*args, "--bootstrap", "50"])
    # the count is not all that sets these bounds (200 and 1,000 resamples gave the same)
    flat = " ".join(r.output.split())
    assert "from 50 bootstrap resamples or, where wider, the fit's scatter plus" in flat
    rows = [ln for ln in r.output.splitlines() if ln.startswith("│ holdout")][:6]
    assert rows and all(ln.split("│")[-3].strip() in ("yes", "no") for ln in rows)


def test_fit_takes_the_checkpoint_options(tmp_path):
    """Issue 15 item 4: --final-only / --min-step work on fit as on audit and forecast
    (verification: fit had only --where), with the count said."""
    from click.testing import CliRunner

    from scalinglab.cli import main

    path = tmp_path / "suite.csv"
    _suite().to_csv(path, index=False)
    r = CliRunner().invoke(main, ["fit", str(path), "--law", "chinchilla", "--min-step", "1000"])
    assert r.exit_code == 0, r.output
    assert (
        "24 points" in r.output and "--min-step 1000: dropped 6 warm-up checkpoint(s)" in r.output
    )
    r = CliRunner().invoke(main, ["fit", str(path), "--law", "kaplan", "--final-only", "--json"])
    assert r.exit_code == 0, r.output
    import json

    obj = json.loads(r.stdout)
    assert obj["n_points"] == 6 and any("--final-only" in n for n in obj["notes"])
