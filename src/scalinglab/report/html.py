"""A self-contained HTML report: plotly.js inlined once, no network needed to open it (or,
with plotly="cdn", loaded from plotly's CDN: 4.6 MB smaller, but it needs the network).

Sections and figures carry stable element ids (`section-<name>`, `fig-<name>`) so tests and
users can find them; a tiny script counts JavaScript errors into `body[data-js-errors]`.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#17324d;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.85;font-size:14px}
nav{padding:8px 32px;background:#eef2f6;font-size:13px} nav a{margin-right:14px;color:#17324d}
main{padding:8px 32px 32px;max-width:1200px}
section{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:16px 20px;
margin:16px 0}
h2{margin-top:0;font-size:18px;color:#17324d} h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:separate;border-spacing:0;font-size:13px;margin:0;overflow-wrap:normal}
.table-wrap{max-width:100%;overflow:auto;margin:8px 0;
background:linear-gradient(to right,#fff 30%,rgba(255,255,255,0)) left/40px 100% no-repeat local,
linear-gradient(to left,#fff 30%,rgba(255,255,255,0)) right/40px 100% no-repeat local,
radial-gradient(farthest-side at 0 50%,rgba(0,0,0,.2),rgba(0,0,0,0)) left/12px 100% no-repeat
scroll,radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,.2),rgba(0,0,0,0)) right/12px 100%
no-repeat scroll}
.table-wrap.tall{max-height:32em;border-bottom:1px solid #d5dae0}
.table-wrap::-webkit-scrollbar{width:10px;height:10px}
.table-wrap::-webkit-scrollbar-thumb{background:#c3cad3;border-radius:5px}
.table-wrap::-webkit-scrollbar-track{background:#f1f3f5}
.table-wrap.tall thead th{position:sticky;top:0;z-index:1}
.rows{font-size:12px;color:#555;margin:2px 0 0}
.fig{max-width:100%;overflow-x:auto} section{min-width:0;overflow-wrap:anywhere}
th,td{border-bottom:1px solid #e6e6e6;padding:4px 10px;text-align:right}
th{vertical-align:bottom;min-width:4ch} td.num{white-space:nowrap}
td.txt{white-space:nowrap} td.txt.long{white-space:normal;min-width:14ch;max-width:34ch;
overflow-wrap:anywhere}
th{background:#f4f6f8} td:first-child,th:first-child{text-align:left}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px;margin:6px 0;
font-size:13px}
.note{background:#eef6ff;border-left:4px solid #3b82f6;padding:6px 10px;margin:6px 0;
font-size:13px}
.sim{background:#fde8e8;border-left:4px solid #d33;padding:8px 12px;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
footer{font-size:12px;color:#555;padding:0 32px 24px} code{font-size:12px}
"""

ERROR_HOOK = """<script>
window.__scalinglabErrors = [];
window.addEventListener('error', function (e) {
  window.__scalinglabErrors.push(String(e.message));
  document.body.setAttribute('data-js-errors', String(window.__scalinglabErrors.length));
});
</script>"""


def is_percent_column(col: Any) -> bool:
    """Relative errors and interval coverage: shown in percent, the CLI and the report alike
    (a fraction 0.0123 reads as '1.23%')."""
    name = str(col)
    return "rel_error" in name or name == "coverage" or name.startswith("coverage ")


def ratio_text(col: Any, v: float) -> str | None:
    """A compute ratio as Gadre et al. write it ('330x'; below 10 the digits matter, 0.014x
    is not '0x'), the CLI and the report alike; None for other columns."""
    if not str(col).startswith("compute_ratio"):
        return None
    return f"{v:.0f}x" if v >= 10 else f"{v:.2g}x"


ID_COLUMNS = ("run_id", "run", "name", "model")


def id_column(df: pd.DataFrame) -> str | None:
    """The column that names a run, when the data have one."""
    return next((c for c in ID_COLUMNS if c in df.columns), None)


