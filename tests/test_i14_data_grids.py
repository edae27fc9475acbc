"""Data-derived start grids of transfer (k), downstream_ce (A, E) and finetune_joint (A_X),
on data far from the laws' fixed grids: the fast search lands on the `strategy="full"`
optimum (issue 14); for transfer and downstream_ce the data grid itself proposes a start
within a decade of the scale constant."""

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl


def _noisy(y: np.ndarray, seed: int, rel: float = 0.01) -> np.ndarray:
    return y * np.exp(rel * np.random.default_rng(seed).standard_normal(y.size))


def _fast_equals_full(df: pd.DataFrame, law: str, truth: dict[str, float], rtol: float):
    fast = sl.fit(df, law)
    full = sl.fit(df, law, strategy="full")
    assert fast.objective_ == pytest.approx(full.objective_, rel=1e-6)
    for name, v in truth.items():
        assert fast.params_[name] == pytest.approx(full.params_[name], rel=1e-4), name
        assert fast.params_[name] == pytest.approx(v, rel=rtol), name
    assert fast.converged_ and fast.clean_
    return fast


def _decades_from(grid, value: float) -> float:
    return float(np.min(np.abs(np.log10(np.asarray(grid, dtype=float) / value))))


def test_transfer_k_far_below_the_fixed_grid():
    """k = 1e-12 (fixed grid e^-5..e^15: 9.8 decades away), exponents inside the grid."""
    df_ = np.tile(np.geomspace(1e3, 1e6, 6), 4)
    n = np.repeat(np.geomspace(1e11, 1e13, 4), 6)
    truth = {"k": 1e-12, "alpha": 0.3, "beta": 0.6}
    y = _noisy(truth["k"] * df_**0.3 * n**0.6, seed=0, rel=0.002)
    df = pd.DataFrame({"finetune_size": df_, "n_params": n, "effective_data": y})
    law = sl.get_law("transfer")
    assert _decades_from(law.parameter("k").grid, 1e-12) > 9
    grid = law.grid_for({"finetune_size": df_, "n_params": n}, y).parameter("k").grid
    assert _decades_from(grid, 1e-12) < 1  # a start passes through the median run
    _fast_equals_full(df, "transfer", truth, rtol=0.2)


def test_downstream_ce_a_far_above_the_fixed_grid():
    """A = 1e11 at 1e12-1e14 tokens (fixed A grid up to e^16 ~ 9e6: 4 decades below)."""
    t = np.geomspace(1e12, 1e14, 20)
    truth = {"E": 0.5, "A": 1e11, "alpha": 0.8}
    y = _noisy(0.5 + 1e11 / t**0.8, seed=1, rel=0.002)
    df = pd.DataFrame({"tokens": t, "downstream_ce": y})
    law = sl.get_law("downstream_ce")
    assert _decades_from(law.parameter("A").grid, 1e11) > 4
    assert _decades_from(law.grid_for({"tokens": t}, y).parameter("A").grid, 1e11) < 1
    _fast_equals_full(df, "downstream_ce", truth, rtol=0.5)


def _joint_rows() -> pd.DataFrame:
    rows = []
    ladders = {
        "model": np.geomspace(1e9, 1.6e10, 5),
        "data": np.geomspace(1e11, 1e12, 5),
        "pet": np.geomspace(1e7, 1e8, 5),
    }
    for f, values in ladders.items():
        for v in values:
            for dfs in np.geomspace(1e3, 1e6, 5):
                row = {"x_model": 0.0, "x_data": 0.0, "x_pet": 0.0, "finetune_size": dfs}
                row[f"x_{f}"] = v
                rows.append(row)
    return pd.DataFrame(rows)


# Scale constants 1-2.5 decades beyond the fixed A grid (up to e^15 ~ 3.3e6), exponents at
# the top of the alpha grid (0.05-0.8).
JOINT = {
    "A_model": 1e9,
    "alpha_model": 0.8,
    "A_data": 3e8,
    "alpha_data": 0.6,
    "A_pet": 2e7,
    "alpha_pet": 0.8,
    "beta": 0.1,
    "E": 0.5,
}


def _joint_data() -> pd.DataFrame:
    df = _joint_rows()
    df["loss"] = _noisy(sl.get_law("finetune_joint").evaluate(JOINT, df), seed=2, rel=0.002)
    return df


def test_finetune_joint_fast_search_reaches_the_optimum_started_at_the_truth():
    df = _joint_data()
    law = sl.get_law("finetune_joint")
    for name in ("A_model", "A_data", "A_pet"):
        assert _decades_from(law.parameter(name).grid, JOINT[name]) > 0.7
    fast = sl.fit(df, law)
    best = sl.fit(df, law, grid=np.array([[JOINT[n] for n in law.param_names]]))
    assert fast.objective_ == pytest.approx(best.objective_, rel=1e-6)
    for name, v in JOINT.items():
        assert fast.params_[name] == pytest.approx(v, rel=0.1), name
    assert fast.clean_


@pytest.mark.slow  # the full search optimises all 10,935 starts of the 8-parameter grid (4-8 s)
def test_finetune_joint_fast_equals_full_far_from_the_fixed_grid():
    _fast_equals_full(_joint_data(), "finetune_joint", JOINT, rtol=0.1)
