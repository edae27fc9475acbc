"""Row selection from user-written queries (`--where`, `--holdout`, `where=` ...), safely.

pandas' `DataFrame.eval/query` run Python: `@pd.io.common.os.system(...)` in a query string
executes a shell command. Queries arrive from command lines, specs and colleagues' scripts,
so they are parsed with `ast` and evaluated here over the table's columns with numpy; only
column names, literals, comparisons (chained, `in` / `not in` lists), boolean logic
(`and or not & | ~`), arithmetic and a few whitelisted functions are allowed. Nothing is
looked up in any Python namespace, so there is nothing to escape to.

The syntax is pandas' query syntax for everything it allows, including backtick-quoted
column names (`` `val loss` < 3 ``), so existing queries keep working.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from .errors import QueryError

__all__ = [
    "QueryError",
    "select",
    "mask",
    "check_query",
    "column_expression",
    "is_expression",
    "ALLOWED_FUNCTIONS",
]

# Inside the command line a query is named by its option (--where); in a notebook by the
# argument the caller passed (where=), so neither reader is sent looking for the other's name.
_COMMAND_LINE: ContextVar[bool] = ContextVar("scalinglab_command_line_names", default=False)
_ARGUMENT_NAMES = {"--map": "mapping"}


@contextmanager
def command_line_names() -> Iterator[None]:
    """Within the block, query errors name command-line options (`--where`), as the CLI
    wants; outside it they name the library's arguments (`where=`)."""
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)


def option_label(what: str) -> str:
    """'--fit-where' as the CLI names it, 'fit_where=' as a library call does."""
    if _COMMAND_LINE.get() or not what.startswith("--"):
        return what
    if what.startswith("--map "):  # "--map n_params=" -> "mapping['n_params']="
        return f"mapping[{what[6:].rstrip('=')!r}]="
    return _ARGUMENT_NAMES.get(what, what[2:].replace("-", "_")) + "="


def _q(what: str, query: str) -> str:
    """The query as its error quotes it: "--where 'x > '" or "where='x > '"."""
    return f"{what}{query!r}" if what.endswith("=") else f"{what} {query!r}"


MAX_QUERY_CHARS = 2000
MAX_QUERY_NODES = 500

ALLOWED_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "log": np.log,
    "log10": np.log10,
    "log2": np.log2,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
}

_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
    ast.BitAnd: lambda a, b: _as_bool(a) & _as_bool(b),
    ast.BitOr: lambda a, b: _as_bool(a) | _as_bool(b),
}
_BACKTICK = re.compile(r"`([^`]*)`")


def _as_bool(v: Any) -> Any:
    if isinstance(v, np.ndarray) and v.dtype != bool:
        raise QueryError("'&', '|' and '~' combine conditions (True/False), not numbers")
    return v


def _substitute_backticks(query: str) -> tuple[str, dict[str, str]]:
    """Replace `` `any column name` `` by placeholder identifiers (as pandas does)."""
    names: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        key = f"__bt{len(names)}__"
        names[key] = m.group(1)
        return key

    return _BACKTICK.sub(repl, query), names


MAX_LISTED_COLUMNS = 20


def unknown_column_message(name: str, columns: list[str], limit: int = MAX_LISTED_COLUMNS) -> str:
    """ "no column 'X' — did you mean 'Y'? (columns: ...)" with the likeliest names first and at
    most `limit` of them: an imported harness table has ~150 columns, and listing them all
    in table order buried the one the user meant."""
    likely = close_columns(name, columns)
    hint = f" — did you mean '{likely[0]}'?" if likely else ""
    others = [c for c in columns if c not in likely][: max(limit - len(likely), 0)]
    more = len(columns) - len(likely) - len(others)
    listed = ", ".join(others) + (f", and {more} more" if more > 0 else "")
    if not likely:
        return f"no column '{name}' (columns: {listed})"
    return f"no column '{name}'{hint} (closest: {', '.join(likely)}; other columns: {listed})"


