"""Forward-mode automatic differentiation over numpy arrays (dual numbers).

Why: a law's formula is written once, with plain numpy operators, and the fitter needs its
Jacobian with respect to every parameter for thousands of parameter sets at once. A `Dual`
carries a value of shape S and one tangent of shape S per parameter it depends on; numpy
broadcasting does the rest, so
the same formula yields predictions and exact Jacobians without finite differences and
without a heavyweight AD framework (no torch or jax in the core install).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The tangent of a parameter with respect to itself when it is not rescaled: a value times
# UNIT is the value itself, so no pass multiplies an array by ones (2 of the ~22 array passes
# of Chinchilla's formula with first derivatives). A fresh float object, compared by identity.
UNIT = float("1")


def _times(a: Any, b: Any) -> Any:
    """a * b, skipping a multiplication by the UNIT tangent (the same values)."""
    if a is UNIT:
        return b
    if b is UNIT:
        return a
    return a * b


class Dual:
    """A value with its derivatives with respect to P parameters.

    Tangents are stored sparsely, {parameter index: array}: a parameter's tangent is one-hot,
    and most intermediate quantities of a law depend on one or two parameters, so only the
    derivatives that can be non-zero are ever computed (3-5x less work than dense tangents).
    """

    __slots__ = ("v", "t")
    __array_priority__ = 1000

    def __init__(self, v: np.ndarray, t: dict[int, np.ndarray]) -> None:
        self.v = v
        self.t = t

    def _scaled(self, factor: Any) -> dict[int, np.ndarray]:
        return {j: _times(tj, factor) for j, tj in self.t.items()}

    @staticmethod
    def _combine(a: dict[Any, np.ndarray], b: dict[Any, np.ndarray]) -> dict[Any, np.ndarray]:
        out = dict(a)
        for j, tj in b.items():
            out[j] = out[j] + tj if j in out else tj
        return out

    # -- arithmetic -------------------------------------------------------------------
    def __add__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            return Dual(self.v + o.v, self._combine(self.t, o.t))
        return Dual(self.v + o, self.t)

    __radd__ = __add__

    def __sub__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            return Dual(self.v - o.v, self._combine(self.t, o._scaled(-1.0)))
        return Dual(self.v - o, self.t)

    def __rsub__(self, o: Any) -> Dual:
        return Dual(o - self.v, self._scaled(-1.0))

    def __neg__(self) -> Dual:
        return Dual(-self.v, self._scaled(-1.0))

    def __pos__(self) -> Dual:
        return self

    def __mul__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            return Dual(self.v * o.v, self._combine(self._scaled(o.v), o._scaled(self.v)))
        return Dual(self.v * o, self._scaled(o))

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            inv = 1.0 / o.v
            v = self.v * inv
            return Dual(v, self._combine(self._scaled(inv), o._scaled(-v * inv)))
        inv = 1.0 / o
        return Dual(self.v * inv, self._scaled(inv))

    def __rtruediv__(self, o: Any) -> Dual:
        inv = 1.0 / self.v
        v = o * inv
        return Dual(v, self._scaled(-v * inv))

    def __pow__(self, o: Any) -> Dual:
        if isinstance(o, Dual):
            v = self.v**o.v
            return Dual(
                v, self._combine(self._scaled(o.v * v / self.v), o._scaled(v * np.log(self.v)))
            )
        if np.isscalar(o) and o == 2:
            return Dual(self.v * self.v, self._scaled(2.0 * self.v))
        v = self.v**o
        return Dual(v, self._scaled(o * self.v ** (o - 1)))

    def __rpow__(self, o: Any) -> Dual:
        log_o = o.log if isinstance(o, PositiveColumn) else np.log(o)
        v = np.exp(self.v * log_o)
        return Dual(v, self._scaled(v * log_o))

    # -- numpy ufuncs (np.exp(dual), ndarray ** dual, ...) ---------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _array_ufunc(ufunc, method, inputs, kwargs)

    def dense_tangent(self, n_params: int, shape: tuple[int, ...]) -> np.ndarray:
        """(P, *shape) array of all derivatives (zeros where a parameter has no effect)."""
        out = np.zeros((n_params, *shape))
        for j, tj in self.t.items():
            out[j] = tj
        return out


def _exp(x: Dual) -> Dual:
    v = np.exp(x.v)
    return Dual(v, x._scaled(v))


def _log(x: Dual) -> Dual:
    return Dual(np.log(x.v), x._scaled(1.0 / x.v))


def _log10(x: Dual) -> Dual:
    return Dual(np.log10(x.v), x._scaled(1.0 / (x.v * np.log(10.0))))


def _sqrt(x: Dual) -> Dual:
    v = np.sqrt(x.v)
    return Dual(v, x._scaled(0.5 / v))


def _log1p(x: Dual) -> Dual:
    return Dual(np.log1p(x.v), x._scaled(1.0 / (1.0 + x.v)))


def _expm1(x: Dual) -> Dual:
    return Dual(np.expm1(x.v), x._scaled(np.exp(x.v)))


def _tanh(x: Dual) -> Dual:
    v = np.tanh(x.v)
    return Dual(v, x._scaled(1.0 - v * v))


def _abs(x: Dual) -> Dual:
    return Dual(np.abs(x.v), x._scaled(np.sign(x.v)))


_UNARY = {
    np.exp: _exp,
    np.log: _log,
    np.log10: _log10,
    np.sqrt: _sqrt,
    np.log1p: _log1p,
    np.expm1: _expm1,
    np.tanh: _tanh,
    np.abs: _abs,
    np.negative: Dual.__neg__,
    np.positive: Dual.__pos__,
}

_BINARY = {
    np.add: ("__add__", "__radd__"),
    np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"),
    np.true_divide: ("__truediv__", "__rtruediv__"),
    np.power: ("__pow__", "__rpow__"),
}


class Dual2:
    """A value with its first and second derivatives with respect to P parameters.

    Second-order forward mode: `t` holds first derivatives {j: array} and `h` second
    derivatives {(i, j): array} for i <= j, both sparse like `Dual`'s tangents (in
    E + A/N^alpha + B/D^beta only 7 of the 15 second derivatives are non-zero). One
    evaluation gives the exact Hessian of every residual, where finite differences of the
    gradient would cost P more evaluations. Supports the operators and ufuncs `Dual` does.
    """

    __slots__ = ("v", "t", "h")
    __array_priority__ = 1000

    def __init__(
        self,
        v: np.ndarray,
        t: dict[int, np.ndarray],
        h: dict[tuple[int, int], np.ndarray],
    ) -> None:
        self.v = v
        self.t = t
        self.h = h

    def _scaled(self, c: Any) -> Dual2:
        return Dual2(
            self.v * c,
            {j: _times(tj, c) for j, tj in self.t.items()},
            {ij: hij * c for ij, hij in self.h.items()},
        )

    def _unary(self, f0: Any, f1: Any, f2: Any) -> Dual2:
        """f(self) given f, f' and f'' at self.v."""
        t = {j: _times(f1, tj) for j, tj in self.t.items()}
        h: dict[tuple[int, int], np.ndarray] = {ij: f1 * hij for ij, hij in self.h.items()}
        keys = sorted(self.t)
        for a, i in enumerate(keys):
            ti = _times(f2, self.t[i])
            for j in keys[a:]:
                term = _times(ti, self.t[j])
                h[(i, j)] = h[(i, j)] + term if (i, j) in h else term
        return Dual2(f0, t, h)

    # -- arithmetic -------------------------------------------------------------------
    def __add__(self, o: Any) -> Dual2:
        if isinstance(o, Dual2):
            return Dual2(self.v + o.v, Dual._combine(self.t, o.t), Dual._combine(self.h, o.h))
        return Dual2(self.v + o, self.t, self.h)

    __radd__ = __add__

    def __neg__(self) -> Dual2:
        return self._scaled(-1.0)

    def __pos__(self) -> Dual2:
        return self

    def __sub__(self, o: Any) -> Dual2:
        if isinstance(o, Dual2):
            return self + (-o)
        return Dual2(self.v - o, self.t, self.h)

    def __rsub__(self, o: Any) -> Dual2:
        return (-self) + o

    def __mul__(self, o: Any) -> Dual2:
        if not isinstance(o, Dual2):
            return self._scaled(o)
        a, b = self, o
        t = Dual._combine(
            {j: _times(tj, b.v) for j, tj in a.t.items()},
            {j: _times(tj, a.v) for j, tj in b.t.items()},
        )
        h = Dual._combine(
            {ij: hij * b.v for ij, hij in a.h.items()},
            {ij: hij * a.v for ij, hij in b.h.items()},
        )
        for i, ai in a.t.items():
            for j, bj in b.t.items():
                term = _times(ai, bj)
                if i == j:
                    term = 2.0 * term
                key = (i, j) if i <= j else (j, i)
                h[key] = h[key] + term if key in h else term
        return Dual2(a.v * b.v, t, h)

    __rmul__ = __mul__

    def _reciprocal(self) -> Dual2:
        inv = 1.0 / self.v
        inv2 = inv * inv
        return self._unary(inv, -inv2, 2.0 * inv2 * inv)

    def __truediv__(self, o: Any) -> Dual2:
        if isinstance(o, Dual2):
            return self * o._reciprocal()
        return self._scaled(1.0 / o)

    def __rtruediv__(self, o: Any) -> Dual2:
        return self._reciprocal() * o

    def __pow__(self, o: Any) -> Dual2:
        if isinstance(o, Dual2):
            return _exp2(o * _log2(self))
        if np.isscalar(o) and o == 2:
            return self * self
        v = self.v**o
        v1 = o * self.v ** (o - 1)
        return self._unary(v, v1, (o - 1) * v1 / self.v)

    def __rpow__(self, o: Any) -> Dual2:
        log_o = o.log if isinstance(o, PositiveColumn) else np.log(o)
        return _exp2(self * log_o)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _array_ufunc(ufunc, method, inputs, kwargs)


