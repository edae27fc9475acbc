"""scalinglab: forecast downstream LLM performance from small runs.

>>> import scalinglab as sl
>>> res = sl.fit("runs.csv", law="chinchilla")                    # doctest: +SKIP
>>> res.predict({"n_params": 70e9, "tokens": 1.4e12})             # doctest: +SKIP
>>> sl.audit("runs.csv", "chinchilla", holdout="n_params > 1e9")  # doctest: +SKIP

Laws (`sl.get_law`, `sl.CATALOG`, `sl.expression_law`), the fitter (`sl.fit` -> `sl.FitResult`),
data in (`sl.read_table`, `sl.read_harness`, `sl.read_tracker_export`), the papers'
workflows (`sl.forecast`, `sl.ladder`, `sl.choose_method`, `sl.pretrain_choice`,
`sl.transfer`, `sl.plan`, `sl.audit`) and every named error (`sl.errors`). The testbed
(`scalinglab.testbed`, needs torch) is not imported here.
"""

from . import errors, laws
from ._version import __version__
from .diagnostics import Diagnostic
from .errors import ScalingLabError
from .fitting import FitResult, fit
from .inspect import inspect_table
from .io import read_harness, read_table, read_tracker_export
from .laws import CATALOG, Law, Parameter, expression_law, get_law
from .query import select
from .workflows import (
    AuditResult,
    ConstantExponent,
    FactorEffects,
    ForecastResult,
    LadderForecast,
    MethodChoice,
    PetSizeFit,
    Plan,
    PretrainChoice,
    TaskForecasts,
    TaskSelection,
    TransferResult,
    choose_method,
    forecast,
    pet_size_recipe,
    plan,
    select_tasks,
)
from .workflows import choose_pretraining_data as pretrain_choice
from .workflows import effective_data_transferred as transfer
from .workflows import ladder_forecast as ladder
from .workflows.audit import audit
from .workflows.constant_exponent import constant_exponent
from .workflows.factor_effects import factor_effects

load = read_table

__all__ = [
    "CATALOG",
    "AuditResult",
    "ConstantExponent",
    "Diagnostic",
    "FactorEffects",
    "FitResult",
    "ForecastResult",
    "LadderForecast",
    "Law",
    "MethodChoice",
    "Parameter",
    "PetSizeFit",
    "Plan",
    "PretrainChoice",
    "ScalingLabError",
    "TaskForecasts",
    "TaskSelection",
    "TransferResult",
    "__version__",
    "audit",
    "choose_method",
    "constant_exponent",
    "errors",
    "expression_law",
    "factor_effects",
    "fit",
    "forecast",
    "get_law",
    "inspect_table",
    "ladder",
    "laws",
    "load",
    "pet_size_recipe",
    "plan",
    "pretrain_choice",
    "read_harness",
    "read_table",
    "read_tracker_export",
    "select",
    "select_tasks",
    "transfer",
]
