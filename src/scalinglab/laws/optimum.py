"""Chinchilla's closed-form compute-optimal allocation (Hoffmann et al., approach 3).

Law arithmetic, not a workflow: the planning workflow and the frontier figure both need it,
so it lives with the laws, below both.
"""

from __future__ import annotations


def compute_optimal(params: dict[str, float], budget: float) -> tuple[float, float, float]:
    """Closed-form (N*, D*, loss*) for C = budget."""
    a_, b_ = params["alpha"], params["beta"]
    G = (a_ * params["A"] / (b_ * params["B"])) ** (1 / (a_ + b_))
    n = G * (budget / 6) ** (b_ / (a_ + b_))
    d = budget / (6 * n)
    return n, d, loss_at(params, n, d)


def loss_at(params: dict[str, float], n: float, d: float) -> float:
    return params["E"] + params["A"] / n ** params["alpha"] + params["B"] / d ** params["beta"]
