"""Zhang et al.'s PET-size recipe: how finetuning loss scales with the number of PET
parameters (LoRA rank, prompt length).

A PET method's runs vary its own size over a narrow range (ranks 4-64, a few prompt
lengths), too little to pin down the finetuning-data exponent beta and the floor E beside
the PET exponent. The paper therefore (1) fits beta and E where they are well determined, on
the same method's runs that vary model size and pretraining data (Eq. 2, joint over those
factors), then (2) holds beta and E fixed (lmfit's vary=False; here `Law.fix`) and fits only
A and alpha of L = A P^-alpha D_f^-beta + E on the runs that vary the PET size P.

    >>> res = pet_size_recipe("lora.csv", pet="lora_rank")          # doctest: +SKIP
    >>> res.pet_fit.params_, res.fixed                               # doctest: +SKIP

The rows are one method's runs, tagged by a `factor` column naming the factor each varies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..diagnostics import Diagnostic
from ..errors import DataError
from ..fitting import FitResult, fit
from ..laws import get_law
from ..results import Result, records
from .audit import _load
from .finetune_choice import _joint_frame, joint_multiplicative_law
from .pretrain_choice import require_columns


@dataclass
class PetSizeFit(Result):
    """Step 1 (beta, E from the other factors), step 2 (the PET exponent with them fixed).

    Built by `scalinglab.pet_size_recipe`.

    Attributes
    ----------
    pet : str
        The PET-size column (e.g. ``lora_rank``).
    base_fit : FitResult
        Step 1: Zhang et al.'s Eq. 2 on the rows varying the other factors.
    pet_fit : FitResult
        Step 2: A and alpha on the rows varying `pet`, beta and E held at step 1's values.
    fixed : dict of str to float
        The values held: ``beta`` and ``E``.
    table : pandas.DataFrame
        One row per parameter (beta, E, A, alpha): ``estimate``, ``lower``, ``upper`` and
        ``source`` (which step and rows it comes from).
    notes : list of str
        What each step fitted, and that step 2's intervals leave out step 1's uncertainty.
    """

    title: ClassVar[str] = "PET-size scaling (beta and E fixed from the other factors)"
    pet: str
    base_fit: FitResult  # Eq. 2 on the model-size / pretraining-data rows
    pet_fit: FitResult  # A, alpha on the PET rows, beta and E fixed
    fixed: dict[str, float]
    table: pd.DataFrame  # parameter, estimate, interval, where it comes from
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The parameter table (`table`): both steps' estimates and where each comes from.

        Returns
        -------
        pandas.DataFrame
            The `table` itself (not a copy).

        Examples
        --------
        >>> res = sl.pet_size_recipe("finetune.csv", pet="lora_rank")  # doctest: +SKIP
        >>> res.to_frame().set_index("parameter")["estimate"]  # doctest: +SKIP
        """
        return self.table

    def plot(self) -> Any:
        """Step 2's fit, the PET-size law with beta and E held at step 1's values: loss vs
        the PET parameter per finetuning size (the figure `fit` draws for any law).

        Returns
        -------
        plotly.graph_objects.Figure

        Examples
        --------
        >>> res = sl.pet_size_recipe("finetune.csv", pet="lora_rank")  # doctest: +SKIP
        >>> res.plot().show()  # doctest: +SKIP
        """
        return self.pet_fit.plot()

    def to_dict(self) -> dict[str, Any]:
        """The recipe's answer as JSON-ready data (``--json``).

        Returns
        -------
        dict
            ``pet``, ``fixed``, ``table`` (rows), ``pet_law`` (step 2's law, with beta and E
            fixed, as a fit file saves it) and ``notes``.

        Examples
        --------
        >>> res = sl.pet_size_recipe("finetune.csv", pet="lora_rank")  # doctest: +SKIP
        >>> res.to_dict()["fixed"]  # doctest: +SKIP
        """
        return {
            "pet": self.pet,
            "fixed": self.fixed,
            "table": records(self.table),
            "pet_law": self.pet_fit.law.to_dict(),
            "notes": self.notes,
        }

    def _own_diagnostics(self) -> list[Diagnostic]:
        return []


