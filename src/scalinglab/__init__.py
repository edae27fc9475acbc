"""scalinglab: forecast downstream LLM performance from small runs.

import scalinglab as sl
res = sl.fit("runs.csv", law="chinchilla")
res.predict({"n_params": 70e9, "tokens": 1.4e12})
"""

__version__ = "0.1.0"

from .errors import ScalingLabError  # noqa: E402
from .fit import FitResult, fit  # noqa: E402
from .io import read_table  # noqa: E402
from .laws import CATALOG, Law, Parameter, expression_law, get_law  # noqa: E402

__all__ = [
    "CATALOG",
    "FitResult",
    "Law",
    "Parameter",
    "ScalingLabError",
    "__version__",
    "expression_law",
    "fit",
    "get_law",
    "read_table",
]
