"""Diagnostics of one fit, from what the search already has (end point, Jacobian, data).

Why each check exists: a multi-start search reports the lowest objective it found and the
optimiser's convergence flag, and neither says whether the answer means anything. A curve
can converge flat (a sigmoid whose midpoint sits far from the data), two parameters can
trade off along a valley the data cannot resolve (B and beta when D barely varies), and a
law with as many parameters as points interpolates. These are cheap to detect at the
optimum, so every fit is checked.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..laws.base import Law, Parameter
from .problem import MATMUL_BLOCK, ROW_BLOCK, _dot_rows, row_hashes

# The fitted curve is "flat" when its predictions over the fit data vary by less than this
# share of the metric's own spread (both standard deviations, in the residual space).
FLAT_SHARE = 0.05
# A direction in (column-normalised) parameter space is "not identified" when its singular
# value is below this share of the largest: the data change the fit by < 1e-6 relative along
# it, so the bootstrap spreads along it without bound.
IDENTIFIED_RATIO = 1e-6


def _space(v: np.ndarray, space: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.log(v) if space == "log" else v


SORT_ROWS = 20_000  # up to here the duplicate-row check sorts; beyond it, it hashes


def _n_unique_rows(cols: list[np.ndarray]) -> int:
    """Distinct rows of equal-length float columns. Small tables sort; long ones hash each
    row to one integer first: distinct hashes prove distinct rows (a collision can only
    lower the count), so only a table whose hashes repeat is checked row by row. At
    240,000 rows: ~15 ms, against 0.5 s for a row sort and 0.13 s for pandas' duplicated."""
    n = cols[0].size
    if n <= SORT_ROWS:  # a sort of a small array: 0.07 ms at 240 rows (pandas: 1.6 ms)
        # rows sorted by value (lexsort; np.unique(axis=0) took 0.3 ms at 240 rows), then
        # equal neighbours counted: -0.0 equals 0.0 as in the hashes below
        rows = np.column_stack(cols)[np.lexsort(cols)]
        return n - int(np.count_nonzero((rows[1:] == rows[:-1]).all(axis=1)))
    # The hashes' top 32 bits, sorted by two stable 16-bit radix passes (3 ms at 240,000
    # rows, against 10 ms for np.sort of the 64-bit hashes). Rows whose key no other row
    # shares are distinct; only the rows that share one (~n^2 / 2^32 of them by chance: 13
    # at 240,000 rows) are compared exactly.
    key = (row_hashes(cols) >> np.uint64(32)).astype(np.uint32)
    order = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    order = order[np.argsort((key[order] >> 16).astype(np.uint16), kind="stable")]
    ks = key[order]
    same = ks[1:] == ks[:-1]
    if not same.any():
        return n
    shared = np.zeros(n, dtype=bool)
    shared[order[1:][same]] = shared[order[:-1][same]] = True
    frame = pd.DataFrame({f"c{i}": c[shared] for i, c in enumerate(cols)})
    return n - int(frame.duplicated().sum())


def data_diagnostics(
    law: Law, x: Mapping[str, np.ndarray], y: np.ndarray, columns: Mapping[str, str]
) -> list[Diagnostic]:
    """Degenerate inputs, independent of the fit: constant target, one-valued variables,
    identical rows."""
    out: list[Diagnostic] = []
    if y.size and np.all(y == y[0]):
        out.append(
            Diagnostic(
                "constant_target",
                "error",
                f"the metric has the same value ({y[0]:.6g}) in all {y.size} rows: there is "
                "nothing for a law to explain",
            )
        )
    for var in law.variables:
        v = np.asarray(x[var], dtype=float)
        if v.size > 1 and np.all(v == v[0]):
            col = columns.get(var, var)
            out.append(
                Diagnostic(
                    "single_value",
                    "warning",
                    f"variable '{var}' (column '{col}') is {v[0]:.6g} in every row: the "
                    f"parameters that act through it are not determined by this data, and "
                    f"predictions at other values of '{var}' are guesses",
                    (var,),
                )
            )
    cols = [np.asarray(x[v], dtype=float) for v in law.variables]
    n_unique = _n_unique_rows([*cols, np.asarray(y, dtype=float)])
    if n_unique < len(y):
        out.append(
            Diagnostic(
                "duplicate_rows",
                "warning",
                f"{len(y) - n_unique} of {len(y)} rows repeat another row exactly (inputs and "
                "metric): each copy counts as a separate observation",
            )
        )
    return out


