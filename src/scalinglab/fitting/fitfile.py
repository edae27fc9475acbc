"""The schema of a saved fit (`fit --out FIT.json`, `FitResult.to_json`), checked before use.

Fit files are shared, edited by hand and truncated by full disks; `FitResult.from_dict` runs
`check_fit_dict` first, so a malformed file is a `FitFileError` that names the key and what
is wrong, never a KeyError, a TypeError or a prediction from a NaN parameter (a NaN or
out-of-bound parameter once predicted a loss of -158). Checked:

- the top level is an object with `law_spec`, `params`, `objective`, `converged`, `n_points`;
- `law_spec` rebuilds a known law (catalog name or a safe expression, valid bounds), and
  the `law` name, where given, is that law's;
- `params` has exactly the law's parameter names, each a finite number within its bounds;
- every other key present has its type (numbers finite where they must be, lists of the
  right length for the fitted data, a well-formed bootstrap and diagnostics).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..diagnostics import SEVERITIES
from ..errors import FitFileError, ScalingLabError
from ..laws import law_from_dict
from ..laws.base import Law

REQUIRED = ("law_spec", "params", "objective", "converged", "n_points")


def _fail(msg: str, source: str | None) -> FitFileError:
    return FitFileError(f"not a valid scalinglab fit: {msg}", file=source)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _typename(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(v), "null" if v is None else type(v).__name__
    )


def check_law(d: Mapping[str, Any], source: str | None = None) -> Law:
    """The law of a fit dict, rebuilt and checked."""
    spec = d.get("law_spec")
    if not isinstance(spec, Mapping):
        raise _fail(f"'law_spec' must be an object, got {_typename(spec)}", source)
    try:
        return law_from_dict(dict(spec))
    except ScalingLabError as exc:
        raise _fail(f"'law_spec': {exc}", source) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise _fail(f"'law_spec' is malformed ({what})", source) from None


def _check_number_list(v: Any, key: str, n: int | None, source: str | None) -> int:
    if not isinstance(v, list) or not all(_is_number(x) for x in v):
        raise _fail(f"'{key}' must be a list of numbers", source)
    if n is not None and len(v) != n:
        raise _fail(f"'{key}' has {len(v)} values, expected {n}", source)
    return len(v)


def check_fit_dict(d: Any, source: str | None = None) -> Law:
    """Raise FitFileError unless `d` is a valid saved fit (see module docstring); its law."""
    if not isinstance(d, Mapping):
        raise _fail(f"the file holds {_typename(d)}, not a JSON object", source)
    missing = [k for k in REQUIRED if k not in d]
    if missing:
        raise _fail(f"missing key(s) {', '.join(repr(k) for k in missing)}", source)
    law = check_law(d, source)
    if "law" in d and isinstance(d["law"], str) and d["law"] != law.name:
        raise _fail(
            f"'law' says {d['law']!r} but 'law_spec' describes law {law.name!r}; the file was "
            "edited by hand or mixes two fits (make them agree, or drop 'law')",
            source,
        )
    params = d["params"]
    if not isinstance(params, Mapping):
        raise _fail(f"'params' must be an object of name: value, got {_typename(params)}", source)
    names = list(law.param_names)
    lacking = [n for n in names if n not in params]
    extra = [n for n in params if n not in names]
    if lacking or extra:
        raise _fail(
            f"'params' must name exactly the parameters of law '{law.name}' "
            f"({', '.join(names)})"
            + (f"; missing {lacking}" if lacking else "")
            + (f"; not the law's: {extra}" if extra else ""),
            source,
        )
    for p in law.parameters:
        v = params[p.name]
        if not _is_number(v):
            raise _fail(f"parameter '{p.name}' must be a number, got {_typename(v)}", source)
        if not math.isfinite(v):
            raise _fail(f"parameter '{p.name}' is {v}; a finite number is needed", source)
        slack = 1e-9 * max(1.0, abs(v))  # a value clipped to a bound, then rounded
        if not (p.lower - slack <= v <= p.upper + slack):
            raise _fail(
                f"parameter '{p.name}' = {v:g} is outside its bounds [{p.lower:g}, {p.upper:g}]",
                source,
            )
    if not (_is_number(d["objective"])):
        raise _fail(f"'objective' must be a number, got {_typename(d['objective'])}", source)
    if not isinstance(d["converged"], bool):
        raise _fail(f"'converged' must be true or false, got {_typename(d['converged'])}", source)
    n = d["n_points"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise _fail(f"'n_points' must be a whole number >= 0, got {n!r}", source)
    _check_optional(d, law, n, source)
    return law


def _check_optional(d: Mapping[str, Any], law: Law, n: int, source: str | None) -> None:
    texts = ("metric", "stop_reason", "law", "scalinglab_version")
    for key in texts:
        if key in d and not isinstance(d[key], str):
            raise _fail(f"'{key}' must be text, got {_typename(d[key])}", source)
    if d.get("source") is not None and not isinstance(d["source"], str):
        raise _fail(f"'source' must be text, got {_typename(d['source'])}", source)
    for key in ("warnings", "at_bounds"):
        if key in d and not (isinstance(d[key], list) and all(isinstance(x, str) for x in d[key])):
            raise _fail(f"'{key}' must be a list of text", source)
    if "at_bounds" in d and set(d["at_bounds"]) - set(law.param_names):
        raise _fail("'at_bounds' names parameters the law does not have", source)
    if "delta" in d and not (_is_number(d["delta"]) and d["delta"] > 0):
        raise _fail(f"'delta' must be a number > 0, got {d['delta']!r}", source)
    for key in ("fit_time_s",):
        if key in d and not _is_number(d[key]):
            raise _fail(f"'{key}' must be a number, got {_typename(d[key])}", source)
    for key in ("n_iter", "dof"):
        if key in d and not (isinstance(d[key], int) and not isinstance(d[key], bool)):
            raise _fail(f"'{key}' must be a whole number, got {d[key]!r}", source)
    if "columns" in d:
        cols = d["columns"]
        if not isinstance(cols, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in cols.items()
        ):
            raise _fail("'columns' must be an object of law variable: column name", source)
        unknown = [k for k in cols if k not in law.variables]
        if unknown:
            raise _fail(
                f"'columns' names {unknown}, not variables of law '{law.name}' "
                f"({', '.join(law.variables)})",
                source,
            )
    if "diagnostics" in d:
        diags = d["diagnostics"]
        ok = isinstance(diags, list) and all(
            isinstance(x, Mapping)
            and all(isinstance(x.get(k), str) for k in ("code", "severity", "message"))
            and x["severity"] in SEVERITIES
            for x in diags
        )
        if not ok:
            raise _fail(
                "'diagnostics' must be a list of objects with code, severity "
                "(info/warning/error) and message",
                source,
            )
    if "data" in d:
        _check_data(d["data"], law, n, source)
    if "starts" in d and not (
        isinstance(d["starts"], list) and all(isinstance(x, Mapping) for x in d["starts"])
    ):
        raise _fail("'starts' must be a list of objects", source)
    if "bootstrap" in d:
        _check_bootstrap(d["bootstrap"], law, source)


def _check_data(data: Any, law: Law, n: int, source: str | None) -> None:
    if not isinstance(data, Mapping) or not {"x", "y", "weights"} <= set(data):
        raise _fail("'data' must be an object with x, y and weights", source)
    x = data["x"]
    if not isinstance(x, Mapping) or set(x) != set(law.variables):
        raise _fail(
            f"'data.x' must hold exactly the law's variables ({', '.join(law.variables)})",
            source,
        )
    rows = _check_number_list(data["y"], "data.y", None, source)
    _check_number_list(data["weights"], "data.weights", rows, source)
    for var, vals in x.items():
        _check_number_list(vals, f"data.x.{var}", rows, source)


def _check_bootstrap(b: Any, law: Law, source: str | None) -> None:
    if not isinstance(b, Mapping):
        raise _fail(f"'bootstrap' must be an object, got {_typename(b)}", source)
    need = ("params", "objective", "converged", "method", "seed")
    missing = [k for k in need if k not in b]
    if missing:
        raise _fail(f"'bootstrap' lacks {missing}", source)
    rows = b["params"]
    if not isinstance(rows, list) or not all(
        isinstance(r, list) and len(r) == law.n_params and all(_is_number(v) for v in r)
        for r in rows
    ):
        raise _fail(
            f"'bootstrap.params' must be a list of {law.n_params}-number rows "
            f"({', '.join(law.param_names)})",
            source,
        )
    k = len(rows)
    _check_number_list(b["objective"], "bootstrap.objective", k, source)
    conv = b["converged"]
    if not isinstance(conv, list) or len(conv) != k or not all(isinstance(c, bool) for c in conv):
        raise _fail(f"'bootstrap.converged' must be {k} true/false values", source)
    if not isinstance(b["method"], str):
        raise _fail("'bootstrap.method' must be text", source)
    if not isinstance(b["seed"], int) or isinstance(b["seed"], bool):
        raise _fail("'bootstrap.seed' must be a whole number", source)
