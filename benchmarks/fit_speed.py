"""Fit speed: scalinglab's batched multi-start vs a plain scipy loop, same data, same run.

Data: Epoch AI's reconstruction of the Chinchilla runs, 240-point subset
(../shared/data/chinchilla/points.csv). Law: L = E + A/N^alpha + B/D^beta in Hoffmann's
log-sum-exp parameterisation, summed Huber (delta=1e-3) in log space, Hoffmann's full
4,500-start grid.

Reference: scipy.optimize.minimize(method="L-BFGS-B") once per start in a Python loop with
the analytic gradient and BLAS limited to one thread: the procedure of Hoffmann et al. /
Epoch's "replicate exactly" with an exact gradient.

    python benchmarks/fit_speed.py [--ref-starts N] [--repeats R]

Prints both wall times, both best objectives and the ratio. Target: >= 300x.
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import huber  # noqa: E402

import scalinglab as sl  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chinchilla" / "points.csv"


def load() -> pd.DataFrame:
    df = pd.read_csv(DATA)
    return df[df["loss"] < df["loss"].nlargest(5).min()].reset_index(drop=True)


def scipy_reference(df: pd.DataFrame, n_starts: int | None):
    logN, logD, logL = np.log(df["n_params"]), np.log(df["tokens"]), np.log(df["loss"])
    logN, logD, logL = logN.to_numpy(), logD.to_numpy(), logL.to_numpy()
    delta = 1e-3

    def obj_grad(p):
        a, b, e, alpha, beta = p
        terms = np.stack([a - alpha * logN, b - beta * logD, np.full_like(logN, e)])
        m = terms.max(axis=0)
        lse = m + np.log(np.exp(terms - m).sum(axis=0))  # scipy's logsumexp, minus overhead
        r = lse - logL
        w = np.exp(terms - lse)  # softmax weights = d lse / d term
        psi = np.clip(r, -delta, delta)
        g = np.array(
            [
                np.sum(psi * w[0]),
                np.sum(psi * w[1]),
                np.sum(psi * w[2]),
                -np.sum(psi * w[0] * logN),
                -np.sum(psi * w[1] * logD),
            ]
        )
        return np.sum(huber(delta, r)), g

    grid = list(
        itertools.product(
            np.arange(0, 30, 5),
            np.arange(0, 30, 5),
            np.arange(-1, 1.5, 0.5),
            np.arange(0, 2.5, 0.5),
            np.arange(0, 2.5, 0.5),
        )
    )
    if n_starts:
        grid = grid[:n_starts]
    best = (np.inf, None)
    t = time.perf_counter()
    for x0 in grid:
        r = minimize(obj_grad, np.array(x0, float), jac=True, method="L-BFGS-B")
        if r.success and r.fun < best[0]:
            best = (r.fun, r.x)
    return time.perf_counter() - t, best[0], best[1], len(grid)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--ref-starts",
        type=int,
        default=None,
        help="limit the scipy loop to the first N grid starts (default: all 4500)",
    )
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    df = load()
    sl.fit(df, "chinchilla")  # warm-up (imports, first-call allocations)
    times, res = [], None
    for _ in range(args.repeats):
        t = time.perf_counter()
        res = sl.fit(df, "chinchilla")
        times.append(time.perf_counter() - t)
    t_sl = statistics.median(times)
    t_ref, f_ref, x_ref, n_ref = scipy_reference(df, args.ref_starts)
    if args.ref_starts:
        t_ref_full = t_ref * 4500 / n_ref
        note = f" (measured on {n_ref} starts, scaled to 4500: {t_ref_full:.2f} s)"
    else:
        t_ref_full, note = t_ref, ""
    print(f"data: {len(df)} points, law chinchilla, 4500-start Hoffmann grid")
    print(f"scipy L-BFGS-B loop : {t_ref:8.3f} s{note}   best objective {f_ref:.14f}")
    print(
        f"scalinglab.fit      : {t_sl * 1e3:8.1f} ms (median of {args.repeats}, "
        f"min {min(times) * 1e3:.1f} ms)   best objective {res.objective_:.14f}"
    )
    print(
        f"ratio (scipy / scalinglab, full grid): {t_ref_full / t_sl:.0f}x   "
        f"objective no worse: {res.objective_ <= f_ref * (1 + 1e-12)}"
    )
    print(f"scalinglab params: {res.params_}")
    E, A, B = np.exp(x_ref[2]), np.exp(x_ref[0]), np.exp(x_ref[1])
    print(
        f"scipy params     : E={E:.6f} A={A:.4f} B={B:.4f} alpha={x_ref[3]:.6f} beta={x_ref[4]:.6f}"
    )


if __name__ == "__main__":
    main()
