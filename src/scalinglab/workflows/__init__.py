"""The papers' workflows. They compose laws and fits and hold no fitting code of their own.

Each module is one workflow; the public entry points are re-exported at the package root
(`sl.forecast`, `sl.ladder`, ...). `audit()`, `constant_exponent()` and `factor_effects()`
are not re-exported here because this package has modules of those names (the package root
has them).
"""

from .audit import (
    AuditResult,
    compare_laws,
    compute_ratio,
    holdout,
    leave_largest_out,
    leave_one_group_out,
)
from .constant_exponent import ConstantExponent
from .downstream import ForecastResult, forecast
from .factor_effects import FactorEffects
from .finetune_choice import MethodChoice, choose_method
from .ladder import LadderForecast, ladder_forecast
from .many_tasks import TaskForecasts
from .pet_size import PetSizeFit, pet_size_recipe
from .planning import Plan, finetune_tradeoff, plan
from .pretrain_choice import PretrainChoice, choose_pretraining_data
from .task_selection import TaskSelection, select_tasks
from .transfer import TransferResult, effective_data_transferred

__all__ = [
    "AuditResult",
    "ConstantExponent",
    "FactorEffects",
    "ForecastResult",
    "LadderForecast",
    "MethodChoice",
    "PetSizeFit",
    "Plan",
    "PretrainChoice",
    "TaskForecasts",
    "TaskSelection",
    "TransferResult",
    "choose_method",
    "choose_pretraining_data",
    "compare_laws",
    "compute_ratio",
    "effective_data_transferred",
    "finetune_tradeoff",
    "forecast",
    "holdout",
    "ladder_forecast",
    "leave_largest_out",
    "leave_one_group_out",
    "pet_size_recipe",
    "plan",
    "select_tasks",
]
