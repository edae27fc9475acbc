"""Fitting engine: robust objective, batched optimiser, multi-start search, FitResult."""

from .fitter import build_starts, fit
from .result import FitResult

__all__ = ["FitResult", "build_starts", "fit"]
