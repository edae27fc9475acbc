"""numpydoc sections on the whole public API (issue 16 item 6), so that `help()` in a notebook
says what to pass, what comes back and how a call looks.

What counts as public:

- every callable in ``scalinglab.__all__``: its functions and its classes;
- every public method and property (name not starting with ``_``) of ``Law`` and of every
  result class (``scalinglab.results.Result`` and all its subclasses), defined in scalinglab
  itself. A method a subclass inherits unchanged is checked once, where it is defined; an
  override is checked on its own, because ``help()`` shows the override's text and each
  class's table, figure and payload differ.

The rules (numpydoc section headers, i.e. ``Parameters\\n----------``):

1. a docstring of its own exists (a dataclass's generated ``Cls(field: type, ...)`` does not
   count);
2. ``Parameters`` when the callable takes arguments besides ``self``/``cls``. A class's
   arguments are its dataclass fields, which users read rather than pass (workflows build
   results), so a class may use ``Attributes`` instead; an exception class needs only (1);
3. ``Returns`` unless the return annotation is ``None``; properties count as returning,
   classes do not (constructing one returns it);
4. ``Examples`` on every function in ``scalinglab.__all__`` and on the methods a user calls
   to get an answer out of a result or a law: ``MAIN_METHODS`` below (predict, bootstrap,
   intervals, summary, to_frame, to_dict, to_json, from_json, from_dict, plot and the
   per-class readers by_law, by_factor, for_source, predict_loss; on ``Law``, evaluate and
   fix). Properties and the optimiser-facing internals (to_internal, internal_bounds,
   evaluate_internal, grid_points, ...) need no example.

The failure message lists every offender with what it lacks.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import scalinglab as sl
from scalinglab.results import Result

MAIN_METHODS = {
    "predict",
    "bootstrap",
    "intervals",
    "summary",
    "to_frame",
    "to_dict",
    "to_json",
    "from_json",
    "from_dict",
    "plot",
    "by_law",
    "by_factor",
    "for_source",
    "predict_loss",
    "evaluate",
    "fix",
}


def _section(doc: str, name: str) -> bool:
    return f"{name}\n{'-' * len(name)}" in doc


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


def _result_classes() -> list[type]:
    # a result class exists once its module is imported (many_tasks is not, by the root)
    import scalinglab.workflows as wf

    for info in pkgutil.iter_modules(wf.__path__, "scalinglab.workflows."):
        importlib.import_module(info.name)
    return [Result, *_all_subclasses(Result), sl.Law]


def _own_doc(obj: Any) -> str:
    """The object's own docstring (not a base class's, not a dataclass's generated one)."""
    doc = obj.__doc__ or ""
    if inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("):
        return ""
    return inspect.cleandoc(doc)


def _returns_none(func: Any) -> bool:
    ann = inspect.signature(func).return_annotation
    return ann is None or ann == "None" or ann is type(None)


def _takes_arguments(func: Any) -> bool:
    params = list(inspect.signature(func).parameters)
    return bool([p for p in params if p not in ("self", "cls")])


def _members() -> Iterator[tuple[str, Any, str]]:
    """(qualified name, callable, kind) for every public method and property checked."""
    seen: set[int] = set()
    for cls in _result_classes():
        for name, raw in vars(cls).items():
            if name.startswith("_"):
                continue
            if isinstance(raw, property):
                func, kind = raw.fget, "property"
            elif isinstance(raw, classmethod | staticmethod):
                func, kind = raw.__func__, "method"
            elif inspect.isfunction(raw):
                func, kind = raw, "method"
            else:
                continue
            if not func.__module__.startswith("scalinglab") or id(func) in seen:
                continue
            seen.add(id(func))
            yield f"{cls.__name__}.{name}", func, kind


def _lacks(obj: Any, kind: str, name: str) -> list[str]:
    doc = _own_doc(obj)
    if not doc:
        return ["docstring"]
    lack = []
    if kind == "class":
        if issubclass(obj, BaseException):
            return []
        if _takes_arguments(obj) and not (
            _section(doc, "Parameters") or _section(doc, "Attributes")
        ):
            lack.append("Parameters/Attributes")
        return lack
    if kind != "property" and _takes_arguments(obj) and not _section(doc, "Parameters"):
        lack.append("Parameters")
    if (kind == "property" or not _returns_none(obj)) and not _section(doc, "Returns"):
        lack.append("Returns")
    wants_example = kind == "function" or (kind == "method" and name in MAIN_METHODS)
    if wants_example and not _section(doc, "Examples"):
        lack.append("Examples")
    return lack


def _offenders() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in sl.__all__:
        obj = getattr(sl, name)
        if inspect.isclass(obj):
            kind = "class"
        elif inspect.isfunction(obj):
            kind = "function"
        else:
            continue  # modules, CATALOG, __version__
        lack = _lacks(obj, kind, name)
        if lack:
            out[f"sl.{name}"] = lack
    for qual, func, kind in _members():
        lack = _lacks(func, kind, qual.rpartition(".")[2])
        if lack:
            out[qual] = lack
    return out


def test_the_enumeration_covers_the_public_api():
    """The walk finds what it should, so an empty offender list means something."""
    classes = {c.__name__ for c in _result_classes()}
    assert classes >= {
        "Result", "FitResult", "ForecastResult", "LadderForecast", "MethodChoice",
        "PretrainChoice", "TransferResult", "Plan", "AuditResult", "TaskForecasts",
        "TaskSelection", "PetSizeFit", "ConstantExponent", "FactorEffects", "Law",
    }  # fmt: skip
    names = {q for q, _, _ in _members()}
    expected = [
        "FitResult.predict",
        "FitResult.bootstrap",
        "Result.from_json",
        "Law.evaluate",
        "AuditResult.by_law",
        "TaskForecasts.laws",
        "Plan.to_frame",
        "Law.n_params",
    ]
    assert [q for q in expected if q not in names] == []
    # inherited unchanged: checked once, on Result
    assert "Plan.to_json" not in names and "Result.to_json" in names
    assert len(names) > 80


def test_the_rules_can_fail():
    """Each rule catches what it is for, on small stand-ins."""

    def bare(x: int) -> int:
        return x

    def no_example(x: int) -> int:
        """Twice x.

        Parameters
        ----------
        x : int
            A number.

        Returns
        -------
        int
            ``2 * x``.
        """
        return 2 * x

    def returns_nothing() -> None:
        """Nothing to say."""

    assert _lacks(bare, "function", "bare") == ["docstring"]
    assert _lacks(no_example, "function", "no_example") == ["Examples"]
    assert _lacks(no_example, "method", "to_internal") == []
    assert _lacks(no_example, "method", "predict") == ["Examples"]
    assert _lacks(returns_nothing, "method", "x") == []
    assert _lacks(returns_nothing, "property", "x") == ["Returns"]


def test_every_public_callable_has_numpydoc_sections():
    offenders = _offenders()
    listing = "\n".join(f"  {k}: lacks {', '.join(v)}" for k, v in sorted(offenders.items()))
    assert not offenders, f"{len(offenders)} public callables lack numpydoc sections:\n{listing}"
