"""Plotly figures of fits, audits and workflows. Every point's hover names its run.

The same functions back the HTML report and the notebook API (`FitResult.plot()`).
The package in rooms with one job each (every name importable from `scalinglab.plots`, as
before the split): `style` (palette, ticks, layout), `fits` (fit figures), `diagnostics`
(residual and audit figures), `workflows` (forecast, method choice, transfer, plan,
pretraining choice) and `papers` (factor effects, task selection, constant exponent,
effective data).
"""

from __future__ import annotations

from .diagnostics import (  # noqa: F401
    _residuals_continuous,
    audit_figure,
    residual_figure,
)
from .fits import (  # noqa: F401
    CANDIDATES,
    COLORSCALE,
    MAX_CURVES,
    _add_curve,
    _choose_axes,
    _colorbar,
    _fit_figure_continuous,
    _frame_for,
    _inputs_along,
    _law_inputs,
    _scale_axes,
    _scale_values,
    _series_name,
    _shade_range,
    fit_figure,
    fit_ranges,
    inside_fit_range,
    scale_color,
)
from .papers import (  # noqa: F401
    NOT_SELECTED,
    SELECTED,
    _factor_word,
    _forest_layout,
    _interval_trace,
    _title_lines,
    constant_exponent_figure,
    effective_data_figure,
    factor_effects_figure,
    task_selection_figure,
)
from .style import (  # noqa: F401
    AXES,
    GREY,
    PALETTE,
    SHADE,
    _axis_values,
    _esc,
    _go,
    _hover,
    _layout,
    _log_ticks,
    _num,
    _sci,
    _series_values,
    _ticks,
)
from .workflows import (  # noqa: F401
    _add_targets,
    _at_x,
    _crossing_marker,
    _wrap,
    forecast_figures,
    method_figure,
    plan_figure,
    pretrain_figure,
    transfer_figure,
)
