"""Bootstrap speed and calibration, against references measured in the same run.

1. Chinchilla 240-point subset, 1,000 resamples:
   - reference: a scipy loop, one L-BFGS-B run per resample started at Hoffmann's unrounded
     estimates with the analytic gradient (Epoch's replication did this with BFGS);
   - scalinglab warm bootstrap (target <= 1 s on 2 cores);
   - scalinglab grid bootstrap, the full 4,500-start search per resample (target <= 120 s).
   Prints times, ratios and the 95% intervals for alpha and beta next to Epoch's.
2. Calibration: power-law data with known noise, 200 repetitions, rate at which the 90%
   prediction interval holds a new run's value (target 85-95%).

    python benchmarks/bootstrap_speed.py [--resamples 1000] [--calibration-reps 200]
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from fit_speed import load  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import huber  # noqa: E402

import scalinglab as sl  # noqa: E402
from scalinglab.fitting.bootstrap import resample_counts  # noqa: E402

HOFFMANN = np.array([np.log(406.40), np.log(410.72), np.log(1.6934), 0.33917, 0.28491])


def scipy_bootstrap(df: pd.DataFrame, counts: np.ndarray) -> tuple[float, np.ndarray]:
    logN, logD, logL = (np.log(df[c].to_numpy()) for c in ("n_params", "tokens", "loss"))
    delta = 1e-3
    out = np.empty((counts.shape[0], 5))
    t = time.perf_counter()
    for b, w in enumerate(counts):

        def obj_grad(p, w=w):
            a, bb, e, alpha, beta = p
            terms = np.stack([a - alpha * logN, bb - beta * logD, np.full_like(logN, e)])
            m = terms.max(axis=0)
            lse = m + np.log(np.exp(terms - m).sum(axis=0))
            r = lse - logL
            sm = np.exp(terms - lse)
            psi = w * np.clip(r, -delta, delta)
            g = np.array(
                [
                    np.sum(psi * sm[0]),
                    np.sum(psi * sm[1]),
                    np.sum(psi * sm[2]),
                    -np.sum(psi * sm[0] * logN),
                    -np.sum(psi * sm[1] * logD),
                ]
            )
            return np.sum(w * huber(delta, r)), g

        out[b] = minimize(obj_grad, HOFFMANN, jac=True, method="L-BFGS-B").x
    return time.perf_counter() - t, out


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--grid-resamples", type=int, default=1000)
    ap.add_argument("--calibration-reps", type=int, default=200)
    args = ap.parse_args()
    df = load()
    res = sl.fit(df, "chinchilla")
    B = args.resamples
    counts = resample_counts(len(df), B, np.random.default_rng(0))
    t_ref, ref = scipy_bootstrap(df, counts)
    res.bootstrap(20, seed=0)  # warm-up
    t = time.perf_counter()
    warm = res.bootstrap(B, seed=0)
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    grid = res.bootstrap(args.grid_resamples, seed=0, method="grid")
    t_grid = time.perf_counter() - t
    print(f"Chinchilla 240 points, {B} resamples")
    print(f"scipy L-BFGS-B loop (one run per resample): {t_ref:7.2f} s")
    print(
        f"scalinglab warm bootstrap                 : {t_warm:7.3f} s   ratio {t_ref / t_warm:.1f}x"
        f"   usable {warm.usable.sum()}/{B}"
    )
    print(
        f"scalinglab grid bootstrap (4,500 starts each, {args.grid_resamples} resamples): "
        f"{t_grid:7.2f} s   usable {grid.usable.sum()}/{args.grid_resamples}"
    )
    same = np.median(np.abs(warm.params[:, 3] - ref[:, 3]))
    print(f"median |alpha_warm - alpha_scipy| over resamples: {same:.2e}")
    for name, (lo, hi) in {"alpha": (0.317, 0.373), "beta": (0.331, 0.415)}.items():
        w = warm.intervals(0.95).loc[name]
        g = grid.intervals(0.95).loc[name]
        print(
            f"95% CI {name}: warm {w.lower:.3f}-{w.upper:.3f}, grid {g.lower:.3f}-{g.upper:.3f}"
            f", Epoch {lo:.3f}-{hi:.3f}"
        )
    if args.calibration_reps:
        t = time.perf_counter()
        rate = calibration(args.calibration_reps)
        print(
            f"calibration: 90% prediction intervals hold the new value in {rate:.1%} of "
            f"{args.calibration_reps * 3} cases ({time.perf_counter() - t:.0f} s)"
        )


if __name__ == "__main__":
    main()
