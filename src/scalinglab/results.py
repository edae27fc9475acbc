"""One protocol for every result: a fit and each workflow's answer.

Users script against results, save them, send them to colleagues and look at them in
notebooks, so every result class shares the same small surface (as scipy's OptimizeResult
and lmfit's ModelResult do for theirs):

- `diagnostics`: structured findings (`Diagnostic`), never only free text;
- `summary()`: plain text for a terminal; `_repr_html_()`: escaped HTML for Jupyter;
- `to_frame()`: the result's main table;
- `to_json()` / `from_json()`: a lossless round trip (tables, nested fits, diagnostics);
- `plot()`: a plotly figure.

Serialisation is by an explicit registry of types, never by importing a name found in a
file, so loading a result a colleague sent cannot run code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .diagnostics import Diagnostic
from .errors import DuplicateColumnError, FileFormatError

# name -> (class, to_state, from_state): the only types a result file may contain.
_TYPES: dict[str, tuple[type, Callable[[Any], Any], Callable[[Any], Any]]] = {}


def register(cls: type, to_state: Callable[[Any], Any], from_state: Callable[[Any], Any]) -> None:
    """Make `cls` storable inside a result file (used for FitResult and small records)."""
    _TYPES[cls.__name__] = (cls, to_state, from_state)


def encode(value: Any) -> Any:
    """JSON-ready form of a result field, with type tags for tables and registered types."""
    if isinstance(value, pd.DataFrame):
        return {"__frame__": _split(value)}
    if isinstance(value, Diagnostic):
        return {"__diagnostic__": value.to_dict()}
    for name, (cls, to_state, _) in _TYPES.items():
        if type(value) is cls:
            return {"__type__": name, "state": to_state(value)}
    if isinstance(value, Result):
        return {"__type__": type(value).__name__, "state": value._state()}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, np.ndarray):
        return encode(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready rows (`--json`, `to_dict()`), every number exactly as stored.

    pandas' ``to_json`` rounds to 10 significant digits by default (15 at most), so the CLI
    disagreed with the Python API past 1e-10; here floats stay Python floats (17 digits on
    the wire). JSON has no NaN or infinity: they, None, pd.NA and NaT become null, as the
    CLI's own output does. Numpy scalars become Python numbers, nested lists and dicts in
    cells are converted too, timestamps become ISO text and keys become strings. The index
    is not written (reset it first to keep it), as with ``to_json(orient="records")``.
    """
    names = [str(c) for c in frame.columns]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DuplicateColumnError(
            f"a table written as records has two columns named {', '.join(map(repr, dup))}"
        )
    columns = [[_plain(v) for v in frame.iloc[:, i].tolist()] for i in range(frame.shape[1])]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _split(frame: pd.DataFrame) -> dict[str, Any]:
    """A table in pandas' "split" layout with every number exact: ``to_json`` rounds to 10
    significant digits, so a saved result came back different from the one saved."""
    return {
        # which columns are floats: JSON writes 1e8 as 100000000.0 and pandas reads an
        # all-integral column back as int64 (a TaskSelection's n_params came back int)
        "floats": [_plain(c) for c in frame.columns if pd.api.types.is_float_dtype(frame[c])],
        # every column's dtype, so a table comes back as saved: read_json guessed them (a
        # task named "04" came back as the integer 4, [None, False] as [NaN, 0.0])
        "dtypes": [str(frame.iloc[:, i].dtype) for i in range(frame.shape[1])],
        "columns": [_plain(c) for c in frame.columns],
        "index": [_plain(i) for i in frame.index],
        "data": [
            list(r)
            for r in zip(
                *(map(_plain, frame.iloc[:, i].tolist()) for i in range(frame.shape[1])),
                strict=True,
            )
        ]
        if frame.shape[1]
        else [[] for _ in range(len(frame))],
    }


