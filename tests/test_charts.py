"""Charts render their Japanese text: no glyph is missing from the font."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from kpi_lib.reporting import charts  # noqa: E402
from kpi_lib.reporting.context import load_context  # noqa: E402


def test_kpi_charts_have_every_glyph(tmp_path):
    charts.use_style()
    ctx = load_context(2021)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for kpi_id, draw in (
            ("G2-0", charts.kpi_chart),
            ("G3-1-1", charts.cumulative_chart),
            ("G2-1-2", charts.kpi_chart),
        ):
            ev = ctx.evaluations[kpi_id]
            ax = draw(ctx.kpi(kpi_id), ev, ev.outlook, ctx.history(kpi_id))
            ax.figure.savefig(tmp_path / f"{kpi_id}.png")
            plt.close(ax.figure)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing[:3]
    assert plt.rcParams["font.family"][0] in ("IPAexGothic", "sans-serif")


def test_the_style_uses_the_japanese_font():
    charts.use_style()
    from matplotlib import font_manager

    path = font_manager.findfont(plt.rcParams["font.family"][0])
    assert "ipaexg" in path.lower()
