"""Self-contained HTML reports and plotly figures."""

from .html import Report

__all__ = ["Report"]