def _exp2(x: Dual2) -> Dual2:
    v = np.exp(x.v)
    return x._unary(v, v, v)


def _log2(x: Dual2) -> Dual2:
    inv = 1.0 / x.v
    return x._unary(np.log(x.v), inv, -inv * inv)


def _log10_2(x: Dual2) -> Dual2:
    inv = 1.0 / (x.v * np.log(10.0))
    return x._unary(np.log10(x.v), inv, -inv / x.v)


def _sqrt2(x: Dual2) -> Dual2:
    v = np.sqrt(x.v)
    return x._unary(v, 0.5 / v, -0.25 / (v * x.v))


def _log1p2(x: Dual2) -> Dual2:
    inv = 1.0 / (1.0 + x.v)
    return x._unary(np.log1p(x.v), inv, -inv * inv)


def _expm12(x: Dual2) -> Dual2:
    e = np.exp(x.v)
    return x._unary(np.expm1(x.v), e, e)


def _tanh2(x: Dual2) -> Dual2:
    v = np.tanh(x.v)
    d = 1.0 - v * v
    return x._unary(v, d, -2.0 * v * d)


def _abs2(x: Dual2) -> Dual2:
    return x._unary(np.abs(x.v), np.sign(x.v), 0.0)


_UNARY2 = {
    np.exp: _exp2,
    np.log: _log2,
    np.log10: _log10_2,
    np.sqrt: _sqrt2,
    np.log1p: _log1p2,
    np.expm1: _expm12,
    np.tanh: _tanh2,
    np.abs: _abs2,
    np.negative: Dual2.__neg__,
    np.positive: Dual2.__pos__,
}


