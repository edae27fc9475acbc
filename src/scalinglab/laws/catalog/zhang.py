"""Zhang et al. 2024: multiplicative (and additive) joint finetuning laws.

`x` is the factor being scaled (model size, pretraining tokens, LoRA rank, prompt length):
map it to a column with `--map x=n_params` (API: `mapping={"x": "n_params"}`).
"""

import numpy as np

from ..base import Law, Parameter

CITATION = "Zhang, Liu, Cherry, Firat 2024, When Scaling Meets LLM Finetuning (ICLR)"
_COEF = tuple(float(np.exp(v)) for v in (0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0))
_EXPO = (0.05, 0.1, 0.2, 0.4, 0.8)
_E = tuple(float(np.exp(v)) for v in (-1.0, -0.5, 0.0, 0.5, 1.0))


def _multiplicative(x, finetune_size, A, alpha, beta, E):
    return A / (x**alpha * finetune_size**beta) + E


finetune_multiplicative = Law(
    name="finetune_multiplicative",
    variables=("x", "finetune_size"),
    metric="loss",
    parameters=(
        Parameter("A", 0.0, np.inf, _COEF, log=True),
        Parameter("alpha", 0.0, 5.0, _EXPO),
        Parameter("beta", 0.0, 5.0, _EXPO),
        Parameter("E", 0.0, np.inf, _E, log=True),
    ),
    formula=_multiplicative,
    formula_text="A * x^-alpha * finetune_size^-beta + E",
    space="log",
    citation=CITATION + " (Eq. 1)",
    description="Finetuning loss jointly in a factor X and finetuning data size D_f.",
    positive_variables=("x", "finetune_size"),
)


def _additive(x, finetune_size, A, B, alpha, beta, E):
    return A / x**alpha + B / finetune_size**beta + E


finetune_additive = Law(
    name="finetune_additive",
    variables=("x", "finetune_size"),
    metric="loss",
    parameters=(
        Parameter("A", 0.0, np.inf, _COEF[::2], log=True),
        Parameter("B", 0.0, np.inf, _COEF[::2], log=True),
        Parameter("alpha", 0.0, 5.0, _EXPO),
        Parameter("beta", 0.0, 5.0, _EXPO),
        Parameter("E", 0.0, np.inf, _E, log=True),
    ),
    formula=_additive,
    formula_text="A/x^alpha + B/finetune_size^beta + E",
    space="log",
    citation=CITATION + " (additive baseline, after Hoffmann et al.)",
    description="Additive joint law the multiplicative one is compared against.",
    positive_variables=("x", "finetune_size"),
)
