"""Issue 17 review (screenshots): in both forecast figures every target's prediction was the
same orange diamond and every actual the same black cross, so no one could tell which
prediction belonged to which model. Each target now has its own colour (prediction, interval
bar, actual and the line joining them) and its name in the legend and hover."""

import numpy as np
import pandas as pd
import pytest

from scalinglab import plots
from scalinglab.workflows.downstream import forecast


def _runs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(1e7, 3e9, 6), 4)
    d = np.tile(np.geomspace(2e8, 6e10, 4), 6)
    loss = 1.8 + 480 / n**0.35 + 2100 / d**0.37
    err = 1 - 0.95 / (1 + np.exp(-3 * (3.5 - loss)))
    df = pd.DataFrame({"n_params": n, "tokens": d, "loss": loss, "error": err})
    df["loss"] *= np.exp(rng.normal(0, 0.003, len(df)))
    df.insert(0, "run", [f"m{k:02d}" for k in range(len(df))])
    return df.iloc[::-1].reset_index(drop=True)  # largest first: the legend must sort them


def _targets(fig):
    pred = [t for t in fig.data if (t.meta or {}).get("kind") == "predicted"]
    pred = [t for t in pred if t.meta["role"] == "target"]
    true = [t for t in fig.data if (t.meta or {}).get("role") == "target"]
    true = [t for t in true if t.meta["kind"] == "actual"]
    return pred, true


@pytest.mark.parametrize("by_data", [True, False], ids=["names-from-data", "row-numbers"])
def test_each_target_has_its_own_colour_in_both_forecast_figures(by_data):
    df = _runs()
    res = forecast(
        df,
        "n_params > 5e8 and tokens > 5e9",
        fit_where="n_params < 5e8",
        loss_law="chinchilla",
        n_bootstrap=30,
    )
    assert len(res.targets) == 4  # the two largest sizes at the two largest token counts
    key = "flops" if "flops" in res.targets else "n_params"
    t = res.targets.sort_values(key, kind="stable")  # legend entries from the smallest up
    assert list(t.index) != list(res.targets.index)
    f1, f2 = plots.forecast_figures(res, df if by_data else None)
    if by_data:  # the run id, looked up by the targets' 1-based row
        want = [df["run"].iloc[r - 1] for r in t["row"]]
    else:  # the row and the model size
        want = [
            f"row {r} (N={plots._num(n)})" for r, n in zip(t["row"], t["n_params"], strict=True)
        ]
    colours = {}
    for fig, stem, xcol in ((f1, "loss", f1.layout.xaxis.title.text), (f2, "error", "loss_pred")):
        pred, true = _targets(fig)
        assert [p.meta["target"] for p in pred] == want  # one trace per target, named
        assert [p.name for p in pred] == want  # in the legend
        assert [a.meta["target"] for a in true] == want
        cols = [p.marker.color for p in pred]
        assert len(set(cols)) == len(t)  # distinct
        assert not set(cols) & set(plots.PALETTE)  # never a fit series' colour
        for i, (p, a) in enumerate(zip(pred, true, strict=True)):
            assert a.marker.color == p.marker.color == p.error_y.color  # pair and bar agree
            assert p.y[0] == pytest.approx(t[f"{stem}_pred"].iloc[i])
            assert a.y[0] == pytest.approx(t[f"{stem}_true"].iloc[i])
            assert p.error_y.array[0] == pytest.approx(t[f"{stem}_hi"].iloc[i] - p.y[0])
            assert p.error_y.arrayminus[0] == pytest.approx(p.y[0] - t[f"{stem}_lo"].iloc[i])
            assert want[i] in p.hovertext[0] and want[i] in a.hovertext[0]
            assert a.legendgroup == p.legendgroup and a.showlegend is False
            link = [
                tr for tr in fig.data
                if (tr.meta or {}).get("role") == "target-link" and tr.meta["target"] == want[i]
            ]  # fmt: skip
            assert len(link) == 1 and link[0].line.color == p.marker.color
        assert [p.x[0] for p in pred] == pytest.approx(list(t[xcol]))
        colours[stem] = cols
        keys = [tr.name for tr in fig.data if (tr.meta or {}).get("role") == "target-key"]
        assert keys == ["target (predicted)", "target (actual)"]
    assert colours["loss"] == colours["error"]  # a target keeps its colour across figures
    fits = [tr for tr in f2.data if (tr.meta or {}).get("role") == "points"]
    assert len(fits) == 1 and fits[0].marker.color == plots.PALETTE[0]  # fit points unchanged


def test_many_targets_get_distinct_colours_of_a_scale_and_repeated_names_a_suffix():
    from scalinglab.plots.workflows import target_colours, target_labels

    t = pd.DataFrame(
        {"flops": np.geomspace(1e20, 1e22, 12)[::-1], "run": ["a"] * 2 + list("cdefghijkl")}
    )
    cols = target_colours(t)
    assert len(set(cols)) == 12 and cols[-1] == target_colours(t.iloc[::-1])[0]
    t["step"] = [1000, 2000] + [0] * 10
    assert target_labels(t)[:3] == ["a (step 1000)", "a (step 2000)", "c"]
    assert target_labels(pd.DataFrame({"n_params": [2e9], "tokens": [4e10]})) == ["N=2e9, D=4e10"]
