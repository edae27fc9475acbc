"""Isik et al. 2024: downstream cross-entropy and BLEU log-law vs pretraining tokens."""

import numpy as np

from ..base import Law, Parameter
from ..closed_form import PowerSum, PowerTerm
from .starts import saturating_power_grid

CITATION = "Isik et al. 2024, Scaling Laws for Downstream Task Performance of Large Language Models"


_CE_E = tuple(float(np.exp(v)) for v in (-2, -1, 0, 1))
_CE_A = tuple(float(np.exp(v)) for v in (0, 4, 8, 12, 16))
_CE_ALPHA = (0.05, 0.1, 0.2, 0.4, 0.8)


def _downstream_ce(tokens, E, A, alpha):
    return E + A / tokens**alpha


downstream_ce = Law(
    name="downstream_ce",
    variables=("tokens",),
    metric="downstream_ce",
    parameters=(
        Parameter("E", 0.0, np.inf, _CE_E, log=True),
        Parameter("A", 0.0, np.inf, _CE_A, log=True),
        Parameter("alpha", 0.0, 5.0, _CE_ALPHA),
    ),
    formula=_downstream_ce,
    formula_text="E + A/tokens^alpha",
    space="log",
    citation=CITATION + " (Eq. 2)",
    description="Downstream (finetuned) cross-entropy vs pretraining tokens D_p.",
    positive_variables=("tokens",),
    data_grid=saturating_power_grid("tokens", _CE_ALPHA, _CE_A, _CE_E),
    closed_form=PowerSum(
        _downstream_ce, (PowerTerm("A", (("alpha", "tokens", -1),)),), constant="E"
    ),
)


def _bleu_loglaw(tokens, A, alpha, beta):
    return (np.log(A) + alpha * np.log(tokens)) ** beta


bleu_loglaw = Law(
    name="bleu_loglaw",
    variables=("tokens",),
    metric="bleu",
    parameters=(
        Parameter(
            "A", 0.0, np.inf, tuple(float(np.exp(v)) for v in (-20, -10, -5, 0, 5)), log=True
        ),
        Parameter("alpha", 0.0, 10.0, (0.05, 0.1, 0.2, 0.5, 1.0)),
        Parameter("beta", 0.0, 10.0, (0.5, 1.0, 2.0, 3.0, 4.0)),
    ),
    formula=_bleu_loglaw,
    formula_text="(log(A * tokens^alpha))^beta",
    space="identity",
    citation=CITATION + " (Eq. 1)",
    description="BLEU after finetuning vs pretraining tokens D_p (a log-law).",
    positive_variables=("tokens",),
)