def fit_diagnostics(
    law: Law,
    best: np.ndarray,
    cols: Mapping[str, np.ndarray],
    y: np.ndarray,
    w: np.ndarray,
    *,
    objective: float,
    converged: bool,
    at_bounds: list[str],
    max_iter: int,
) -> list[Diagnostic]:
    """Diagnostics at the optimum `best` (public units). `cols` are shaped (1, n)."""
    out: list[Diagnostic] = []
    n, P = y.size, law.n_params
    if not np.isfinite(objective):
        out.append(
            Diagnostic(
                "no_finite_objective",
                "error",
                "no start gave a finite objective: the law cannot describe this data with "
                "these bounds/grid",
            )
        )
        return out
    if not converged:
        out.append(
            Diagnostic(
                "not_converged",
                "error",
                f"the best start did not converge within {max_iter} iterations; treat the "
                "parameters as unreliable",
            )
        )
    for name in at_bounds:
        p = law.parameter(name)
        v = best[law.param_names.index(name)]
        out.append(
            Diagnostic(
                "at_bound",
                "warning",
                (
                    f"parameter '{name}' = {v:.6g} sits on its bound 0 (log scale): setting it "
                    "to 0 changes no prediction by one part in a million; the optimum may "
                    "lie below the bound"
                    if p.log and p.lower == 0 and 0 < v < min(1e30, 0.5 * p.upper)
                    else f"parameter '{name}' = {v:.6g} ran off towards infinity (no upper "
                    "bound): the data do not pin it; the law degenerates (e.g. into a step)"
                    if not np.isfinite(p.upper) and v > p.lower + 1.0
                    else f"parameter '{name}' = {v:.6g} sits on its bound "
                    f"[{p.lower:g}, {p.upper:g}]: the optimum may lie outside the bounds"
                ),
                (name,),
            )
        )
    z = law.to_internal(best[None, :])
    free = [j for j, nm in enumerate(law.param_names) if nm not in at_bounds]
    pred, gram = _rows_pass(law, z, cols, w, free)
    ys, ps = _space(y, law.space), _space(pred, law.space)
    spread_y = float(np.std(ys)) if n > 1 else 0.0
    if spread_y > 0 and np.all(np.isfinite(ps)) and np.std(ps) < FLAT_SHARE * spread_y:
        out.append(
            Diagnostic(
                "flat",
                "error",
                f"the fitted curve is flat over the data: its predictions vary by "
                f"{np.std(ps) / spread_y:.1%} of the metric's spread (std), so it explains "
                "almost none of it; the search probably missed the data's basin (try "
                "--strategy full or a start grid that covers the data)",
            )
        )
    if n <= P:
        out.append(
            Diagnostic(
                "exact_fit",
                "warning",
                f"{n} points for {P} parameters: the law interpolates them exactly, so the "
                "fit checks nothing and no interval can be given; a prediction is an "
                "interpolation, not a forecast",
            )
        )
    elif n < P + 3:
        out.append(
            Diagnostic(
                "few_dof",
                "warning",
                f"{n} points for {P} parameters ({n - P} degree(s) of freedom): intervals "
                "rest on very few residuals and understate the uncertainty",
            )
        )
    if n > 1:
        found = _identifiability_by_gram(law, gram, free, n)
        if found is None:  # a near-null direction may exist: measure it on the Jacobian
            _, jac = law.evaluate_internal(z, cols, True)
            found = _identifiability(law, np.asarray(jac)[:, 0, :], pred, w, at_bounds)
        out.extend(found)
    return out