def close_columns(name: str, columns: list[str], n: int = 8) -> list[str]:
    """Columns a mistyped or partial name most likely meant, best first: close spellings
    (difflib, case-insensitive), then columns containing the name or contained in it
    ('lambada' -> 'ce_lambada_openai', 'score_lambada_openai')."""
    import difflib

    lower = {c.lower(): c for c in reversed(columns)}  # first of case-duplicates wins
    key = name.lower()
    out = [lower[c] for c in difflib.get_close_matches(key, list(lower), n=n, cutoff=0.6)]
    if len(key) >= 3:
        out += [
            c
            for c in columns
            if c not in out and (key in c.lower() or (len(c) >= 3 and c.lower() in key))
        ]
    return out[:n]


class _Evaluator:
    def __init__(self, df: pd.DataFrame, query: str, what: str, names: dict[str, str]):
        self.df, self.query, self.what, self.names = df, query, what, names

    def fail(self, why: str) -> QueryError:
        return QueryError(f"{_q(self.what, self.query)}: {why}")

    def column(self, name: str) -> np.ndarray:
        col = self.names.get(name, name)
        if col not in self.df.columns:
            from .schema import resolve_column

            found = resolve_column(self.df, col)
            if found is None:
                raise self.fail(unknown_column_message(col, [str(c) for c in self.df.columns]))
            col = found
        values = self.df[col]
        if isinstance(values, pd.DataFrame):
            raise self.fail(f"column '{col}' appears more than once in the table")
        return values.to_numpy()

    def eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, int | float) and not isinstance(v, bool):
                # numbers are float64, never Python ints: ((10**999)**999)**999 was a
                # bigint computation that never ended, and 10**400 an OverflowError
                try:
                    return np.float64(v)
                except OverflowError:
                    return np.float64(np.inf if v > 0 else -np.inf)
            if isinstance(v, bool | str) or v is None:
                return v
            raise self.fail(f"literal {node.value!r} is not allowed")
        if isinstance(node, ast.Name):
            if node.id in ("True", "False"):  # pragma: no cover - parsed as Constant
                return node.id == "True"
            return self.column(node.id)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = [self.eval(e) for e in node.elts]
            if any(isinstance(i, np.ndarray) for i in items):
                raise self.fail("a list may hold only literal values, not columns")
            return items
        if isinstance(node, ast.UnaryOp):
            v = self.eval(node.operand)
            if isinstance(node.op, ast.Not | ast.Invert):
                v = _as_bool(v)
                return ~v if isinstance(v, np.ndarray) else (not v)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return +v
        if isinstance(node, ast.BoolOp):
            vals = [_as_bool(self.eval(v)) for v in node.values]
            acc = vals[0]
            for v in vals[1:]:
                acc = (acc & v) if isinstance(node.op, ast.And) else (acc | v)
            return acc
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            left, right = self.eval(node.left), self.eval(node.right)
            if isinstance(node.op, ast.Pow) and _too_big_power(left, right):
                raise self.fail("exponent too large")
            try:
                with np.errstate(all="ignore"):
                    return _BIN[type(node.op)](left, right)
            except (TypeError, OverflowError, ZeroDivisionError) as exc:
                raise self.fail(f"cannot combine these values ({exc})") from None
        if isinstance(node, ast.Compare):
            left = self.eval(node.left)
            out: Any = True
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = self.eval(comp)
                out = out & self.compare(op, left, right)
                left = right
            return out
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in ALLOWED_FUNCTIONS:
                shown = ast.unparse(node.func)
                allowed = ", ".join(ALLOWED_FUNCTIONS)
                raise self.fail(f"calling '{shown}' is not allowed (functions: {allowed})")
            if node.keywords or len(node.args) != 1:
                raise self.fail(f"{node.func.id}() takes exactly one argument")
            arg = self.eval(node.args[0])
            with np.errstate(all="ignore"):
                try:
                    return ALLOWED_FUNCTIONS[node.func.id](np.asarray(arg, dtype=float))
                except (TypeError, ValueError):
                    raise self.fail(f"{node.func.id}() needs numbers") from None
        raise self.fail(_not_allowed(node))

    def compare(self, op: ast.cmpop, left: Any, right: Any) -> Any:
        if isinstance(op, ast.In | ast.NotIn):
            if not isinstance(right, list):
                raise self.fail("'in' needs a list of values on its right, e.g. x in [1, 2]")
            hit = pd.Series(np.atleast_1d(left)).isin(right).to_numpy()
            hit = hit if isinstance(left, np.ndarray) else bool(hit[0])
            return ~hit if isinstance(op, ast.NotIn) else hit
        if isinstance(op, ast.Is | ast.IsNot):
            raise self.fail("'is' is not allowed; use == or !=")
        try:
            return _CMP[type(op)](left, right)
        except TypeError as exc:
            raise self.fail(f"cannot compare these values ({exc})") from None


