"""Gadre et al. 2024: over-training law L(C, M) and loss-to-downstream-error law."""

import numpy as np

from ..base import Law, Parameter
from .starts import loss_to_error_grid

CITATION = (
    "Gadre et al. 2024, Language Models Scale Reliably with Over-training and on Downstream Tasks"
)


def _overtrain(flops, tokens_per_param, E, a, b, eta):
    return E + (a * tokens_per_param**eta + b / tokens_per_param**eta) / flops**eta


overtrain = Law(
    name="overtrain",
    variables=("flops", "tokens_per_param"),
    metric="loss",
    parameters=(
        Parameter("E", 0.0, np.inf, (0.5, 1.0, 1.5, 2.0, 3.0), log=True),
        Parameter("a", 0.0, np.inf, tuple(float(np.exp(v)) for v in range(0, 25, 4)), log=True),
        Parameter("b", 0.0, np.inf, tuple(float(np.exp(v)) for v in range(0, 25, 4)), log=True),
        Parameter("eta", 0.0, 5.0, (0.05, 0.1, 0.2, 0.3, 0.5)),
    ),
    formula=_overtrain,
    formula_text="E + (a*M^eta + b*M^-eta) * C^-eta   (C = flops, M = tokens_per_param)",
    space="log",
    citation=CITATION + " (Eq. 4)",
    description="Loss at compute C and token multiplier M = D/N; same exponent for every M.",
    positive_variables=("flops", "tokens_per_param"),
)


def _loss_to_error(loss, eps, k, gamma):
    return eps - k * np.exp(-gamma * loss)


loss_to_error = Law(
    name="loss_to_error",
    variables=("loss",),
    metric="error",
    parameters=(
        Parameter("eps", 0.0, 2.0, (0.6, 0.8, 0.9, 1.0)),
        Parameter("k", 0.0, np.inf, tuple(float(np.exp(v)) for v in (-2, 0, 2, 4, 6, 8)), log=True),
        Parameter("gamma", 0.0, 50.0, (0.25, 0.5, 1.0, 2.0, 4.0)),
    ),
    formula=_loss_to_error,
    formula_text="eps - k*exp(-gamma*loss)",
    space="identity",
    citation=CITATION + " (Eq. 5)",
    description="Average top-1 downstream error as a function of validation loss.",
    data_grid=loss_to_error_grid,
)
