"""Built-in example data, SIMULATED from published parameters until the testbed produces a
real ladder. Labelled simulated wherever shown. Regenerate with:

    python -m scalinglab.examples

- example_runs.csv: 7 model sizes x 5 token multipliers; loss from the Chinchilla law with
  Epoch AI's refit of Hoffmann et al. (E=1.8172, A=477.84, B=2143.86, alpha=0.34731,
  beta=0.36718) times 1% log-normal noise; downstream error from Gadre et al.'s RedPajama
  loss->error law (eps=0.85699, k=2.20649, gamma=0.71459) plus 0.5-point noise.
- example_finetune.csv: full-model tuning vs LoRA at 5 model sizes x 6 finetuning sizes x 3
  seeds, from multiplicative laws (Zhang et al.'s form) crossing near D_f = 3e5.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

TRUE_PARAMS = {"E": 1.8172, "A": 477.84, "B": 2143.86, "alpha": 0.34731, "beta": 0.36718}
ERROR_PARAMS = {"eps": 0.85699, "k": 2.20649, "gamma": 0.71459}
FINETUNE_PARAMS = {"fmt": (400.0, 0.2, 0.2, 1.0), "lora": (60.0, 0.2, 0.05, 1.0)}
EXAMPLE_FILE = "example_runs.csv"
FINETUNE_FILE = "example_finetune.csv"


def simulate_runs(seed: int = 20240417, noise: float = 0.01) -> pd.DataFrame:
    """A ladder of 7 model sizes x 5 token multipliers with Chinchilla-law losses."""
    rng = np.random.default_rng(seed)
    p, q = TRUE_PARAMS, ERROR_PARAMS
    rows = []
    for n in (20e6, 40e6, 80e6, 160e6, 320e6, 640e6, 1.28e9):
        for m in (5, 10, 20, 40, 80):
            d = m * n
            loss = (p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]) * float(
                np.exp(noise * rng.standard_normal())
            )
            error = q["eps"] - q["k"] * np.exp(-q["gamma"] * loss) + 0.005 * rng.standard_normal()
            rows.append(
                {
                    "run_id": f"sim-{n / 1e6:g}M-{m}x",
                    "n_params": n,
                    "tokens": d,
                    "loss": round(loss, 5),
                    "error": round(float(error), 5),
                    "source": "simulated",
                }
            )
    return pd.DataFrame(rows)


def simulate_finetune(seed: int = 7, noise: float = 0.003) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for method, (A, a, b, E) in FINETUNE_PARAMS.items():
        for n in np.geomspace(1e9, 1.6e10, 5):
            for dfs in np.geomspace(1e3, 1e7, 6):
                for s in range(3):
                    loss = (A / (n**a * dfs**b) + E) * float(np.exp(noise * rng.standard_normal()))
                    rows.append(
                        {
                            "method": method,
                            "n_params": float(n),
                            "finetune_size": float(round(dfs)),
                            "seed": s,
                            "loss": round(loss, 5),
                            "source": "simulated",
                        }
                    )
    return pd.DataFrame(rows)


def example_path(name: str = EXAMPLE_FILE) -> Path:
    """Path of a packaged example CSV."""
    return Path(str(resources.files("scalinglab") / "data" / name))


if __name__ == "__main__":
    here = Path(__file__).parent / "data"
    simulate_runs().to_csv(here / EXAMPLE_FILE, index=False)
    simulate_finetune().to_csv(here / FINETUNE_FILE, index=False)
    print(f"wrote {here / EXAMPLE_FILE} and {here / FINETUNE_FILE}")
