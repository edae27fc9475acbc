"""The "paper" preset is one option of `fit()`: every workflow passes `preset=` through, and
the calibration folds score residuals in the space the preset fitted in (they read the law's
own log space while the fold fits were least squares on raw values)."""

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl
from scalinglab.errors import OptionError
from scalinglab.fitting.presets import apply_preset
from scalinglab.workflows import audit
from scalinglab.workflows.calibration import learn_extrapolation

SRC = Path(sl.__file__).parent


def _ladder(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = np.repeat(np.geomspace(1e7, 3e9, 8), 5)
    d = np.tile(np.geomspace(1e9, 1e11, 5), 8)
    loss = (1.8 + 480 / n**0.35 + 2100 / d**0.37) * (1 + 0.01 * np.log10(n / 1e7))
    return pd.DataFrame(
        {"n_params": n, "tokens": d, "loss": loss * np.exp(0.005 * rng.standard_normal(n.size))}
    )


def test_folds_score_in_the_presets_space():
    df = _ladder()
    chin = sl.get_law("chinchilla")
    via_fit = learn_extrapolation(df, chin, "n_params", preset="paper")
    by_hand_law, kw = apply_preset(chin, "paper")
    by_hand = learn_extrapolation(df, by_hand_law, "n_params", **kw)
    assert via_fit is not None and by_hand is not None
    assert via_fit.space == "identity" == by_hand.space  # chinchilla's own space is log
    assert via_fit.n_folds == by_hand.n_folds and via_fit.n_heldout == by_hand.n_heldout
    assert math.isclose(via_fit.a, by_hand.a, rel_tol=1e-9)
    assert math.isclose(via_fit.b, by_hand.b, rel_tol=1e-9)


def test_audit_names_an_unknown_preset_before_fitting():
    with pytest.raises(OptionError, match="unknown preset 'papr'"):
        audit._laws(["chinchilla", "kaplan"], "papr")
    laws = audit._laws(["chinchilla"], "paper")
    assert laws[0][0].space == "log" and laws[0][1] == {"preset": "paper"}


def test_forecast_with_the_paper_preset_fits_least_squares_in_both_steps():
    df = _ladder()
    df["error"] = np.clip(0.9 - 0.25 * (3.0 - df["loss"]), 0.05, 0.95)
    big = df["n_params"] >= df["n_params"].max()
    res = sl.forecast(df[~big], df[big].head(2), preset="paper", n_bootstrap=0)
    assert res.loss_fit.law.space == "identity" and math.isinf(res.loss_fit.delta_)
    assert res.error_fit.law.space == "identity" and math.isinf(res.error_fit.delta_)


def test_only_fit_applies_presets():
    """apply_preset is fit()'s (and the batched fold fits'): a caller applying it by hand
    gets a law whose space its other steps may not use."""
    allowed = {"fitting/fitter.py", "fitting/fold_fits.py", "fitting/presets.py"}
    users = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text())
        names = {
            a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for a in node.names
        }
        if "apply_preset" in names and rel not in allowed:
            users.append(rel)
    assert users == []


def test_objective_options_are_fit_arguments_and_never_silently_replaced():
    df = _ladder()
    res = sl.fit(df, "chinchilla", space="identity")
    assert res.law.space == "identity" and res.delta_ == 1e-3
    assert math.isinf(sl.fit(df, "chinchilla", preset="paper", space="identity").delta_)
    with pytest.raises(OptionError, match="space must be 'log' or 'identity', not 'lin'"):
        sl.fit(df, "chinchilla", space="lin")
    # fit(preset="paper", delta=0.5) fitted least squares and ignored delta
    with pytest.raises(OptionError, match="preset 'paper' sets the Huber delta to inf"):
        sl.fit(df, "chinchilla", preset="paper", delta=0.5)
    with pytest.raises(OptionError, match="preset 'paper' fits in identity space"):
        sl.fit(df, "chinchilla", preset="paper", space="log")


def test_fit_cli_preset_without_delta_and_a_contradicting_delta(tmp_path):
    from click.testing import CliRunner

    from scalinglab.cli import main

    path = tmp_path / "runs.csv"
    _ladder().to_csv(path, index=False)
    ok = CliRunner().invoke(main, ["fit", str(path), "--preset", "paper", "--json"])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(main, ["fit", str(path), "--preset", "paper", "--delta", "0.5"])
    assert bad.exit_code != 0 and "contradicts it" in bad.output
