"""Command line: thin commands over the API, grouped by area. The JSON printed with --json is
a contract other tools script against."""

from . import data, fitting, forecasting, reporting, testbed, workflows  # noqa: F401  (register)
from .common import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
