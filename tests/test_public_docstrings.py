"""numpydoc sections on the whole public API (issue 16 item 6), so that `help()` in a notebook
says what to pass, what comes back and how a call looks.

What counts as public:

- every callable in ``scalinglab.__all__``: its functions and its classes;
- every function and class in the ``__all__`` of each other ``scalinglab.*`` package or
  module that has one (``scalinglab.workflows``, ``laws``, ``io``, ``fitting``, ``query``,
  ``report``, ``io.harness``, ...), checked once where the root does not already export it.
  The testbed (``scalinglab.testbed.sweep``, ...) is included when torch imports; without
  torch its modules cannot be imported, so only that part is skipped;
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
   results), so a class may use ``Attributes`` instead; an exception class needs only (1).
   In a function's or method's Parameters every argument has an entry in numpydoc form,
   ``name : type`` (``*args``/``**kwargs`` may go without a type; names sharing a type and
   description may share a line, or stack on consecutive lines) then an indented
   description, and no entry names an argument the signature lacks;
3. ``Returns`` unless the return annotation is ``None``; properties count as returning,
   classes do not (constructing one returns it);
4. ``Examples`` on every function in ``scalinglab.__all__`` (not on those only a subpackage
   exports) and on the methods a user calls
   to get an answer out of a result or a law: ``MAIN_METHODS`` below (predict, bootstrap,
   intervals, summary, to_frame, to_dict, to_json, from_json, from_dict, plot and the
   per-class readers by_law, by_factor, for_source, predict_loss; on ``Law``, evaluate and
   fix). Properties and the optimiser-facing internals (to_internal, internal_bounds,
   evaluate_internal, grid_points, ...) need no example.

The failure message lists every offender with what it lacks.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest

import scalinglab as sl
from scalinglab.results import Result

# the testbed's modules import torch at the top; without it they are skipped, not failed
HAS_TORCH = importlib.util.find_spec("torch") is not None

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


_HEADER = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:, \*{0,2}[A-Za-z_]\w*)*)(?: : (\S.*))?$")


def _parameters_problems(func: Any, doc: str) -> list[str]:
    """What is wrong with the Parameters section's entries (empty when all is well)."""
    m = re.search(r"^Parameters\n-+\n(.*?)(?=\n\n\S[^\n]*\n-{3,}\n|\Z)", doc, re.S | re.M)
    if m is None:
        return []
    problems: list[str] = []
    documented: set[str] = set()
    lines = [ln for ln in m.group(1).rstrip().split("\n") if ln.strip()]
    for i, line in enumerate(lines):
        if line.startswith(" "):
            continue
        head = _HEADER.match(line)
        names = head.group(1).split(", ") if head else []
        typ = head.group(2) if head else None
        # a description in the type slot: long, or a sentence
        if not head or (typ is not None and (len(typ) > 60 or typ.endswith("."))):
            problems.append(f"entry not 'name : type' + description: {line.strip()[:50]!r}")
            continue
        if typ is None and not all(n.startswith("*") for n in names):
            problems.append(f"entry without a type: {line.strip()[:50]!r}")
        rest = lines[i + 1 :]
        following = next((ln for ln in rest if ln.startswith(" ") or not _HEADER.match(ln)), "")
        if not following.startswith(" "):
            problems.append(f"entry without a description: {line.strip()[:50]!r}")
        documented |= {n.lstrip("*") for n in names}
    sig = inspect.signature(func).parameters
    args = [n for n in sig if n not in ("self", "cls")]
    missing = [n for n in args if n not in documented]
    if missing:
        problems.append(f"undocumented argument(s) {', '.join(missing)}")
    if not any(p.kind is p.VAR_KEYWORD for p in sig.values()):
        stale = sorted(documented - set(args))
        if stale:
            problems.append(f"entries for no argument: {', '.join(stale)}")
    return problems


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


def _subpackage_exports() -> Iterator[tuple[str, Any, str]]:
    """(qualified name, object, kind) for each function and class a ``scalinglab.*`` package or
    module exports in its ``__all__`` and the root does not (those are checked with rule 4).
    The testbed is included only when torch is installed."""
    seen = {id(getattr(sl, n)) for n in sl.__all__}
    for info in pkgutil.walk_packages(sl.__path__, "scalinglab."):
        if info.name.endswith("__main__") or (".testbed" in info.name and not HAS_TORCH):
            continue
        mod = importlib.import_module(info.name)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            kind = "class" if inspect.isclass(obj) else "function"
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue  # constants, modules, or checked already under another name
            seen.add(id(obj))
            yield f"{info.name}.{name}", obj, kind


