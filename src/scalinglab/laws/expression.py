"""Laws written by the user as an expression, e.g. "E + A/n_params**alpha + B/tokens**beta".

The expression is parsed with `ast` and evaluated by a small tree-walker that knows only
numbers, names, + - * / ** (``^`` is read as power), unary minus and a whitelist of math
functions. Nothing is passed to `eval`, so attribute access, calls to arbitrary functions,
subscripts, lambdas and the like are rejected with an `ExpressionError` before any data is seen.

Limits keep a hostile or mistyped expression from hanging or crashing the parser or the
fitter: at most MAX_CHARS characters, MAX_NODES syntax nodes and MAX_DEPTH levels of nesting;
numbers must be finite, constant parts (`10**10**10`) must evaluate to finite numbers, and a
number inside an exponent may not exceed MAX_EXPONENT in magnitude. A function name used as
a value (`E + log`) is an error that says to call it.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..errors import BoundsError, ExpressionError
from ..schema import KNOWN_VARIABLES
from .base import Law, Parameter, Space

FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "tanh": np.tanh,
    "abs": np.abs,
}

MAX_CHARS = 1000
MAX_NODES = 400
MAX_DEPTH = 40
MAX_EXPONENT = 1000.0

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def _check(node: ast.AST, expr: str) -> None:
    """Reject every construct that is not plain arithmetic on names and numbers."""
    for sub in ast.walk(node):
        ok = isinstance(
            sub,
            (
                ast.Expression,
                ast.BinOp,
                ast.UnaryOp,
                ast.Constant,
                ast.Name,
                ast.Load,
                ast.Call,
                ast.Add,
                ast.Sub,
                ast.Mult,
                ast.Div,
                ast.Pow,
                ast.USub,
                ast.UAdd,
            ),
        )
        if not ok:
            raise ExpressionError(
                f"expression {expr!r}: '{type(sub).__name__}' is not allowed; only numbers, "
                "names, + - * / ** and the functions " + ", ".join(sorted(FUNCTIONS))
            )
        if isinstance(sub, ast.Constant) and not isinstance(sub.value, (int, float)):
            raise ExpressionError(f"expression {expr!r}: constant {sub.value!r} is not a number")
        if isinstance(sub, ast.Call):
            if not isinstance(sub.func, ast.Name) or sub.func.id not in FUNCTIONS:
                fname = sub.func.id if isinstance(sub.func, ast.Name) else ast.unparse(sub.func)
                raise ExpressionError(
                    f"expression {expr!r}: unknown function '{fname}'; allowed: "
                    + ", ".join(sorted(FUNCTIONS))
                )
            if len(sub.args) != 1 or sub.keywords:
                raise ExpressionError(
                    f"expression {expr!r}: {sub.func.id}() takes exactly one argument"
                )
        if isinstance(sub, ast.Name) and sub.id.startswith("_"):
            raise ExpressionError(f"expression {expr!r}: name '{sub.id}' is not allowed")
    _check_limits(node, expr)


def _number(node: ast.Constant) -> float:
    """A constant's value; `_check` lets only int and float constants through."""
    value = node.value
    if not isinstance(value, (int, float)):  # unreachable after _check
        raise ExpressionError(f"constant {value!r} is not a number")
    return float(value)


def _function(node: ast.Call) -> Callable[[Any], Any]:
    """A call's function; `_check` lets only calls of a name in FUNCTIONS through."""
    if not isinstance(node.func, ast.Name):  # unreachable after _check
        raise ExpressionError(f"unknown function '{ast.unparse(node.func)}'")
    return FUNCTIONS[node.func.id]


def _depth(node: ast.AST) -> int:
    deepest, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(n))
    return deepest


def _constant_value(node: ast.AST) -> float | None:
    """The value of a subtree of numbers only (None if it has a name), in float64; raises
    FloatingPointError when it overflows or is undefined."""
    if isinstance(node, ast.Constant):
        return _number(node)
    if isinstance(node, ast.UnaryOp):
        v = _constant_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp):
        a, b = _constant_value(node.left), _constant_value(node.right)
        if a is None or b is None:
            return None
        with np.errstate(all="raise"):
            v = _BINOPS[type(node.op)](np.float64(a), np.float64(b))
        if not np.isfinite(v) or isinstance(v, complex):
            raise FloatingPointError
        return float(v)
    if isinstance(node, ast.Call):
        v = _constant_value(node.args[0])
        if v is None:
            return None
        with np.errstate(all="raise"):
            r = _function(node)(np.float64(v))
        if not np.isfinite(r):
            raise FloatingPointError
        return float(r)
    return None


