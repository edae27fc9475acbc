"""Structured diagnostics: what a result knows about its own trustworthiness.

A fit can converge numerically and still be useless (a flat curve, parameters the data do
not determine, an interpolation through as many points as parameters, a query far outside
the data). Free-text warnings cannot be scripted against or rendered consistently, so every
result carries a list of `Diagnostic(code, severity, message, params)`; the CLI, `--json`,
`summary()` and the report all render the same list.

Severities: "error" — the result is degenerate and must not be used as a forecast (a fit with
one is not `converged_`); "warning" — usable, with the stated limit; "info" — context.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("error", "warning", "info")

# Every code scalinglab emits, with what it means (shown by `scalinglab laws --help`-style
# listings and checked by the tests: each code has a test that triggers it).
CODES: dict[str, str] = {
    "no_finite_objective": "no start gave a finite objective",
    "not_converged": "the best start did not converge",
    "flat": "the fitted curve is flat over the data: it explains none of the metric's spread",
    "constant_target": "the metric has one value in every row",
    "at_bound": "a parameter sits on a bound",
    "not_identified": "the data fix a combination of parameters, not each (Jacobian at the "
    "optimum), or the bootstrap resamples move a parameter over orders of magnitude or onto a "
    "bound",
    "single_value": "a law variable takes one value, so what depends on it is not determined",
    "exact_fit": "no more points than parameters: an interpolation, without intervals",
    "few_dof": "few degrees of freedom: intervals rest on very few residuals",
    "duplicate_rows": "identical rows (inputs and metric) count more than once",
    "extrapolation": "a query lies beyond the fitted range of a variable",
    "bootstrap_failures": "many bootstrap resamples did not converge",
    "bootstrap_drift": "bootstrap resamples kept while still moving slowly along a direction "
    "the resample does not fix (e.g. E -> 0)",
    "note": "a workflow's remark about its own evidence (context, not a defect)",
    "pooled_sources": "runs from several pretraining sources were fitted as one law",
    "uncalibrated": "too little history to learn how error grows with extrapolation: the "
    "interval is the bootstrap and scatter alone",
    "subsample_basin": "a long table's row subsample chose another basin than all rows: a "
    "better basin may have been screened out",
    "law_choice": "a workflow compared candidate laws and the one used is not the one that "
    "wins held out (or was chosen for that reason)",
    "regime": "runs lie where the law is not meant to apply (e.g. the high-data regime of "
    "transfer)",
    "yardstick": "the from-scratch law that effective data are read off fails a check (flat "
    "in D, large held-out error, beaten by measured from-scratch runs, a fit warning)",
}


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a result, as every result's `diagnostics_` lists them and the CLI,
    `--json` and the report render them.

    Attributes
    ----------
    code : str
        What was found, one of CODES (e.g. "not_identified", "extrapolation").
    severity : {"error", "warning", "info"}
        An error-level finding makes a fit not clean (`FitResult.clean_` is False).
    message : str
        The finding in words, naming what is concerned and what to do.
    params : tuple of str
        The parameters or variables concerned (empty when none in particular).

    Examples
    --------
    >>> import scalinglab as sl
    >>> d = sl.Diagnostic("few_dof", "warning", "5 points for 4 parameters", ("E", "A"))
    >>> str(d)
    'WARNING [few_dof] 5 points for 4 parameters'
    """

    code: str
    severity: str
    message: str
    params: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown diagnostic code {self.code!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def __str__(self) -> str:
        return f"{self.severity.upper()} [{self.code}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "params": list(self.params),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Diagnostic:
        return cls(
            code=str(d["code"]),
            severity=str(d["severity"]),
            message=str(d["message"]),
            params=tuple(str(p) for p in d.get("params", ())),
        )


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diags)


def codes(diags: Iterable[Diagnostic]) -> list[str]:
    return [d.code for d in diags]
