"""Fit speed on Chinchilla's 240 points: scalinglab against two scipy references, one run.

Data: Epoch AI's reconstruction of the Chinchilla runs, 240-point subset
(../shared/data/chinchilla/points.csv). Law: L = E + A/N^alpha + B/D^beta in Hoffmann's
log-sum-exp parameterisation, summed Huber (delta=1e-3) in log space, Hoffmann's full
4,500-start grid. BLAS limited to one thread for everything.

(a) scipy.optimize.minimize(method="L-BFGS-B") once per start in a Python loop, analytic
    gradient, default tolerances: the procedure of Hoffmann et al. / Epoch's replication.
(b) scipy with scalinglab's screening: all 4,500 starts scored in one batched numpy
    evaluation on the same 48-row subsample, L-BFGS-B (analytic gradient) from the best 8
    on all rows, polished to scalinglab's stopping rule (see references.py).
(c) scalinglab.fit(df, "chinchilla"): the whole call (reading the frame, the search, the
    diagnostics) and, separately, the search alone (fit_time_s_).

    python benchmarks/fit_speed.py [--ref-starts N] [--repeats R]

Targets (issue 18): (c) >= 1,000x faster than (a) and >= 10x faster than (b), objective no
worse than either.
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from references import load_chinchilla, scipy_loop, scipy_screened  # noqa: E402

import scalinglab as sl  # noqa: E402

load = load_chinchilla  # kept for scripts that import it from here


def _median_time(fn, repeats):
    fn()  # warm-up (imports, first-call allocations)
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--ref-starts",
        type=int,
        default=None,
        help="limit the (a) loop to the first N grid starts, scaled to 4,500 (default: all)",
    )
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    df = load_chinchilla()

    # Interleave (b) and (c) repeats so both see the same machine load.
    tb, tc, ts = [], [], []
    sl.fit(df, "chinchilla")
    scipy_screened(df)
    res = ref_b = None
    for _ in range(args.repeats):
        t = time.perf_counter()
        res = sl.fit(df, "chinchilla")
        tc.append(time.perf_counter() - t)
        ts.append(res.fit_time_s_)
        ref_b = scipy_screened(df)
        tb.append(ref_b[0])
    t_c, t_s, t_b = statistics.median(tc), statistics.median(ts), statistics.median(tb)
    _, f_b, _, nit_b = ref_b
    t_a, f_a, _, n_a = scipy_loop(df, args.ref_starts)
    note = ""
    if args.ref_starts:
        t_a = t_a * 4500 / n_a
        note = f" (measured on {n_a} starts, scaled to 4,500)"
    f_c = res.objective_
    moved = int((res.starts_["status"] != "screened").sum())
    print(f"data: {len(df)} points, law chinchilla, 4,500-start Hoffmann grid, 1 BLAS thread")
    print(f"(a) scipy L-BFGS-B per start       : {t_a:9.3f} s  {note} objective {f_a:.14f}")
    print(
        f"(b) scipy, screened, 8 refined     : {t_b * 1e3:9.1f} ms  objective {f_b:.14f}"
        f"  ({nit_b} L-BFGS-B iterations)"
    )
    print(
        f"(c) scalinglab.fit (whole call)    : {t_c * 1e3:9.1f} ms  objective {f_c:.14f}"
        f"  (min {min(tc) * 1e3:.1f} ms, median of {args.repeats})"
    )
    print(f"    of which the search            : {t_s * 1e3:9.1f} ms  ({moved} starts moved)")
    ok = f_c <= min(f_a, f_b) * (1 + 1e-12)
    print(
        f"ratios (whole call): (a)/(c) {t_a / t_c:6.0f}x   (b)/(c) {t_b / t_c:5.1f}x   "
        f"objective (c) <= (a), (b): {ok}"
    )
    print(f"ratios (search)    : (a)/(c) {t_a / t_s:6.0f}x   (b)/(c) {t_b / t_s:5.1f}x")
    print(f"scalinglab params: { {k: round(v, 6) for k, v in res.params_.items()} }")


if __name__ == "__main__":
    main()
