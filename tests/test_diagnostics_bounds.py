"""A parameter pressed onto its bound, or run off to infinity, is flagged (issue 14/20)."""

import numpy as np
import pandas as pd

import scalinglab as sl

# Loss and error (1 - 4-way cloze accuracy, near chance) of the first built-in testbed
# ladder's 31 smaller pretraining runs, rounded: a flat accuracy on which Gadre's loss ->
# error law degenerates into a step.
LOSS = [4.768, 5.653, 5.81, 5.536, 4.28, 5.221, 5.973, 6.311, 5.082, 4.346, 5.979, 6.201, 6.178,
        4.22, 4.732, 3.937, 4.546, 3.771, 5.703, 4.665, 4.194, 4.945, 5.12, 4.051, 4.17, 6.215,
        4.849, 6.514, 4.369, 5.227, 5.472]  # fmt: skip
ERROR = [0.71, 0.68, 0.66, 0.68, 0.75, 0.69, 0.7, 0.71, 0.72, 0.7, 0.69, 0.71, 0.71, 0.72, 0.7,
         0.7, 0.67, 0.68, 0.68, 0.67, 0.71, 0.67, 0.7, 0.73, 0.73, 0.71, 0.7, 0.69, 0.68, 0.69,
         0.68]  # fmt: skip


def test_a_step_function_fit_is_flagged_not_called_clean():
    res = sl.fit(pd.DataFrame({"loss": LOSS, "error": ERROR}), "loss_to_error")
    # gamma ends 3e-4 short of its bound 50 and k near 1e80: a tolerance of 1e-8 said nothing
    assert res.params_["gamma"] > 49.9 and res.params_["k"] > 1e30
    assert {"gamma", "k"} <= set(res.at_bounds_)
    msgs = {d.params[0]: d.message for d in res.diagnostics if d.code == "at_bound"}
    assert "ran off towards infinity" in msgs["k"] and "sits on its bound" in msgs["gamma"]


def test_a_healthy_fit_near_but_not_on_a_bound_stays_clean():
    loss = np.linspace(2.5, 5.0, 25)
    err = 0.9 - 2.0 * np.exp(-0.8 * loss)
    res = sl.fit(pd.DataFrame({"loss": loss, "error": err}), "loss_to_error")
    assert abs(res.params_["gamma"] - 0.8) < 1e-3 and res.at_bounds_ == []
