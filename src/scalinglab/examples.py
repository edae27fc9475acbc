"""Built-in example data: a SIMULATED model ladder, until the testbed produces a real one.

The runs are drawn from the Chinchilla law with Epoch AI's refit of Hoffmann et al.'s data
(E=1.8172, A=477.84, B=2143.86, alpha=0.34731, beta=0.36718) plus 1% log-normal noise. They
are labelled simulated wherever they are shown. Regenerate with:

    python -m scalinglab.examples
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

TRUE_PARAMS = {"E": 1.8172, "A": 477.84, "B": 2143.86, "alpha": 0.34731, "beta": 0.36718}
EXAMPLE_FILE = "example_runs.csv"


def simulate_runs(seed: int = 20240417, noise: float = 0.01) -> pd.DataFrame:
    """A ladder of 7 model sizes x 5 token multipliers with Chinchilla-law losses."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in (20e6, 40e6, 80e6, 160e6, 320e6, 640e6, 1.28e9):
        for m in (5, 10, 20, 40, 80):
            d = m * n
            p = TRUE_PARAMS
            loss = p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]
            rows.append(
                {
                    "run_id": f"sim-{n / 1e6:g}M-{m}x",
                    "n_params": n,
                    "tokens": d,
                    "loss": round(loss * float(np.exp(noise * rng.standard_normal())), 5),
                    "source": "simulated (Chinchilla law, Epoch 2024 parameters)",
                }
            )
    return pd.DataFrame(rows)


def example_path() -> Path:
    """Path of the packaged example CSV."""
    return Path(str(resources.files("scalinglab") / "data" / EXAMPLE_FILE))


if __name__ == "__main__":
    out = Path(__file__).parent / "data" / EXAMPLE_FILE
    simulate_runs().to_csv(out, index=False)
    print(f"wrote {out}")
