"""Generic one-variable laws: a saturating power law and a sigmoid."""

import numpy as np

from ..base import Law, Parameter
from ..closed_form import PowerSum, PowerTerm
from .starts import saturating_power_grid, sigmoid_grid

_PL_E = tuple(float(np.exp(v)) for v in (-2, -1, 0, 1, 2))
_PL_A = tuple(float(np.exp(v)) for v in (-2, 0, 2, 4, 8, 12, 16))
_PL_ALPHA = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def _power_law(x, E, A, alpha):
    return E + A / x**alpha


power_law = Law(
    name="power_law",
    variables=("x",),
    metric="y",
    parameters=(
        Parameter("E", 0.0, np.inf, _PL_E, log=True),
        Parameter("A", 0.0, np.inf, _PL_A, log=True),
        Parameter("alpha", 0.0, 10.0, _PL_ALPHA),
    ),
    formula=_power_law,
    formula_text="E + A/x^alpha",
    space="log",
    citation="Saturating power law (Hestness et al. 2017; Kaplan et al. 2020)",
    description="Any metric vs one scaling variable: map x and the metric to your columns.",
    positive_variables=("x",),
    data_grid=saturating_power_grid("x", _PL_ALPHA, _PL_A, _PL_E),
    closed_form=PowerSum(_power_law, (PowerTerm("A", (("alpha", "x", -1),)),), constant="E"),
)


def _sigmoid(x, a, k, x0, b):
    return a / (1.0 + np.exp(-k * (x - x0))) + b


sigmoid = Law(
    name="sigmoid",
    variables=("x",),
    metric="y",
    parameters=(
        Parameter("a", -5.0, 5.0, (-1.0, -0.5, 0.5, 1.0)),
        # k >= 0 removes the mirror solution (a, k, x0, b) ~ (-a, -k, x0, a + b): the sign of
        # `a` carries the direction (a < 0: accuracy falls as loss grows).
        Parameter("k", 0.0, 500.0, (1.0, 3.0, 10.0, 30.0)),
        Parameter("x0", -100.0, 100.0, (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)),
        Parameter("b", -5.0, 5.0, (0.0, 0.25, 0.5)),
    ),
    formula=_sigmoid,
    formula_text="a/(1 + exp(-k*(x - x0))) + b",
    space="identity",
    citation="Bhagia et al. 2024, Establishing Task Scaling Laws via Compute-Efficient Model "
    "Ladders (AI2 OLMo ladder), step 2",
    description="Task accuracy vs loss (or bits-per-byte).",
    data_grid=sigmoid_grid,
)
