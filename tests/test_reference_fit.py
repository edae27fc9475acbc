"""The fitter must reproduce the reference fit on real data (Epoch's Chinchilla points)."""

import numpy as np

import scalinglab as sl

REF_OBJECTIVE = 0.00101827401781  # scipy L-BFGS-B over the full Hoffmann grid
EPOCH_EXACT = {"E": 1.8172, "A": 477.84, "B": 2143.86, "alpha": 0.34731, "beta": 0.36718}


def test_chinchilla_240_matches_reference(chinchilla_240):
    res = sl.fit(chinchilla_240, "chinchilla")
    assert len(res.starts_) == 4500  # Hoffmann's grid
    assert res.converged_
    assert res.objective_ <= 0.0010182741
    for name in ("E", "alpha", "beta"):
        assert abs(res.params_[name] / EPOCH_EXACT[name] - 1) < 0.005, name
    for name in ("A", "B"):
        assert abs(res.params_[name] / EPOCH_EXACT[name] - 1) < 0.02, name
    assert not res.warnings_


def test_full_strategy_agrees_with_screening(chinchilla_240):
    """Optimising a large slice of starts must not find anything better than the screen."""
    law = sl.get_law("chinchilla")
    starts = law.grid_points()[::15]  # 300 starts spread over the grid
    full = sl.fit(chinchilla_240, law, grid=starts, strategy="full")
    fast = sl.fit(chinchilla_240, law)
    assert fast.objective_ <= full.objective_ * (1 + 1e-9)


def test_all_245_points_reference(chinchilla_240):
    import pandas as pd

    from tests.conftest import shared_file

    df = pd.read_csv(shared_file("chinchilla", "points.csv"))
    res = sl.fit(df, "chinchilla")
    assert res.objective_ <= 0.00182601 * (1 + 1e-6)
    assert abs(res.params_["alpha"] / 0.34931 - 1) < 0.005
    assert abs(res.params_["beta"] / 0.45300 - 1) < 0.01
    assert np.isfinite(res.predict({"n_params": 70e9, "tokens": 1.4e12})[0])
