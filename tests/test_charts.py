"""Charts render their Japanese text: no glyph is missing from the font."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from kpi_lib.core.paths import ASHIBETSU, DATA_DIR  # noqa: E402
from kpi_lib.observations.handle import PublicTables  # noqa: E402
from kpi_lib.reporting import charts  # noqa: E402

TABLES = PublicTables(DATA_DIR / "public")  # read once for these tests


def test_kpi_charts_have_every_glyph(tmp_path, report_context):
    charts.use_style()
    ctx = report_context(2021)  # computed once per session (tests/conftest.py)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for kpi_id, draw in (
            ("G2-0", charts.kpi_chart),
            ("G3-1-1", charts.cumulative_chart),
            ("G2-1-2", charts.kpi_chart),
        ):
            entry = ctx.scorecard[kpi_id]
            ax = draw(entry.kpi, entry.evaluation, entry.outlook, ctx.history(kpi_id))
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


# ── axes and legends as readers read them ─────────────────────────────────────

import base64  # noqa: E402
import re  # noqa: E402
import struct  # noqa: E402

import nbformat  # noqa: E402
import pytest  # noqa: E402

from kpi_lib.forecasting.methods import BENCHMARKS, METHODS  # noqa: E402
from kpi_lib.forecasting.series import SERIES_METHODS  # noqa: E402
from kpi_lib.reporting import analysis, chart_cache, export  # noqa: E402


@pytest.fixture(scope="module")
def ctx2024(report_context):
    charts.use_style()
    return report_context(2024)


def _labels(axis) -> list[str]:
    axis.figure.canvas.draw()
    ticks = axis.get_ticklabels()
    lo, hi = sorted(axis.get_view_interval())
    return [t.get_text() for t, v in zip(ticks, axis.get_ticklocs(), strict=True) if lo <= v <= hi]


def test_a_log_axis_is_labelled_in_plain_numbers(ctx2024):
    kpi = ctx2024.kpi_for("furusato", "受入件数")
    entry = ctx2024.scorecard[kpi.kpi_id]
    ax = charts.kpi_chart(kpi, entry.evaluation, entry.outlook, ctx2024.history(kpi.kpi_id))
    charts.log_axis(ax)
    labels = _labels(ax.yaxis)
    plt.close(ax.figure)
    assert not [t for t in labels if "$" in t or "mathdefault" in t], labels
    # the series runs from 19 (FY2008) to 55,000 (FY2021): the decades in between
    assert {"100", "1,000", "10,000"} <= set(labels), labels
    # and the fix is not mathtext back on: a '$' in a KPI name stays text
    assert plt.rcParams["text.parse_math"] is False


def test_year_ticks_are_whole_years(ctx2024):
    annual = analysis.tourism_annual(TABLES, ASHIBETSU)
    ax = charts.mix_areas(
        annual, [["道内客比率", "道外客比率"], ["日帰客比率", "宿泊客比率"]], ["a", "b"]
    )
    labels = _labels(ax.xaxis)
    plt.close(ax.figure)
    assert labels and all(re.fullmatch(r"20\d\d", t) for t in labels), labels
    # every band has a visible swatch: a filled patch with the band's colour
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["宿泊客比率", "日帰客比率"]
    assert all(matplotlib.colors.to_rgba(h.get_facecolor())[3] > 0 for h in legend.legend_handles)


def test_a_share_axis_is_in_percent():
    monthly = analysis.tourism_monthly(TABLES, ASHIBETSU)
    ax = charts.seasonal_bars(analysis.seasonal_profile(monthly), "月別の構成比（%）")
    labels = _labels(ax.yaxis)
    plt.close(ax.figure)
    assert labels and all(t.endswith("%") for t in labels), labels
    assert "16%" in labels  # August's mean share is 15.3 %: the axis reaches 16 %, not 0.16


def test_negative_ticks_carry_the_triangle():
    mig = analysis.migration(TABLES, ASHIBETSU)
    ax = charts.migration_chart(mig, "社会増減")
    labels = _labels(ax.yaxis)
    plt.close(ax.figure)
    assert mig["社会増減"].min() < -100  # 芦別市 loses residents every year
    assert any(t.startswith("▲") for t in labels), labels
    assert not any(t.startswith(("-", "−")) for t in labels), labels
    assert charts.tick_number(-1500) == "▲1,500"
    assert charts.tick_number(12000) == "12,000"


def test_count_ticks_are_whole_numbers():
    import pandas as pd

    counts = pd.DataFrame({"達成": [1, 0], "未達成": [2, 1], "未確定": [3, 2]}, index=[1, 2])
    ax = charts.grade_bar(counts)
    labels = _labels(ax.xaxis)
    plt.close(ax.figure)
    assert labels and all(t.isdigit() for t in labels), labels


def test_legends_speak_japanese(report_context):
    for method in (*METHODS, *SERIES_METHODS, *BENCHMARKS):
        label = charts.forecast_label(method)
        assert not re.search(r"[A-Za-z]", label), (method, label)
    assert charts.forecast_label("someday") == "見通し"
    ctx = report_context(2021)  # before the target year: the charts carry a forecast
    drawn = 0
    for entry in ctx.scorecard:
        if entry.outlook is None or not entry.outlook.path:
            continue
        kpi = entry.kpi
        draw = charts.cumulative_chart if kpi.target.kind == "cumulative" else charts.kpi_chart
        ax = draw(kpi, entry.evaluation, entry.outlook, ctx.history(kpi.kpi_id))
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        plt.close(ax.figure)
        assert not [t for t in texts if re.search(r"[A-Za-z]{2,}", t)], texts
        drawn += 1
    assert drawn >= 3


def test_goal_document_charts_are_legible_at_print_size(ctx2024):
    kpi = ctx2024.kpi_for("furusato", "受入件数")
    entry = ctx2024.scorecard[kpi.kpi_id]
    ev, history = entry.evaluation, ctx2024.history(kpi.kpi_id)
    png = chart_cache.draw_png(kpi, ev, entry.outlook, history)
    assert struct.unpack(">II", png[16:24]) == (720, 400)
    img = chart_cache.ChartCache(None).image(kpi, ev, entry.outlook, history)
    alt = re.search(r'alt="([^"]*)"', img).group(1)
    assert kpi.label in alt and "2008〜2024" in alt and "目標 2024年度" in alt, alt
    assert 'width="720"' in img


def _executed_notebook(tmp_path, name: str):
    """A notebook as papermill leaves it: one chart shown by charts.show, one by other means."""
    fig, ax = plt.subplots()
    ax.plot([2020, 2021], [1, 2])
    ax.set(title="受入件数の推移", xlabel="年度", ylabel="件")
    shown = []
    import IPython.display

    real = IPython.display.display
    IPython.display.display = lambda obj, **kw: shown.append(obj)
    try:
        charts.show(fig)
    finally:
        IPython.display.display = real
    data, md = shown[0]._repr_png_()
    png = data if isinstance(data, str) else base64.b64encode(data).decode()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# ふるさと納税の推移"),
        nbformat.v4.new_code_cell(
            "charts.show(fig)",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", data={"image/png": png}, metadata={"image/png": md}
                )
            ],
        ),
        nbformat.v4.new_markdown_cell("## 経費の構成"),
        nbformat.v4.new_code_cell(
            "plt.show()",
            outputs=[nbformat.v4.new_output("display_data", data={"image/png": png})],
        ),
    ]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_exported_pages_have_a_japanese_title_and_alt_text(tmp_path):
    executed = _executed_notebook(tmp_path, "04_furusato.ipynb")
    out = tmp_path / "04_furusato.html"
    export.notebook_html(executed, out)
    page = out.read_text(encoding="utf-8")
    assert re.search(r"<title>\s*ふるさと納税の推移\s*</title>", page)
    assert '<html lang="ja">' in page
    alts = re.findall(r"<img[^>]*>", page)
    assert len(alts) == 2
    assert "No description" not in page
    assert 'alt="受入件数の推移（横軸: 年度、縦軸: 件）のグラフ"' in alts[0]
    assert 'alt="経費の構成のグラフ"' in alts[1]  # no description: named by its section
    assert export.page_title("05_kpi_deep_dive_G2-0") == "KPI 詳細 G2-0"


def test_exported_alt_texts_are_escaped_and_name_a_displayed_heading(tmp_path):
    """A chart's alt text is written by the page template, escaped; one without a description
    is named by the heading above it, a displayed one included, or just グラフ before any."""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(30)).decode()
    image = lambda meta=None: nbformat.v4.new_output(  # noqa: E731
        "display_data", data={"image/png": png}, metadata={"image/png": meta or {}}
    )
    heading = nbformat.v4.new_output(
        "display_data", data={"text/markdown": "## 道内の**順位**", "text/plain": "<Markdown>"}
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x", outputs=[image()]),
        nbformat.v4.new_code_cell("y", outputs=[image({"alt": '"><script>alert(1)</script>'})]),
        nbformat.v4.new_code_cell("z", outputs=[heading, image()]),
    ]
    path = tmp_path / "03_tourism.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "03_tourism.html"
    export.notebook_html(path, out)
    page = out.read_text(encoding="utf-8")
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    alts = [img["alt"] for img in soup.find_all("img")]
    assert alts == [
        "グラフ",
        '"><script>alert(1)</script>',
        "道内の順位のグラフ",
    ]  # text, not markup
    assert "<script>alert" not in page and "No description" not in page
    assert not [s for s in soup.find_all("script") if "alert" in s.get_text()]


def test_exported_pages_print_wide_tables_whole(tmp_path):
    # On screen a wide table scrolls sideways; a printout would cut it (04_furusato's costs).
    executed = _executed_notebook(tmp_path, "04_furusato.ipynb")
    out = tmp_path / "04_furusato.html"
    export.notebook_html(executed, out)
    head = out.read_text(encoding="utf-8").split("</head>")[0]
    printed = head.rsplit("@media print", 1)[1]
    assert "overflow:visible!important" in printed and "font-size:7.5pt" in printed


@pytest.mark.parametrize(
    "markdown, heading",
    [
        ("## 経費の構成", "経費の構成"),
        ("intro\n### 基本目標1　雇用 ##  ", "基本目標1　雇用"),  # closing #s and spaces dropped
        ("# a" + " " * 3000 + "b", "a" + " " * 3000 + "b"),  # a catalog's long run of spaces
        ("# \n#not a heading", ""),
    ],
)
def test_the_heading_that_names_a_chart(markdown, heading):
    # the former pattern backtracked cubically on the third case (minutes at 4,000 spaces)
    assert export._last_heading(markdown, "") == heading
