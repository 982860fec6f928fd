"""The report's figures carry plotly's ``plotly_white`` template exactly as plotly's own
validated path would set it, and their layout is validated as before afterwards."""

from __future__ import annotations

import numpy as np
import pytest


def test_styled_figure_has_the_validated_plotly_white_template():
    import plotly.graph_objects as go

    from valuemax.report import _plots

    fig = _plots.histogram(np.random.default_rng(0).gamma(2.0, 3.0, 500), x_title="spend",
                           unit="$")
    reference = go.Figure(layout={"template": "plotly_white"}).to_plotly_json()
    assert fig.to_plotly_json()["layout"]["template"] == reference["layout"]["template"]
    # the registered template is not shared with (or changed through) the figure
    fig.layout.template.layout.font.size = 99
    assert go.Figure(layout={"template": "plotly_white"}).to_plotly_json() == reference
    # validation is back on for everything set after the template
    with pytest.raises(ValueError, match="no_such_property"):
        fig.update_layout(no_such_property=1)
