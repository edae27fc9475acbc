"""Hoffmann et al. 2022 (Chinchilla), approach 3."""

import numpy as np

from ..base import Law, Parameter
from ..closed_form import PowerSum, PowerTerm

CITATION = "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models (approach 3)"

_EXP = tuple(float(np.exp(v)) for v in (-1.0, -0.5, 0.0, 0.5, 1.0))
_SCALE = tuple(float(np.exp(v)) for v in (0.0, 5.0, 10.0, 15.0, 20.0, 25.0))
_EXPONENTS = (0.0, 0.5, 1.0, 1.5, 2.0)


# Hoffmann's log-sum-exp parameterisation: E = e^e, A = e^a, B = e^b optimised in log space,
# alpha and beta linear; the grid is their appendix D.2 grid (4,500 starts).
PARAMETERS = (
    Parameter("E", 0.0, np.inf, _EXP, log=True, description="irreducible loss"),
    Parameter("A", 0.0, np.inf, _SCALE, log=True, description="model-size coefficient"),
    Parameter("B", 0.0, np.inf, _SCALE, log=True, description="data coefficient"),
    Parameter("alpha", 0.0, 10.0, _EXPONENTS, description="model-size exponent"),
    Parameter("beta", 0.0, 10.0, _EXPONENTS, description="data exponent"),
)


def _chinchilla(n_params, tokens, E, A, B, alpha, beta):
    return E + A / n_params**alpha + B / tokens**beta


chinchilla = Law(
    name="chinchilla",
    variables=("n_params", "tokens"),
    metric="loss",
    parameters=PARAMETERS,
    formula=_chinchilla,
    formula_text="E + A/n_params^alpha + B/tokens^beta",
    space="log",
    citation=CITATION,
    description="Pretraining loss as a function of parameters N and tokens D.",
    positive_variables=("n_params", "tokens"),
    closed_form=PowerSum(
        _chinchilla,
        (
            PowerTerm("A", (("alpha", "n_params", -1),)),
            PowerTerm("B", (("beta", "tokens", -1),)),
        ),
        constant="E",
    ),
)