# Rows per block of the diagnostics' pass over the table (see `_rows_pass`): the fitter's
# block, for the same reason (temporaries the allocator recycles).
DIAG_BLOCK = ROW_BLOCK


def _rows_pass(
    law: Law, z: np.ndarray, cols: Mapping[str, np.ndarray], w: np.ndarray, free: list[int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """The prediction at z (n,) and the Gram matrix J^T J of the weighted residual
    Jacobian's `free` columns (None where a derivative is not finite), in blocks of
    DIAG_BLOCK rows.

    Why blocks: the whole Jacobian at once is P arrays of the table's length and their
    temporaries (1,000,000 rows: 110-300 ms, against ~40 ms in blocks); the identifiability
    check needs only this P x P matrix unless it finds a near-null direction."""
    n = next(iter(cols.values())).shape[1] if cols else 1
    pred = np.empty(n)
    G = np.zeros((len(free), len(free)))
    finite, log, unit = True, law.space == "log", bool(np.all(w == 1.0))
    for a in range(0, n, DIAG_BLOCK):
        b = min(a + DIAG_BLOCK, n)
        # the columns themselves when one block holds them (the fit's own arrays: a law's
        # closed form finds their exponent matrix cached)
        block = cols if b - a == n else {k: v[:, a:b] for k, v in cols.items()}
        p, jac = law.evaluate_internal(z, block, True)
        pred[a:b] = p[0]
        if jac is None or not (finite and free):
            continue
        with np.errstate(all="ignore"):
            J = jac[free, 0, :] / p[0] if log else np.array(jac[free, 0, :], dtype=float)
            if not unit:
                J *= np.sqrt(w[a:b])
        finite = bool(np.all(np.isfinite(J)))
        if finite:
            G += _dot_rows(J, J.T, MATMUL_BLOCK)
    return pred, (G if finite else None)


def _identifiability_by_gram(
    law: Law, G: np.ndarray | None, free: list[int], n: int
) -> list[Diagnostic] | None:
    """`_identifiability`'s answer from the Gram matrix alone where that is exact: no
    finite Jacobian, parameters with no effect, or every direction clearly identified.
    None: a direction may be near-null, and the Jacobian itself must measure it."""
    if not free or G is None:
        return []
    norms = np.sqrt(np.maximum(np.diagonal(G), 0.0))
    tiny = norms <= 1e-12 * norms.max() if norms.max() > 0 else np.ones(len(free), dtype=bool)
    if tiny.any():
        return None  # named (and the rest checked) from the Jacobian, as before
    if len(free) < 2:
        return []
    if n > len(free) and _clearly_identified_gram(G, norms):
        return []
    return None


def _clearly_identified(J: np.ndarray, norms: np.ndarray) -> bool:
    """True when the normalised Gram matrix's smallest eigenvalue shows every direction
    identified with a 100x margin: its rounding error (~1e-16 of the largest) is then far
    below the IDENTIFIED_RATIO**2 it is compared with, so the answer is exact. The Gram
    matrix costs one pass over a long J (4 ms at 240,000 rows, against 17-25 ms for the QR
    that measures a near-null direction precisely, which runs only when this says no)."""
    if J.shape[0] <= J.shape[1]:
        return False
    return _clearly_identified_gram(J.T @ J, norms)


def _clearly_identified_gram(G: np.ndarray, norms: np.ndarray) -> bool:
    ev = np.linalg.eigvalsh(G / np.outer(norms, norms))
    return bool(ev[0] > 100.0 * IDENTIFIED_RATIO**2 * ev[-1])


def _identifiability(
    law: Law, jac: np.ndarray, pred: np.ndarray, w: np.ndarray, at_bounds: list[str]
) -> list[Diagnostic]:
    """Near-null directions of the residual Jacobian (column-normalised), named in
    parameters. Parameters on a bound are left out: their direction is fixed by the bound."""
    free = [j for j, nm in enumerate(law.param_names) if nm not in at_bounds]
    if len(free) < 1:
        return []
    # (P, n) rows, each a parameter's weighted residual derivatives: row-wise passes over
    # contiguous memory (the (n, P) transpose cost 4 strided passes at 240,000 rows)
    with np.errstate(all="ignore"):
        J = jac[free] / pred if law.space == "log" else np.array(jac[free], dtype=float)
        if not np.all(w == 1.0):
            J *= np.sqrt(w)
    if not np.all(np.isfinite(J)):
        return []
    names = [law.param_names[j] for j in free]
    norms = np.sqrt(np.einsum("pn,pn->p", J, J))
    out: list[Diagnostic] = []
    tiny = norms <= 1e-12 * norms.max() if norms.max() > 0 else np.ones_like(norms, dtype=bool)
    dead = [nm for nm, t in zip(names, tiny, strict=True) if t]
    if dead:
        out.append(
            Diagnostic(
                "not_identified",
                "warning",
                f"parameter(s) {', '.join(dead)} do not change the predictions at these data: "
                "their values are arbitrary",
                tuple(dead),
            )
        )
    keep = ~tiny
    if keep.sum() < 2:
        return out
    Jk = J[keep].T if not keep.all() else J.T  # (n, P'), a view when nothing is dropped
    names = [nm for nm, k in zip(names, keep, strict=True) if k]
    if _clearly_identified(Jk, norms[keep]):
        return out
    # SVD of the column-normalised Jacobian J D^-1 through its QR factor: J = QR gives
    # J D^-1 = Q (R D^-1), the same singular values and right vectors on a (P, P) matrix
    # instead of (n, P) (15 ms vs 43 ms at 240,000 rows), with no normalised copy of J
    r = np.linalg.qr(Jk, mode="r") if Jk.shape[0] > Jk.shape[1] else Jk
    _, s, vt = np.linalg.svd(r / norms[keep], full_matrices=False)
    if s[0] == 0:
        return out
    null = np.nonzero(s / s[0] < IDENTIFIED_RATIO)[0]
    if null.size == 0:
        return out
    weight = np.abs(vt[null]).max(axis=0)
    involved = tuple(nm for nm, c in zip(names, weight, strict=True) if c > 0.25)
    if len(involved) < 2:
        involved = tuple(names[i] for i in np.argsort(-weight)[:2])
    listed = " and ".join(involved) if len(involved) == 2 else ", ".join(involved)
    what = (
        "a combination of them, not each"
        if null.size == 1
        else f"{len(involved) - null.size} combination(s) of these {len(involved)}"
    )
    out.append(
        Diagnostic(
            "not_identified",
            "warning",
            f"{listed} trade off: the data fix {what} (smallest relative singular value "
            f"{s[null].min() / s[0]:.1e}); their separate values and intervals are not "
            "meaningful, though predictions inside the data's range can be",
            involved,
        )
    )
    return out


# Bootstrap identifiability. The Jacobian check above sees one point; the bootstrap sees
# where the data let each parameter go. A positive log-scale parameter (a scale constant,
# an offset on a log scale) whose middle 90% of resamples spans more than SPREAD_DECADES
# orders of magnitude is not measured: a measured one moves by a fraction of a decade
# (Chinchilla's 240 points: A 0.35, B 0.62 decades). A parameter whose resamples reach a bound
# the estimate is not on, in at least BOUND_SHARE of them, has an interval that ends where
# the box ends, not where the data do (2.5%: the 95% interval's own tail).
SPREAD_DECADES = 2.0
BOUND_SHARE = 0.025
MIN_DRAWS = 10  # fewer usable resamples say nothing about a spread
BOOTSTRAP_PREFIX = "the bootstrap resamples"  # how bootstrap() finds its own findings again


def bootstrap_identifiability(
    law: Law, draws: np.ndarray, estimate: Mapping[str, float], at_bounds: list[str]
) -> list[Diagnostic]:
    """A `not_identified` warning naming the parameters whose bootstrap resamples (`draws`,
    (B, P) usable draws in public units) spread over orders of magnitude or onto a bound.

    Why: on Pythia (LAMBADA, 70M-1.4B, 80 checkpoints of 5 runs) the Jacobian at the
    optimum is well conditioned, yet resampling the runs moves B from 4e5 to 8e9 and E down
    to 1e-18: standard errors of 7.7e9 on 2.8e7, printed as numbers. Parameters already on a
    bound (at_bound) are left out: they are reported as such."""
    draws = np.asarray(draws, dtype=float)
    if draws.ndim != 2 or draws.shape[0] < MIN_DRAWS:
        return []
    parts: list[str] = []
    names: list[str] = []
    for j, p in enumerate(law.parameters):
        if p.name in at_bounds:
            continue
        d = draws[:, j]
        d = d[np.isfinite(d)]
        if d.size < MIN_DRAWS:
            continue
        what = _spread_finding(p, d, estimate.get(p.name, float("nan")), law, draws, j)
        if what:
            names.append(p.name)
            parts.append(what)
    if not names:
        return []
    them, its = (
        ("it", "its interval is not a measurement")
        if len(names) == 1
        else ("them", "their intervals are not measurements")
    )
    return [
        Diagnostic(
            "not_identified",
            "warning",
            f"{BOOTSTRAP_PREFIX} {'; '.join(parts)}: the data do not fix {them}; {its} "
            "(predictions inside the data's range can still be)",
            tuple(names),
        )
    ]


def _spread_finding(
    p: Parameter, d: np.ndarray, est: float, law: Law, draws: np.ndarray, j: int
) -> str:
    """Words for parameter j's resampled spread `d` when it is unidentified, else ""."""
    if p.log:
        q5, q95 = np.percentile(d, [5, 95])
        decades = np.inf if q5 <= 0 else float(np.log10(q95 / q5))
        if decades > SPREAD_DECADES:
            how = "without limit" if not np.isfinite(decades) else f"over {decades:.1f}"
            return (
                f"move {p.name}{_partner(law, draws, j)} {how} orders of magnitude "
                f"(5-95%: {q5:.3g} to {q95:.3g}; estimate {est:.3g})"
            )
    width = p.upper - p.lower if np.isfinite(p.upper) and np.isfinite(p.lower) else np.inf
    rel = 1e-5 * width if np.isfinite(width) else 0.0
    for b in (p.lower, p.upper):
        if not np.isfinite(b) or (p.log and b == 0):
            continue  # a log-scale bound 0 is infinitely far: the spread above covers it
        tol = max(1e-8 * (1.0 + abs(b)), rel)
        share = float(np.mean(np.abs(d - b) <= tol))
        if share >= BOUND_SHARE and abs(est - b) > tol:
            return (
                f"push {p.name}{_partner(law, draws, j)} onto its bound {b:g} in "
                f"{share:.1%} of them (estimate {est:.3g})"
            )
    return ""


def _partner(law: Law, draws: np.ndarray, j: int) -> str:
    """' (and X with it)' for the parameter whose draws move most tightly with parameter j
    (|correlation| >= 0.9, log scale for log-scale parameters), else ""."""
    with np.errstate(all="ignore"):
        z = np.column_stack(
            [np.log(draws[:, k]) if p.log else draws[:, k] for k, p in enumerate(law.parameters)]
        )
        ok = np.all(np.isfinite(z), axis=1)
        if ok.sum() < MIN_DRAWS:
            return ""
        c = np.corrcoef(z[ok].T)[j]
    c[j] = 0.0
    c = np.where(np.isfinite(c), np.abs(c), 0.0)
    k = int(np.argmax(c))
    return f" (and {law.param_names[k]} with it)" if c[k] >= 0.9 else ""
