"""Command line: thin commands over the API, grouped by area. The JSON printed with --json is
a contract other tools script against."""

from . import (  # noqa: F401  (register)
    auditing,
    data,
    fitting,
    forecasting,
    predicting,
    reporting,
    testbed,
    workflows,
)
from .common import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
