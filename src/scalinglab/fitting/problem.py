"""The objective of a batched robust fit: a law, its data and weights, evaluated for K
parameter sets at once and reduced to what the optimiser needs.

The objective lives in a `Problem`: the law, its data and the weights. A Problem never holds
a (starts x rows) array: every evaluation is a reduction over row chunks to what the
optimiser needs per start (the objective, its gradient, the PxP Gauss-Newton and Newton
matrices), so memory is bounded by the chunk, not by the table (10 million rows fit in the
same few hundred MB as ten thousand). Rows with identical inputs are evaluated once (the law
only sees unique inputs; residuals and weights stay per row).

`Problem.reduce` returns, per start, the Huber objective and (order >= 1) its gradient and
the IRLS matrix J^T W J; order 2 adds the exact Newton Hessian from second-order duals,
order "frozen" the Newton Hessian with residual curvature frozen at one point (the
bootstrap). The solver that uses them is `optimizer.levenberg_marquardt`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..laws.autodiff import UNIT, Dual, Dual2, PositiveColumn, value
from ..laws.base import Law

# One evaluation works on blocks of at most this many (start x row) pairs. Memory is then
# bounded whatever the table. The dual evaluation's few dozen temporaries per block (128,000
# bytes each) stay under glibc's 128 KiB mmap threshold, so they come from the heap instead
# of fresh pages. Blocks of 32,768 (256 KB temporaries) were mapped and unmapped on every
# call unless an earlier large allocation had raised the threshold: 24,000 -> 240,000 rows
# grew 1.65-1.78x in three runs, against 1.58-1.62x with these blocks. At 240,000 rows a
# Newton evaluation took 30 blocks of 8,192 rows, ~0.4 ms of call overhead each.
ROW_BLOCK = 16_000
# The matrix products that reduce each block to per-start sums (J^T W J, J^T psi, the
# objective) run on slices of at most this many (start x row) pairs: the same calls as when
# blocks were this size, below the size at which OpenBLAS starts threads (5 x 8,192 x 5
# per start), which on a busy machine made one product 30x slower.
MATMUL_BLOCK = 8192
# Tables at least this long are checked for rows with identical inputs (evaluated once).
AGGREGATE_MIN_ROWS = 4096
# The frozen residual curvature of the bootstrap is cached when it is at most this big.
CURVATURE_CACHE_BYTES = 256 << 20


@dataclass
class Reduction:
    """What the optimiser needs at K points: objective, gradient, IRLS and Newton matrices."""

    f: np.ndarray  # (K,)
    g: np.ndarray | None = None  # (K, P)
    H: np.ndarray | None = None  # (K, P, P) IRLS (Gauss-Newton with Huber weights)
    Hn: np.ndarray | None = None  # (K, P, P) exact Newton Hessian (order 2 / frozen)


def _columns(x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(1, n) arrays; strictly positive ones cache their log (fast powers)."""
    out = {}
    for k, v in x.items():
        v = np.asarray(v, dtype=float).reshape(1, -1)
        out[k] = PositiveColumn(v) if np.all(v > 0) else v
    return out


# (formula, column kinds) -> whether Dual2 runs through the formula (Problem._second_order_ok)
_SECOND_ORDER: dict[tuple, bool] = {}


def row_hashes(cols: list[np.ndarray]) -> np.ndarray:
    """One 64-bit hash per row of float columns (their bits mixed multiplicatively)."""
    h = np.zeros(cols[0].size, dtype=np.uint64)
    mult, shift = np.uint64(0x9E3779B97F4A7C15), np.uint64(29)
    with np.errstate(over="ignore"):
        for c in cols:
            h ^= (c + 0.0).view(np.uint64)  # + 0.0: -0.0 hashes as 0.0, as it compares
            h *= mult
            h ^= h >> shift
    return h