def _too_big_power(base: Any, exp: Any) -> bool:
    try:
        return bool(np.nanmax(np.abs(np.asarray(exp, dtype=float))) > 1000)
    except (TypeError, ValueError):
        return False


def _not_allowed(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access ('.')",
        ast.Subscript: "indexing ('[...]')",
        ast.Lambda: "lambda",
        ast.NamedExpr: "assignment (':=')",
        ast.ListComp: "comprehensions",
        ast.GeneratorExp: "comprehensions",
        ast.DictComp: "comprehensions",
        ast.SetComp: "comprehensions",
        ast.Dict: "dictionaries",
        ast.IfExp: "if/else",
        ast.JoinedStr: "f-strings",
        ast.Starred: "'*' unpacking",
    }
    what = next((v for k, v in kinds.items() if isinstance(node, k)), type(node).__name__)
    return (
        f"{what} is not allowed; a query may use column names, numbers, strings, "
        "comparisons, 'in [...]', and/or/not, arithmetic and " + ", ".join(ALLOWED_FUNCTIONS)
    )


def _parse(query: str, what: str) -> tuple[ast.Expression, dict[str, str]]:
    if not isinstance(query, str):
        raise QueryError(f"{what} must be a string, got {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"{what} is {len(query)} characters long (limit {MAX_QUERY_CHARS})")
    if "@" in _BACKTICK.sub("", query):
        raise QueryError(
            f"{_q(what, query)}: '@' (local variables) is not allowed; write the value itself"
        )
    text, names = _substitute_backticks(query)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError) as exc:
        msg = getattr(exc, "msg", str(exc))
        raise QueryError(f"{_q(what, query)} is not a valid query: {msg}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_QUERY_NODES:
        raise QueryError(f"{_q(what, query)} is too complex (over {MAX_QUERY_NODES} terms)")
    return tree, names


def check_query(query: str, what: str = "query") -> tuple[ast.Expression, dict[str, str]]:
    """Raise QueryError if `query` uses anything not allowed (no data needed); returns the
    parsed tree and its backtick names. Lets a command reject a bad query before reading data.

    Parameters
    ----------
    query : str
        The query text.
    what : str, default 'query'
        The option name used in error messages.

    Returns
    -------
    tuple of (ast.Expression, dict of str to str)
        The parsed query, and each placeholder name -> the backticked column it stands for.
    """
    what = option_label(what)
    tree, names = _parse(query, what)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in ALLOWED_FUNCTIONS:
                raise QueryError(
                    f"{_q(what, query)}: calling '{ast.unparse(node.func)}' is not allowed"
                )
        elif not isinstance(node, _ALLOWED_NODES):
            raise QueryError(f"{_q(what, query)}: {_not_allowed(node)}")
    return tree, names


_ALLOWED_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.List, ast.Tuple, ast.Set,
    ast.UnaryOp, ast.Not, ast.Invert, ast.USub, ast.UAdd, ast.BoolOp, ast.And, ast.Or,
    ast.BinOp, ast.Compare, ast.cmpop, ast.operator, ast.Call,
)  # fmt: skip