def _check_limits(tree: ast.AST, expr: str) -> None:
    """Size, nesting, numbers and functions used as values (see module docstring)."""
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(
            f"expression has {len(nodes)} syntax nodes; at most {MAX_NODES} are allowed"
        )
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels")
    called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for n in nodes:
        if isinstance(n, ast.Name) and n.id in FUNCTIONS and id(n) not in called:
            raise ExpressionError(
                f"expression {expr!r}: '{n.id}' is a function, not a value: call it, "
                f"e.g. {n.id}(tokens)"
            )
        if isinstance(n, ast.Constant):
            try:
                ok = math.isfinite(_number(n))
            except OverflowError:
                ok = False
            if not ok:
                raise ExpressionError(f"expression {expr!r}: number {n.value!r:.40} is not finite")
    for n in reversed(nodes):  # innermost first: the message names the constant part alone
        if not isinstance(n, (ast.BinOp, ast.Call, ast.UnaryOp)):
            continue
        try:
            _constant_value(n)
        except (FloatingPointError, OverflowError, ZeroDivisionError):
            raise ExpressionError(
                f"expression {expr!r}: the constant part '{ast.unparse(n)[:80]}' overflows "
                "or is undefined"
            ) from None
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow):
            for c in ast.walk(n.right):
                if isinstance(c, ast.Constant) and abs(_number(c)) > MAX_EXPONENT:
                    raise ExpressionError(
                        f"expression {expr!r}: the number {_number(c):g} in an exponent is too "
                        f"large (at most {MAX_EXPONENT:g} in magnitude)"
                    )


def _names(tree: ast.AST) -> list[str]:
    seen: list[str] = []
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Name) and sub.id not in FUNCTIONS and sub.id not in seen:
            seen.append(sub.id)
    return seen


def _evaluator(tree: ast.Expression) -> Callable[..., Any]:
    def ev(node: ast.AST, env: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return _number(node)
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left, env), ev(node.right, env))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, env)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call):
            return _function(node)(ev(node.args[0], env))
        raise ExpressionError(f"cannot evaluate {ast.dump(node)}")  # unreachable after _check

    body = tree.body

    def formula(**env: Any) -> Any:
        return ev(body, env)

    return formula


def _parameter_from_spec(name: str, spec: Any) -> Parameter:
    """Accept a Parameter, a dict(lower, upper, grid, log) or a (lower, upper[, grid]) tuple."""
    if isinstance(spec, Parameter):
        return spec if spec.name == name else Parameter(**{**spec.__dict__, "name": name})
    if isinstance(spec, Mapping):
        lower = float(spec.get("lower", -math.inf))
        upper = float(spec.get("upper", math.inf))
        grid = spec.get("grid")
        log = spec.get("log")
    elif isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        lower, upper = float(spec[0]), float(spec[1])
        grid = spec[2] if len(spec) == 3 else None
        log = None
    else:
        raise BoundsError(
            f"parameter '{name}': spec must be a dict(lower=, upper=, grid=, log=) or a "
            f"(lower, upper[, grid]) tuple, got {spec!r}"
        )
    if lower > upper:
        raise BoundsError(
            f"parameter '{name}': lower bound {lower} is greater than upper bound {upper}"
        )
    if log is None:
        log = lower >= 0 and not math.isfinite(upper) if grid is None else False
    if grid is None:
        grid = default_grid(lower, upper, bool(log))
    return Parameter(name, lower, upper, tuple(float(g) for g in grid), log=bool(log))


def default_grid(lower: float, upper: float, log: bool) -> tuple[float, ...]:
    """A start grid when the user gives only bounds: 5 interior points, or decades."""
    if math.isfinite(lower) and math.isfinite(upper):
        if log and lower > 0:
            return tuple(float(v) for v in np.geomspace(lower, upper, 7)[1:-1])
        return tuple(float(v) for v in np.linspace(lower, upper, 7)[1:-1])
    if log:
        return tuple(float(np.exp(v)) for v in (-2.0, 0.0, 2.0, 4.0, 8.0, 12.0))
    return (-1.0, -0.1, 0.1, 1.0)


