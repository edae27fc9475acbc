"""The public API a newcomer imports: every name in `scalinglab.__all__` and every module."""

import importlib
import pkgutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import scalinglab as sl


def test_every_public_name_resolves():
    missing = [n for n in sl.__all__ if not hasattr(sl, n)]
    assert not missing
    for name in ("fit", "audit", "forecast", "ladder", "choose_method", "pretrain_choice",
                 "transfer", "plan", "read_table", "load", "get_law"):  # fmt: skip
        assert callable(getattr(sl, name)), name
    assert sl.load is sl.read_table
    assert issubclass(sl.errors.QueryError, sl.ScalingLabError)


def test_no_function_shadows_a_subpackage():
    """`scalinglab.fit` was a function and a package: `import scalinglab.fit.presets` failed."""
    importlib.import_module("scalinglab.fitting.presets")
    for mod in pkgutil.iter_modules(sl.__path__):
        attr = getattr(sl, mod.name, None)
        assert attr is None or type(attr).__name__ == "module", mod.name
    # in every subpackage too: scalinglab.workflows.factor_effects was the function
    for info in pkgutil.walk_packages(sl.__path__, "scalinglab."):
        parent, _, leaf = info.name.rpartition(".")
        attr = getattr(importlib.import_module(parent), leaf, None)
        assert attr is None or type(attr).__name__ == "module", info.name


def _modules():
    for info in pkgutil.walk_packages(sl.__path__, "scalinglab."):
        yield info.name


@pytest.mark.parametrize("name", list(_modules()))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_core_import_stays_light():
    """Fitting a law must not need torch: the root import pulls in no testbed module."""
    code = (
        "import sys, scalinglab; "
        "print(sorted(m for m in sys.modules if m in {'torch', 'scalinglab.testbed'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_audit_entry_point_needs_exactly_one_mode():
    with pytest.raises(sl.errors.DataError, match="exactly one of"):
        sl.audit("x.csv", "chinchilla")


def test_preset_is_one_option_of_fit():
    """The paper preset was applied at five call sites; fit() takes it itself."""
    import numpy as np
    import pandas as pd

    from scalinglab.fitting.presets import apply_preset

    x = np.linspace(21, 25, 40)
    df = pd.DataFrame({"x": x, "y": 0.5 / (1 + np.exp(-3 * (x - 23))) + 0.25 + 0.01 * np.sin(x)})
    res = sl.fit(df, "sigmoid", preset="paper")
    law, kw = apply_preset(sl.get_law("sigmoid"), "paper")
    ref = sl.fit(df, law, **kw)
    assert res.law.space == "identity" and res.delta_ == float("inf")
    assert res.params_ == ref.params_


def test_every_public_function_has_numpydoc_sections():
    """Issue 16: numpydoc Parameters/Returns/Examples on every public function, so
    `help(sl.forecast)` in a notebook answers what to pass and what comes back."""
    import inspect

    missing = {}
    for name in sl.__all__:
        obj = getattr(sl, name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            lack = [k for k in ("Parameters", "Returns", "Examples") if f"{k}\n---" not in doc]
            if lack:
                missing[name] = lack
    assert not missing, missing


def test_public_docstring_examples_run():
    """The examples that need no file run as doctests (the others are marked +SKIP)."""
    import doctest

    from scalinglab import laws, query
    from scalinglab.laws import expression

    for mod in (laws, expression, query):
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0, mod.__name__


def test_an_unknown_preset_is_a_named_option_error():
    """fit(preset=...) validates in the library: a bare ValueError before (issue 16)."""
    from scalinglab.errors import OptionError

    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.7 + 400 / n**0.34 + 410 / d**0.28})
    with pytest.raises(OptionError, match="unknown preset 'nope'; choose from default, paper"):
        sl.fit(df, "chinchilla", preset="nope")


def test_every_result_type_is_exported():
    """Every result a workflow returns is importable from the root (`sl.TaskForecasts` was a
    result type only a deep import reached), and so is the diagnostic they carry."""
    from scalinglab.results import Result

    for mod in _modules():
        importlib.import_module(mod)
    subclasses = {c for c in _all_subclasses(Result) if c.__module__.startswith("scalinglab.")}
    assert subclasses, "no result types found"
    missing = sorted(c.__name__ for c in subclasses if getattr(sl, c.__name__, None) is not c)
    assert not missing, missing
    from scalinglab.diagnostics import Diagnostic

    assert sl.Diagnostic is Diagnostic


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)