def mask(df: pd.DataFrame, query: str, what: str = "--where") -> np.ndarray:
    """Boolean mask (one per row) of the rows `query` selects. Raises QueryError naming
    what is wrong: a disallowed construct, an unknown column, a non-boolean result.

    Parameters
    ----------
    df : DataFrame
        The table.
    query : str
        The query, e.g. ``"n_params > 1e9"`` (see `select`).
    what : str, default '--where'
        The option name used in error messages.

    Returns
    -------
    ndarray of bool
        One value per row of `df`.
    """
    what = option_label(what)
    tree, names = check_query(query, what)
    try:
        out = _Evaluator(df, query, what, names).eval(tree)
    except RecursionError:
        raise QueryError(f"{_q(what, query)} is nested too deeply") from None
    if isinstance(out, bool | np.bool_):
        return np.full(len(df), bool(out))
    out = np.asarray(out)
    if out.dtype != bool or out.shape != (len(df),):
        raise QueryError(f"{_q(what, query)} does not give True/False per row")
    return out


def select(df: pd.DataFrame, query: str | None, what: str = "--where") -> pd.DataFrame:
    """The rows of `df` that `query` selects (all rows when the query is empty).

    The query is checked with `ast` before anything is evaluated: only column names,
    literals, comparisons, boolean logic, arithmetic, `in` lists and a few functions are
    allowed, so a query from a colleague's script can never run code.

    Parameters
    ----------
    df : DataFrame
        The table.
    query : str
        E.g. ``"n_params > 1e9 and tokens >= 2e10"`` or ``"task in ('arc', 'piqa')"``.
    what : str, default '--where'
        The option name used in error messages (``--where``, ``--holdout``, ...).

    Returns
    -------
    pandas.DataFrame
        The selected rows, index kept.

    Raises
    ------
    QueryError
        For anything not allowed, or an unknown column (with the closest names).

    Examples
    --------
    >>> import pandas as pd, scalinglab as sl
    >>> sl.select(pd.DataFrame({"n_params": [1e8, 2e9]}), "n_params > 1e9")
           n_params
    1  2.000000e+09
    """
    if not query:
        return df
    return df[mask(df, query, what)]


_EXPRESSION_CHARS = re.compile(r"[()*/+\-<>=!]")


def is_expression(text: str) -> bool:
    """Whether a --map value is a transform of columns (``log10(flops)``, ``n_params *
    tokens``) rather than a column name.

    Parameters
    ----------
    text : str
        The value given after ``NAME=``.

    Returns
    -------
    bool
        True when it holds a bracket, an operator or a comparison sign.
    """
    return bool(_EXPRESSION_CHARS.search(text))


def column_expression(
    data: pd.DataFrame | Mapping[str, Any], expr: str, what: str = "--map"
) -> np.ndarray:
    """A numeric column computed from others by a safe expression (`--map x=log10(flops)`):
    checked like a query (column names, numbers, arithmetic, log/log10/log2/exp/sqrt/abs;
    never run as Python). One float per row; a comparison or a constant is an error.

    Parameters
    ----------
    data : DataFrame or mapping of str to array-like
        The columns the expression may use.
    expr : str
        The expression, e.g. ``"log10(flops)"``.
    what : str, default '--map'
        The option name used in error messages.

    Returns
    -------
    ndarray of float
        One value per row.
    """
    df = (
        data
        if isinstance(data, pd.DataFrame)
        else pd.DataFrame({k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in data.items()})
    )
    what = option_label(what)
    tree, names = check_query(expr, what)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare | ast.BoolOp) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert)
        ):
            raise QueryError(f"{_q(what, expr)}: a transform is arithmetic, not a condition")
    try:
        with np.errstate(all="ignore"):
            out = _Evaluator(df, expr, what, names).eval(tree)
    except RecursionError:
        raise QueryError(f"{_q(what, expr)} is nested too deeply") from None
    out = np.asarray(out, dtype=float) if not isinstance(out, str) else None
    if out is None or out.shape != (len(df),):
        raise QueryError(f"{_q(what, expr)} does not give one number per row")
    return out