def _plain(v: Any) -> Any:
    """One cell as a JSON value without loss (see `records`)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [_plain(x) for x in v]
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


def _frame(spec: dict[str, Any], dtypes: list[str]) -> pd.DataFrame:
    """A "split" table rebuilt cell by cell (JSON values as written), each column cast back
    to its saved dtype; a dtype that cannot be restored leaves the column as read."""
    columns = spec.get("columns", [])
    index = pd.Index(spec.get("index", []))
    data = spec.get("data", [])
    cols = list(zip(*data, strict=True)) if data and columns else [()] * len(columns)
    parts = {}
    for i, (values, dtype) in enumerate(zip(cols, dtypes, strict=True)):
        col = pd.Series(list(values), index=index, dtype=object)
        if dtype == "object":  # JSON null is NaN, pandas' missing value (None and NaN alike)
            col = col.where(col.notna(), np.nan)
        else:
            try:
                col = col.astype(dtype)
            except (TypeError, ValueError):
                pass
        parts[i] = col
    frame = pd.DataFrame(parts, index=index)
    frame.columns = pd.Index(columns) if columns else frame.columns
    return frame


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__frame__" in value:
            spec = dict(value["__frame__"])
            floats = spec.pop("floats", [])
            dtypes = spec.pop("dtypes", None)
            if dtypes is not None:
                return _frame(spec, dtypes)
            # a file written before dtypes were stored: pandas guesses them
            frame = pd.read_json(io.StringIO(json.dumps(spec)), orient="split", precise_float=True)
            for c in floats:
                if c in frame.columns:
                    frame[c] = frame[c].astype(float)
            return frame
        if "__diagnostic__" in value:
            return Diagnostic.from_dict(value["__diagnostic__"])
        if "__type__" in value:
            name = value["__type__"]
            if name in _TYPES:
                return _TYPES[name][2](value["state"])
            if name in _RESULTS:
                return _RESULTS[name]._from_state(value["state"])
            raise FileFormatError(f"a result file names an unknown type {name!r}")
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


_RESULTS: dict[str, type[Result]] = {}


def component_diagnostics(parts: list[tuple[str, Any]]) -> list[Diagnostic]:
    """The warnings and errors of component fits or results, each message prefixed with the
    label of the part it comes from ("step 1 (loss fit): ..."), without repeats.

    Why: a workflow's answer rests on its fits; a step fit that stopped before converging
    must show in the workflow's own findings, said where it comes from, not only inside a
    nested object nobody prints. Info-level findings stay with their part.

    Parameters
    ----------
    parts : list of (str, object)
        (label, part): a FitResult (its ``diagnostics_``) or a Result (its ``findings``).

    Returns
    -------
    list of Diagnostic
    """
    out: list[Diagnostic] = []
    for label, part in parts:
        diags = getattr(part, "diagnostics_", None)
        if diags is None:
            diags = part.findings if isinstance(part, Result) else []
        for d in diags:
            if d.severity == "info":
                continue
            labelled = Diagnostic(d.code, d.severity, f"{label}: {d.message}", d.params)
            if labelled not in out:
                out.append(labelled)
    return out


class Result:
    """Base of every result. Subclasses are dataclasses; they define `to_frame()` and may
    override `title`, `plot()` and `_own_diagnostics()`."""

    title: ClassVar[str] = "result"
    # Fields holding component fits or results whose warnings and errors this result carries,
    # each under a label naming which part they come from ("step 1 (loss fit)"); a dict field
    # labels each entry by its key (a task, a fold). Unlisted fields keep theirs unlabelled.
    components: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        _RESULTS[cls.__name__] = cls
        # The dataclass repr dumps every table field (1,600 characters for an audit); the
        # decorator runs after this hook and leaves a __repr__ already in the class alone.
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Result.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        """One line: what it is, how many rows, which findings (print() gives the summary)."""
        try:
            rows = f"{len(self.to_frame())} rows"
        except Exception:  # a result without a table
            rows = "no table"
        codes = [d.code for d in self.diagnostics if d.code != "note"]
        found = f"; {len(codes)} finding(s): {', '.join(dict.fromkeys(codes))}" if codes else ""
        return f"<{type(self).__name__} ({self.title}): {rows}{found}>"

    # -- the protocol ------------------------------------------------------------------
    @property
    def diagnostics(self) -> list[Diagnostic]:
        """This result's findings: those of the fits inside it, its own, and its notes.

        Returns
        -------
        list of Diagnostic
            Each with a ``code``, a ``severity`` and a ``message``; notes come last with
            code ``"note"``. Structured, so a script can test for a finding rather than
            parse text.
        """
        out: list[Diagnostic] = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if f.name in self.components:
                label = self.components[f.name]
                parts = (
                    [(f"{label}{k}", x) for k, x in v.items()]
                    if isinstance(v, dict)
                    else [(label, v)]
                )
                for d in component_diagnostics(parts):
                    if d not in out:
                        out.append(d)
                continue
            vals = v.values() if isinstance(v, dict) else [v]
            for x in vals:
                for d in getattr(x, "diagnostics_", None) or []:
                    if d not in out:
                        out.append(d)
        out += self._own_diagnostics()
        out += [Diagnostic("note", "info", n) for n in getattr(self, "notes", None) or []]
        return out

    def _own_diagnostics(self) -> list[Diagnostic]:
        return []

    @property
    def findings(self) -> list[Diagnostic]:
        """`diagnostics` without the notes: what the CLI prints as warnings and ``--json``
        lists under ``diagnostics`` (the notes have their own key and lines).

        Returns
        -------
        list of Diagnostic
        """
        return [d for d in self.diagnostics if d.code != "note"]

    def to_frame(self) -> pd.DataFrame:
        """The result's main table (each subclass says which).

        Returns
        -------
        pandas.DataFrame
            Often the table the result holds, not a copy: ``.copy()`` it before editing.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.to_frame()  # doctest: +SKIP
        """
        raise NotImplementedError

    def summary(self) -> str:
        """Plain text for a terminal: the title, the main table and the findings.

        ``print(result)`` prints the same text.

        Returns
        -------
        str
            The title, ``to_frame()`` (at most 30 rows and 12 columns) and one line per
            diagnostic as ``SEVERITY [code] message``.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> print(res.summary())  # doctest: +SKIP
        """
        frame = self.to_frame()
        lines = [self.title, frame.to_string(max_rows=30, max_cols=12)]
        for d in self.diagnostics:
            lines.append(f"{d.severity.upper():<8} [{d.code}] {d.message}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        parts = [
            f"<div class='scalinglab-result'><b>{html.escape(self.title)}</b>",
            frame.to_html(max_rows=50, max_cols=20, escape=True, border=0),
        ]
        if self.diagnostics:
            parts.append(
                "<ul>"
                + "".join(
                    f"<li><b>{html.escape(d.severity)}</b> [{html.escape(d.code)}] "
                    f"{html.escape(d.message)}</li>"
                    for d in self.diagnostics
                )
                + "</ul>"
            )
        return "".join(parts) + "</div>"

    def plot(self) -> Any:
        """A plotly figure of the result (each subclass draws its own).

        Returns
        -------
        plotly.graph_objects.Figure
            The figure; ``.show()`` it or ``.write_html(path)``.

        Raises
        ------
        NotImplementedError
            On a result class without a figure (every shipped result has one).

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.plot().write_html("fit.html")  # doctest: +SKIP
        """
        raise NotImplementedError(f"{type(self).__name__} has no figure")

    # -- serialisation ----------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            f.name: encode(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> Result:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: decode(v) for k, v in state.items() if k in names})

    def to_json(self, path: str | Path | None = None) -> str:
        """The whole result as JSON (written atomically to `path` when given).

        Lossless: tables keep every digit and their float columns, nested fits and
        diagnostics come back as they were, so `from_json` returns an equal result.

        Parameters
        ----------
        path : str or pathlib.Path, optional
            Where to write the text too (through a temporary file in the same folder, then
            replaced, so a crash never leaves half a file). ``None`` writes nothing.

        Returns
        -------
        str
            The JSON text, ``{"scalinglab_result": <class name>, "state": {...}}``.

        Examples
        --------
        >>> res = sl.fit("runs.csv", "chinchilla")  # doctest: +SKIP
        >>> res.to_json("fit.json")  # doctest: +SKIP
        >>> back = sl.FitResult.from_json("fit.json")  # doctest: +SKIP
        """
        text = json.dumps(
            {"scalinglab_result": type(self).__name__, "state": self._state()},
            indent=1,
            allow_nan=True,
        )
        if path is not None:
            from .io.safe_write import write_text

            write_text(path, text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> Result:
        """Load a result saved by `to_json` (or a fit file written by ``fit --out``).

        Only the types scalinglab registers can be named in the file, so loading a file a
        colleague sent cannot import or run code.

        Parameters
        ----------
        text_or_path : str or pathlib.Path
            The JSON text itself (anything starting with ``{``) or the path of a file.

        Returns
        -------
        Result
            The saved result, of its saved class. Called on a subclass
            (``sl.AuditResult.from_json``), the file must hold that class or one of its
            subclasses.

        Raises
        ------
        FileFormatError
            The text is not JSON, not a result file, holds another class, or was edited
            into something that cannot be loaded.

        Examples
        --------
        >>> from scalinglab.results import Result
        >>> res = Result.from_json("audit.json")  # doctest: +SKIP
        >>> res = sl.AuditResult.from_json("audit.json")  # doctest: +SKIP
        """
        text = str(text_or_path)
        source = None
        if not text.lstrip().startswith("{"):
            source = text
            text = Path(text).read_text(encoding="utf-8")
        try:
            obj = json.loads(text)
            if isinstance(obj, dict) and "law_spec" in obj and "FitResult" in _TYPES:
                name = "FitResult"  # a fit file (`fit --out`) is a result too
                fit_cls = _TYPES[name][0]
                if cls is not Result and not issubclass(fit_cls, cls):
                    raise FileFormatError(f"the file holds a {name!r}, not a {cls.__name__}")
                return _TYPES[name][2](obj)
            name, state = obj["scalinglab_result"], obj["state"]
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"not JSON ({exc})", file=source) from None
        except (KeyError, TypeError) as exc:
            raise FileFormatError(
                f"not a scalinglab result file: no {exc} key (a file written by a result's "
                "to_json(); --json output is for reading, not for loading back)",
                file=source,
            ) from None
        kind = _RESULTS.get(name) if isinstance(name, str) else None
        if kind is None or (cls is not Result and not issubclass(kind, cls)):
            raise FileFormatError(f"the file holds a {name!r}, not a {cls.__name__}", file=source)
        if not isinstance(state, dict):
            raise FileFormatError(f"'state' must be an object, got {state!r}", file=source)
        try:
            return kind._from_state(state)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise FileFormatError(
                f"the saved {name} is damaged or edited ({exc})", file=source
            ) from None
