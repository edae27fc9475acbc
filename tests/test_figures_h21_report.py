"""The report sections of issue 21's methods: each section and figure is drawn by plotly in
headless Chromium without a script error, and user text (a method named like markup) shows
literally while the figures' own title markup (line breaks, subtitle) still works."""

import numpy as np
import pandas as pd
import pytest

from scalinglab.report import build
from scalinglab.report.html import Report, escape_figure_text
from tests.conftest import shared_file
from tests.test_report import _checks, render

HOSTILE = "lora<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


def test_title_markup_survives_escaping_but_user_markup_does_not():
    from scalinglab import plots

    go = plots._go()
    fig = go.Figure(go.Scatter(x=[1], y=[1], name=HOSTILE))
    fig.update_layout(title=f"{HOSTILE} wins<br><sup>because</sup>")
    escape_figure_text(fig)
    assert fig.layout.title.text == (
        "lora&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"&gt; wins"
        "<br><sup>because</sup>"
    )
    assert fig.data[0].name.startswith("lora&lt;img")


def _sections(tmp_path):
    from tests.test_transfer_regimes import _runs as transfer_runs
    from tests.test_zhang_joint import _long

    rep = Report("issue 21 methods", "figures")
    ft = pd.concat([_long().assign(method=m) for m in ("fmt", HOSTILE)])
    fe = build.factor_effects_section(rep, ft, ["n_params", "tokens", "lora_rank"], n_bootstrap=30)
    runs = shared_file("gadre2024", "runs.csv")
    tasks = shared_file("gadre2024", "tasks.csv")
    df = pd.read_csv(runs)
    ts = build.task_selection_section(rep, df, tasks, select_at="n_params=154M")
    ce = build.constant_exponent_section(
        rep, df, loss_col="loss_c4_val", by="train_dataset", n_bootstrap=30
    )
    tr = build.transfer_section(rep, transfer_runs(), where="not high_data")
    path = rep.write(tmp_path / "r.html", command="test", data_files=[str(runs)], plotly="inline")
    return path, fe, ts, ce, tr


def test_method_sections_render(tmp_path):
    path, fe, ts, ce, tr = _sections(tmp_path)
    page = path.read_text()
    assert "<img src=x" not in page
    assert len(ts.selected) == 17
    figs = [f"factor-effects-{g}" for g in fe.verdicts if g == "fmt"]
    figs += ["task-selection", "transfer-effective", "transfer"]
    figs += [f"constant-exponent-{g}" for g in ce.verdicts]
    dom = render(path, tmp_path, "h21-methods-report.png")
    _checks(
        dom,
        ["factor-effects", "task-selection", "constant-exponent", "transfer"],
        figs,
    )
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0], "a user string ran"
    # the held-out/high-data wording reaches the page (legend text is drawn into the SVG)
    assert "high-data regime (grey: the law does not apply)" in dom
    assert np.isfinite(tr.transfer_fit.params_["alpha"])


@pytest.mark.parametrize("n_boot", [0])
def test_factor_effects_without_intervals_still_draws(n_boot):
    from scalinglab import plots
    from scalinglab.workflows.factor_effects import factor_effects
    from tests.test_zhang_joint import _long

    df = _long().assign(method="fmt")
    res = factor_effects(
        df[df["factor"] != "lora_rank"], ["n_params", "tokens"], n_bootstrap=n_boot
    )
    fig = plots.factor_effects_figure(res)
    assert fig.layout.title.text.startswith("scaling model size")


def test_constant_exponent_section_sets_every_training_set_on_one_scale():
    """Three forest plots, each autoscaled, put 0.1-0.18 and 0.07-0.22 at the same width:
    the training sets could not be compared by eye."""
    from tests.test_gadre_exponent import _runs

    df = pd.concat([_runs().assign(ds="a"), _runs(seed=1, noise=0.02).assign(ds="b")])
    rep = Report("t", "t")
    res = build.constant_exponent_section(rep, df, by="ds", n_bootstrap=30)
    figs = [f for name, f in rep.figures if name.startswith("constant-exponent-")]
    assert len(figs) == 2
    ranges = {tuple(f.layout.xaxis.range) for f in figs}
    assert len(ranges) == 1
    (lo, hi) = ranges.pop()
    assert lo < res.table["eta_lo"].min() and hi > res.table["eta_hi"].max()
