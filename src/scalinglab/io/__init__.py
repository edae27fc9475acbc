"""Readers that end in the scalinglab schema."""

from .tables import read_table

__all__ = ["read_table"]
