"""Hostile and clumsy input, the parts the corpus (tests/hostile) cannot show by exit status:
the CLI's one error boundary, atomic writes under a kill and a full disk, a planted link,
redacted URLs, encodings, expression limits, fit-file schema, option ranges."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab.cli import main
from scalinglab.errors import (
    ExpressionError,
    FitFileError,
    OptionError,
    OutputPathError,
    ScalingLabError,
)

from .hostile.corpus import good_fit_dict, good_frame


@pytest.fixture()
def runs_csv(tmp_path):
    p = tmp_path / "runs.csv"
    good_frame().to_csv(p, index=False)
    return p


@pytest.fixture(autouse=True)
def _state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("SCALINGLAB_DEBUG", raising=False)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- one error boundary -------------------------------------------------------------------------
def _explode(*a, **k):
    raise ZeroDivisionError("boom in [ray] land")


def test_unexpected_exception_is_one_line_exit_3_with_a_log(runs_csv, tmp_path, monkeypatch):
    monkeypatch.setattr("scalinglab.inspect.inspect_table", _explode)
    r = invoke("inspect", runs_csv)
    assert r.exit_code == 3
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    m = re.fullmatch(
        r"internal error \(ZeroDivisionError\): boom in \[ray\] land — please report; "
        r"details in (.+\.log)",
        lines[0],
    )
    assert m, lines[0]
    log = Path(m.group(1))
    assert log.is_relative_to(tmp_path / "state" / "scalinglab" / "errors")
    text = log.read_text()
    assert "Traceback" in text and "ZeroDivisionError" in text and "_explode" in text


def test_debug_shows_the_traceback(runs_csv, monkeypatch):
    monkeypatch.setattr("scalinglab.inspect.inspect_table", _explode)
    r = invoke("--debug", "inspect", runs_csv)
    assert r.exit_code == 3
    assert "Traceback (most recent call last)" in r.stderr and "_explode" in r.stderr
    assert r.stderr.rstrip().endswith("please report; the traceback is above")


def test_commands_without_their_own_handler_are_inside_the_boundary(monkeypatch):
    class Broken(dict):
        def values(self):
            raise KeyError("catalog gone")

    monkeypatch.setattr("scalinglab.cli.fitting.CATALOG", Broken())
    r = invoke("laws")
    assert r.exit_code == 3 and "internal error (KeyError)" in r.stderr


def test_named_errors_keep_exit_2_and_their_brackets(runs_csv, monkeypatch):
    def named(*a, **k):
        raise ScalingLabError("the ray executor needs: pip install 'scalinglab[ray]'")

    monkeypatch.setattr("scalinglab.inspect.inspect_table", named)
    r = invoke("inspect", runs_csv)
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "error (ScalingLabError): the ray executor needs: pip install 'scalinglab[ray]'"
    )


def test_usage_errors_keep_clicks_exit_2():
    r = invoke("fit")
    assert r.exit_code == 2 and "Missing argument" in r.stderr


def test_full_disk_outside_the_safe_writer_is_named(runs_csv, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("scalinglab.inspect.inspect_table", full)
    r = invoke("inspect", runs_csv)
    assert r.exit_code == 2 and r.stderr.startswith("error (OSError)")


# -- never destroy data -------------------------------------------------------------------------
def test_fit_out_refused_before_the_fit_runs(runs_csv, tmp_path, monkeypatch):
    (tmp_path / "fit.json").write_text("{}")
    called = []
    monkeypatch.setattr("scalinglab.workflows.fit_run.fit", lambda *a, **k: called.append(1))
    r = invoke("fit", runs_csv, "--out", tmp_path / "fit.json")
    assert r.exit_code == 2 and "--force" in r.stderr and not called
    assert (tmp_path / "fit.json").read_text() == "{}"


def test_fit_out_force_replaces_atomically(runs_csv, tmp_path):
    out = tmp_path / "fit.json"
    out.write_text("old")
    os.chmod(out, 0o640)
    r = invoke("fit", runs_csv, "--out", out, "--force", "--starts", tmp_path / "s.csv")
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["law"] == "chinchilla"
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)  # the replaced file's mode is kept
    assert len(pd.read_csv(tmp_path / "s.csv")) > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json", "runs.csv", "s.csv"]


_KILL_MID_WRITE = textwrap.dedent(
    """
    import io, os, signal, sys
    folder = os.path.realpath(sys.argv[1])

    class Killer:
        def __init__(self, fh):
            self.fh = fh
        def write(self, s):
            self.fh.write(s[: len(s) // 2])
            self.fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        def __getattr__(self, name):
            return getattr(self.fh, name)
        def __enter__(self):
            return self
        def __exit__(self, *a):
            return self.fh.__exit__(*a)

    def target(name):
        if isinstance(name, int):
            name = os.readlink(f"/proc/self/fd/{name}")
        return os.path.dirname(os.path.realpath(str(name))) == folder

    real_open, real_fdopen = io.open, os.fdopen
    def kill_open(file, mode="r", *a, **k):
        fh = real_open(file, mode, *a, **k)
        return Killer(fh) if "w" in mode and target(file) else fh
    def kill_fdopen(fd, mode="r", *a, **k):
        fh = real_fdopen(fd, mode, *a, **k)
        return Killer(fh) if "w" in mode and target(fd) else fh

    import scalinglab as sl
    import pandas as pd
    res = sl.fit(pd.read_csv(sys.argv[2]), "chinchilla")
    io.open = kill_open
    os.fdopen = kill_fdopen
    res.to_json(os.path.join(folder, "fit.json"))
    """
)


def test_a_kill_mid_write_keeps_the_old_fit(runs_csv, tmp_path):
    """`fit --out` once left a 0-byte fit.json and the old fit gone after a kill."""
    folder = tmp_path / "out"
    folder.mkdir()
    old = json.dumps(good_fit_dict())
    (folder / "fit.json").write_text(old)
    script = tmp_path / "kill.py"
    script.write_text(_KILL_MID_WRITE)
    p = subprocess.run([sys.executable, str(script), str(folder), str(runs_csv)], timeout=120)
    assert p.returncode == -9  # killed while writing
    assert (folder / "fit.json").read_text() == old
    sl.FitResult.from_json(folder / "fit.json")  # still a valid fit


def test_full_disk_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    from scalinglab.io.safe_write import write_text

    p = tmp_path / "f.json"
    p.write_text("old")
    with mock.patch("os.fsync", side_effect=OSError(28, "No space left on device")):
        with pytest.raises(OutputPathError, match="disk is full"):
            write_text(p, "new")
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["f.json"]


def test_write_table_never_follows_a_planted_partial_link(tmp_path):
    """write_table wrote through `.NAME.partial`: a link planted there redirected the write."""
    from scalinglab.io.tables import write_table

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".out.csv.partial").symlink_to(victim)
    write_table(good_frame(), tmp_path / "out.csv")
    assert victim.read_text() == "precious"
    assert len(pd.read_csv(tmp_path / "out.csv")) == 36
    assert not (tmp_path / "out.csv").is_symlink()


def test_library_writers_refuse_a_symlink_target(tmp_path):
    from scalinglab.io.tables import write_table

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "fit.json").symlink_to(victim)
    (tmp_path / "t.csv").symlink_to(victim)
    res = sl.FitResult.from_dict(good_fit_dict())
    with pytest.raises(OutputPathError, match="symbolic link"):
        res.to_json(tmp_path / "fit.json")
    with pytest.raises(OutputPathError, match="symbolic link"):
        write_table(good_frame(), tmp_path / "t.csv")
    assert victim.read_text() == "precious"


def test_sweep_run_prints_no_password(tmp_path, monkeypatch):
    from scalinglab.cli.common import redact_url

    assert redact_url("postgresql://alice:s3cr:et@db.example:5432/runs") == (
        "postgresql://alice:***@db.example:5432/runs"
    )
    assert redact_url("runs.sqlite") == "runs.sqlite"

    class Reg:
        def counts(self):
            return {"done": 1}

    monkeypatch.setattr("scalinglab.testbed.sweep.run_sweep", lambda *a, **k: Reg())
    monkeypatch.setattr("scalinglab.testbed.sweep.summary", lambda *a, **k: {"all_done": True})
    r = invoke("sweep", "run", "cpu", "--registry", "postgresql://alice:hunter2@db/runs")
    assert r.exit_code == 0, r.output
    assert "hunter2" not in r.output and "postgresql://alice:***@db/runs" in r.stdout


# -- named errors for what used to be tracebacks ------------------------------------------------
def test_encoding_fallback_after_the_sample_and_explicit_encoding(tmp_path):
    from scalinglab.io.encoding import ReadNote, default_encoding

    df = good_frame()
    df["label"] = ["plain"] * 35 + ["café"]
    p = tmp_path / "t.csv"
    big = pd.concat([df] * 60, ignore_index=True)  # > 64 KiB: the bad byte is past the sample
    big.loc[len(big) - 1, "label"] = "café"
    p.write_bytes(big.to_csv(index=False).encode("latin-1"))
    assert p.stat().st_size > 1 << 16
    with pytest.warns(ReadNote, match="not UTF-8"):
        got = sl.read_table(p)
    assert got["label"].iloc[-1] == "café"
    assert sl.read_table(p, encoding="latin-1")["label"].iloc[-1] == "café"
    with default_encoding("latin-1"):
        assert sl.read_table(p)["label"].iloc[-1] == "café"
    with pytest.raises(ScalingLabError, match="cannot be decoded as utf-8"):
        sl.read_table(p, encoding="utf-8")


def test_cli_prints_the_encoding_note(tmp_path):
    df = good_frame().assign(modèle="é")
    p = tmp_path / "t.csv"
    p.write_bytes(df.to_csv(index=False).encode("latin-1"))
    r = invoke("inspect", p, "--json", "--no-outliers")
    assert r.exit_code == 0 and "note:" in r.stderr and "Windows-1252" in r.stderr


def test_expression_limits_are_named():
    ok = sl.expression_law("E + A/tokens**alpha", {"E": (0, 10), "A": (0, 1e6), "alpha": (0, 3)})
    assert ok.n_params == 3
    for expr in (
        "E + log",  # a function as a value: a KeyError at evaluation before
        "E + 10**10**10",  # OverflowError before
        "E + tokens**(E*1e300)",
        "E + " + "+".join(["tokens"] * 500),
        "E" + " + 0*tokens" * 200,
        "exp(" * 50 + "E" + ")" * 50,
    ):
        with pytest.raises(ExpressionError):
            sl.expression_law(expr, {"E": (0, 10)})


def test_fit_file_with_nan_or_out_of_bound_parameters_is_refused(tmp_path):
    """A NaN or out-of-bound parameter in a fit file once predicted a loss of -158."""
    for value in (math.nan, -5.0):
        d = good_fit_dict()
        d["params"]["alpha"] = value
        with pytest.raises(FitFileError, match="alpha"):
            sl.FitResult.from_dict(d)
    p = tmp_path / "fit.json"
    p.write_text(json.dumps(good_fit_dict()))
    res = sl.FitResult.from_json(p)
    assert res.predict({"n_params": 1e9, "tokens": 2e10})[0] == pytest.approx(2.1, abs=0.5)


def test_fit_validates_its_options():
    df = good_frame()
    for kw in (
        {"delta": 0},
        {"delta": math.nan},
        {"n_random_starts": -5},
        {"strategy": "exhaustive"},
        {"n_refine": 0},
        {"seed": -1},
    ):
        with pytest.raises(OptionError):
            sl.fit(df, "chinchilla", **kw)
    assert sl.fit(df, "chinchilla", delta=math.inf).converged_  # least squares stays allowed


def test_map_and_set_pairs_keep_commas_in_names():
    from scalinglab.cli.common import _parse_pairs

    assert _parse_pairs(("x=size,params",), "--map") == {"x": "size,params"}
    assert _parse_pairs(('x="size,params",y=loss',), "--map") == {"x": "size,params", "y": "loss"}
    assert _parse_pairs(("a=1,b=2", "c=3"), "--set") == {"a": "1", "b": "2", "c": "3"}
    with pytest.raises(ScalingLabError):
        _parse_pairs(("size",), "--map")


def test_predict_refuses_inputs_fit_would_refuse(tmp_path):
    p = tmp_path / "fit.json"
    p.write_text(json.dumps(good_fit_dict()))
    for bad in ("-1", "0", "nan", "1e400"):
        r = invoke("predict", p, "--set", f"n_params={bad}", "--set", "tokens=2e10")
        assert r.exit_code == 2 and "n_params" in r.stderr, (bad, r.output)
    r = invoke("predict", p, "--set", "n_params=1e9", "--set", "tokens=2e10", "--json")
    assert r.exit_code == 0
    assert np.isfinite(json.loads(r.stdout)["predictions"][0]["prediction"])


def test_metric_as_input_and_parameter_named_like_a_column_are_refused(tmp_path):
    """--expr 'A*loss**alpha' --metric loss fitted exactly ('converged', objective 0);
    --param tokens=... turned the column into a constant and crashed (exit 3)."""
    import numpy as np
    import pandas as pd
    from click.testing import CliRunner

    from scalinglab.cli import main

    n = np.repeat(np.geomspace(1e7, 1e10, 5), 5)
    d = np.tile(np.geomspace(1e8, 1e11, 5), 5)
    p = tmp_path / "g.csv"
    pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.8 + 480 / n**0.35}).to_csv(p, index=False)
    cases = [
        (["--expr", "A*loss**alpha", "--param", "A=0:inf", "--param", "alpha=0:3"], "is also"),
        (["--expr", "E + A/tokens**alpha", "--param", "E=0:inf", "--param", "A=0:inf",
          "--param", "alpha=0:3", "--param", "tokens=1:2"], "name data column"),
        (["--law", "power_law", "--map", "x=loss"], "both the metric"),
    ]  # fmt: skip
    for extra, says in cases:
        r = CliRunner().invoke(main, ["fit", str(p), *extra, "--metric", "loss"])
        assert r.exit_code == 2, (extra, r.output)
        assert says in r.output, r.output


def test_forecast_interval_range_and_a_wrong_encoding_are_named_errors(tmp_path):
    """Both ended in exit 3 (internal error) in the review of issue 19."""
    from click.testing import CliRunner

    from scalinglab.cli import main

    p = tmp_path / "u8.csv"
    p.write_text("n_params,tokens,loss\n1e7,1e9,3\n1e8,1e9,2.8\n")
    r = CliRunner().invoke(main, ["--encoding", "utf-16", "inspect", str(p)])
    assert r.exit_code == 2 and "drop --encoding" in r.output
    r = CliRunner().invoke(main, ["forecast", str(p), "--target", "n_params=1e9,tokens=1e10",
                                  "--interval", "1.5"])  # fmt: skip
    assert r.exit_code == 2 and "--interval" in r.output


def test_forecast_and_ladder_targets_are_checked_like_predict_inputs(tmp_path):
    """`forecast --target n_params=-1` printed nan with exit 0 (review of issue 19)."""
    from scalinglab.errors import NonFiniteValueError, NonPositiveValueError

    df = good_frame()
    df["error"] = 1 - np.exp(-3.0 * df["loss"] / df["loss"].max())
    p = tmp_path / "runs.csv"
    df.to_csv(p, index=False)
    for bad in ("-1", "0", "nan"):
        r = invoke("forecast", p, "--target", f"n_params={bad},tokens=1e12", "--bootstrap", "0")
        assert r.exit_code == 2 and "n_params" in r.stderr, (bad, r.output)
    with pytest.raises(NonPositiveValueError, match="tokens"):
        sl.forecast(df, [{"n_params": 1e11, "tokens": -5.0}], n_bootstrap=0, calibrate=False)
    ck = df.assign(run=df["n_params"].map(lambda n: f"r{n:.0e}"), bpb=df["loss"],
                   rc_acc=1 - df["error"])  # fmt: skip
    with pytest.raises(NonFiniteValueError, match="n_params"):
        sl.ladder(ck, {"n_params": math.inf, "tokens": 1e12})


def test_fit_file_law_name_must_agree_with_its_law_spec(tmp_path):
    """`"law": "nosuchlaw"` still predicted, from law_spec (review of issue 19)."""
    d = good_fit_dict()
    assert d["law"] == "chinchilla"
    sl.FitResult.from_dict(d)  # a file as written agrees with itself
    d["law"] = "nosuchlaw"
    with pytest.raises(FitFileError, match="nosuchlaw"):
        sl.FitResult.from_dict(d)
    p = tmp_path / "fit.json"
    p.write_text(json.dumps(d))
    r = invoke("predict", p, "--set", "n_params=1e9", "--set", "tokens=2e10")
    assert r.exit_code == 2 and "law_spec" in r.stderr


def test_weights_column_cannot_be_the_metric(runs_csv):
    """`fit --weights loss --metric loss` was accepted (review of issue 19)."""
    from scalinglab.errors import DataError

    r = invoke("fit", runs_csv, "--weights", "loss", "--metric", "loss")
    assert r.exit_code == 2 and "both the metric and the weights" in r.stderr
    with pytest.raises(DataError, match="both the metric and the weights"):
        sl.fit(good_frame(), "chinchilla", weights="loss")
    df = good_frame().assign(seeds=2.0)
    assert sl.fit(df, "chinchilla", weights="seeds").converged_


def test_second_review_of_issue_19(runs_csv, tmp_path):
    """Found by the second fresh review: `--out /dev/full --force` replaced the device node
    with a file; a query of nested powers never ended (Python bigints) and 10**400 was an
    OverflowError (exit 3); `--interval nan` and `--min-tokens nan` passed click's range
    check (exit 3); `sweep run --workers -1` ran as one worker."""
    import time

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = invoke("fit", runs_csv, "--out", fifo, "--force")
    assert r.exit_code == 2 and "named pipe" in r.stderr
    assert fifo.is_fifo()
    from scalinglab.io.safe_write import write_text

    with pytest.raises(OutputPathError, match="named pipe"):
        write_text(fifo, "x")
    t0 = time.monotonic()
    r = invoke("fit", runs_csv, "--where", "((10**999)**999)**999 > tokens", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["n_points"] == 36
    assert time.monotonic() - t0 < 60
    r = invoke("fit", runs_csv, "--where", "tokens > 10**400")
    assert r.exit_code == 2 and "selects no rows" in r.stderr
    for args in (
        ("fit", runs_csv, "--bootstrap", "5", "--interval", "nan"),
        ("audit", runs_csv, "--law", "chinchilla", "--holdout", "n_params > 5e9",
         "--interval", "nan"),
        ("audit", runs_csv, "--law", "chinchilla", "--holdout", "n_params > 5e9",
         "--min-tokens", "nan"),
        ("sweep", "run", "cpu", "--workers", "-1"),
    ):  # fmt: skip
        r = invoke(*args)
        assert r.exit_code == 2 and "Invalid value" in r.stderr, (args, r.output)


def test_third_review_of_issue_19(runs_csv, tmp_path, monkeypatch):
    """Found by the second fresh review: `sweep run --threads 0` printed raw tracebacks;
    a 10.9 MB spec kept `sweep plan` busy past 120 s; `--random-starts 1e12` and a forecast
    `--bootstrap 1e9` ended in numpy's MemoryError; `--fix E=1 --fix E=2` kept the last
    silently; `predict --set zz=1` ignored zz; a spec whose test pairs cannot fit the
    context passed `sweep plan` and its runs crashed with a TypeError."""
    r = invoke("sweep", "run", "cpu", "--threads", "0")
    assert r.exit_code == 2 and "Invalid value for '--threads'" in r.stderr
    big = tmp_path / "big.yaml"
    big.write_text("name: big\naxes:\n  tokens: [" + ", ".join(["1000"] * 300_000) + "]\n")
    r = invoke("sweep", "plan", big)
    assert r.exit_code == 2 and "far more than a sweep spec needs" in r.stderr
    r = invoke("fit", runs_csv, "--random-starts", "1000000000000")
    assert r.exit_code == 2 and "OptionError" in r.stderr and "GB" in r.stderr
    r = invoke("fit", runs_csv, "--fix", "E=1", "--fix", "E=2")
    assert r.exit_code == 2 and "names E twice" in r.stderr
    fit_file = tmp_path / "fit.json"
    fit_file.write_text(json.dumps(good_fit_dict()))
    r = invoke("predict", fit_file, "--set", "n_params=1e9", "--set", "tokens=2e10",
               "--set", "zz=1")  # fmt: skip
    assert r.exit_code == 2 and "--set zz" in r.stderr and "does not use it" in r.stderr
    df = good_frame()
    df["error"] = 1 - np.exp(-3.0 * df["loss"] / df["loss"].max())
    p = tmp_path / "fc.csv"
    df.to_csv(p, index=False)
    r = invoke("forecast", p, "--target", "n_params=1e11,tokens=1e12", "--bootstrap",
               "1000000000")  # fmt: skip
    assert r.exit_code == 2 and "BootstrapSizeError" in r.stderr
    from scalinglab.testbed import data
    from scalinglab.testbed.data import TranslationData

    pairs = [("a b", "c d")] * 40
    monkeypatch.setitem(
        data.TASKS, "translation_en_es", lambda **kw: TranslationData(pairs, pairs[:2], [])
    )
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "defaults: {pretrain_data: kjv, context: 96, finetune_size: 8}\n"
        "axes: {model: [{d_model: 16, n_layers: 1, n_heads: 2}], tokens: [3000], "
        "method: [fmt]}\n"
    )
    r = invoke("sweep", "plan", spec)
    assert r.exit_code == 2 and "no test pairs" in r.stderr


def test_options_given_without_their_use_are_errors(runs_csv, tmp_path):
    """Second review of issue 19: `report --section-where Q` (or --target-where) without its
    section was ignored, `forecast --acc-col loss` fitted the loss on itself, and a task
    column given twice was forecast twice: each is now a named error."""
    r = invoke("report", runs_csv, "--law", "chinchilla", "--section-where", "zz > 1",
               "-o", tmp_path / "r.html")  # fmt: skip
    assert r.exit_code == 2 and "--section-where applies to" in r.stderr
    assert not (tmp_path / "r.html").exists()
    df = good_frame()
    df["accuracy"] = np.exp(-df["loss"])
    p = tmp_path / "fc.csv"
    df.to_csv(p, index=False)
    base = ["forecast", p, "--loss-law", "chinchilla", "--target", "n_params=1e11,tokens=1e12",
            "--bootstrap", "0"]  # fmt: skip
    r = invoke(*base, "--acc-col", "loss")
    assert r.exit_code == 2 and "both step 1's loss and a task metric" in r.stderr
    r = invoke(*base, "--acc-col", "accuracy", "--acc-col", "accuracy")
    assert r.exit_code == 2 and "more than once" in r.stderr
    r = invoke(*base, "--acc-col", "accuracy")
    assert r.exit_code == 0, r.output


def test_constant_exponent_on_a_constant_loss_says_so(tmp_path):
    """Second review of issue 19: a constant loss got a verdict with exit 0 and no word."""
    import scalinglab as sl

    n = np.repeat(np.geomspace(1e7, 1e9, 4), 3)
    df = pd.DataFrame({"n_params": n, "tokens": n * np.tile([5.0, 20.0, 80.0], 4), "loss": 3.0})
    df = pd.concat([df, df.assign(n_params=df["n_params"] * 1.5)], ignore_index=True)
    df["tokens"] = df["n_params"] * np.tile([5.0, 20.0, 80.0], 8)
    res = sl.constant_exponent(df, n_bootstrap=0)
    assert "constant_target" in [d.code for d in res.flags]