def pet_size_recipe(
    data: pd.DataFrame | str | Path,
    pet: str = "lora_rank",
    factors: Sequence[str] = ("n_params", "tokens"),
    *,
    metric: str = "loss",
    n_bootstrap: int = 200,
    interval: float = 0.9,
    seed: int = 0,
) -> PetSizeFit:
    """Zhang et al.'s PET-size procedure: fix beta and E, then fit the PET exponent.

    The PET parameter count (LoRA rank, prompt length) varies too little to identify the
    joint law's shared beta and E on its own rows; the paper takes them from the model-size /
    pretraining-data fits and fits only the PET factor's A and alpha with them fixed.

    Parameters
    ----------
    data : DataFrame, str or path
        A DataFrame or table path of finetuning runs with finetune_size, the metric, the
        `factors` columns and the `pet` column.
    pet : str, default 'lora_rank'
        The PET-size column (``lora_rank``, ``prompt_length``, a PET parameter count).
    factors : sequence of str, default ('n_params', 'tokens')
        The factors whose rows determine beta and E (one is enough).
    metric : str, default 'loss'
        The finetuning loss column.
    n_bootstrap : int, default 200
        Resamples behind the PET fit's bootstrap intervals (0: none).
    interval : float, default 0.9
        The intervals' level.
    seed : int, default 0
        The bootstrap's seed.

    Returns
    -------
    PetSizeFit
        `base_fit` (beta, E), `pet_fit` (A, alpha with beta and E fixed), and `table` of
        every parameter with its interval and where it comes from.

    Examples
    --------
    >>> import scalinglab as sl
    >>> sl.pet_size_recipe("finetune.csv", pet="lora_rank").table  # doctest: +SKIP
    """
    df = _load(data)
    factors = list(factors)
    require_columns(df, ["factor", "finetune_size", metric, pet, *factors], "PET-size recipe")
    base = df[df["factor"].isin(factors)]
    pet_rows = df[df["factor"] == pet]
    usable = [f for f in factors if base.loc[base["factor"] == f, f].nunique() >= 2]
    if not usable:
        raise DataError(
            f"the PET-size recipe needs rows varying one of {factors} (tagged in 'factor', "
            "at least 2 values) to fix beta and E from"
        )
    if pet_rows[pet].nunique() < 2:
        raise DataError(
            f"the PET-size recipe needs rows varying '{pet}' (factor == {pet!r}) with at "
            f"least 2 values; found {pet_rows[pet].nunique()}",
            column=pet,
        )
    base = base[base["factor"].isin(usable)]
    base_fit = fit(_joint_frame(base, usable), joint_multiplicative_law(usable), metric=metric)
    fixed = {"beta": base_fit.params_["beta"], "E": base_fit.params_["E"]}
    law = get_law("finetune_multiplicative").fix(**fixed)
    pet_fit = fit(pet_rows, law, mapping={"x": pet}, metric=metric)
    q = [50 * (1 - interval), 50 * (1 + interval)]
    iv: dict[str, tuple[float, float]] = {}
    if n_bootstrap:
        for res in (base_fit, pet_fit):
            b = res.bootstrap(n_bootstrap, seed=seed)
            draws = b.params[b.usable]
            for n, (lo, hi) in zip(
                res.law.param_names, np.percentile(draws, q, axis=0).T, strict=True
            ):
                iv.setdefault(n if res is pet_fit else f"step1:{n}", (float(lo), float(hi)))
    rows = []
    for n in ("beta", "E"):
        lo, hi = iv.get(f"step1:{n}", (np.nan, np.nan))
        rows.append(
            {
                "parameter": n,
                "estimate": fixed[n],
                "lower": lo,
                "upper": hi,
                "source": f"fitted on the rows varying {', '.join(usable)}; fixed in step 2",
            }
        )
    for n in ("A", "alpha"):
        lo, hi = iv.get(n, (np.nan, np.nan))
        rows.append(
            {
                "parameter": n,
                "estimate": pet_fit.params_[n],
                "lower": lo,
                "upper": hi,
                "source": f"fitted on the {len(pet_rows)} rows varying {pet}",
            }
        )
    notes = [
        f"step 1: beta = {fixed['beta']:.4g}, E = {fixed['E']:.4g} from {len(base)} runs "
        f"varying {', '.join(usable)}; step 2: alpha_{pet} = {pet_fit.params_['alpha']:.4g} "
        f"from {len(pet_rows)} runs varying {pet} with beta and E held fixed"
    ]
    if n_bootstrap:
        notes.append(
            f"intervals ({interval:.0%}, {n_bootstrap} resamples) of step 2 are conditional on "
            "the fixed beta and E: they leave out step 1's uncertainty"
        )
    return PetSizeFit(pet, base_fit, pet_fit, fixed, pd.DataFrame(rows), notes)