def _group_rows(x: Mapping[str, np.ndarray], n: int) -> np.ndarray | None:
    """Group ids (n,) of rows with identical inputs, or None when grouping would save less
    than half the law evaluations. Hash-based (pandas.factorize), linear in the rows; a
    random sample of 16 sqrt(n) rows decides first whether it is worth it (if half the rows
    repeat another, the sample holds ~64 repeated pairs; continuous inputs hold none)."""
    s = min(n, int(16 * np.sqrt(n)))
    if s < n:
        rows = np.random.default_rng(0).choice(n, s, replace=False)
        # one hash per sampled row (a collision can only lower the count, and then the
        # factorisation below decides): 0.3 ms where np.unique(axis=0) took 5 ms
        h = row_hashes([np.asarray(v, dtype=float).ravel()[rows] for v in x.values()])
        if np.unique(h).size > s - 8:
            return None
    codes = None
    for v in x.values():
        c, u = pd.factorize(np.asarray(v).ravel(), sort=False)
        if codes is None:
            if u.size > n // 2:
                return None
            codes, m = c.astype(np.int64), u.size
        else:
            codes, uniq = pd.factorize(codes * u.size + c, sort=False)
            m = uniq.size
        if m > n // 2:
            return None
    return codes


class Problem:
    """sum_i w_i Huber(r_i(z)) for one law on one table, evaluated in row chunks.

    cols: law variable -> (1, n) or (n,) array; y: the metric (n,); w: weights (n,).
    Per-start weights (bootstrap counts) are passed to each call as a (K, n) array in the
    table's row order.
    """

    def __init__(
        self,
        law: Law,
        cols: Mapping[str, np.ndarray],
        y: np.ndarray,
        w: np.ndarray,
        delta: float,
        *,
        aggregate: bool | None = None,
        block: int = ROW_BLOCK,
    ) -> None:
        self.law, self.delta, self.space = law, float(delta), law.space
        self.P = law.n_params
        self._mask, self._names = law.log_mask, law.param_names
        self.block = int(block)
        y = np.asarray(y, dtype=float)
        self.n = n = y.size
        x = {k: np.asarray(v).reshape(-1) for k, v in cols.items()}
        gid = None
        if aggregate or (aggregate is None and n >= AGGREGATE_MIN_ROWS):
            gid = _group_rows(x, n) if x else None
        if gid is None:
            self.perm = None
            self.gid = None
            self.cols = {k: _as_row(v) for k, v in cols.items()}
        else:
            order = np.argsort(gid, kind="stable")
            gid = gid[order]
            # Renumber groups in sorted order so that a row range maps to a group range.
            first = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
            self.gid = np.repeat(np.arange(first.size), np.diff(np.r_[first, n]))
            self.perm = order
            self.cols = _columns({k: v[order[first]] for k, v in x.items()})
            y, w = y[order], np.asarray(w, dtype=float)[order]
        self.m = self.n if self.gid is None else int(self.gid[-1]) + 1
        self.y = y
        with np.errstate(all="ignore"):
            self.target = np.log(y) if self.space == "log" else y
        self.w = np.asarray(w, dtype=float)
        self._unit_w = bool(np.all(self.w == 1.0))
        # The law's hand-derived derivatives where they describe it and its columns are
        # positive (they read the columns' logs); else the duals.
        closed = law.bound_closed_form
        self._closed = closed if closed is not None and closed.usable(self.cols) else None
        self.second_order: bool | None = None  # Dual2 works for this law (tried on first use)
        self._curv_z: np.ndarray | None = None
        self._curv: np.ndarray | None = None
        self._chunk_cache: dict[int, list[tuple]] = {}
        self._parts: list[Problem] = []  # the blocks of a `blocks` problem

    # -- construction helpers -----------------------------------------------------------
    @property
    def n_groups(self) -> int:
        return self.m

    def subset(self, rows: np.ndarray) -> Problem:
        """The same objective on a subset of the rows (indices in table order)."""
        cols = {k: _plain(v)[0] for k, v in self._table_cols().items()}
        y, w = self._table_y_w()
        return Problem(
            self.law,
            {k: v[rows] for k, v in cols.items()},
            y[rows],
            w[rows],
            self.delta,
            # rows that were all distinct stay distinct in a subset: no grouping to try
            aggregate=None if self.gid is not None else False,
            block=self.block,
        )

    def _table_cols(self) -> dict[str, np.ndarray]:
        """Columns in table row order ((1, n))."""
        if self.gid is None:
            return self.cols
        inv = np.empty(self.n, dtype=np.int64)
        inv[self.perm] = np.arange(self.n)
        g = self.gid[inv]
        return {k: _plain(v)[:, g] for k, v in self.cols.items()}

    def _table_y_w(self) -> tuple[np.ndarray, np.ndarray]:
        y = self.y
        if self.perm is None:
            return y, self.w
        inv = np.empty(self.n, dtype=np.int64)
        inv[self.perm] = np.arange(self.n)
        return y[inv], self.w[inv]

    def row_weights(self, W: np.ndarray | None) -> np.ndarray | None:
        """Per-start weights (K, n) in table order -> the problem's internal row order."""
        if W is None or self.perm is None:
            return W
        return W[:, self.perm]

    # -- chunking -------------------------------------------------------------------------
    def _chunks(self, K: int):
        """Row ranges [a, b) with, for aggregated rows, the group range and the local group
        of each row and the starts of each group within the range."""
        rows = max(16, self.block // max(1, K))
        if rows not in self._chunk_cache:
            out: list[tuple[int, int, int, int, np.ndarray | None, np.ndarray | None]] = []
            for a in range(0, self.n, rows):
                b = min(a + rows, self.n)
                if self.gid is None:
                    out.append((a, b, a, b, None, None))
                else:
                    g = self.gid[a:b]
                    g0, g1 = int(g[0]), int(g[-1]) + 1
                    loc = g - g0
                    starts = np.flatnonzero(np.r_[True, loc[1:] != loc[:-1]])
                    out.append((a, b, g0, g1, loc, starts))
            if len(self._chunk_cache) > 8:
                self._chunk_cache.clear()
            self._chunk_cache[rows] = out
        return self._chunk_cache[rows]

    # -- evaluation -------------------------------------------------------------------------
    def _eval_sparse(self, z: np.ndarray, cols: Mapping[str, np.ndarray], order: int):
        """pred (K, m); for order >= 1 the sparse first derivatives {j: array broadcastable
        to (K, m)} (None: the formula ignores its parameters); for order 2 the sparse second
        derivatives {(i, j): array broadcastable to (K, m)}. Called with numpy's
        floating-point warnings silenced (invalid predictions become an infinite objective)."""
        K = z.shape[0]
        m = next(iter(cols.values())).shape[1] if cols else 1
        if self._closed is not None:
            pred, t, h = self._closed(z, cols, order)
            return (pred if pred.shape == (K, m) else np.broadcast_to(pred, (K, m))), t, h
        mask, names = self._mask, self._names
        pub = z.copy()
        pub[:, mask] = np.exp(z[:, mask])
        kw: dict[str, Any] = dict(cols)
        if order == 0:
            for j, name in enumerate(names):
                kw[name] = pub[:, j : j + 1]
            out = value(self.law.formula(**kw))
            return (out if out.shape == (K, m) else np.broadcast_to(out, (K, m))), None, None
        for j, name in enumerate(names):
            p = pub[:, j : j + 1]
            d: Any = p if mask[j] else UNIT  # d public / d internal
            if order == 1:
                kw[name] = Dual(p, {j: d})
            else:  # second derivative: public for log-scale parameters, 0 otherwise
                kw[name] = Dual2(p, {j: d}, {(j, j): p} if mask[j] else {})
        out = self.law.formula(**kw)
        if not isinstance(out, (Dual, Dual2)):  # the formula ignores its parameters
            return np.broadcast_to(out, (K, m)), None, {}
        v = out.v if out.v.shape == (K, m) else np.broadcast_to(out.v, (K, m))
        return v, out.t, (out.h if isinstance(out, Dual2) else None)

    def _eval(self, z: np.ndarray, cols: Mapping[str, np.ndarray], order: int):
        """pred (K, m); for order >= 1 the dense Jacobian (K, P, m); for order 2 the sparse
        second derivatives (see `_eval_sparse`)."""
        pred, t, Hp = self._eval_sparse(z, cols, order)
        if order == 0:
            return pred, None, None
        J = np.zeros((z.shape[0], self.P, pred.shape[1]))
        for j, tj in (t or {}).items():
            J[:, j, :] = tj
        return pred, J, Hp

    def _second_order_ok(self) -> bool:
        """Whether second-order duals run through this law's formula (tried once per
        formula and column kinds: the trial cost 0.3 ms per optimiser call, 2% of a fit)."""
        if self.second_order is None:
            key: tuple | None = (
                self.law.formula,
                tuple((k, type(v).__name__) for k, v in self.cols.items()),
                self._closed is not None,  # a closed form's trial says nothing of the duals
            )
            try:
                known = _SECOND_ORDER.get(key)  # type: ignore[arg-type]
            except TypeError:  # an unhashable formula object: tried per problem
                key, known = None, None
            if known is None:
                lo, hi = self.law.internal_bounds()
                z = np.clip(np.zeros((1, self.P)), lo, hi)
                cols = {k: v[:, :2] for k, v in self.cols.items()}
                try:
                    with np.errstate(all="ignore"):
                        self._eval(z, cols, 2)
                    known = True
                except Exception:  # a formula Dual2 cannot run: finite differences instead
                    known = False
                if key is not None:
                    if len(_SECOND_ORDER) > 256:
                        _SECOND_ORDER.clear()
                    _SECOND_ORDER[key] = known
            self.second_order = known
        return bool(self.second_order)

    def value(
        self,
        z: np.ndarray,
        W: np.ndarray | None = None,
        delta: float | None = None,
        which: np.ndarray | None = None,
    ):
        """Objective (K,) at z (K, P); +inf where any residual is invalid."""
        return self.reduce(z, W, delta, order=0, which=which).f

    @classmethod
    def blocks(
        cls,
        law: Law,
        cols: Mapping[str, np.ndarray],
        y: np.ndarray,
        w: np.ndarray,
        delta: float,
        *,
        block: int = ROW_BLOCK,
    ) -> Problem:
        """F independent tables of m rows each, as (F, m) arrays: start k is scored on block
        which[k] (`reduce(..., which=)`), so starts fitted on different row sets (audit
        folds, each on its own row subsample) share one optimiser batch without any start
        evaluating another's rows. Each block is evaluated as its own Problem (views of the
        arrays, chunked alike): gathering every start's rows per chunk instead cost 6 array
        copies per chunk and made 8 folds of 24,000 rows slower than separate fits."""
        y, w = np.asarray(y, dtype=float), np.asarray(w, dtype=float)
        parts = [
            cls(
                law,
                {k: np.asarray(v, dtype=float)[f] for k, v in cols.items()},
                y[f],
                w[f],
                delta,
                aggregate=False,
                block=block,
            )  # fmt: skip
            for f in range(y.shape[0])
        ]
        parts[0]._parts = parts
        return parts[0]

    def _reduce_blocks(self, z, W, delta, order, which) -> Reduction:
        """`reduce` of a `blocks` problem: each block's starts on its own Problem."""
        K, P = z.shape
        f = np.empty(K)
        g = H = Hn = None
        for b in np.unique(which):
            sel = np.flatnonzero(which == b)
            red = self._parts[int(b)].reduce(z[sel], None if W is None else W[sel], delta, order)
            f[sel] = red.f
            if red.g is not None:
                g = np.empty((K, P)) if g is None else g
                g[sel] = red.g
            if red.H is not None:
                H = np.empty((K, P, P)) if H is None else H
                H[sel] = red.H
            if red.Hn is not None:
                Hn = np.empty((K, P, P)) if Hn is None else Hn
                Hn[sel] = red.Hn
        return Reduction(f=f, g=g, H=H, Hn=Hn)

    def reduce(
        self,
        z: np.ndarray,
        W: np.ndarray | None = None,
        delta: float | None = None,
        order: int | str = 1,
        which: np.ndarray | None = None,
    ) -> Reduction:
        """Objective and, for order >= 1, gradient and IRLS matrix; order 2 adds the exact
        Newton Hessian (Dual2), order "frozen" the Newton Hessian with residual curvature
        frozen at `set_curvature`'s point. W: per-start weights (K, n) in internal order
        (see `row_weights`), else the problem's own weights. which: (K,) the block of each
        start (a `blocks` problem only)."""
        delta = self.delta if delta is None else float(delta)
        z = np.asarray(z, dtype=float)
        if which is not None:
            return self._reduce_blocks(z, W, delta, order, which)
        K, P = z.shape
        frozen = order == "frozen"
        o = 1 if frozen else int(order)
        if o == 2 and not self._second_order_ok():
            red = self.reduce(z, W, delta, 1)
            red.Hn = self._fd_newton(z, W, delta, red.g)
            return red
        newton = o == 2 or frozen
        quadratic = delta >= 1e5  # least squares: every residual in the quadratic zone
        # sums over the chunks (the first chunk's arrays themselves: one chunk is the
        # common case)
        f: np.ndarray | None = None
        g: np.ndarray | None = None
        H: np.ndarray | None = None
        Hn: np.ndarray | None = None
        log = self.space == "log"
        unit = W is None and self._unit_w
        mm = max(16, MATMUL_BLOCK // K)  # rows per matrix product (see MATMUL_BLOCK)
        with np.errstate(all="ignore"):
            for a, b, g0, g1, loc, starts in self._chunks(K):
                if g0 == 0 and g1 == self.m:
                    cols = self.cols
                else:
                    cols = {k: v[:, g0:g1] for k, v in self.cols.items()}
                pred, T, Hp = self._eval_sparse(z, cols, o)
                wc = self.w[a:b] if W is None else W[:, a:b]
                drop = None if W is None else _dropped(pred, wc, loc, starts, log)
                if drop is not None:  # invalid only where the start's weight is 0: absent
                    pred = np.where(drop, 1.0, pred)
                # log of a non-positive prediction is NaN or -inf: an infinite objective
                r = np.log(pred) if log else np.array(pred)
                if loc is not None:
                    r = r[:, loc]
                r -= self.target[a:b]
                if quadratic:
                    psi = r
                    hub = 0.5 * r * r
                else:
                    psi = np.clip(r, -delta, delta)
                    hub = psi * (r - 0.5 * psi)
                fc = _dot_rows(hub, wc, mm) if wc.ndim == 1 else np.einsum("kn,kn->k", hub, wc)
                f = _acc(f, fc)  # a NaN or infinite chunk makes f so (weights are >= 0)
                if o == 0:
                    continue
                wpsi = psi if unit else wc * psi
                if quadratic:
                    # unit weights: J^T W J is J^T J (skip a pass that multiplies by 1)
                    plain_w = unit and loc is None
                    if newton or not plain_w:
                        inside = np.broadcast_to(wc, r.shape)
                    wirls: np.ndarray | None = None if plain_w else inside
                else:
                    ar = np.abs(r)
                    wirls = delta / np.maximum(ar, delta)  # psi(r)/r
                    plain_w = unit and loc is None  # (reduceat below needs float weights)
                    if not plain_w:
                        wirls *= wc
                    if newton:
                        inside = (ar <= delta) if plain_w else wc * (ar <= delta)
                if loc is not None:  # sum row weights within each group
                    wpsi = np.add.reduceat(wpsi, starts, axis=1)
                    wirls = np.add.reduceat(inside if wirls is None else wirls, starts, axis=1)
                    if newton:
                        inside = np.add.reduceat(inside, starts, axis=1)
                # The residual Jacobian (K, P, m), written straight from the sparse tangents
                # (one pass per parameter: no dense J to fill and divide).
                # In log space d log(pred) = d pred / pred: one reciprocal, then products
                # (a division costs ~4 products; 5 of them were 10% of a warm-up evaluation).
                Jr = np.empty((K, P, pred.shape[1]))
                inv = 1.0 / pred if log else None
                for j in range(P):
                    tj = 0.0 if T is None else T.get(j, 0.0)
                    if inv is not None:
                        np.multiply(tj, inv, out=Jr[:, j, :])
                    else:
                        Jr[:, j, :] = tj
                if drop is not None:
                    Jr[np.broadcast_to(drop[:, None, :], Jr.shape)] = 0.0
                JrT = np.swapaxes(Jr, 1, 2)
                g = _acc(g, _dot_rows(Jr, wpsi[:, :, None], mm)[:, :, 0])
                # Never Jr @ JrT itself: numpy sends a stacked product of an array with its
                # own transpose to a per-start syrk that is 4.7x slower than gemm here
                # (32 starts x 5 x 240 rows: 63 us; a copy and gemm: 8 + 13.5 us).
                JW = Jr.copy() if wirls is None else Jr * wirls[:, None, :]
                H = _acc(H, _dot_rows(JW, JrT, mm))
                if o == 2:
                    JN = Jr * (inside - wpsi if log else inside)[:, None, :]
                    Hn = _acc(Hn, _dot_rows(JN, JrT, mm))
                    if Hp:
                        coef = wpsi * inv if inv is not None else wpsi
                        pairs = list(Hp)
                        stack = np.empty((K, len(pairs), coef.shape[1]))
                        for e, ij in enumerate(pairs):
                            stack[:, e, :] = Hp[ij]
                        if drop is not None:
                            stack[np.broadcast_to(drop[:, None, :], stack.shape)] = 0.0
                        # per-start matrix-vector products (an einsum took 3x longer)
                        S = (stack @ coef[:, :, None])[:, :, 0]
                        ii, jj, off = _pair_index(tuple(pairs))
                        Hn[:, ii, jj] += S
                        Hn[:, jj[off], ii[off]] += S[:, off]
                elif frozen:
                    Hn = _acc(Hn, _dot_rows(Jr * inside[:, None, :], JrT, mm))
                    C = self._curvature_chunk(g0, g1)  # (m, P*P)
                    Hn += _dot_rows(wpsi, C, mm).reshape(K, P, P)
        if f is None:  # no rows
            f = np.zeros(K)
            g, H = (np.zeros((K, P)), np.zeros((K, P, P))) if o >= 1 else (None, None)
            Hn = np.zeros((K, P, P)) if newton else None
        f[~np.isfinite(f)] = np.inf
        return Reduction(f=f, g=g, H=H, Hn=Hn)

    def _fd_newton(self, z, W, delta, g, which=None):
        """Newton Hessian by forward differences of the exact gradient (P extra gradient
        evaluations per start), for formulas that second-order duals cannot run."""
        K, P = z.shape
        eye = np.eye(P)
        h = 1e-6 * (1.0 + np.abs(z))
        zp = (z[:, None, :] + h[:, None, :] * eye[None]).reshape(K * P, P)
        Wp = None if W is None else np.repeat(W, P, axis=0)
        wp = None if which is None else np.repeat(which, P)
        gp = self.reduce(zp, Wp, delta, 1, wp).g.reshape(K, P, P)  # [start, shifted, grad]
        Hn = (gp - g[:, None, :]) / h[:, :, None]
        return 0.5 * (Hn + np.swapaxes(Hn, 1, 2))

    # -- frozen curvature (bootstrap) -------------------------------------------------------
    def set_curvature(self, z: np.ndarray) -> None:
        """Freeze the residuals' second derivatives at z (P,) for order="frozen"."""
        self._curv_z = np.asarray(z, dtype=float).reshape(1, -1)
        self._curv = None
        if self.m * self.P * self.P * 8 <= CURVATURE_CACHE_BYTES:
            self._curv = self._curvature(0, self.m)

    def _curvature_chunk(self, g0: int, g1: int) -> np.ndarray:
        if self._curv is not None:
            return self._curv[g0:g1]
        return self._curvature(g0, g1)

    def _curvature(self, g0: int, g1: int) -> np.ndarray:
        """(m, P*P) second derivatives of each residual at the frozen point."""
        z, P = self._curv_z, self.P
        assert z is not None, "set_curvature() first"
        cols = {k: v[:, g0:g1] for k, v in self.cols.items()}
        m = g1 - g0
        with np.errstate(all="ignore"):
            if self._second_order_ok():
                pred, J, Hp = self._eval(z, cols, 2)
                C = np.zeros((P, P, m))
                for (i, j), hij in Hp.items():
                    C[i, j] = C[j, i] = np.broadcast_to(hij, (1, m))[0]
                pred = pred[0]
                if self.space == "log":
                    Jr = J[0] / pred  # (P, m)
                    C = C / pred - Jr[:, None, :] * Jr[None, :, :]
            else:  # forward differences of the exact residual Jacobian
                h = 1e-6 * (1.0 + np.abs(z[0]))
                zs = np.vstack([z, z + np.diag(h)])
                pred, J, _ = self._eval(zs, cols, 1)  # J: (1 + P, P, m)
                Jr = J / pred[:, None, :] if self.space == "log" else J
                C = (Jr[1:] - Jr[:1]) / h[:, None, None]  # [shifted q, p, m]
                C = 0.5 * (C + np.swapaxes(C, 0, 1))
        # A point at an infinite bound has no finite curvature: zero it there, the
        # Gauss-Newton part carries the step.
        C = np.where(np.isfinite(C), C, 0.0)
        return np.ascontiguousarray(np.transpose(C, (2, 0, 1)).reshape(m, P * P))


@functools.lru_cache(maxsize=64)
def _pair_index(pairs: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column indices of a Dual2's second-derivative pairs, and which are off the
    diagonal: the same few pairs at every evaluation of a law."""
    ii, jj = np.array(pairs).T
    off = ii != jj
    for a in (ii, jj, off):
        a.flags.writeable = False
    return ii, jj, off


def _acc(total: np.ndarray | None, part: np.ndarray) -> np.ndarray:
    """total + part, in place; part itself when there is no total yet (a fresh array)."""
    if total is None:
        return part
    total += part
    return total


def _dot_rows(a: np.ndarray, b: np.ndarray, step: int) -> np.ndarray:
    """a @ b, contracted over rows (a's last axis; b's only or second-to-last axis), summed
    over slices of at most `step` rows: the BLAS calls of a long block stay as small as
    MATMUL_BLOCK says."""
    m = a.shape[-1]
    if m <= step:
        return a @ b
    rows = (lambda s: b[s]) if b.ndim == 1 else (lambda s: b[..., s, :])
    out = a[..., :step] @ rows(slice(0, step))
    for s in range(step, m, step):
        out += a[..., s : s + step] @ rows(slice(s, s + step))
    return out


def _dropped(pred, wc, loc, starts, log: bool) -> np.ndarray | None:
    """(K, m) rows (groups) whose prediction is invalid but whose weight for that start is
    0, or None: a row a resample or an audit fold leaves out must not make its objective
    infinite (it is absent, as in a fit on a copy of the other rows)."""
    inval = ~np.isfinite(pred)
    if log:
        inval |= pred <= 0
    if not inval.any():
        return None
    gw = wc if loc is None else np.add.reduceat(wc, starts, axis=1)
    drop = inval & (gw == 0)
    return drop if drop.any() else None


def _plain(v: np.ndarray) -> np.ndarray:
    return v.view(np.ndarray) if isinstance(v, PositiveColumn) else np.asarray(v)


def _as_row(v: np.ndarray) -> np.ndarray:
    if isinstance(v, PositiveColumn):
        return v if v.ndim == 2 else v.reshape_rows((1, -1))
    v = np.asarray(v, dtype=float)
    if v.ndim == 2:
        return v
    return _columns({"v": v})["v"]
