"""Hernandez et al. 2021: effective data transferred D_T = k * D_F^alpha * N^beta."""

import numpy as np

from ..base import Law, Parameter
from ..closed_form import PowerSum, PowerTerm
from .starts import transfer_grid

_K = tuple(float(np.exp(v)) for v in (-5, 0, 5, 10, 15))
_EXP = (0.1, 0.3, 0.6, 1.0)


def _transfer(finetune_size, n_params, k, alpha, beta):
    return k * finetune_size**alpha * n_params**beta


transfer = Law(
    name="transfer",
    variables=("finetune_size", "n_params"),
    metric="effective_data",
    parameters=(
        Parameter("k", 0.0, np.inf, _K, log=True),
        Parameter("alpha", -5.0, 5.0, _EXP),
        Parameter("beta", -5.0, 5.0, _EXP),
    ),
    formula=_transfer,
    formula_text="k * finetune_size^alpha * n_params^beta",
    space="log",
    citation="Hernandez, Kaplan, Henighan, McCandlish 2021, Scaling Laws for Transfer (Eq. 1.1)",
    description="Effective data transferred D_T from pretraining, given D_F and N.",
    positive_variables=("finetune_size", "n_params"),
    data_grid=transfer_grid(_EXP, _EXP, _K),
    closed_form=PowerSum(
        _transfer, (PowerTerm("k", (("alpha", "finetune_size", 1), ("beta", "n_params", 1))),)
    ),
)