def with_run_ids(points: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """A table of data rows (its 1-based `row` column, as in the source file) with the run's
    id (and checkpoint step) beside the row number, when the data have them: a row number
    alone makes the reader open the file."""
    col = id_column(data)
    if col is None or "row" not in points.columns or col in points.columns:
        return points
    extra = [col] + (["step"] if "step" in data.columns and "step" not in points.columns else [])
    looked = data[extra].reindex(pd.Index(points["row"].to_numpy()) - 1)
    out = points.copy()
    at = list(out.columns).index("row") + 1
    for k, c in enumerate(extra):
        out.insert(at + k, c, looked[c].to_numpy())
    return out


def coverage_label(level: float, n_resamples: int) -> str:
    """A coverage column's name that carries what it rests on (percent-formatted)."""
    return f"coverage ({level:.0%} intervals, {n_resamples} resamples)"


def interval_note(level: float, n_resamples: int, calibrated: bool | str = False) -> str:
    """What an interval or a coverage figure rests on, said the same way in the CLI and the
    report: '90% intervals from 1000 bootstrap resamples'. `calibrated`: the audit's and the
    forecast's intervals, where the resamples are one part and often not the wider one (the
    same bounds came out of 200 and 1,000 resamples, so the count alone misleads);
    "always": a forecast, whose band exists without resamples (an audit's does not)."""
    if not n_resamples and calibrated == "always":  # a forecast's band needs no resamples
        return (
            f"{level:.0%} intervals from the fit's scatter plus an extrapolation term learned "
            "from leave-largest-out folds (no bootstrap: --bootstrap 0)"
        )
    if not n_resamples:
        return "no intervals (--bootstrap 0)"
    note = f"{level:.0%} intervals from {n_resamples} bootstrap resamples"
    if calibrated:
        note += (
            " or, where wider, the fit's scatter plus an extrapolation term learned from "
            "leave-largest-out folds"
        )
    return note


def _fmt(v: Any, col: Any = None) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return "–"
        if col is not None and is_percent_column(col):
            return f"{v:.2%}"
        if col is not None and (ratio := ratio_text(col, float(v))) is not None:
            return ratio  # the forecast targets' table wrote 3.8656 where the CLI says 3.9x
        f = float(v)
        if f.is_integer() and abs(f) < 1e7:  # a step or count: 103000, not 1.03e+05
            return str(int(f))
        return f"{v:.5g}"
    if isinstance(v, dict):
        return ", ".join(f"{html.escape(str(k))}={_fmt(x)}" for k, x in v.items())
    return html.escape(str(v))


def slug(name: str) -> str:
    """An HTML id from any text (law names can be user expressions)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))


LAYOUT_TAGS = ("<br>", "<sup>", "</sup>")


def escape_figure_text(fig: Any) -> None:
    """Escape user text that plotly renders as pseudo-HTML (trace names, titles, axis
    titles, annotations), so a column or source named `<img onerror=...>` shows literally.
    Hover texts are built escaped by plots._hover (they carry our own <b>/<br>). Titles keep
    only the figures' own layout markup (line breaks, a smaller subtitle line): after escaping,
    exactly `<br>`, `<sup>` and `</sup>` are restored; nothing else a user wrote is."""

    def esc(t: Any) -> Any:
        if not isinstance(t, str):
            return t
        out = html.escape(t, quote=False)
        for tag in LAYOUT_TAGS:
            out = out.replace(html.escape(tag, quote=False), tag)
        return out

    fig.for_each_trace(lambda t: t.update(name=esc(t.name)) if t.name else None)
    lay = fig.layout
    if lay.title and lay.title.text:
        lay.title.text = esc(lay.title.text)
    for ax in (*fig.select_xaxes(), *fig.select_yaxes()):
        if ax.title and ax.title.text:
            ax.title.text = esc(ax.title.text)
    for a in lay.annotations or ():
        a.text = esc(a.text)
    if lay.legend and lay.legend.title and lay.legend.title.text:
        lay.legend.title.text = esc(lay.legend.title.text)


def _header(col: Any) -> str:
    """A column name that wraps at its underscores, never mid-word ('coverag / e')."""
    return html.escape(str(col)).replace("_", "_<wbr>")


LONG_TEXT = 24  # characters: text longer than this (run ids, notes) may wrap in its cell
TALL_ROWS = 15  # rows: a longer table scrolls inside its own box, its header kept in view


def _cell(v: Any, col: Any) -> str:
    """Numbers never wrap ('1.724e+1 / 3'); short text (a model name, a fold) never breaks
    ('pythia-' / '1b'); long text (run ids, notes) wraps anywhere."""
    numeric = isinstance(v, (int, float, np.integer, np.floating, bool, np.bool_))
    if numeric:
        return f"<td class='num'>{_fmt(v, col)}</td>"
    cls = "txt long" if len(str(v)) > LONG_TEXT else "txt"
    return f"<td class='{cls}'>{_fmt(v, col)}</td>"


def table_html(df: pd.DataFrame, table_id: str | None = None, max_rows: int = 2000) -> str:
    """A table that fits its card: wider than the card, it scrolls sideways inside it (with
    shadows at the hidden edge), never the page; longer than TALL_ROWS rows (held-out
    points, forecast targets), it scrolls inside a box of about 20 rows with its header
    row kept in view, so its horizontal scrollbar is on screen rather than below hundreds of
    rows. Rows past max_rows are left out and the table says how many."""
    head = "".join(f"<th>{_header(c)}</th>" for c in df.columns)
    body = []
    for _, r in df.head(max_rows).iterrows():
        cells = "".join(_cell(v, c) for c, v in zip(df.columns, r.to_numpy(), strict=True))
        body.append(f"<tr>{cells}</tr>")
    more = (
        f"<p class='note'>{len(df) - max_rows} more rows not shown</p>"
        if len(df) > max_rows
        else ""
    )
    tid = f" id='{slug(table_id)}'" if table_id else ""
    tall = len(body) > TALL_ROWS
    count = f"<p class='rows'>{len(df)} rows; the table scrolls</p>" if tall else ""
    return (
        f"<div class='table-wrap{' tall' if tall else ''}'><table{tid}><thead><tr>{head}"
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>{count}{more}"
    )


def file_sha256(path: str | Path) -> str | None:
    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Section:
    """One part of an HTML report, filled by a ``*_section`` builder.

    Attributes
    ----------
    name : str
        Its id in the page (and in `section_names`).
    title : str
        Its heading.
    parts : list of str
        HTML fragments, in page order.
    """

    name: str
    title: str
    parts: list[str] = field(default_factory=list)


@dataclass
class Report:
    """A self-contained HTML report: sections of text, tables and interactive figures.

    Attributes
    ----------
    title, subtitle : str
        The page heading and the line under it.
    sections : list of Section
        The sections, in page order.
    banner : str or None
        A notice shown above every section (e.g. that the data are simulated), if any.
    figures : list of (str, figure)
        Every figure by name, in page order, for static export.
    """

    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    banner: str | None = None
    # (name, figure) in page order: for static export (report.export.export_figures)
    figures: list[tuple[str, Any]] = field(default_factory=list)

    def section(self, name: str, title: str) -> Section:
        s = Section(name, title)
        self.sections.append(s)
        return s

    def figure(self, sec: Section, fig: Any, name: str) -> None:
        escape_figure_text(fig)
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"fig-{slug(name)}",
            config={"displaylogo": False, "responsive": True},
        )
        sec.parts.append(f"<div class='fig'>{div}</div>")
        self.figures.append((slug(name), fig))

    def render(self, *, command: str, data_files: list[str], plotly: str = "inline") -> str:
        """The page. plotly='inline' embeds plotly.js (self-contained, ~4.7 MB); 'cdn' links
        plotly's CDN (small, but figures need the network; a banner says so when it fails)."""
        js = plotly_js(plotly)
        nav = "".join(
            f"<a href='#section-{slug(s.name)}'>{html.escape(s.title)}</a>" for s in self.sections
        )
        body = []
        for s in self.sections:
            body.append(
                f"<section id='section-{slug(s.name)}'><h2>{html.escape(s.title)}</h2>"
                + "".join(s.parts)
                + "</section>"
            )
        hashes = "".join(
            f"<li><code>{html.escape(str(f))}</code> sha256 <code>{file_sha256(f) or '–'}</code>"
            "</li>"
            for f in data_files
        )
        banner = (
            f"<div class='sim' id='simulated-banner'>{html.escape(self.banner)}</div>"
            if self.banner
            else ""
        )
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(self.title)}</title>
<style>{CSS}</style>
{ERROR_HOOK}
{js}
</head>
<body data-js-errors="0">
<header><h1>{html.escape(self.title)}</h1><p>{html.escape(self.subtitle)}</p></header>
<nav>{nav}</nav>
<main>{banner}{"".join(body)}</main>
<footer id="footer"><h3>How this was made</h3>
<p>scalinglab {__version__}; command: <code>{html.escape(command)}</code>; plotly.js
{"inlined (self-contained)" if plotly == "inline" else "from its CDN (needs the network)"}</p>
<ul>{hashes}</ul></footer>
<script>document.body.setAttribute('data-rendered', '1');</script>
</body></html>"""

    def write(
        self, path: str | Path, *, command: str, data_files: list[str], plotly: str = "inline"
    ) -> Path:
        """Render and write atomically (scalinglab.io.safe_write): never through a link, never
        half a report; the folder is created if missing."""
        from ..io.safe_write import write_text

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        write_text(p, self.render(command=command, data_files=data_files, plotly=plotly))
        return p


PLOTLY_MODES = ("inline", "cdn")

CDN_FAILED = """<script>window.addEventListener('DOMContentLoaded', function () {
  if (typeof Plotly === 'undefined') {
    var d = document.createElement('div'); d.className = 'sim'; d.id = 'plotly-missing';
    d.textContent = 'plotly.js could not be loaded from its CDN (offline?): the figures are '
      + 'not drawn. Write the report with --plotly inline for a self-contained file.';
    document.querySelector('main').prepend(d);
  }
});</script>"""


def plotly_js(mode: str) -> str:
    """The <script> that provides plotly.js: inlined, or plotly's own pinned CDN tag (the
    version this plotly writes figures for, with its subresource-integrity hash)."""
    if mode == "inline":
        from plotly.offline import get_plotlyjs

        return f'<script type="text/javascript">{get_plotlyjs()}</script>'
    if mode == "cdn":
        import plotly.graph_objects as go

        probe = go.Figure().to_html(include_plotlyjs="cdn", full_html=False)
        m = re.search(r"<script[^>]*src=\"https://cdn\.plot\.ly/[^\"]+\"[^>]*></script>", probe)
        if m is None:  # a plotly that writes its CDN tag differently
            from plotly.offline import get_plotlyjs_version

            tag = (
                '<script charset="utf-8" src="https://cdn.plot.ly/plotly-'
                f'{get_plotlyjs_version()}.min.js"></script>'
            )
        else:
            tag = m.group(0)
        return tag + CDN_FAILED
    from ..errors import OptionError

    raise OptionError(f"plotly must be one of {', '.join(PLOTLY_MODES)}, not {mode!r}")


def params_table(res: Any, level: float = 0.9) -> pd.DataFrame:
    rows = []
    # an exact fit (no more points than parameters) has no interval: its resamples refit the
    # same interpolation and gave lower = upper = value, which read as certainty
    exact = bool(getattr(res, "exact_fit_", False))
    iv = res.bootstrap_.intervals(level) if res.bootstrap_ is not None and not exact else None
    for p in res.law.parameters:
        row = {
            "parameter": p.name,
            "value": res.params_[p.name],
            "bounds": f"[{p.lower:g}, {p.upper:g}]",
            "at bound": p.name in res.at_bounds_,
        }
        if iv is not None:
            row[f"{level:.0%} lower"] = iv.loc[p.name, "lower"]
            row[f"{level:.0%} upper"] = iv.loc[p.name, "upper"]
        rows.append(row)
    return pd.DataFrame(rows)
