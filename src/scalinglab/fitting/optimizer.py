"""Batched bound-constrained Levenberg-Marquardt for robust (Huber) least squares.

Why not scipy.optimize in a loop: a scaling-law fit is 3-6 parameters, thousands of starts
(and later thousands of bootstrap resamples). Each start is a tiny problem, so Python-loop
overhead dominates. Here every start is a row of one batch: one numpy pass evaluates the
residuals and their exact Jacobian (forward-mode duals) for all starts, and a batched PxP
solve gives every start its step. Second-order steps converge in tens of iterations where
L-BFGS needs hundreds.

The Hessian model is J^T W J with W the Huber IRLS weights psi(r)/r (a quadratic majoriser
of the Huber loss, positive definite even when few points are in the quadratic zone); the
damping lambda adapts per start. Near an optimum the exact Hessian of the objective takes
over wherever it is positive definite: its second-order part comes from second-order
forward-mode duals (`Dual2`: exact second derivatives of every residual in one pass), or, for
a formula `Dual2` cannot run, from finite differences of the exact gradient. Bounds are
handled by projection, with coordinates held at a bound (and pushed outward by the gradient)
frozen for the step.


The objective and its reductions over row chunks live in `problem.Problem`; this module is
the solver alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import Problem

# The initial damping (x the IRLS diagonal) of a start far from an optimum.
LAM0_DEFAULT = 1e-4


@dataclass
class LMResult:
    z: np.ndarray  # (K, P) end points, internal coordinates
    f: np.ndarray  # (K,) objective at the end points
    converged: np.ndarray  # (K,) bool
    n_iter: np.ndarray  # (K,) iterations used
    grad_norm: np.ndarray  # (K,) projected gradient max-abs at the end
    pruned: np.ndarray  # (K,) bool: stopped early, clearly worse than a converged start
    # (K, P, P) the Newton Hessian at z where every start has one (second-order runs), else
    # None: a refinement on more rows can start from it (see `hessian=`)
    hessian: np.ndarray | None = None


def levenberg_marquardt(
    problem: Problem,
    z0: np.ndarray,
    *,
    W: np.ndarray | None = None,
    delta: float | None = None,
    lower: np.ndarray,
    upper: np.ndarray,
    max_iter: int = 100,
    ftol: float = 1e-10,
    gtol: float = 1e-12,
    newton: bool = True,
    newton_below: float = 1e-1,
    prune_ratio: float | None = None,
    frozen: bool = False,
    groups: np.ndarray | None = None,
    which: np.ndarray | None = None,
    near0: np.ndarray | None = None,
    lam0: float = LAM0_DEFAULT,
    hessian: np.ndarray | None = None,
) -> LMResult:
    """Minimise problem's sum_i w_i Huber(r_i(z)) for every row of z0 at once.

    W: per-start weights (K, n) in the problem's internal row order (bootstrap resamples as
    multinomial counts, without copying the data); default the problem's own weights.
    delta: Huber threshold (default the problem's; 1e6 makes the loss least squares).

    With `newton=True` the exact Hessian of the objective replaces the IRLS model wherever
    it is positive definite, once a start's last accepted step improved the objective by
    less than `newton_below` (relative): near an optimum that turns the IRLS linear
    convergence (~100 iterations to 1e-10 on Chinchilla) into a quadratic one (~10); far from
    one the IRLS step is as good and cheaper. With second-order duals the Hessian comes with
    the evaluation of each trial point that needs it (no extra evaluation).

    `frozen=True`: the Newton Hessian's second-order part uses the residual curvature frozen
    at `problem.set_curvature` (the bootstrap: resample optima sit close to the reference).

    `prune_ratio`: once some start has converged, stop starts whose objective is above
    prune_ratio x the best converged objective (they are flagged `pruned`). `groups` (K,)
    ints: starts of independent problems solved in one batch (audit folds, each its own row
    weights); a start is then compared with the best converged start of its own group.
    `which` (K,): each start's block of a `Problem.blocks` problem. `near0` (K,) bools:
    starts that take Newton steps from their first iteration whatever `newton_below` says
    (the search's best warmed start, already near its optimum). `lam0`: the initial
    damping (x the IRLS diagonal); refinements that start at a nearby optimum pass a tiny
    one (search.NEAR_LAMBDA) so the first Newton step is not shortened along the weak
    directions of a near-singular Hessian, and their first rejected step jumps back to 8 x
    the default.

    `hessian` (K, P, P): a fixed Newton Hessian for every step (first-order evaluations
    only, about half the cost of a second-order one; needs `newton=True`, not `frozen`).
    For a refinement on all rows from a row subsample's optimum, that subsample's Hessian
    (scaled to all rows) is within its sampling error of the exact one, so each step still
    shrinks the gradient by about that factor. Its Newton decrement says a start has
    converged only after an accepted step whose gradient change agreed with it (within
    half: a secant check), and so do two tiny steps, so a wrong Hessian cannot stop a start
    where it began.
    """
    if hessian is not None and (frozen or not newton):
        raise ValueError("hessian= needs newton=True and frozen=False")
    z = np.minimum(np.maximum(np.array(z0, dtype=float), lower), upper)  # np.clip: 3x longer
    K, P = z.shape
    fixed = hessian is not None and newton
    second = newton and not frozen and not fixed and problem._second_order_ok()

    def order_for(near: np.ndarray):
        if frozen and newton:
            return "frozen"
        return 2 if (second and near) else 1

    def evaluate(zz, idx, near):
        Wi = None if W is None else W[idx]
        wh = None if which is None else which[idx]
        return problem.reduce(zz, Wi, delta, order_for(near), wh)

    start_near = newton and newton_below == np.inf  # Newton steps from the first iteration
    last_rel = np.full(K, 0.0 if start_near else np.inf)
    if newton and near0 is not None:
        last_rel[np.asarray(near0, dtype=bool)] = 0.0
        start_near = bool((last_rel < newton_below).any())
    red = evaluate(z, np.arange(K), start_near)
    f, g, H = red.f, red.g, red.H
    if fixed:
        Hn = np.array(hessian, dtype=float)
    else:
        Hn = red.Hn if red.Hn is not None else np.zeros((K, P, P))
    hn_ok = np.full(K, fixed or red.Hn is not None)
    lam = np.full(K, lam0)
    fresh = np.full(K, lam0 < LAM0_DEFAULT)  # not yet rejected a step from a small lam0
    any_fresh = lam0 < LAM0_DEFAULT
    secant_ok = np.zeros(K, dtype=bool)  # fixed Hessian: confirmed by an accepted step
    converged = np.zeros(K, dtype=bool)
    dead = ~np.isfinite(f)  # starts that cannot even be evaluated
    n_iter = np.zeros(K, dtype=int)
    gnorm = np.full(K, np.inf)
    small_steps = np.zeros(K, dtype=int)
    pruned = np.zeros(K, dtype=bool)
    active = ~dead
    chol_first = True  # _pd_or: whether the last Newton Hessians were all positive definite

    # Warnings off for the whole loop (not per iteration: 1.5 us each): an infinite
    # objective (inf - inf) is handled, not reported.
    with np.errstate(invalid="ignore", over="ignore"):
        for _ in range(max_iter):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            k = idx.size
            if k == K:  # every start active (the warm-up, most of a refinement): views
                n_iter += 1
                zi, gi, Hi, fi = z, g, H, f
            else:
                n_iter[idx] += 1
                zi, gi, Hi, fi = z[idx], g[idx], H[idx], f[idx]
            diag_irls = np.diagonal(Hi, axis1=1, axis2=2)
            near = (last_rel[idx] < newton_below) if newton else np.zeros(k, dtype=bool)
            Hstep = Hi
            use = near
            if newton:
                if second or frozen or fixed:
                    use = near & hn_ok[idx]
                elif use.any():
                    sel = idx[use]
                    Hn[sel] = problem._fd_newton(
                        z[sel],
                        None if W is None else W[sel],
                        delta,
                        g[sel],
                        None if which is None else which[sel],
                    )
                if use.any():
                    Hstep = Hi.copy()
                    Hstep[use], chol_first = _pd_or(
                        Hn[idx[use]], Hi[use], diag_irls[use], chol_first
                    )
            # Freeze coordinates sitting on a bound with the gradient pushing outward (the
            # common case, no start on a bound, skips the masks: the same values).
            at_lo, at_hi = zi <= lower, zi >= upper
            all_free = not (at_lo.any() or at_hi.any())
            if not all_free:
                free = ~((at_lo & (gi > 0)) | (at_hi & (gi < 0)))
                all_free = bool(free.all())
            pg = gi if all_free else np.where(free, gi, 0.0)
            gn = np.abs(pg).max(axis=1)
            gnorm[idx] = gn
            done = gn <= gtol * np.maximum(1.0, fi)
            Hd = Hstep if all_free else np.where(free[:, :, None] & free[:, None, :], Hstep, 0.0)
            scale = np.maximum(
                diag_irls, 1e-12 * np.maximum(diag_irls.max(axis=1, keepdims=True), 1e-300)
            )
            A = Hd.copy()
            A_diag = A.reshape(k, P * P)[:, :: P + 1]  # a view of the diagonals
            A_diag += lam[idx, None] * scale
            if not all_free:
                A_diag += ~free  # identity rows for frozen coordinates
            try:
                step = -np.linalg.solve(A, pg[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                step = np.stack([_safe_solve(A[j], pg[j]) for j in range(k)])
            step = np.where(np.isfinite(step), step, 0.0)
            if newton and use.any():
                # Newton decrement: where the exact-Hessian model predicts a decrease below the
                # tolerance (after a step that already changed little), the start has converged
                # and needs no further evaluation.
                Hs = (Hd @ step[:, :, None])[:, :, 0]  # a three-operand einsum took 4x longer
                dec = -np.einsum("kp,kp->k", pg, step) - 0.5 * np.einsum("kp,kp->k", step, Hs)
                quad = use & (dec <= ftol * np.abs(fi)) & (last_rel[idx] <= 1e-4)
                if fixed:
                    quad &= secant_ok[idx]
                if quad.any():
                    converged[idx[quad]] = True
                    active[idx[quad]] = False
                    keep = ~quad
                    if prune_ratio is not None:
                        # Starts already far worse than the one just converged need no trial
                        # evaluation (it cost one evaluation of the whole batch at the end).
                        _prune(active, pruned, converged, f, groups, prune_ratio)
                        keep &= active[idx]
                    if not keep.any():
                        continue
                    idx, zi, fi, step = idx[keep], zi[keep], fi[keep], step[keep]
                    near, done = near[keep], done[keep]
            z_new = np.minimum(np.maximum(zi + step, lower), upper)  # np.clip, without its overhead
            # Evaluate the trial points, with the Newton Hessian once any start is near (for
            # the others it is a by-product: cheaper than a second batched evaluation).
            red_new = evaluate(z_new, idx, bool(near.any()))
            f_new = red_new.f
            better = f_new < fi
            acc = idx[better]
            # Convergence: a tiny relative decrease or a tiny step, twice in a row.
            rel = (fi - f_new) / np.maximum(np.abs(fi), 1e-300)  # inf - inf: NaN, not small
            step_small = np.abs(z_new - zi).max(axis=1) <= 1e-11 * (1.0 + np.abs(zi).max(axis=1))
            # A rejected step that changes the objective by less than ftol counts as tiny: on
            # millions of rows the objective's rounding noise exceeds such changes.
            tiny = (np.abs(rel) <= ftol) | step_small
            n_small = np.where(tiny, small_steps[idx] + 1, 0)
            small_steps[idx] = n_small
            if fixed and acc.size:
                # secant check of the fixed Hessian along the step just taken
                s_acc = z_new[better] - z[acc]
                Hs = np.einsum("kpq,kq->kp", Hn[acc], s_acc)
                dg = red_new.g[better] - g[acc]
                secant_ok[acc] = np.linalg.norm(dg - Hs, axis=1) <= 0.5 * np.linalg.norm(Hs, axis=1)
            if acc.size == K:  # every start accepted its step: the new arrays themselves
                z, f, g, H = z_new, f_new, red_new.g, red_new.H
                if red_new.Hn is not None:
                    Hn = red_new.Hn
            else:
                z[acc], f[acc] = z_new[better], f_new[better]
                g[acc], H[acc] = red_new.g[better], red_new.H[better]
                if red_new.Hn is not None:
                    Hn[acc] = red_new.Hn[better]
            if not fixed:
                hn_ok[acc] = red_new.Hn is not None
            if groups is not None and red_new.Hn is not None:
                # The Hessian came with this evaluation because some start was near; a group
                # (an independent fold) with none near would not have had it: as if alone.
                g_near = np.zeros(int(groups.max()) + 1, dtype=bool)
                g_near[groups[idx[near]]] = True
                hn_ok[acc] = g_near[groups[acc]]
            li = lam[idx]
            # A start's first rejected step from a small lam0 jumps to the damping the default
            # start would have after one rejection: from 1e-8, x8 steps would take 4 more
            # rejected evaluations to get there.
            floor: float | np.ndarray = 1e-6
            if any_fresh:
                floor = np.where(fresh[idx], 8.0 * LAM0_DEFAULT, 1e-6)
                fresh[idx[~better]] = False
                any_fresh = bool(fresh.any())
            li = np.where(better, np.maximum(li / 5.0, 1e-12), np.maximum(li * 8.0, floor))
            lam[idx] = li
            last_rel[acc] = rel[better]
            small = n_small >= 2
            if fixed:  # tiny steps of a Hessian the last step disagreed with prove nothing
                small &= secant_ok[idx]
            finished = done | small
            any_finished = bool(finished.any())
            if any_finished:
                converged[idx[finished]] = True
            stuck = idx[~better & (li > 1e10)]
            # A start whose every damped step fails is at an optimum to machine precision only
            # if its gradient is small; otherwise it is reported as not converged.
            if stuck.size:
                converged[stuck] = gnorm[stuck] <= 1e-6 * np.maximum(1.0, f[stuck])
                active[stuck] = False
            if any_finished:
                active[idx[finished]] = False
            if prune_ratio is not None and converged.any():
                _prune(active, pruned, converged, f, groups, prune_ratio)
    return LMResult(
        z=z,
        f=f,
        converged=converged & ~dead,
        n_iter=n_iter,
        grad_norm=gnorm,
        pruned=pruned,
        hessian=Hn if second and hn_ok.all() and np.isfinite(Hn).all() else None,
    )


def _prune(active, pruned, converged, f, groups, prune_ratio) -> None:
    """Stop (in place) the active starts whose objective is above prune_ratio x the best
    converged one (of their own group when `groups` is given)."""
    if not converged.any():
        return
    if groups is None:
        f_best = f[converged].min()
    else:
        fg = np.full(int(groups.max()) + 1, np.inf)
        np.minimum.at(fg, groups[converged], f[converged])
        f_best = fg[groups]
    bad = active & (f > prune_ratio * f_best + 1e-300)
    pruned |= bad
    active &= ~bad


def _pd_or(Hn, H_irls, diag_irls, chol_first: bool = True):
    """(Hn where it is finite and positive definite (beyond a tolerance), else the IRLS
    model; whether every one was).

    A matrix with a diagonal entry at or below the tolerance is not positive definite
    beyond it, so only the others are factorised: refinement batches hold starts far from
    any optimum whose Newton Hessian has empty rows (no residual in the quadratic zone), and
    a failed batched Cholesky followed by eigenvalues of every start cost 0.2 ms an
    iteration. When every one passes that check (the bootstrap), one Cholesky usually says
    all are (3x cheaper than eigenvalues); `chol_first=False` (the last call found some
    that were not: a refinement whose far starts ride along) skips that try, which would
    fail (12 us of a call's 45)."""
    K, P = Hn.shape[:2]
    tol = 1e-10 * np.maximum(np.abs(diag_irls).max(axis=1), 1e-300)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(Hn).all(axis=(1, 2))
        ok &= np.diagonal(Hn, axis1=1, axis2=2).min(axis=1) > tol
    use = ok
    if chol_first and ok.all():
        try:
            np.linalg.cholesky(Hn - tol[:, None, None] * np.eye(P))
            return Hn, True
        except np.linalg.LinAlgError:
            pass
    if ok.any():  # some or all of them are not: eigenvalues say which
        ev = np.full(K, -1.0)
        ev[ok] = np.linalg.eigvalsh(Hn[ok])[:, 0]
        use = ok & (ev > tol)
    if use.all():
        return Hn, True
    return np.where(use[:, None, None], Hn, H_irls), False


def _safe_solve(A: np.ndarray, g: np.ndarray) -> np.ndarray:
    """-A^+ g for a singular system (rare: only when the batched solve fails)."""
    return -np.linalg.lstsq(A, g, rcond=None)[0]
