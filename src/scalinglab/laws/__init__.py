"""Law type, the built-in catalog and user expression laws."""

from __future__ import annotations

import difflib

from ..errors import UnknownLawError
from .base import Law, Parameter
from .catalog.gadre import loss_to_error, overtrain
from .catalog.generic import power_law, sigmoid
from .catalog.hernandez import transfer
from .catalog.hoffmann import chinchilla
from .catalog.isik import bleu_loglaw, downstream_ce
from .catalog.kaplan import kaplan
from .catalog.muennighoff import data_constrained
from .catalog.zhang import finetune_additive, finetune_joint, finetune_multiplicative
from .expression import expression_law

CATALOG: dict[str, Law] = {
    law.name: law
    for law in (
        chinchilla,
        kaplan,
        data_constrained,
        overtrain,
        loss_to_error,
        downstream_ce,
        bleu_loglaw,
        finetune_multiplicative,
        finetune_additive,
        finetune_joint,
        transfer,
        power_law,
        sigmoid,
    )
}


def get_law(name: str | Law) -> Law:
    """A catalog law by name (a `Law` passes through unchanged).

    Parameters
    ----------
    name : str or Law
        A catalog name (``scalinglab laws`` lists them, e.g. "chinchilla", "overtrain",
        "loss_to_error") or a `Law`.

    Returns
    -------
    Law

    Raises
    ------
    UnknownLawError
        For a name not in the catalog, with the closest names.

    Examples
    --------
    >>> import scalinglab as sl
    >>> sl.get_law("chinchilla").param_names
    ('E', 'A', 'B', 'alpha', 'beta')
    """
    if isinstance(name, Law):
        return name
    try:
        return CATALOG[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), CATALOG, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise UnknownLawError(
            f"unknown law '{name}'.{hint} Known laws: {', '.join(CATALOG)}; or write your own "
            "with an expression (--expr / scalinglab.expression_law)."
        ) from None


def law_from_dict(d: dict) -> Law:
    """Rebuild a law saved by `Law.to_dict` (catalog name or expression spec), so a saved
    result reloads with the law it was fitted with.

    Parameters
    ----------
    d : dict
        The `Law.to_dict` payload: ``catalog`` (a name) or ``expression``, with optional
        ``parameters``, ``fixed``, ``space`` (and, for an expression, ``metric``, ``name``
        and ``variables``).

    Returns
    -------
    Law
        The law, with its saved parameters' bounds and fixed values.
    """
    from .base import Parameter as _P

    params = [_P.from_dict(p) for p in d.get("parameters", [])]
    fixed = d.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise TypeError("'fixed' must be an object of parameter name: value")
    if "catalog" in d:
        law = get_law(d["catalog"])
        if params:
            from dataclasses import replace

            law = replace(law, parameters=tuple(params), space=d.get("space", law.space))
        return law.fix(**fixed)
    return expression_law(
        d["expression"],
        {p.name: p for p in params},
        metric=d.get("metric", "y"),
        space=d.get("space", "log"),
        name=d.get("name"),
        variables=d.get("variables"),
    ).fix(**fixed)


__all__ = ["CATALOG", "Law", "Parameter", "expression_law", "get_law", "law_from_dict"]
