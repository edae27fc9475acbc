"""The HTML report: sections, plots and no JavaScript errors, checked in headless Chromium."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from scalinglab.cli import main
from tests.conftest import shared_file

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
]
ARTIFACTS = Path(os.environ.get("SCALINGLAB_ARTIFACTS", Path(__file__).parent / "artifacts"))


def render(html_path: Path, tmp_path: Path, screenshot: str) -> str:
    """The DOM after scripts ran; also saves a screenshot artifact."""
    if CHROMIUM is None:
        pytest.skip(
            "headless Chromium not installed (apt-get install chromium); report not rendered"
        )
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", html_path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1300,3000",
            f"--screenshot={ARTIFACTS / screenshot}",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (ARTIFACTS / screenshot).stat().st_size > 10_000
    return dom.stdout


def _checks(dom: str, sections: list[str], figures: list[str]) -> None:
    assert 'data-rendered="1"' in dom, "the page's scripts did not finish"
    assert 'data-js-errors="0"' in dom, re.findall(r'data-js-errors="\d+"', dom)
    for s in sections:
        assert f'id="section-{s}"' in dom, s
    for f in figures:
        m = re.search(rf'id="fig-{re.escape(f)}"[^>]*class="[^"]*js-plotly-plot', dom) or re.search(
            rf'class="[^"]*js-plotly-plot[^"]*"[^>]*id="fig-{re.escape(f)}"', dom
        )
        assert m, f"figure {f} was not drawn by plotly"
    assert dom.count('class="main-svg"') >= len(figures)


WIDTH_PROBE = (
    "<script>setTimeout(function () {document.body.setAttribute('data-widths', "
    "document.documentElement.scrollWidth + ' ' + window.innerWidth);}, 1000);</script></body>"
)


def page_widths(html_path: Path, tmp_path: Path, width: int = 1000) -> tuple[int, int]:
    """(scrollWidth, innerWidth) of the page in a `width`-pixel window, after plotly drew."""
    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed")
    probe = tmp_path / "probe.html"
    probe.write_text(html_path.read_text().replace("</body>", WIDTH_PROBE))
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'probe-profile'}",
         f"--window-size={width},2000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    m = re.search(r'data-widths="(\d+) (\d+)"', dom)
    assert m, "the width probe did not run"
    return int(m.group(1)), int(m.group(2))


def test_demo_report_renders(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "held-out largest model" in r.stdout and "downstream CE after FMT" in r.stdout
    html = (out / "report.html").read_text()
    assert "Measured, not simulated" in html and "<script src=" not in html  # self-contained
    assert "30 rows (of 147, selected by <code>--where method == &#x27;none&#x27;" in html
    dom = render(out / "report.html", tmp_path, "demo_report.png")
    _checks(
        dom,
        [
            "about",
            "overview",
            "law-chinchilla",
            "audit",
            "law-overtrain",
            "law-loss_to_error",
            "law-downstream_ce",
            "pretrain-choice",
            "method-choice",
            "plan",
        ],
        [
            "chinchilla-curves",
            "chinchilla-residuals",
            "audit",
            "overtrain-curves",
            "loss_to_error-curves",
            "downstream_ce-curves",
            "pretrain-chrf",
            "method-crossing",
            "plan-frontier",
        ],
    )
    scroll, inner = page_widths(out / "report.html", tmp_path)
    assert scroll <= inner, f"the page scrolls sideways ({scroll} > {inner} px)"


def test_gadre_report_shows_two_step_targets(tmp_path):
    data = shared_file("gadre2024", "runs.csv")
    out = tmp_path / "gadre.html"
    r = CliRunner().invoke(
        main,
        [
            "report",
            str(data),
            "--where",
            "train_dataset == 'rpj'",
            "--workflow",
            "forecast",
            "--target-where",
            "paper_role == 'heldout'",
            "--fit-where",
            "paper_role == 'fit_both'",
            "--error-fit-where",
            "paper_role in ['fit_both', 'fit_error_only']",
            "--loss-col",
            "loss_c4_val",
            "--error-col",
            "err_avg17",
            "--preset",
            "paper",
            "--bootstrap",
            "200",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    html = out.read_text()
    targets = html[html.index("id='forecast-targets'") :]
    for value in ("2.5198", "2.5021", "2.4427", "2.425", "0.4925", "0.47522", "0.47186"):
        assert value in targets[:12000], value  # predicted and true loss/error of both targets
    assert str(data) in html and "sha256" in html  # footer: data file and its hash
    dom = render(out, tmp_path, "gadre_report.png")
    _checks(dom, ["overview", "forecast"], ["forecast-loss", "forecast-error"])


HOSTILE_METRIC = "loss<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
HOSTILE_RUN = "<script>document.body.setAttribute('data-pwned','2')</script>"


def test_hostile_names_show_as_text_and_run_no_script(tmp_path):
    """A metric column named like markup once ran its script in the outlier warning; every
    user string (column, run name, law) must render literally in the report."""
    import numpy as np
    import pandas as pd

    n = np.repeat(np.geomspace(1e7, 1e10, 5), 5)
    d = np.tile(np.geomspace(1e8, 1e11, 5), 5)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    loss[7] *= 1.6  # an outlier, so the "suspected outliers" warning names the metric
    names = [f"m{i}{HOSTILE_RUN}" for i in range(len(n))]
    table = pd.DataFrame({"model": names, "n_params": n, "tokens": d, HOSTILE_METRIC: loss})
    table.to_csv(tmp_path / "h.csv", index=False)
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main, ["report", str(tmp_path / "h.csv"), "--law", "chinchilla", "--metric",
               HOSTILE_METRIC, "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert (
        "<img src=x" not in page and "<script>document.body.setAttribute('data-pwned'" not in page
    )
    dom = render(out, tmp_path, "hostile-report.png")
    assert 'data-rendered="1"' in dom
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0], "a user string ran"
    assert "Suspected outliers (chinchilla fit of loss&lt;img src=x onerror=" in dom


def test_report_says_relative_errors_in_percent_and_what_coverage_rests_on(tmp_path):
    """Issue 17: the CLI printed relative errors in percent and the report as fractions, and
    coverage came without its level or resample count."""
    import numpy as np
    import pandas as pd

    from scalinglab.report.html import table_html

    cell = table_html(pd.DataFrame({"mean_rel_error": [0.0123], "coverage": [0.5], "x": [0.5]}))
    assert "<td class='num'>1.23%</td><td class='num'>50.00%</td><td class='num'>0.5</td>" in cell
    n = np.repeat(np.geomspace(1e7, 1e10, 5), 5)
    d = np.tile(np.geomspace(1e8, 1e11, 5), 5)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    pd.DataFrame({"n_params": n, "tokens": d, "loss": loss}).to_csv(tmp_path / "r.csv")
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main, ["report", str(tmp_path / "r.csv"), "--law", "chinchilla", "--leave-largest-out",
               "n_params", "--bootstrap", "20", "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    page = out.read_text()
    audit = page[page.index("id='section-audit'") :]
    assert "90% intervals from 20 bootstrap resamples" in audit
    by_law = audit[audit.index("id='audit-by-law'") :].split("</table>")[0]
    assert by_law.count("%</td>") >= 3  # mean, max relative error and coverage
    assert "coverage (90% intervals, 20 resamples)" in by_law  # beside every coverage