def expression_law(
    expression: str,
    parameters: Mapping[str, Any],
    *,
    metric: str = "y",
    space: Space = "log",
    name: str | None = None,
    variables: Iterable[str] | None = None,
) -> Law:
    """Build a `Law` from an expression string and per-parameter specs.

    Names in the expression that are not parameters are variables; they must be canonical
    scalinglab variable names or be listed in `variables`, so a typo such as `alpah` is an
    error rather than a silently missing column. The expression is parsed by a restricted
    parser (arithmetic, powers, a few functions): nothing in it is ever run as Python.

    Parameters
    ----------
    expression : str
        E.g. ``"E + A/n_params**alpha + B/tokens**beta"``.
    parameters : mapping
        Name -> bounds ``(lower, upper)`` or a dict with ``lower``, ``upper`` and an
        optional start ``grid``.
    metric : str, default 'y'
        The column the law predicts.
    space : {"log", "identity"}, default "log"
        "log" (residuals of log values; the papers' choice for losses) or "identity"
        (residuals of raw values; "linear" is refused).
    name : str, optional
        The law's name in outputs (default "expression").
    variables : iterable of str, optional
        Extra variable names allowed besides the canonical ones.

    Returns
    -------
    Law

    Examples
    --------
    >>> import scalinglab as sl
    >>> law = sl.expression_law("E + A/n_params**alpha", {"E": (0, 10), "A": (0, 1e6),
    ...                         "alpha": (0, 2)}, metric="loss")
    >>> law.variables
    ('n_params',)
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError("expression is empty")
    if len(expression) > MAX_CHARS:
        raise ExpressionError(
            f"expression is {len(expression)} characters long; at most {MAX_CHARS} are allowed"
        )
    text = expression.replace("^", "**")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"expression {expression!r} is not valid: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels") from None
    _check(tree, expression)
    names = _names(tree)
    params = dict(parameters)
    declared = set(variables or ())
    var_names = [n for n in names if n not in params]
    if variables:  # the caller's order: a saved law rebuilds with the variables it had
        order = {v: i for i, v in enumerate(variables)}
        var_names.sort(key=lambda n: order.get(n, len(order)))
    unknown = [n for n in var_names if n not in declared and n not in KNOWN_VARIABLES]
    if unknown:
        close = {
            u: difflib.get_close_matches(u, list(params) + sorted(KNOWN_VARIABLES), n=1)
            for u in unknown
        }
        hint = "".join(f" Did you mean '{c[0]}' for '{u}'?" for u, c in close.items() if c)
        raise ExpressionError(
            f"expression {expression!r}: unknown name(s) {unknown}: not a parameter "
            f"({', '.join(params) or 'none given'}) and not a known variable; declare "
            "parameters with bounds/grid, or pass variables=[...] for your own column names." + hint
        )
    unused = [p for p in params if p not in names]
    if unused:
        raise ExpressionError(
            f"expression {expression!r}: parameter(s) {unused} do not appear in it"
        )
    if not params:
        raise ExpressionError(f"expression {expression!r}: no parameters to fit")
    shadow = [p for p in params if p in KNOWN_VARIABLES or p in declared]
    if shadow:
        raise ExpressionError(
            f"expression {expression!r}: {shadow} name data column(s), not parameters: a "
            "parameter would turn the column into one constant; rename the parameter"
        )
    if not var_names:
        raise ExpressionError(
            f"expression {expression!r} uses no data column: it would fit one constant to every run"
        )
    if metric in var_names:
        raise ExpressionError(
            f"expression {expression!r}: the metric '{metric}' is also an input; a law "
            "that reads its own output fits anything exactly"
        )
    plist = tuple(_parameter_from_spec(p, spec) for p, spec in params.items())
    spec = {
        "expression": expression,
        "metric": metric,
        "name": name or "expression",
        "variables": var_names,
    }
    return Law(
        name=name or "expression",
        variables=tuple(var_names),
        metric=metric,
        parameters=plist,
        formula=_evaluator(tree),
        formula_text=expression,
        space=space,
        citation="user-defined expression",
        positive_variables=(),
        spec=spec,
    )


def parse_param_option(text: str) -> tuple[str, dict[str, Any]]:
    """Parse the CLI form NAME=LOWER:UPPER[:g1,g2,...][:log] into (name, spec)."""
    if "=" not in text:
        raise BoundsError(f"--param {text!r}: expected NAME=LOWER:UPPER[:g1,g2,...][:log]")
    name, rest = text.split("=", 1)
    parts = rest.split(":")
    log = False
    if parts and parts[-1].strip().lower() == "log":
        log = True
        parts = parts[:-1]
    if len(parts) not in (2, 3):
        raise BoundsError(f"--param {text!r}: expected NAME=LOWER:UPPER[:g1,g2,...][:log]")

    def num(s: str, empty: float = math.nan) -> float:
        s = s.strip().lower()
        if s == "" and not math.isnan(empty):
            return empty
        if s == "-inf":
            return -math.inf
        if s in ("inf", "+inf"):
            return math.inf
        try:
            return float(s)
        except ValueError:
            raise BoundsError(f"--param {text!r}: {s!r} is not a number") from None

    spec: dict[str, Any] = {"lower": num(parts[0], -math.inf), "upper": num(parts[1], math.inf)}
    if len(parts) == 3:
        spec["grid"] = [num(g) for g in parts[2].split(",") if g.strip()]
    if log:
        spec["log"] = True
    return name.strip(), spec
