"""Static figure files (PNG, SVG, PDF) beside a report, for papers and slides.

plotly renders static images through kaleido, which drives a headless Chrome/Chromium; it is
an optional extra (`pip install 'scalinglab[export]'`), so the core install stays small and a
missing kaleido is a named error before any work, not a traceback after the fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import OptionError

FORMATS = ("html", "png", "svg", "pdf")
STATIC = ("png", "svg", "pdf")


class FigureExportError(OptionError):
    """Static figures were asked for (--format png|svg|pdf) but cannot be written: kaleido
    (the `export` extra) is missing, or it found no Chrome/Chromium to render with."""


def check_formats(formats: Iterable[str]) -> list[str]:
    """The static formats asked for, checked before any work: unknown names and a missing
    kaleido are FigureExportError (html is the report itself and needs nothing)."""
    fmts = [f.lower() for f in formats]
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise FigureExportError(
            f"unknown figure format(s) {', '.join(bad)}: choose from {', '.join(FORMATS)}"
        )
    static = list(dict.fromkeys(f for f in fmts if f in STATIC))
    if static:
        try:
            import kaleido  # noqa: F401
        except ImportError:
            raise FigureExportError(
                f"--format {'/'.join(static)} needs kaleido to render static figures: "
                "pip install 'scalinglab[export]' (or pip install kaleido); --format html "
                "needs nothing"
            ) from None
    return static


def export_figures(
    figures: Sequence[tuple[str, Any]],
    folder: str | Path,
    formats: Iterable[str],
    *,
    width: int = 900,
    height: int = 480,
    scale: float = 2.0,
) -> list[Path]:
    """Write every figure as `<folder>/<name>.<fmt>` for each static format (atomic writes,
    never through a link); the paths written, in figure order. One kaleido session renders
    them all (plotly.io.write_images): a session per figure took ~15 s each."""
    import tempfile

    import plotly.io as pio

    from ..io.safe_write import check_output, write_bytes

    static = check_formats(formats)
    if not static or not figures:
        return []
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, fig, fmt) for name, fig in figures for fmt in static]
    targets = [out / f"{name}.{fmt}" for name, _, fmt in jobs]
    for p in targets:  # a planted link or a folder in the way: refused before rendering
        check_output(p, force=True, what="figure file")
    with tempfile.TemporaryDirectory(dir=out, prefix=".render-") as tmp:
        drafts = [Path(tmp) / t.name for t in targets]
        try:
            pio.write_images(
                [fig for _, fig, _ in jobs],
                drafts,
                format=[fmt for _, _, fmt in jobs],
                width=width,
                height=height,
                scale=scale,
            )
        except Exception as exc:  # kaleido's own errors: no browser, a crashed renderer
            raise FigureExportError(
                f"kaleido could not render the figures ({type(exc).__name__}: {exc}); it "
                "needs Chrome or Chromium (install one, or run `plotly_get_chrome`)"
            ) from None
        for draft, target in zip(drafts, targets, strict=True):
            write_bytes(target, draft.read_bytes())
    return targets
