"""Kaplan et al. 2020 joint law, the from-scratch law Hernandez et al. 2021 invert for transfer."""

import numpy as np

from ..base import Law, Parameter


def _kaplan(n_params, tokens, Nc, Dc, alphaN, alphaD):
    return ((Nc / n_params) ** (alphaN / alphaD) + Dc / tokens) ** alphaD


kaplan = Law(
    name="kaplan",
    variables=("n_params", "tokens"),
    metric="loss",
    parameters=(
        Parameter("Nc", 0.0, np.inf, (1e6, 1e9, 1e12, 1e15), log=True),
        Parameter("Dc", 0.0, np.inf, (1e4, 1e7, 1e10, 1e13), log=True),
        Parameter("alphaN", 1e-4, 5.0, (0.03, 0.08, 0.2, 0.5)),
        Parameter("alphaD", 1e-4, 5.0, (0.03, 0.1, 0.3, 0.6)),
    ),
    formula=_kaplan,
    formula_text="((Nc/n_params)^(alphaN/alphaD) + Dc/tokens)^alphaD",
    space="log",
    citation="Kaplan et al. 2020, Scaling Laws for Neural Language Models (Eq. 1.5); "
    "used from scratch by Hernandez et al. 2021",
    description="Loss of a model trained from scratch with N parameters on D tokens.",
    positive_variables=("n_params", "tokens"),
)
