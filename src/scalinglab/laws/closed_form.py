"""Hand-derived values and derivatives for laws that are sums of power terms.

Why: a fit evaluates its law with first or second derivatives for a batch of starts about
twenty times (Chinchilla's 240 points: 9 warm-up and 7 refinement evaluations). Dual
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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .autodiff import UNIT, PositiveColumn

if TYPE_CHECKING:
    from .base import Law


@dataclass(frozen=True)
class PowerTerm:
    """scale * prod_v x_v ** (sign_v * exponent_v): `scale` a log-space parameter, each
    power (exponent parameter, variable, sign) a linear exponent of a positive variable
    (sign -1 for A / x**alpha, +1 for k * x**alpha)."""

    scale: str
    powers: tuple[tuple[str, str, float], ...]

    def __post_init__(self) -> None:
        for _, _, sign in self.powers:
            if sign not in (-1, 1):  # a factor in the exponent belongs in the formula text
                raise ValueError(f"a power's sign must be -1 or +1, not {sign!r}")


@dataclass(frozen=True)
class PowerSum:
    """[constant +] sum of `PowerTerm`s, the closed form of `formula`."""

    formula: Callable[..., Any]
    terms: tuple[PowerTerm, ...]
    constant: str | None = None

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for t in self.terms for _, v, _ in t.powers))

    def bind(self, law: Law) -> BoundPowerSum | None:
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


# Fewer starts than this are evaluated term by term unless their table's exponent matrix is
# cached (see `BoundPowerSum._terms`).
FEW_STARTS = 4
# The exponent matrix of a table is kept (for the last few tables) when it has at most this
# many entries (5 parameters x 2 terms x 6,500 rows) and the table's logs own their memory
# (not a view of a longer column, which the cache would keep alive).
DESIGN_CACHE_SIZE = 1 << 16


@dataclass(frozen=True)
class BoundPowerSum:
    """A `PowerSum` with parameter indices: evaluates like `Problem._eval_sparse`."""

    terms: tuple[tuple[int, tuple[tuple[int, str, float], ...]], ...]
    constant: int | None
    constant_log: bool
    variables: tuple[str, ...]
    # (the columns' logs, exponent matrix) of the last tables seen; see `_design`
    _designs: list[tuple[tuple[np.ndarray, ...], np.ndarray]] = field(
        default_factory=list, compare=False, repr=False
    )

    def usable(self, cols: Mapping[str, Any]) -> bool:
        """Whether `cols` carry the logs this needs: strictly positive (1, m) columns."""
        return all(
            isinstance(c, PositiveColumn) and c.ndim == 2 and c.shape[0] == 1
            for c in (cols.get(v) for v in self.variables)
        )

    def _cached(self, cols: Mapping[str, Any]) -> np.ndarray | None:
        """The exponent matrix kept for these columns (by their logs' identity: the cache
        holds them, so an id cannot be reused), or None."""
        logs = [cols[v].log for v in self.variables]
        for seen, M in self._designs:
            if all(a is b for a, b in zip(seen, logs, strict=True)):
                return M
        return None

    def _design(self, cols: Mapping[str, Any], P: int) -> np.ndarray:
        """(n_terms, P, m): z @ it is every term's exponent, a + sum sign * alpha * log x,
        each term's a contiguous (K, m) array (products with a term strided by its
        neighbours took 40% longer). Kept for the last small tables seen: a fit evaluates
        one table ~20 times."""
        M = self._cached(cols)
        if M is not None:
            return M
        logs = tuple(cols[v].log for v in self.variables)
        m = logs[0].shape[-1]
        M = np.zeros((len(self.terms), P, m))
        for t, (s, powers) in enumerate(self.terms):
            M[t, s] = 1.0
            for j, var, sign in powers:
                M[t, j] += sign * cols[var].log.reshape(-1)
        if M.size <= DESIGN_CACHE_SIZE and all(log.base is None for log in logs):
            self._designs[:] = [(logs, M), *self._designs[:3]]
        return M

    def _terms(self, z: np.ndarray, cols: Mapping[str, Any]) -> list[np.ndarray]:
        """Each term, scale * prod x ** (sign * exponent), (K, m).

        One matrix product and one exp for all terms: the outer products alpha * log N and
        their sums took 31 us for 32 starts x 240 rows, this 18 (it rounds once, as a fused
        multiply-add, where the products round twice: 2e-15 apart). A non-finite z (an
        infinite product with a 0 of the matrix) is evaluated term by term, and so are a
        few starts on a table whose matrix is not cached (one start on 16,000 rows: the
        matrix would cost more to build than the products)."""
        few = z.shape[0] < FEW_STARTS and self._cached(cols) is None
        if few or not np.isfinite(z).all():
            out = []
            for s, powers in self.terms:
                u = np.repeat(z[:, s : s + 1], cols[self.variables[0]].shape[-1], axis=1)
                for j, var, sign in powers:
                    u += z[:, j : j + 1] * (sign * cols[var].log)
                out.append(np.exp(u, out=u))
            return out
        args = z @ self._design(cols, z.shape[1])  # (n_terms, K, m)
        np.exp(args, out=args)
        return list(args)

    def __call__(
        self, z: np.ndarray, cols: Mapping[str, Any], order: int
    ) -> tuple[np.ndarray, dict[int, Any] | None, dict[tuple[int, int], Any] | None]:
        """pred (K, m); for order >= 1 the derivatives {j: array} with respect to the
        internal coordinates z (K, P); for order 2 the second derivatives {(i, j): array},
        i <= j."""
        T: dict[int, Any] = {}
        H: dict[tuple[int, int], Any] = {}
        terms = self._terms(z, cols)
        pred = terms[0] + terms[1] if len(terms) > 1 else terms[0].copy()
        for u in terms[2:]:
            pred += u
        if order >= 1:
            for u, (s, powers) in zip(terms, self.terms, strict=True):
                T[s] = u
                if order == 2:
                    _add(H, s, s, u)
                signed_logs = [sign * cols[var].log for _, var, sign in powers]  # (1, m)
                for (j, _, _), slog in zip(powers, signed_logs, strict=True):
                    T[j] = dj = u * slog
                    if order == 2:
                        _add(H, s, j, dj)
                        for (k, _, _), slog_k in zip(powers, signed_logs, strict=True):
                            if k >= j:
                                _add(H, j, k, dj * slog_k)
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
