"""Report output formats (issue 17 item 4): plotly.js inlined or from its CDN, static figure
files through kaleido (an optional extra, a named error without it), and the demo as a
library function."""

import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglab as sl
from scalinglab import plots
from scalinglab.cli import main
from scalinglab.errors import OptionError, OutputPathError
from scalinglab.report.export import FigureExportError, check_formats
from scalinglab.report.html import Report


def _report() -> Report:
    n = np.repeat(np.geomspace(1e6, 1e8, 4), 4)
    d = np.tile(np.geomspace(1e7, 1e9, 4), 4)
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.8 + 480 / n**0.35 + 2100 / d**0.37})
    rep = Report("t")
    rep.figure(rep.section("s", "S"), plots.fit_figure(sl.fit(df, law="chinchilla")), "curves")
    return rep


def test_inline_is_self_contained_and_cdn_is_small(tmp_path):
    rep = _report()
    inline = rep.write(tmp_path / "i.html", command="c", data_files=[])
    cdn = rep.write(tmp_path / "c.html", command="c", data_files=[], plotly="cdn")
    i_html, c_html = inline.read_text(), cdn.read_text()
    assert "<script src=" not in i_html and 'src="https://cdn.plot.ly' not in i_html
    assert inline.stat().st_size > 4_000_000  # plotly.js itself
    assert cdn.stat().st_size < 100_000
    assert 'src="https://cdn.plot.ly/plotly-' in c_html and 'integrity="sha256-' in c_html
    assert "plotly-missing" in c_html  # says so when the CDN cannot be reached
    assert "from its CDN (needs the network)" in c_html and "inlined (self-contained)" in i_html
    assert [n for n, _ in rep.figures] == ["curves"]
    with pytest.raises(OptionError, match="inline, cdn"):
        rep.render(command="c", data_files=[], plotly="local")


def test_static_formats_without_kaleido_are_a_named_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido -> ImportError
    assert check_formats(["html", "HTML"]) == []  # the report itself needs nothing
    with pytest.raises(FigureExportError, match=r"pip install 'scalinglab\[export\]'"):
        check_formats(["png", "svg"])
    with pytest.raises(FigureExportError, match="unknown figure format"):
        check_formats(["gif"])


def test_report_refuses_png_without_kaleido_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kaleido", None)
    pd.DataFrame({"n_params": [1e6, 1e7], "tokens": [1e8, 1e9], "loss": [3.0, 2.5]}).to_csv(
        tmp_path / "r.csv", index=False
    )
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main, ["report", str(tmp_path / "r.csv"), "--law", "chinchilla", "--format", "png",
               "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 2, r.output
    assert "FigureExportError" in r.output and "scalinglab[export]" in r.output
    assert not out.exists()


def test_report_cdn_option_writes_a_small_report(tmp_path):
    n = np.repeat(np.geomspace(1e6, 1e8, 4), 4)
    d = np.tile(np.geomspace(1e7, 1e9, 4), 4)
    pd.DataFrame({"n_params": n, "tokens": d, "loss": 1.8 + 480 / n**0.35 + 2100 / d**0.37}).to_csv(
        tmp_path / "r.csv", index=False
    )
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main, ["report", str(tmp_path / "r.csv"), "--law", "chinchilla", "--bootstrap", "0",
               "--plotly", "cdn", "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "plotly.js cdn" in r.output and out.stat().st_size < 200_000


def test_forecast_with_both_target_options_names_both(tmp_path):
    """`--target ... --target-where ...` answered 'needs --target or --target-where'."""
    pd.DataFrame({"n_params": [1e6, 1e7], "tokens": [1e8, 1e9], "loss": [3.0, 2.5]}).to_csv(
        tmp_path / "r.csv", index=False
    )
    r = CliRunner().invoke(
        main, ["report", str(tmp_path / "r.csv"), "--workflow", "forecast", "--target",
               "n_params=1e9,tokens=1e10", "--target-where", "n_params > 1e6",
               "-o", str(tmp_path / "r.html")],
    )  # fmt: skip
    assert r.exit_code == 2
    assert "not both" in r.output and "--target-where" in r.output


def test_run_demo_is_a_library_call_that_checks_its_folder_first(tmp_path):
    from scalinglab.report.demo import demo_files, run_demo

    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(OutputPathError, match="already holds 1 file"):
        run_demo(tmp_path)
    with pytest.raises(OptionError, match="inline, cdn"):
        run_demo(tmp_path / "new", plotly="local")
    assert not (tmp_path / "new").exists()
    assert demo_files()[:2] == ["report.html", "chinchilla_fit.json"]


@pytest.mark.slow
def test_static_figures_are_written_when_kaleido_is_there(tmp_path):
    pytest.importorskip("kaleido")
    from scalinglab.report.export import export_figures

    rep = _report()
    try:
        files = export_figures(rep.figures, tmp_path / "figs", ["png", "svg"])
    except FigureExportError as exc:  # kaleido without a browser on this machine
        pytest.skip(str(exc))
    assert [f.name for f in files] == ["curves.png", "curves.svg"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in files[1].read_bytes()[:500]
