"""The hostile corpus: clumsy and hostile inputs to the CLI, generated here (no committed
binaries), each with the outcome it must have.

Every case builds its files in a fresh folder, runs one command through click's CliRunner
with ``catch_exceptions=False`` (an exception that escapes the CLI's error boundary is a
traceback), and is classified as one of OUTCOMES. A case passes when its outcome is the one
expected: ``correct`` (exit 0 and the result checked) or ``named error`` (exit 2 with a
named error or click's usage error on stderr). The other outcomes are failures: a
traceback, an internal error (exit 3: the boundary caught something unnamed), a silently
wrong result, code run or a file written where it must not be, data lost.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import math
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd

OUTCOMES = (
    "named error",
    "correct",
    "traceback",
    "internal error",
    "silently wrong",
    "code run",
    "file written",
    "data loss",
    "other exit",
)
TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


def good_frame() -> pd.DataFrame:
    n = np.repeat(np.geomspace(1e7, 1e10, 6), 6)
    d = np.tile(np.geomspace(1e8, 1e11, 6), 6)
    loss = TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]
    return pd.DataFrame({"n_params": n, "tokens": d, "loss": loss})


def true_loss(n: float, d: float) -> float:
    return TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]


def good_csv_text() -> str:
    return good_frame().to_csv(index=False)


_FIT_CACHE: dict[str, Any] = {}


def good_fit_dict() -> dict[str, Any]:
    """A real fit of the good table, as `fit --out` writes it (computed once)."""
    if "fit" not in _FIT_CACHE:
        import scalinglab as sl

        _FIT_CACHE["fit"] = sl.fit(good_frame(), "chinchilla").to_dict()
    return json.loads(json.dumps(_FIT_CACHE["fit"]))


@dataclass
class Case:
    id: str
    group: str
    expect: str  # "correct" or "named error"
    setup: Callable[[Path], list[str]]  # writes files into the folder, returns argv
    check: Callable[[Path, Any], str | None] | None = None  # exit-0 result -> problem or None
    protect: tuple[str, ...] = ()  # files (relative) whose bytes must not change
    canary: str | None = None  # a file whose existence means code ran
    patch: Callable[[Path], contextlib.AbstractContextManager] | None = None
    stderr_has: tuple[str, ...] = ()  # text the error message must show literally
    no_stray: bool = False  # no temporary files may be left in the folder


@dataclass
class Outcome:
    case: str
    kind: str
    detail: str = ""
    exit_code: int | None = None
    stderr: str = ""
    stdout: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _digest(p: Path) -> str | None:
    if p.is_symlink():
        return "link:" + os.readlink(p)
    if not p.exists():
        return None
    return hashlib.sha256(p.read_bytes()).hexdigest()


def run_case(case: Case, folder: Path) -> Outcome:
    from click.testing import CliRunner

    from scalinglab.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    old = Path.cwd()
    os.chdir(folder)
    try:
        args = case.setup(folder)
        before = {name: _digest(folder / name) for name in case.protect}
        victim_before = _digest(folder / "victim.txt")
        entries_before = set(os.listdir(folder))
        patcher = case.patch(folder) if case.patch else contextlib.nullcontext()
        runner = CliRunner()
        try:
            with patcher:
                r = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        except BaseException as exc:  # escaped the CLI's error boundary
            return Outcome(case.id, "traceback", f"{type(exc).__name__}: {exc}")
        o = Outcome(case.id, "", exit_code=r.exit_code, stderr=r.stderr, stdout=r.stdout)
        if case.canary and (folder / case.canary).exists():
            o.kind, o.detail = "code run", case.canary
            return o
        if victim_before is not None and _digest(folder / "victim.txt") != victim_before:
            o.kind, o.detail = "file written", "victim.txt changed through a link"
            return o
        changed = [n for n in case.protect if _digest(folder / n) != before[n]]
        if changed:
            o.kind, o.detail = "data loss", f"changed: {changed}"
            return o
        if case.no_stray:
            stray = [
                e for e in set(os.listdir(folder)) - entries_before if "partial" in e or "tmp" in e
            ]
            if stray:
                o.kind, o.detail = "file written", f"temporary files left: {stray}"
                return o
        if r.exit_code == 3 or "internal error" in r.stderr:
            o.kind, o.detail = "internal error", r.stderr.strip()[-300:]
            return o
        if r.exit_code == 2:
            named = r.stderr.lstrip().startswith("error (") or "Error:" in r.stderr
            o.kind = "named error" if named else "other exit"
            o.detail = r.stderr.strip()[-300:]
            missing = [s for s in case.stderr_has if s not in r.stderr]
            if missing:
                o.kind, o.detail = "silently wrong", f"message lost {missing}: {r.stderr}"
            return o
        if r.exit_code == 0:
            problem = case.check(folder, r) if case.check else None
            if case.expect == "named error" and problem is None:
                problem = "accepted silently (expected a named error)"
            o.kind = "silently wrong" if problem else "correct"
            o.detail = problem or ""
            return o
        o.kind, o.detail = "other exit", f"exit {r.exit_code}: {r.stderr.strip()[-300:]}"
        return o
    finally:
        os.chdir(old)


# -- checks -----------------------------------------------------------------------------------
def _inspect_ok(rows: int = 36, column: str | None = None) -> Callable[[Path, Any], str | None]:
    def check(folder: Path, r: Any) -> str | None:
        rep = json.loads(r.stdout)
        if rep["rows"] != rows:
            return f"{rep['rows']} rows, expected {rows}"
        cols = [c["column"] for c in rep["columns"]]
        for need in ("n_params", "tokens", "loss", column):
            if need and need not in cols:
                return f"column {need!r} not read (columns {cols})"
        return None

    return check


def _fit_ok(folder: Path, r: Any) -> str | None:
    obj = json.loads(r.stdout)
    for k, v in TRUTH.items():
        if k in obj["params"] and not math.isclose(obj["params"][k], v, rel_tol=1e-3):
            return f"{k} = {obj['params'][k]}, expected {v}"
    return None


def _predict_ok(n: float, d: float) -> Callable[[Path, Any], str | None]:
    def check(folder: Path, r: Any) -> str | None:
        p = json.loads(r.stdout)["predictions"][0]["prediction"]
        want = true_loss(n, d)
        return None if p is not None and math.isclose(p, want, rel_tol=1e-3) else f"{p} != {want}"

    return check


def _file_is_fit(name: str) -> Callable[[Path, Any], str | None]:
    def check(folder: Path, r: Any) -> str | None:
        p = folder / name
        if p.is_symlink() or not p.is_file():
            return f"{name} not written as a file"
        d = json.loads(p.read_text())
        return None if d.get("law") == "chinchilla" else f"{name} is not a chinchilla fit"

    return check


# -- file builders ----------------------------------------------------------------------------
def _w(folder: Path, name: str, data: str | bytes) -> Path:
    p = folder / name
    if isinstance(data, str):
        p.write_text(data, encoding="utf-8")
    else:
        p.write_bytes(data)
    return p


def _good(folder: Path, name: str = "runs.csv") -> Path:
    return _w(folder, name, good_csv_text())


def _fit_file(folder: Path, d: Any, name: str = "fit.json") -> Path:
    text = d if isinstance(d, (str, bytes)) else json.dumps(d, allow_nan=True)
    return _w(folder, name, text)


def _latin1_table() -> str:
    df = good_frame()
    df.insert(0, "modèle", [f"modèle-{i}é" for i in range(len(df))])
    return df.to_csv(index=False)


def _parquet(folder: Path, name: str, extra: dict[str, Any]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = good_frame()
    cols = {c: pa.array(df[c].to_numpy()) for c in df.columns}
    cols.update(extra)
    p = folder / name
    pq.write_table(pa.table(cols), p)
    return p


def _patch_enospc(folder: Path) -> contextlib.AbstractContextManager:
    real_fsync = os.fsync

    def full(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            return real_fsync(fd)
        raise OSError(28, "No space left on device")

    return mock.patch("os.fsync", full)


def _patch_eacces(folder: Path) -> contextlib.AbstractContextManager:
    import tempfile

    def denied(*a: Any, **k: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(k.get("dir", "")))

    return mock.patch.object(tempfile, "mkstemp", denied)


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


FIT_ARGS = ["--law", "chinchilla", "--quiet", "--json"]
PREDICT_AT = ["--set", "n_params=1e9", "--set", "tokens=2e10", "--json"]
EXPR = ["--metric", "loss", "--quiet", "--json"]
EXPR_PARAMS = ["--param", "E=0:10", "--param", "A=0:inf", "--param", "alpha=0:3"]


def _case(id: str, group: str, expect: str, setup: Callable[[Path], list[str]], **kw: Any) -> Case:
    return Case(id, group, expect, setup, **kw)


def _table_cases() -> list[Case]:
    C: list[Case] = []
    text = good_csv_text()

    def inspect(name: str, data: bytes | str, *pre: str) -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _w(f, name, data)
            return [*pre, "inspect", name, "--json", "--no-outliers"]

        return setup

    ok = "correct"
    bad = "named error"
    C += [
        _case("utf8-bom", "tables", ok, inspect("t.csv", "\ufeff" + text), check=_inspect_ok()),
        _case(
            "latin-1",
            "tables",
            ok,
            inspect("t.csv", _latin1_table().encode("latin-1")),
            check=_inspect_ok(column="modèle"),
        ),
        _case(
            "cp1252-euro",
            "tables",
            ok,
            inspect(
                "t.csv",
                good_frame().assign(**{"cost\u20ac": 1}).to_csv(index=False).encode("cp1252"),
            ),
            check=_inspect_ok(column="cost\u20ac"),
        ),
        _case(
            "utf-16-le-bom",
            "tables",
            ok,
            inspect("t.csv", text.encode("utf-16")),
            check=_inspect_ok(),
        ),
        _case(
            "utf-16-be-bom",
            "tables",
            ok,
            inspect("t.csv", b"\xfe\xff" + text.encode("utf-16-be")),
            check=_inspect_ok(),
        ),
        _case(
            "utf-16-le-no-bom",
            "tables",
            ok,
            inspect("t.csv", text.encode("utf-16-le")),
            check=_inspect_ok(),
        ),
        _case(
            "utf-32-bom", "tables", ok, inspect("t.csv", text.encode("utf-32")), check=_inspect_ok()
        ),
        _case(
            "gzip-named-csv",
            "tables",
            ok,
            inspect("t.csv", gzip.compress(text.encode())),
            check=_inspect_ok(),
        ),
        _case(
            "csv.gz",
            "tables",
            ok,
            inspect("t.csv.gz", gzip.compress(text.encode())),
            check=_inspect_ok(),
        ),
        _case(
            "gzip-latin-1",
            "tables",
            ok,
            inspect("t.csv.gz", gzip.compress(_latin1_table().encode("latin-1"))),
            check=_inspect_ok(column="modèle"),
        ),
        _case(
            "jsonl.gz-utf-16",
            "tables",
            ok,
            inspect(
                "t.jsonl.gz",
                gzip.compress(good_frame().to_json(orient="records", lines=True).encode("utf-16")),
            ),
            check=_inspect_ok(),
        ),
        _case(
            "tsv-latin-1",
            "tables",
            ok,
            inspect("t.tsv", _latin1_table().replace(",", "\t").encode("latin-1")),
            check=_inspect_ok(column="modèle"),
        ),
        _case(
            "binary-garbage",
            "tables",
            bad,
            inspect("t.csv", bytes(np.random.default_rng(0).integers(0, 256, 4000, np.uint8))),
        ),
        _case(
            "png-as-csv",
            "tables",
            bad,
            inspect("t.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)),
        ),
        _case("zip-as-csv", "tables", bad, inspect("t.csv", _zip_bytes())),
        _case(
            "gzip-of-garbage",
            "tables",
            bad,
            inspect("t.csv.gz", gzip.compress(bytes(range(256)) * 8)),
        ),
        _case("truncated-gzip", "tables", bad, inspect("t.csv", gzip.compress(text.encode())[:40])),
        _case(
            "nul-in-utf8", "tables", bad, inspect("t.csv", text.replace("\n", "\x00\n", 3).encode())
        ),
        _case(
            "encoding-option",
            "tables",
            ok,
            inspect("t.csv", _latin1_table().encode("latin-1"), "--encoding", "latin-1"),
            check=_inspect_ok(column="modèle"),
        ),
        _case("encoding-unknown", "tables", bad, inspect("t.csv", text, "--encoding", "klingon-8")),
        _case(
            "encoding-wrong",
            "tables",
            bad,
            inspect("t.csv", _latin1_table().encode("latin-1"), "--encoding", "ascii"),
        ),
        _case(
            "jsonl-nested-dict",
            "tables",
            bad,
            inspect("t.jsonl", '{"n_params": 1e9, "tokens": 2e10, "loss": {"v": 2.1}}\n'),
            stderr_has=("loss",),
        ),
        _case(
            "jsonl-nested-list",
            "tables",
            bad,
            inspect("t.jsonl", '{"n_params": [1e9, 2e9], "tokens": 2e10, "loss": 2.1}\n'),
            stderr_has=("n_params",),
        ),
        _case(
            "jsonl-nested-text-column",
            "tables",
            bad,
            inspect(
                "t.jsonl", '{"n_params": 1e9, "tokens": 2e10, "loss": 2.1, "cfg": {"lr": 0.1}}\n'
            ),
            stderr_has=("cfg",),
        ),
        _case("json-deep", "tables", bad, inspect("t.json", "[" * 100_000 + "]" * 100_000)),
        _case(
            "jsonl-deep",
            "tables",
            bad,
            inspect("t.jsonl", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
        ),
        _case("json-object", "tables", bad, inspect("t.json", '{"n_params": 1}')),
        _case("jsonl-not-object", "tables", bad, inspect("t.jsonl", "[1, 2, 3]\n")),
        _case("jsonl-invalid", "tables", bad, inspect("t.jsonl", '{"n_params": 1e9,\n')),
        _case(
            "duplicate-header",
            "tables",
            bad,
            inspect("t.csv", "n_params,tokens,loss,loss\n1e9,2e10,2.5,2.6\n"),
            stderr_has=("loss",),
        ),
        _case(
            "duplicate-alias",
            "tables",
            bad,
            inspect("t.csv", "N,n_params,tokens,loss\n1e9,1e9,2e10,2.5\n"),
        ),
        _case("empty", "tables", bad, inspect("t.csv", "")),
        _case("header-only", "tables", bad, inspect("t.csv", "n_params,tokens,loss\n")),
        _case("blank-lines", "tables", bad, inspect("t.csv", "\n\n   \n\n")),
        _case(
            "ragged-row",
            "tables",
            bad,
            inspect("t.csv", "n_params,tokens,loss\n1e9,2e10,2.5\n1e9,2e10,2.5,9,9\n"),
        ),
        _case("unknown-extension", "tables", bad, inspect("t.xlsx", text)),
        _case("missing-file", "tables", bad, lambda f: ["inspect", "nope.csv", "--json"]),
        _case("directory", "tables", bad, lambda f: (f / "d").mkdir() or ["inspect", "d"]),
        _case(
            "huge-integers",
            "tables",
            ok,
            inspect("t.csv", text.replace("\n1", "\n99999999999999999999999999", 1)),
            check=_inspect_ok(),
        ),
    ]

    def fit_on(name: str, data: str | bytes, *extra: str) -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _w(f, name, data)
            return ["fit", name, *FIT_ARGS, *extra]

        return setup

    C += [
        _case(
            "fit-latin-1",
            "tables",
            ok,
            fit_on("t.csv", _latin1_table().encode("latin-1")),
            check=_fit_ok,
        ),
        _case("fit-utf-16", "tables", ok, fit_on("t.csv", text.encode("utf-16")), check=_fit_ok),
        _case(
            "fit-gzip",
            "tables",
            ok,
            fit_on("t.csv.gz", gzip.compress(text.encode())),
            check=_fit_ok,
        ),
        _case("fit-1e400-cell", "tables", bad, fit_on("t.csv", _first_row(text, "1e400,2e10,2.5"))),
        _case(
            "fit-inf-suffix", "tables", bad, fit_on("t.csv", _first_row(text, "1e307T,2e10,2.5"))
        ),
        _case("fit-nan-cell", "tables", bad, fit_on("t.csv", _first_row(text, "1e9,nan,2.5"))),
        _case(
            "fit-negative-size", "tables", bad, fit_on("t.csv", _first_row(text, "-1e9,2e10,2.5"))
        ),
        _case(
            "fit-parquet-list",
            "tables",
            bad,
            lambda f: (
                _parquet(f, "t.parquet", {"hist": _pa_list()}) and ["fit", "t.parquet", *FIT_ARGS]
            ),
            stderr_has=("hist",),
        ),
        _case(
            "fit-parquet-struct",
            "tables",
            bad,
            lambda f: (
                _parquet(f, "t.parquet", {"loss": _pa_struct()}) and ["fit", "t.parquet", *FIT_ARGS]
            ),
            stderr_has=("loss",),
        ),
        _case(
            "fit-parquet-garbage",
            "tables",
            bad,
            fit_on("t.parquet", b"PAR1" + bytes(100) + b"PAR1"),
        ),
    ]
    return C


def _first_row(text: str, row: str) -> str:
    head, _first, rest = text.split("\n", 2)
    return f"{head}\n{row}\n{rest}"


def _pa_list() -> Any:
    import pyarrow as pa

    return pa.array([[1.0, 2.0]] * 36)


def _pa_struct() -> Any:
    import pyarrow as pa

    return pa.array([{"value": 2.0, "std": 0.1}] * 36)


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


def _expression_cases() -> list[Case]:
    def fit_expr(expr: str, *params: str) -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _good(f)
            return ["fit", "runs.csv", "--expr", expr, *EXPR, *(params or EXPR_PARAMS)]

        return setup

    def not_converged(folder: Path, r: Any) -> str | None:
        obj = json.loads(r.stdout)
        return "said converged on a law with no finite value" if obj["converged"] else None

    base = "E + A/tokens**alpha"
    bad = "named error"
    return [
        _case(
            "expr-ok",
            "expressions",
            "correct",
            fit_expr(base),
            check=lambda f, r: None if json.loads(r.stdout)["n_points"] == 36 else "rows",
        ),
        _case(
            "expr-function-as-value",
            "expressions",
            bad,
            fit_expr("E + A*log + alpha"),
            stderr_has=("log",),
        ),
        _case("expr-tower", "expressions", bad, fit_expr("10**10**10 + " + base)),
        _case("expr-big-int", "expressions", bad, fit_expr(base + " + 10**400")),
        _case("expr-big-exponent", "expressions", bad, fit_expr("E + A/tokens**(alpha*1e300)")),
        _case("expr-long", "expressions", bad, fit_expr(base + " + 0*tokens" * 3000)),
        _case(
            "expr-redundant-parens",
            "expressions",
            "correct",
            fit_expr("(" * 150 + base + ")" * 150),
            check=lambda f, r: None if json.loads(r.stdout)["n_points"] == 36 else "rows",
        ),
        _case(
            "expr-deep-calls",
            "expressions",
            bad,
            fit_expr("exp(" * 60 + "0*tokens" + ")" * 60 + "*E + A/tokens**alpha"),
        ),
        _case("expr-deeper-parens", "expressions", bad, fit_expr("(" * 1000 + base + ")" * 1000)),
        _case(
            "expr-unary-chain",
            "expressions",
            bad,
            fit_expr("E + A/tokens**alpha" + "-" * 900 + "1"),
        ),
        _case("expr-many-nodes", "expressions", bad, fit_expr("+".join([base] * 120))),
        _case(
            "expr-import",
            "expressions",
            bad,
            fit_expr("__import__('os').system('touch CANARY') + " + base),
            canary="CANARY",
        ),
        _case("expr-attribute", "expressions", bad, fit_expr("E + A.real/tokens**alpha")),
        _case("expr-lambda", "expressions", bad, fit_expr("(lambda: E)() + A/tokens**alpha")),
        _case("expr-ifexp", "expressions", bad, fit_expr(base + " if E else A")),
        _case("expr-subscript", "expressions", bad, fit_expr("E + A/tokens[0]**alpha")),
        _case("expr-string", "expressions", bad, fit_expr(base + " + 'x'")),
        _case("expr-empty", "expressions", bad, fit_expr("   ")),
        _case("expr-syntax", "expressions", bad, fit_expr("E + A/")),
        _case(
            "expr-bounds-reversed",
            "expressions",
            bad,
            fit_expr(base, "--param", "E=0:10", "--param", "A=0:inf", "--param", "alpha=3:1"),
        ),
        _case(
            "expr-bounds-nan",
            "expressions",
            bad,
            fit_expr(base, "--param", "E=0:10", "--param", "A=0:inf", "--param", "alpha=nan:1"),
        ),
        _case(
            "expr-unused-param",
            "expressions",
            bad,
            fit_expr(base, *EXPR_PARAMS, "--param", "beta=0:1"),
        ),
        _case("expr-unknown-name", "expressions", bad, fit_expr("É + A/tokens**alpha")),
        _case(
            "expr-overflow-everywhere",
            "expressions",
            "correct",
            fit_expr("E + A*exp(exp(exp(tokens)))", "--param", "E=0:10", "--param", "A=0:inf"),
            check=not_converged,
        ),
    ]


def _query_cases() -> list[Case]:
    def fit_where(q: str, cmd: str = "fit") -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _good(f)
            if cmd == "audit":
                return [
                    "audit",
                    "runs.csv",
                    "--law",
                    "chinchilla",
                    "--holdout",
                    q,
                    "--bootstrap",
                    "0",
                    "--quiet",
                ]
            return ["fit", "runs.csv", *FIT_ARGS, "--where", q]

        return setup

    payload = "@pd.io.common.os.system('touch CANARY') == 0 or tokens > 0"
    bad = "named error"
    return [
        _case("query-os-system", "queries", bad, fit_where(payload), canary="CANARY"),
        _case(
            "query-os-system-audit", "queries", bad, fit_where(payload, "audit"), canary="CANARY"
        ),
        _case(
            "query-import",
            "queries",
            bad,
            fit_where("__import__('os').system('touch CANARY') == 0"),
            canary="CANARY",
        ),
        _case("query-dunder", "queries", bad, fit_where("tokens.__class__ == 1")),
        _case("query-unknown-column", "queries", bad, fit_where("tokenz > 1")),
        _case("query-syntax", "queries", bad, fit_where("tokens >")),
        _case("query-empty-selection", "queries", bad, fit_where("tokens < 0")),
        _case("query-long", "queries", bad, fit_where("tokens > 0 and " * 2000 + "tokens > 0")),
        _case("query-deep", "queries", bad, fit_where("(" * 300 + "tokens > 0" + ")" * 300)),
        _case(
            "query-ok",
            "queries",
            "correct",
            fit_where("tokens >= 1e9"),
            check=lambda f, r: None if json.loads(r.stdout)["n_points"] == 24 else "rows",
        ),
    ]


def _fit_file_cases() -> list[Case]:
    def predict(d: Any, *extra: str) -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _fit_file(f, d() if callable(d) else d)
            return ["predict", "fit.json", *(extra or PREDICT_AT)]

        return setup

    def edit(fn: Callable[[dict[str, Any]], Any]) -> Callable[[], dict[str, Any]]:
        def make() -> dict[str, Any]:
            d = good_fit_dict()
            fn(d)
            return d

        return make

    def setp(**kv: Any) -> Callable[[dict[str, Any]], None]:
        return lambda d: d["params"].update(kv)

    bad = "named error"
    F = "fit files"
    return [
        _case("fit-file-ok", F, "correct", predict(good_fit_dict), check=_predict_ok(1e9, 2e10)),
        _case("fit-file-not-json", F, bad, predict("hello, world")),
        _case("fit-file-empty", F, bad, predict("")),
        _case("fit-file-array", F, bad, predict("[]")),
        _case("fit-file-string", F, bad, predict('"chinchilla"')),
        _case("fit-file-binary", F, bad, predict(b"\xff\xfe\x00\x01binary\x80")),
        _case("fit-file-deep", F, bad, predict('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")),
        _case("fit-file-no-law-spec", F, bad, predict(edit(lambda d: d.pop("law_spec")))),
        _case("fit-file-no-params", F, bad, predict(edit(lambda d: d.pop("params")))),
        _case("fit-file-no-objective", F, bad, predict(edit(lambda d: d.pop("objective")))),
        _case(
            "fit-file-params-list",
            F,
            bad,
            predict(edit(lambda d: d.update(params=[1, 2, 3, 4, 5]))),
        ),
        _case("fit-file-param-text", F, bad, predict(edit(setp(alpha="abc")))),
        _case("fit-file-param-bool", F, bad, predict(edit(setp(alpha=True)))),
        _case("fit-file-param-nan", F, bad, predict(edit(setp(alpha=math.nan)))),
        _case("fit-file-param-inf", F, bad, predict(edit(setp(E=math.inf)))),
        _case("fit-file-param-out-of-bounds", F, bad, predict(edit(setp(alpha=-1.0)))),
        _case("fit-file-param-missing", F, bad, predict(edit(lambda d: d["params"].pop("beta")))),
        _case("fit-file-param-extra", F, bad, predict(edit(setp(gamma=1.0)))),
        _case(
            "fit-file-unknown-law",
            F,
            bad,
            predict(edit(lambda d: d["law_spec"].update(catalog="chinchila"))),
        ),
        _case(
            "fit-file-law-spec-text",
            F,
            bad,
            predict(edit(lambda d: d.update(law_spec="chinchilla"))),
        ),
        _case(
            "fit-file-law-param-no-grid",
            F,
            bad,
            predict(edit(lambda d: d["law_spec"]["parameters"][0].pop("grid"))),
        ),
        _case(
            "fit-file-law-bounds-reversed",
            F,
            bad,
            predict(edit(lambda d: d["law_spec"]["parameters"][0].update(lower=10, upper=1))),
        ),
        _case(
            "fit-file-law-space",
            F,
            bad,
            predict(edit(lambda d: d["law_spec"].update(space="cubic"))),
        ),
        _case(
            "fit-file-expression-payload",
            F,
            bad,
            predict(
                edit(
                    lambda d: d.update(
                        law_spec={
                            "expression": "__import__('os').system('touch CANARY')",
                            "parameters": [],
                        }
                    )
                )
            ),
            canary="CANARY",
        ),
        _case("fit-file-n-points-text", F, bad, predict(edit(lambda d: d.update(n_points="many")))),
        _case("fit-file-n-points-negative", F, bad, predict(edit(lambda d: d.update(n_points=-4)))),
        _case("fit-file-converged-text", F, bad, predict(edit(lambda d: d.update(converged="no")))),
        _case("fit-file-objective-null", F, bad, predict(edit(lambda d: d.update(objective=None)))),
        _case(
            "fit-file-columns-list", F, bad, predict(edit(lambda d: d.update(columns=["n_params"])))
        ),
        _case(
            "fit-file-data-text",
            F,
            bad,
            predict(edit(lambda d: d["data"]["x"].update(tokens=["a"] * 36))),
        ),
        _case(
            "fit-file-data-lengths", F, bad, predict(edit(lambda d: d["data"].update(y=[1.0, 2.0])))
        ),
        _case(
            "fit-file-bootstrap-text", F, bad, predict(edit(lambda d: d.update(bootstrap="yes")))
        ),
        _case(
            "fit-file-diagnostics-text",
            F,
            bad,
            predict(edit(lambda d: d.update(diagnostics=["flat"]))),
        ),
        _case(
            "plan-fit-file-param-nan",
            F,
            bad,
            lambda f: (
                _fit_file(f, edit(setp(alpha=math.nan))())
                and ["plan", "fit.json", "--budget", "1e21", "--json"]
            ),
        ),
    ]


def _predict_cases() -> list[Case]:
    def predict_set(*sets: str) -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _fit_file(f, good_fit_dict())
            args = ["predict", "fit.json", "--json"]
            for s in sets:
                args += ["--set", s]
            return args

        return setup

    bad = "named error"
    P = "predict inputs"
    cases = [
        _case(f"predict-n-params-{v}", P, bad, predict_set(f"n_params={v}", "tokens=2e10"))
        for v in ("-1", "0", "nan", "1e400", "inf", "abc")
    ]
    return cases + [
        _case("predict-missing-variable", P, bad, predict_set("n_params=1e9")),
        _case(
            "predict-suffixes",
            P,
            "correct",
            predict_set("n_params=1B,tokens=20B"),
            check=_predict_ok(1e9, 2e10),
        ),
        _case(
            "predict-at-negative",
            P,
            bad,
            lambda f: (
                _fit_file(f, good_fit_dict())
                and _w(f, "at.csv", "n_params,tokens\n1e9,2e10\n-5,2e10\n")
                and ["predict", "fit.json", "--at", "at.csv", "--json"]
            ),
        ),
    ]


def _option_cases() -> list[Case]:
    def fit_opts(*extra: str, data: str | None = None) -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _w(f, "runs.csv", data or good_csv_text())
            return ["fit", "runs.csv", *FIT_ARGS, *extra]

        return setup

    def fit_then(*args: str) -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _good(f)
            _fit_file(f, good_fit_dict())
            return list(args)

        return setup

    comma = good_frame().rename(columns={"n_params": "size,params"}).to_csv(index=False)
    bad = "named error"
    O = "options"
    return [
        _case("delta-zero", O, bad, fit_opts("--delta", "0")),
        _case("delta-negative", O, bad, fit_opts("--delta", "-1")),
        _case("delta-nan", O, bad, fit_opts("--delta", "nan")),
        _case("random-starts-negative", O, bad, fit_opts("--random-starts", "-5")),
        _case("seed-negative", O, bad, fit_opts("--random-starts", "3", "--seed", "-1")),
        _case("fit-interval-1.5", O, bad, fit_opts("--bootstrap", "5", "--interval", "1.5")),
        _case("fit-bootstrap-negative", O, bad, fit_opts("--bootstrap", "-3")),
        _case("fit-bootstrap-float", O, bad, fit_opts("--bootstrap", "1e8")),
        _case("fit-strategy-bogus", O, bad, fit_opts("--strategy", "bogus")),
        _case("grid-not-numbers", O, bad, fit_opts("--grid", "alpha=abc")),
        _case("grid-empty", O, bad, fit_opts("--grid", "alpha=")),
        _case(
            "predict-interval-1.5",
            O,
            bad,
            fit_then(
                "predict", "fit.json", "--set", "n_params=1e9,tokens=2e10", "--interval", "1.5"
            ),
        ),
        _case(
            "audit-interval-1.5",
            O,
            bad,
            fit_then(
                "audit",
                "runs.csv",
                "--law",
                "chinchilla",
                "--leave-largest-out",
                "n_params",
                "--interval",
                "1.5",
                "--bootstrap",
                "5",
                "--quiet",
            ),
        ),
        _case("plan-budget-xyz", O, bad, fit_then("plan", "fit.json", "--budget", "xyz")),
        _case(
            "plan-inference-tokens-xyz",
            O,
            bad,
            fit_then("plan", "fit.json", "--budget", "1e21", "--inference-tokens", "many"),
        ),
        _case(
            "report-budget-xyz",
            O,
            bad,
            fit_then(
                "report",
                "runs.csv",
                "--law",
                "chinchilla",
                "--workflow",
                "plan",
                "--budget",
                "xyz",
                "--bootstrap",
                "0",
                "-o",
                "r.html",
            ),
        ),
        _case(
            "choose-method-at-xyz",
            O,
            bad,
            fit_then("choose-method", "runs.csv", "--at", "n_params=abc"),
        ),
        _case(
            "pretrain-choice-tokens-xyz",
            O,
            bad,
            fit_then("pretrain-choice", "runs.csv", "--target-tokens", "lots"),
        ),
        _case("plan-budget-negative", O, bad, fit_then("plan", "fit.json", "--budget", "-1e21")),
        _case(
            "forecast-target-xyz",
            O,
            bad,
            fit_then("forecast", "runs.csv", "--target", "n_params=abc"),
        ),
        _case(
            "bracketed-words-kept",
            O,
            bad,
            fit_opts("--metric", "loss[ray]"),
            stderr_has=("loss[ray]",),
        ),
        _case(
            "bracketed-law-name-kept",
            O,
            bad,
            fit_then("fit", "runs.csv", "--law", "[bold]chinchilla[/bold]"),
            stderr_has=("[bold]chinchilla[/bold]",),
        ),
        _case(
            "map-comma-column",
            O,
            "correct",
            fit_opts("--map", "n_params=size,params", data=comma),
            check=_fit_ok,
        ),
        _case(
            "map-comma-quoted",
            O,
            "correct",
            fit_opts("--map", 'n_params="size,params"', data=comma),
            check=_fit_ok,
        ),
        _case(
            "map-repeated",
            O,
            "correct",
            fit_opts("--map", "n_params=size,params", "--map", "tokens=tokens", data=comma),
            check=_fit_ok,
        ),
    ]


def _output_cases() -> list[Case]:
    bad = "named error"
    W = "output paths"

    def fit_to(*extra: str, pre: Callable[[Path], Any] | None = None) -> Callable[[Path], list]:
        def setup(f: Path) -> list[str]:
            _good(f)
            if pre:
                pre(f)
            return ["fit", "runs.csv", "--law", "chinchilla", "--quiet", *extra]

        return setup

    def old_fit(f: Path) -> None:
        _fit_file(f, {"old": True})

    def link(f: Path, name: str = "fit.json") -> None:
        _w(f, "victim.txt", "precious")
        os.symlink(f / "victim.txt", f / name)

    def report_to(out: str, pre: Callable[[Path], Any] | None = None, *extra: str):
        def setup(f: Path) -> list[str]:
            _good(f)
            if pre:
                pre(f)
            return ["report", "runs.csv", "--bootstrap", "0", "-o", out, *extra]

        return setup

    def merge_to(out: str, pre: Callable[[Path], Any] | None = None, *extra: str):
        def setup(f: Path) -> list[str]:
            _w(f, "evals.csv", "model,loss\na,2.5\nb,2.4\n")
            _w(f, "meta.csv", "model,n_params\na,1e9\nb,2e9\n")
            if pre:
                pre(f)
            return ["merge", "evals.csv", "meta.csv", "--on", "model", "-o", out, *extra]

        return setup

    def plant_partial(name: str) -> Callable[[Path], None]:
        def pre(f: Path) -> None:
            _w(f, "victim.txt", "precious")
            os.symlink(f / "victim.txt", f / f".{name}.partial")

        return pre

    def demo_dir(f: Path) -> None:
        (f / "demo").mkdir()
        _w(f, "demo/report.html", "my own report")
        _w(f, "demo/runs.csv", "my,own\n1,2\n")

    return [
        _case("fit-out-is-input", W, bad, fit_to("--out", "runs.csv"), protect=("runs.csv",)),
        _case(
            "fit-out-is-input-other-spelling",
            W,
            bad,
            fit_to("--out", "./sub/../runs.csv", pre=lambda f: (f / "sub").mkdir()),
            protect=("runs.csv",),
        ),
        _case(
            "fit-out-is-input-hardlink",
            W,
            bad,
            fit_to("--out", "hard.csv", pre=lambda f: os.link(f / "runs.csv", f / "hard.csv")),
            protect=("runs.csv",),
        ),
        _case("fit-starts-is-input", W, bad, fit_to("--starts", "runs.csv"), protect=("runs.csv",)),
        _case(
            "fit-out-is-input-force",
            W,
            bad,
            fit_to("--out", "runs.csv", "--force"),
            protect=("runs.csv",),
        ),
        _case("report-out-is-input", W, bad, report_to("runs.csv"), protect=("runs.csv",)),
        _case(
            "fit-out-exists",
            W,
            bad,
            fit_to("--out", "fit.json", pre=old_fit),
            protect=("fit.json",),
        ),
        _case(
            "fit-out-exists-force",
            W,
            "correct",
            fit_to("--out", "fit.json", "--force", pre=old_fit),
            check=_file_is_fit("fit.json"),
            no_stray=True,
        ),
        _case(
            "fit-out-new",
            W,
            "correct",
            fit_to("--out", "fit.json"),
            check=_file_is_fit("fit.json"),
            no_stray=True,
        ),
        _case(
            "fit-starts-exists",
            W,
            bad,
            fit_to("--starts", "s.csv", pre=lambda f: _w(f, "s.csv", "mine\n1\n")),
            protect=("s.csv",),
        ),
        _case("fit-out-symlink", W, bad, fit_to("--out", "fit.json", pre=link)),
        _case("fit-out-symlink-force", W, bad, fit_to("--out", "fit.json", "--force", pre=link)),
        _case("fit-out-missing-dir", W, bad, fit_to("--out", "no/such/dir/fit.json")),
        _case(
            "fit-out-full-disk",
            W,
            bad,
            fit_to("--out", "fit.json", "--force", pre=old_fit),
            patch=_patch_enospc,
            protect=("fit.json",),
            no_stray=True,
        ),
        _case(
            "fit-out-unwritable-dir",
            W,
            bad,
            fit_to("--out", "fit.json"),
            patch=_patch_eacces,
            no_stray=True,
        ),
        _case("fit-out-is-dir", W, bad, fit_to("--out", "sub", pre=lambda f: (f / "sub").mkdir())),
        _case(
            "report-out-exists",
            W,
            bad,
            report_to("r.html", lambda f: _w(f, "r.html", "mine")),
            protect=("r.html",),
        ),
        _case("report-out-symlink", W, bad, report_to("r.html", lambda f: link(f, "r.html"))),
        _case("report-out-missing-dir", W, bad, report_to("nope/r.html")),
        _case(
            "report-out-new",
            W,
            "correct",
            report_to("r.html"),
            check=lambda f, r: (
                None if "<html" in (f / "r.html").read_text()[:2000].lower() else "no report"
            ),
            no_stray=True,
        ),
        _case(
            "merge-out-exists",
            W,
            bad,
            merge_to("out.csv", lambda f: _w(f, "out.csv", "mine\n")),
            protect=("out.csv",),
        ),
        _case("merge-out-is-input", W, bad, merge_to("meta.csv"), protect=("meta.csv",)),
        _case(
            "merge-planted-partial-link",
            W,
            "correct",
            merge_to("out.csv", plant_partial("out.csv")),
            check=lambda f, r: None if "n_params" in (f / "out.csv").read_text() else "no out",
        ),
        _case(
            "merge-out-symlink",
            W,
            bad,
            merge_to("out.csv", lambda f: link(f, "out.csv"), "--force"),
        ),
        _case(
            "import-harness-out-is-side-table",
            W,
            bad,
            _harness_to_side_table,
            protect=("side.csv",),
        ),
        _case("sweep-export-out-exists", W, bad, _export_to_existing, protect=("o.csv",)),
        _case(
            "demo-out-not-empty",
            W,
            bad,
            lambda f: demo_dir(f) or ["demo", "--out", "demo", "--quiet"],
            protect=("demo/report.html", "demo/runs.csv"),
        ),
    ]


def _harness_to_side_table(f: Path) -> list[str]:
    (f / "evals").mkdir()
    results = {"results": {"arc_easy": {"acc,none": 0.5}}, "config": {"model_args": "m-1b"}}
    _w(f, "evals/results.json", json.dumps(results))
    _w(f, "side.csv", "model,n_params\nm-1b,1e9\n")
    return ["import-harness", "evals", "--side-table", "side.csv", "-o", "side.csv"]


def _export_to_existing(f: Path) -> list[str]:
    from scalinglab.testbed.registry import Registry

    Registry(str(f / "reg.sqlite"))
    _w(f, "o.csv", "mine\n1\n")
    return ["sweep", "export", "--registry", "reg.sqlite", "--to", "o.csv"]


def _registry_cases() -> list[Case]:
    bad = "named error"
    R = "specs and registries"

    def spec(text: str, *extra: str) -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            _w(f, "spec.yaml", text)
            return ["sweep", "plan", "spec.yaml", *extra]

        return setup

    def status(data: bytes | None, cmd: str = "status") -> Callable[[Path], list[str]]:
        def setup(f: Path) -> list[str]:
            if data is None:
                (f / "reg.sqlite").mkdir()
            else:
                _w(f, "reg.sqlite", data)
            if cmd == "export":
                return ["sweep", "export", "--registry", "reg.sqlite", "--to", "o.csv"]
            return ["sweep", "status", "--registry", "reg.sqlite"]

        return setup

    garbage = b"SQLite format 3\x00" + bytes(
        np.random.default_rng(1).integers(0, 256, 4000, np.uint8)
    )
    return [
        _case(
            "yaml-syntax",
            R,
            bad,
            spec("name: x\naxes: {tokens: [1, 2\n"),
            stderr_has=("spec.yaml:3:1", "2:16"),
        ),
        _case(
            "yaml-tab-indent",
            R,
            bad,
            spec("name: x\naxes:\n\ttokens: [1]\n"),
            stderr_has=("spec.yaml",),
        ),
        _case(
            "yaml-python-tag",
            R,
            bad,
            spec("!!python/object/apply:os.system ['touch CANARY']\n"),
            canary="CANARY",
            stderr_has=("spec.yaml",),
        ),
        _case(
            "yaml-python-name",
            R,
            bad,
            spec("name: !!python/name:os.system\n"),
            stderr_has=("spec.yaml",),
        ),
        _case("yaml-list", R, bad, spec("- 1\n- 2\n")),
        _case("yaml-binary", R, bad, spec(b"\xff\xfe\x00garbage\x80".decode("latin-1"))),
        _case("registry-corrupt", R, bad, status(garbage)),
        _case("registry-text", R, bad, status(b"this is not a database\n" * 100)),
        _case("registry-directory", R, bad, status(None)),
        _case("registry-corrupt-export", R, bad, status(garbage, "export")),
    ]


def all_cases() -> list[Case]:
    cases = (
        _table_cases()
        + _expression_cases()
        + _query_cases()
        + _fit_file_cases()
        + _predict_cases()
        + _option_cases()
        + _output_cases()
        + _registry_cases()
    )
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases
