"""Named errors. Every message says *where* (file, row, column, law, parameter) and *what*.

Users script against these classes, so each failure mode has its own type rather than a
generic ValueError with a string to parse.
"""

from __future__ import annotations


class ScalingLabError(Exception):
    """Base class for every error scalinglab raises on purpose."""


class DataError(ScalingLabError, ValueError):
    """A problem with input data. Carries the file, row and column when known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file, self.row, self.column, self.line = file, row, column, line
        where = []
        if file:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}" + (f" (line {line})" if line is not None else ""))
        elif line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        self.message = message
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class MissingColumnError(DataError):
    """A column the law or workflow needs is absent."""


class NonNumericValueError(DataError):
    """A cell that must be a number cannot be parsed as one (e.g. '1.4Q')."""


class MixedUnitsError(DataError):
    """One column mixes cells with unit suffixes and bare small numbers."""


class OutOfRangeError(DataError):
    """A value outside its metric's range (accuracy > 1, BLEU > 100, ...)."""


class DuplicateColumnError(DataError):
    """Two columns mean the same canonical column after aliasing."""


class NoResultsError(DataError):
    """A folder given as evaluation results holds no results files."""


class NonFiniteValueError(DataError):
    """A NaN or infinite value where a finite number is required."""


class NonPositiveValueError(DataError):
    """Zero or a negative value where a logarithm or power is taken."""


class TooFewPointsError(DataError):
    """Fewer observations than free parameters: the fit is not identified."""


class FileFormatError(DataError):
    """A file cannot be read as the format its name or caller claims."""


class QueryError(DataError):
    """A row-selection query (--where, --holdout, where=...) that is invalid or uses
    something not allowed (queries are parsed, never run as Python)."""


class FitFileError(DataError):
    """A saved fit (fit --out FIT.json) that is not valid: not JSON, missing or mistyped keys,
    an unknown law, parameters that are not the law's or are not finite or within bounds."""


class OutputPathError(ScalingLabError, OSError):
    """An output file cannot be written safely: it exists (pass --force), is also an input,
    is a symbolic link, or its folder is missing, not writable or full."""

    def __init__(self, message: str, *, file: str | None = None) -> None:
        self.file, self.message = file, message
        super().__init__(f"{file}: {message}" if file else message)

    def __str__(self) -> str:  # OSError would otherwise format its own args
        return f"{self.file}: {self.message}" if self.file else self.message


class OptionError(ScalingLabError, ValueError):
    """An option's value outside its range (delta <= 0, a negative count, a level outside
    (0, 1), ...)."""


class LawError(ScalingLabError, ValueError):
    """A law is unknown or ill-defined."""


class UnknownLawError(LawError, KeyError):
    """The requested law name is not in the catalog."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0] if self.args else ""


class UnknownParameterError(LawError, KeyError):
    """A parameter name that the law does not have."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class ExpressionError(LawError):
    """A user-written law expression is invalid or uses something not allowed."""


class BoundsError(LawError):
    """A parameter's bounds are inconsistent (lower > upper, grid outside bounds, ...)."""


class SideTableMismatchError(DataError):
    """A side table given for harness results matches none of their models."""
