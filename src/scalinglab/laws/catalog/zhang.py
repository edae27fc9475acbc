"""Zhang et al. 2024: multiplicative (and additive) joint finetuning laws.

`x` is the factor being scaled (model size, pretraining tokens, LoRA rank, prompt length):
map it to a column with `--map x=n_params` (API: `mapping={"x": "n_params"}`).
"""

import numpy as np

from ..base import Law, Parameter
from ..closed_form import PowerSum, PowerTerm

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
    closed_form=PowerSum(
        _multiplicative,
        (PowerTerm("A", (("alpha", "x", -1), ("beta", "finetune_size", -1))),),
        constant="E",
    ),
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
    closed_form=PowerSum(
        _additive,
        (
            PowerTerm("A", (("alpha", "x", -1),)),
            PowerTerm("B", (("beta", "finetune_size", -1),)),
        ),
        constant="E",
    ),
)


# -- Eq. 2: the joint law over several factors ------------------------------------------------
# Each row belongs to one factor's experiment (model size, pretraining data, PET size): its
# factor's value stands in that factor's column and the other factors' columns hold 0 ("not
# this experiment"). Per factor A_X, alpha_X; beta and E shared, as the paper fits them.
JOINT_FACTORS = ("model", "data", "pet")


def _joint_term(x, A, alpha):
    """A x^-alpha on the rows of this factor (x > 0), 0 elsewhere."""
    on = np.asarray(x) > 0
    return on.astype(float) * (A / np.where(on, x, 1.0) ** alpha)


def _joint(
    x_model, x_data, x_pet, finetune_size, A_model, alpha_model, A_data, alpha_data, A_pet,
    alpha_pet, beta, E,
):  # fmt: skip
    term = (
        _joint_term(x_model, A_model, alpha_model)
        + _joint_term(x_data, A_data, alpha_data)
        + _joint_term(x_pet, A_pet, alpha_pet)
    )
    return term / finetune_size**beta + E


def _joint_data_grid(x, y):
    """Each factor's A from its own rows: A_X ~ (y - 0.9 min y) X^0.2 D_f^0.2 (the middle of
    the exponent grids), a decade either side, so the three scale constants need not share
    one blind grid."""
    y = np.asarray(y, dtype=float)
    lift = (y - 0.9 * float(np.min(y))) * np.asarray(x["finetune_size"], dtype=float) ** 0.2
    out = {}
    for f in JOINT_FACTORS:
        v = np.asarray(x[f"x_{f}"], dtype=float)
        on = v > 0
        if not on.any():  # no rows: the factor is not identified (and diagnosed so)
            out[f"A_{f}"], out[f"alpha_{f}"] = [1.0], [0.2]
            continue
        mid = float(np.median(lift[on] * v[on] ** 0.2))
        out[f"A_{f}"] = [mid / 10, mid, mid * 10]
    return out


finetune_joint = Law(
    name="finetune_joint",
    variables=("x_model", "x_data", "x_pet", "finetune_size"),
    metric="loss",
    parameters=(
        Parameter("A_model", 0.0, np.inf, _COEF[::2], log=True),
        Parameter("alpha_model", 0.0, 5.0, _EXPO[::2]),
        Parameter("A_data", 0.0, np.inf, _COEF[::2], log=True),
        Parameter("alpha_data", 0.0, 5.0, _EXPO[::2]),
        Parameter("A_pet", 0.0, np.inf, _COEF[::2], log=True),
        Parameter("alpha_pet", 0.0, 5.0, _EXPO[::2]),
        Parameter("beta", 0.0, 5.0, _EXPO[::2]),
        Parameter("E", 0.0, np.inf, _E, log=True),
    ),
    formula=_joint,
    formula_text=(
        "A_X * X^-alpha_X * finetune_size^-beta + E, X the row's factor: x_model (model "
        "size), x_data (pretraining tokens) or x_pet (PET parameters); 0 in the others"
    ),
    space="log",
    citation=CITATION + " (Eq. 2, joint over factors: per-factor A_X, alpha_X; shared beta, E)",
    description=(
        "Zhang et al.'s joint finetuning law over model size, pretraining data and PET size; "
        "each row carries its own factor's value, 0 in the other two (see "
        "scalinglab.workflows.factor_effects.joint_frame to build them from a 'factor' column)."
    ),
    positive_variables=("finetune_size",),
    data_grid=_joint_data_grid,
)
