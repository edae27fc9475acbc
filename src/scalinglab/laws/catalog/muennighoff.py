"""Muennighoff et al. 2023: Chinchilla's law when the data repeats (data-constrained)."""

import numpy as np

from ..base import Law, Parameter
from .hoffmann import PARAMETERS as CHINCHILLA_PARAMETERS

CITATION = "Muennighoff et al. 2023, Scaling Data-Constrained Language Models (eq. 5, data term)"


def effective_tokens(tokens, unique_tokens, R_star):
    """D' = U_D + U_D R* (1 - exp(-R_D / R*)), U_D = min(D, U) the unique tokens seen and
    R_D = D/U_D - 1 the repetitions: the first epoch counts in full, each further one a little
    less, and D' never exceeds U (1 + R*). Within one epoch D' = D."""
    seen = np.minimum(tokens, unique_tokens)
    repeats = tokens / seen - 1.0
    return seen + seen * R_star * (1.0 - np.exp(-repeats / R_star))


def _data_constrained(n_params, tokens, unique_tokens, E, A, B, alpha, beta, R_star):
    d_eff = effective_tokens(tokens, unique_tokens, R_star)
    return E + A / n_params**alpha + B / d_eff**beta


data_constrained = Law(
    name="data_constrained",
    variables=("n_params", "tokens", "unique_tokens"),
    metric="loss",
    parameters=(
        *CHINCHILLA_PARAMETERS,
        # Muennighoff et al. fit R* = 15.4: repeated tokens lose half their worth after ~10
        # epochs. Few repeated runs pin it down poorly; the grid starts near their value.
        Parameter(
            "R_star",
            0.1,
            1000.0,
            (2.0, 5.0, 15.4, 50.0),
            log=True,
            description="repetitions at which repeated data's worth decays by 1/e",
        ),
    ),
    formula=_data_constrained,
    formula_text="E + A/n_params^alpha + B/D'^beta, D' = U + U R* (1 - exp(-(tokens/U - 1)/R*)),"
    " U = min(tokens, unique_tokens)",
    space="log",
    citation=CITATION,
    description="Pretraining loss when tokens exceed the unique data (several epochs); with "
    "no repetition it is Chinchilla's law.",
    positive_variables=("n_params", "tokens", "unique_tokens"),
)
