"""Bootstrap speed and calibration, against a fair reference measured in the same run.

1. Chinchilla 240-point subset, 1,000 resamples (multinomial counts, the same draws for
   every side), every refit started at the full-data optimum and stopped at a relative
   objective change of 1e-10:
   - scalinglab warm bootstrap (`res.bootstrap(B)`);
   - fair reference: scipy.optimize.least_squares (trust-region reflective, loss="huber",
     f_scale=delta: the same objective) once per resample on the resampled rows, analytic
     Jacobian, ftol = xtol = gtol = 1e-10;
   - scipy L-BFGS-B once per resample, analytic gradient, the same stopping rule (it stalls
     on the Huber kinks: ~18% of resamples end above the optimum), and with scipy's default
     tolerances (faster, ~1% above the optimum);
   each line says in how many resamples it reached scalinglab's optimum to 1e-6 (relative
   objective) and which side is lower where not;
   - scalinglab grid bootstrap, the multi-start search per resample (--grid-resamples).
   With --hoffmann-start also the old reference: scipy defaults, started at Hoffmann's
   published estimates (stops early: ~1% above the resample optimum at the median).
2. Calibration: power-law data with known noise, 200 repetitions, rate at which the 90%
   prediction interval holds a new run's value (target 85-95%).
3. What the calibrated interval costs over the bootstrap interval alone, 1,000 resamples
   each (the workflows' default), on Pythia's two-step forecast and OLMo's ladder
   (`calibration.py --speed`'s measurement; needs ../shared/data; --no-calibrated skips it).

    python benchmarks/bootstrap_speed.py [--resamples 1000] [--grid-resamples 1000]
                                         [--calibration-reps 200] [--hoffmann-start]
                                         [--no-calibrated]

Targets: warm bootstrap >= 10x faster than the fair reference, same optima (issue 18); the
calibrated interval at most 2x the bootstrap interval's cost (issue 14).
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from references import (  # noqa: E402
    DELTA,
    load_chinchilla,
    logs,
    make_obj_grad,
    tight_options,
    z_of,
)
from scipy.optimize import least_squares, minimize  # noqa: E402

import scalinglab as sl  # noqa: E402
from scalinglab.fitting.bootstrap import resample_counts  # noqa: E402

# Hoffmann et al.'s estimates (E, A, B, alpha, beta) in z order (e, a, b, alpha, beta).
HOFFMANN = np.array([np.log(1.6934), np.log(406.40), np.log(410.72), 0.33917, 0.28491])


def scipy_bootstrap(df: pd.DataFrame, counts: np.ndarray, z0: np.ndarray, tight: bool = True):
    """One L-BFGS-B run per resample from z0; returns (seconds, z (B, 5), f (B,))."""
    logN, logD, logL = logs(df)
    B = counts.shape[0]
    zs, fs = np.empty((B, 5)), np.empty(B)
    t = time.perf_counter()
    for b in range(B):
        obj_grad = make_obj_grad(logN, logD, logL, counts[b])
        opts = tight_options(obj_grad(z0)[0]) if tight else {}
        r = minimize(obj_grad, z0, jac=True, method="L-BFGS-B", options=opts)
        zs[b], fs[b] = r.x, r.fun
    return time.perf_counter() - t, zs, fs


def scipy_least_squares(df: pd.DataFrame, counts: np.ndarray, z0: np.ndarray):
    """One scipy.optimize.least_squares (trust-region reflective, loss="huber",
    f_scale=delta: the same objective up to a factor) per resample, on the resampled copy
    of the rows, from z0, ftol = xtol = gtol = 1e-10. Returns (seconds, z (B, 5), f (B,))."""
    logN, logD, logL = logs(df)
    B = counts.shape[0]
    zs, fs = np.empty((B, 5)), np.empty(B)
    lo, hi = [-np.inf, -np.inf, -np.inf, 0.0, 0.0], [np.inf, np.inf, np.inf, 10.0, 10.0]
    t = time.perf_counter()
    for b in range(B):
        idx = np.repeat(np.arange(logL.size), counts[b].astype(int))
        lN, lD, lL = logN[idx], logD[idx], logL[idx]

        def parts(z, lN=lN, lD=lD):
            e, a, bb, al, be = z
            t0, t1 = a - al * lN, bb - be * lD
            m = np.maximum(np.maximum(t0, t1), e)
            x0, x1, x2 = np.exp(t0 - m), np.exp(t1 - m), np.exp(e - m)
            return m, x0, x1, x2, x0 + x1 + x2

        def fun(z, lL=lL):
            m, _, _, _, s = parts(z)
            return m + np.log(s) - lL

        def jac(z, lN=lN, lD=lD):
            _, x0, x1, x2, s = parts(z)
            return np.stack([x2 / s, x0 / s, x1 / s, -x0 / s * lN, -x1 / s * lD], axis=1)

        r = least_squares(
            fun,
            z0,
            jac=jac,
            bounds=(lo, hi),
            loss="huber",
            f_scale=DELTA,
            method="trf",
            ftol=1e-10,
            xtol=1e-10,
            gtol=1e-10,
        )
        zs[b], fs[b] = r.x, r.cost  # cost = 1/2 sum rho = our summed Huber
    return time.perf_counter() - t, zs, fs


def _agreement(name: str, t: float, t_sl: float, f: np.ndarray, f_sl: np.ndarray) -> str:
    rel = (f_sl - f) / f
    return (
        f"{name}: {t:7.2f} s   ratio {t / t_sl:5.1f}x   same optimum (1e-6) in "
        f"{np.mean(np.abs(rel) <= 1e-6):6.1%} (max |rel| {np.max(np.abs(rel)):.1e}); "
        f"scalinglab lower in {np.mean(rel < -1e-12):.1%}, scipy lower in "
        f"{np.mean(rel > 1e-12):.1%}"
    )


def calibration(reps: int) -> float:
    law = sl.get_law("power_law")
    truth = {"E": 0.5, "A": 20.0, "alpha": 0.3}
    hits = []
    for rep in range(reps):
        rng = np.random.default_rng(100 + rep)
        x = np.repeat(np.geomspace(1e3, 1e6, 6), 4)
        y = law.evaluate(truth, {"x": x}) * np.exp(0.02 * rng.standard_normal(x.size))
        res = sl.fit(pd.DataFrame({"x": x, "y": y}), law)
        res.bootstrap(500, seed=rep)
        x_new = np.array([3e4, 3e5, 3e6])
        y_new = law.evaluate(truth, {"x": x_new}) * np.exp(0.02 * rng.standard_normal(3))
        pi = res.predict({"x": x_new}, interval=0.9, kind="prediction")
        hits.extend((pi["lower"] <= y_new) & (y_new <= pi["upper"]))
    return float(np.mean(hits))


def _z_public(law, params: np.ndarray) -> np.ndarray:
    """scalinglab public draws (B, 5) in law order -> z order (e, a, b, alpha, beta)."""
    names = list(law.param_names)
    return np.stack([z_of(dict(zip(names, p, strict=True))) for p in params])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--grid-resamples", type=int, default=1000)
    ap.add_argument("--calibration-reps", type=int, default=200)
    ap.add_argument("--hoffmann-start", action="store_true")
    ap.add_argument("--no-calibrated", action="store_true")
    args = ap.parse_args()
    df = load_chinchilla()
    res = sl.fit(df, "chinchilla")
    z_hat = z_of(res.params_)
    B = args.resamples
    counts = resample_counts(len(df), B, np.random.default_rng(0))
    res.bootstrap(20, seed=0)  # warm-up
    t = time.perf_counter()
    warm = res.bootstrap(B, seed=0)
    t_warm = time.perf_counter() - t
    t_ls, z_ls, f_ls = scipy_least_squares(df, counts, z_hat)
    t_lb, _, f_lb = scipy_bootstrap(df, counts, z_hat)
    t_d, _, f_d = scipy_bootstrap(df, counts, z_hat, tight=False)
    f_sl = warm.objective
    z_sl = _z_public(res.law, warm.params)
    dz = np.max(np.abs(z_sl - z_ls) / (1 + np.abs(z_ls)), axis=1)
    print(f"Chinchilla 240 points, {B} resamples (the same counts), every refit from the full-data")
    print("optimum, stopped at a relative objective change of 1e-10")
    print(
        f"scalinglab warm bootstrap                      : {t_warm:7.3f} s   usable "
        f"{warm.usable.sum()}/{B}"
    )
    print(
        _agreement("scipy least_squares (TRF, huber), per resample", t_ls, t_warm, f_ls, f_sl)
        + f"; max parameter difference {np.max(dz):.1e}"
    )
    print(_agreement("scipy L-BFGS-B, per resample                 ", t_lb, t_warm, f_lb, f_sl))
    gap = f_d / f_sl - 1
    print(
        f"scipy L-BFGS-B, default tolerances            : {t_d:7.2f} s   ratio "
        f"{t_d / t_warm:5.1f}x   stops early: objective above the optimum by "
        f"{np.median(gap):.1e} at the median, {np.max(gap):.1e} at most"
    )
    if args.hoffmann_start:
        t_h, _, f_h = scipy_bootstrap(df, counts, HOFFMANN, tight=False)
        gap = f_h / f_sl - 1
        print(
            f"old reference (Hoffmann start, scipy defaults): {t_h:7.2f} s   objective above "
            f"the resample optimum by {np.median(gap):.2%} at the median"
        )
    if args.grid_resamples:
        t = time.perf_counter()
        grid = res.bootstrap(args.grid_resamples, seed=0, method="grid")
        t_grid = time.perf_counter() - t
        print(
            f"scalinglab grid bootstrap ({args.grid_resamples} resamples, screened grid each):"
            f" {t_grid:7.2f} s   usable {grid.usable.sum()}/{args.grid_resamples}"
        )
        for name, (lo, hi) in {"alpha": (0.317, 0.373), "beta": (0.331, 0.415)}.items():
            w = warm.intervals(0.95).loc[name]
            g = grid.intervals(0.95).loc[name]
            print(
                f"95% CI {name}: warm {w.lower:.3f}-{w.upper:.3f}, grid {g.lower:.3f}-"
                f"{g.upper:.3f}, Epoch {lo:.3f}-{hi:.3f}"
            )
    if args.calibration_reps:
        t = time.perf_counter()
        rate = calibration(args.calibration_reps)
        print(
            f"calibration: 90% prediction intervals hold the new value in {rate:.1%} of "
            f"{args.calibration_reps * 3} cases ({time.perf_counter() - t:.0f} s)"
        )
    if not args.no_calibrated:
        import calibration as cal_bench

        if cal_bench.DATA.exists():
            cal_bench.speed(quick=False)
        else:
            print(f"calibrated interval cost: skipped ({cal_bench.DATA} not found)")


if __name__ == "__main__":
    main()