def _lacks(obj: Any, kind: str, name: str, examples: bool = True) -> list[str]:
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
    if kind != "property":
        lack += _parameters_problems(obj, doc)
    if (kind == "property" or not _returns_none(obj)) and not _section(doc, "Returns"):
        lack.append("Returns")
    wants_example = (kind == "function" and examples) or (kind == "method" and name in MAIN_METHODS)
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
    for qual, obj, kind in _subpackage_exports():
        lack = _lacks(obj, kind, qual.rpartition(".")[2], examples=False)
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
    exported = {q for q, _, _ in _subpackage_exports()}
    expected = [
        "scalinglab.workflows.holdout",
        "scalinglab.workflows.compare_laws",
        "scalinglab.laws.law_from_dict",
        "scalinglab.io.merge_runs",
        "scalinglab.io.MergeReport",
        "scalinglab.fitting.build_starts",
        "scalinglab.query.mask",
        "scalinglab.query.QueryError",
        "scalinglab.report.build.law_section",
    ]
    assert [q for q in expected if q not in exported] == []
    # the root's exports keep rule 4 and are not checked again without it
    assert "scalinglab.fitting.fit" not in exported and "scalinglab.io.read_table" not in exported


def test_the_enumeration_covers_the_testbed():
    """With torch installed the testbed's exports are checked too (skipped without torch,
    whose absence also keeps the other packages' checks running)."""
    pytest.importorskip("torch", reason="the testbed needs torch; its docstrings go unchecked")
    exported = {q for q, _, _ in _subpackage_exports()}
    expected = [
        "scalinglab.testbed.sweep.run_sweep",
        "scalinglab.testbed.sweep.load_spec",
        "scalinglab.testbed.sweep.Run",
    ]
    assert [q for q in expected if q not in exported] == []


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
    assert _lacks(no_example, "function", "no_example", examples=False) == []
    assert _lacks(bare, "function", "bare", examples=False) == ["docstring"]
    assert _lacks(returns_nothing, "method", "x") == []
    assert _lacks(returns_nothing, "property", "x") == ["Returns"]

    def compact(data: Any, where: str | None = None, seed: int = 0) -> int:
        """The form the workflows used before numpydoc.

        Parameters
        ----------
        data : a DataFrame, or a path to a table of runs.
        where : a row query.
        n_boot : resamples.

        Returns
        -------
        int
            Nothing real.
        """
        return 0

    problems = _parameters_problems(compact, inspect.getdoc(compact) or "")
    assert [p.split(":")[0] for p in problems] == [
        "entry not 'name ",  # data
        "entry not 'name ",  # where
        "entry not 'name ",  # n_boot
        "undocumented argument(s) data, where, seed",
    ]

    def numpydoc(data: Any, seed: int = 0) -> int:
        """Proper entries, one stale, one without a description.

        Parameters
        ----------
        data : DataFrame
            The runs.
        n_boot : int
            Resamples (the argument was removed).
        seed : int

        Returns
        -------
        int
        """
        return 0

    assert _parameters_problems(numpydoc, inspect.getdoc(numpydoc) or "") == [
        "entry without a description: 'seed : int'",
        "entries for no argument: n_boot",
    ]
    assert _lacks(numpydoc, "function", "numpydoc") == [
        "entry without a description: 'seed : int'",
        "entries for no argument: n_boot",
        "Examples",
    ]


def test_every_public_callable_has_numpydoc_sections():
    offenders = _offenders()
    listing = "\n".join(f"  {k}: lacks {', '.join(v)}" for k, v in sorted(offenders.items()))
    assert not offenders, f"{len(offenders)} public callables lack numpydoc sections:\n{listing}"


def test_docstring_examples_run():
    """The runnable Examples (those not marked +SKIP) pass as doctests, so a documented
    call cannot drift from the code; testbed modules need torch and are left out."""
    import doctest
    import importlib
    import pkgutil

    failures, attempted = [], 0
    for info in pkgutil.walk_packages(sl.__path__, "scalinglab."):
        if ".testbed" in info.name or info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(info.name)
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        r = doctest.testmod(mod, report=False, optionflags=flags)
        attempted += r.attempted
        if r.failed:
            failures.append(f"{info.name}: {r.failed} of {r.attempted}")
    assert attempted >= 10 and not failures, failures