def _array_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    """numpy ufuncs on Dual / Dual2 (np.exp(dual), ndarray ** dual, ...)."""
    if method != "__call__" or kwargs:
        return NotImplemented
    if len(inputs) == 2:
        a, b = inputs
        op = _BINARY.get(ufunc)
        if op is None:
            return NotImplemented
        if not isinstance(a, (Dual, Dual2)):
            return getattr(b, op[1])(a)
        return getattr(a, op[0])(b)
    x = inputs[0]
    fn: Any = _UNARY2.get(ufunc) if isinstance(x, Dual2) else _UNARY.get(ufunc)
    if fn is None:
        return NotImplemented
    return fn(x)


AD_TYPES = (Dual, Dual2)


class PositiveColumn(np.ndarray):
    """A strictly positive data column that caches its logarithm.

    Scaling laws raise data to fitted powers (N^alpha) thousands of times per fit;
    exp(alpha * log N) with log N computed once is ~2x faster than np.power. Every other
    ufunc sees a plain ndarray, so results never carry a stale cached log.
    """

    log: np.ndarray

    def __new__(cls, values: np.ndarray) -> PositiveColumn:
        arr = np.asarray(values, dtype=float)
        obj = arr.view(cls)
        obj.log = np.log(arr)
        return obj

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if ufunc is np.power and method == "__call__" and not kwargs and inputs[0] is self:
            expo = inputs[1]
            if isinstance(expo, AD_TYPES):
                return expo.__rpow__(self)
            return np.exp(np.multiply(expo, self.log))
        if any(isinstance(x, AD_TYPES) for x in inputs):
            plain = tuple(
                x.view(np.ndarray) if isinstance(x, PositiveColumn) else x for x in inputs
            )
            for x in plain:
                if isinstance(x, AD_TYPES):
                    return x.__array_ufunc__(ufunc, method, *plain, **kwargs)
        plain = tuple(x.view(np.ndarray) if isinstance(x, PositiveColumn) else x for x in inputs)
        return getattr(ufunc, method)(*plain, **kwargs)

    def __getitem__(self, key: Any) -> Any:
        out = self.view(np.ndarray)[key]
        if isinstance(out, np.ndarray) and out.ndim == self.ndim:
            col = out.view(PositiveColumn)
            col.log = self.log[key]  # the cached log, sliced alike (not recomputed)
            return col
        return out

    def reshape_rows(self, shape: tuple[int, ...]) -> PositiveColumn:
        """This column reshaped (e.g. (1, n) -> (1, 1, ..., n)), with its cached log."""
        col = self.view(np.ndarray).reshape(shape).view(PositiveColumn)
        col.log = self.log.reshape(shape)
        return col


def value(x: Any) -> np.ndarray:
    """The value part of a Dual, or the array itself."""
    return x.v if isinstance(x, AD_TYPES) else np.asarray(x)
