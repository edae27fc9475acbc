"""Hand-derived values and derivatives for laws that are sums of power terms.

Why: a fit evaluates its law with first or second derivatives for a batch of starts about
twenty times (Chinchilla's 240 points: 9 warm-up and 8 refinement evaluations). Dual
numbers get them from the formula with 20-35 array passes and Python bookkeeping at every
operator. For E + A/N^alpha + B/D^beta in the optimiser's coordinates (A = e^a), every term
is one exp(a - alpha log N) and every derivative is a product of it: 10-12 passes, 2-4x
less time per evaluation.

The formula stays the law's definition. A closed form applies only to the formula object it
was written for, with the parameterisation it assumes (scales in log space, exponents
linear); a law changed by `fix` or by `with_parameter(log=...)` falls back to the duals.
tests/test_closed_form.py compares every catalog closed form with the duals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .autodiff import UNIT, PositiveColumn


@dataclass(frozen=True)
class PowerTerm:
    """scale * prod_v x_v ** (sign_v * exponent_v): `scale` a log-space parameter, each
    power (exponent parameter, variable, sign) a linear exponent of a positive variable
    (sign -1 for A / x**alpha, +1 for k * x**alpha)."""

    scale: str
    powers: tuple[tuple[str, str, float], ...]


@dataclass(frozen=True)
class PowerSum:
    """[constant +] sum of `PowerTerm`s, the closed form of `formula`."""

    formula: Callable[..., Any]
    terms: tuple[PowerTerm, ...]
    constant: str | None = None

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for t in self.terms for _, v, _ in t.powers))

    def bind(self, law: Any) -> BoundPowerSum | None:
        """This closed form in `law`'s parameter order, or None when it does not describe
        that law: another formula (a `fix`ed law), a parameter it does not name, or a scale
        not in log space or an exponent in log space."""
        if law.formula is not self.formula:
            return None
        names = law.param_names
        log = dict(zip(names, (bool(x) for x in law.log_mask), strict=True))
        used = [t.scale for t in self.terms] + [e for t in self.terms for e, _, _ in t.powers]
        if self.constant is not None:
            used.append(self.constant)
        if sorted(used) != sorted(names):
            return None
        if not all(log[t.scale] for t in self.terms):
            return None
        if any(log[e] for t in self.terms for e, _, _ in t.powers):
            return None
        index = {n: j for j, n in enumerate(names)}
        terms = tuple(
            (index[t.scale], tuple((index[e], v, float(s)) for e, v, s in t.powers))
            for t in self.terms
        )
        const = None if self.constant is None else index[self.constant]
        const_log = const is not None and log[self.constant]  # type: ignore[index]
        return BoundPowerSum(terms, const, bool(const_log), self.variables)


@dataclass(frozen=True)
class BoundPowerSum:
    """A `PowerSum` with parameter indices: evaluates like `Problem._eval_sparse`."""

    terms: tuple[tuple[int, tuple[tuple[int, str, float], ...]], ...]
    constant: int | None
    constant_log: bool
    variables: tuple[str, ...]

    def usable(self, cols: Mapping[str, Any]) -> bool:
        """Whether `cols` carry the logs this needs (strictly positive columns)."""
        return all(isinstance(cols.get(v), PositiveColumn) for v in self.variables)

    def __call__(
        self, z: np.ndarray, cols: Mapping[str, PositiveColumn], order: int
    ) -> tuple[np.ndarray, dict[int, Any] | None, dict[tuple[int, int], Any] | None]:
        """pred (K, m); for order >= 1 the derivatives {j: array} with respect to the
        internal coordinates z (K, P); for order 2 the second derivatives {(i, j): array},
        i <= j."""
        pred: np.ndarray | None = None
        T: dict[int, Any] = {}
        H: dict[tuple[int, int], Any] = {}
        for s, powers in self.terms:
            u: np.ndarray | None = None
            signed_logs = []
            for j, var, sign in powers:
                slog = cols[var].log if sign > 0 else -cols[var].log  # (1, m): cheap
                signed_logs.append(slog)
                if u is None:
                    u = z[:, j : j + 1] * slog
                else:
                    u += z[:, j : j + 1] * slog
            assert u is not None
            u += z[:, s : s + 1]
            np.exp(u, out=u)  # the term, scale * prod x ** (sign * exponent)
            if pred is None:
                pred = u.copy() if order >= 1 else u
            else:
                pred += u
            if order == 0:
                continue
            T[s] = u
            if order == 2:
                _add(H, s, s, u)
            for (j, _, _), slog in zip(powers, signed_logs, strict=True):
                T[j] = dj = u * slog
                if order == 2:
                    _add(H, s, j, dj)
                    for (k, _, _), slog_k in zip(powers, signed_logs, strict=True):
                        if k >= j:
                            _add(H, j, k, dj * slog_k)
        assert pred is not None
        if self.constant is not None:
            c = self.constant
            value = z[:, c : c + 1]
            if self.constant_log:
                value = np.exp(value)
            pred += value
            if order >= 1:
                T[c] = value if self.constant_log else UNIT
                if order == 2 and self.constant_log:
                    _add(H, c, c, value)
        if order == 0:
            return pred, None, None
        return pred, T, (H if order == 2 else None)


def _add(H: dict[tuple[int, int], Any], i: int, j: int, v: Any) -> None:
    key = (i, j) if i <= j else (j, i)
    H[key] = H[key] + v if key in H else v
