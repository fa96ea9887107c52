"""What keeps the report fast without changing it: each notebook chart drawn once for its two
PNGs, the kernels' imports without scipy and pandera, and the report's threads getting the GIL
back quickly while a kernel pool is open."""

import io
import subprocess
import sys

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from kpi_lib.core.errors import InputError  # noqa: E402
from kpi_lib.reporting import charts  # noqa: E402
from kpi_lib.reporting.kernels import SWITCH_INTERVAL, KernelPool  # noqa: E402
from kpi_lib.sources.tidy import TIDY_COLUMNS, finish  # noqa: E402


def _chart():
    charts.use_style()
    share = pd.Series([0.1, 0.2, 0.15], index=[2020, 2021, 2022])
    return charts.share_line(share, "割合", "割合（%）").figure


def _not_drawn(*args, **kwargs):
    raise AssertionError("the figure was drawn again")


def test_the_page_shows_the_saved_figure_scaled_to_its_dpi(tmp_path, monkeypatch):
    fig = _chart()
    assert isinstance(fig, charts.ReportFigure)
    fig.savefig(tmp_path / "share.png", dpi=150, bbox_inches="tight")
    saved = Image.open(tmp_path / "share.png")
    monkeypatch.setattr(charts.Figure, "savefig", _not_drawn)  # the page's picture: not drawn
    page = Image.open(io.BytesIO(charts.page_png(fig)))
    assert page.size == (round(saved.width / 1.5), round(saved.height / 1.5))
    plt.close(fig)


def test_a_figure_changed_after_saving_is_drawn_afresh_for_the_page(tmp_path):
    fig = _chart()
    fig.savefig(tmp_path / "share.png", dpi=150, bbox_inches="tight")
    fig.axes[0].set_title("別の題名")
    assert fig.stale
    page = charts.page_png(fig)
    direct = io.BytesIO()
    fig.savefig(direct, format="png", bbox_inches="tight")
    assert page == direct.getvalue()  # drawn, not the scaled file
    plt.close(fig)


def test_a_figure_saved_otherwise_is_saved_as_matplotlib_saves_it(tmp_path):
    fig = _chart()
    fig.savefig(tmp_path / "share.png", dpi=150)  # not tight: nothing kept for the page
    assert fig.saved_png is None
    assert Image.open(tmp_path / "share.png").size == (1200, 630)  # 8 × 4.2 in at 150 dpi
    plt.close(fig)


def test_the_kernels_imports_leave_out_scipy_and_pandera():
    # What every report kernel imports (jobs.PRELOAD) and unpickles the context with.
    code = (
        "import sys, kpi_lib.reporting.analysis, kpi_lib.reporting.charts, "
        "kpi_lib.reporting.context, kpi_lib.reporting.tables, kpi_lib.reporting.reading; "
        "print(sorted(m for m in ('scipy', 'pandera', 'statsmodels', 'seaborn') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_tidy_schema_still_refuses_a_bad_table():
    row = dict.fromkeys(TIDY_COLUMNS, "x") | {"year": 2020, "month": None, "value": 1.0}
    with pytest.raises(InputError, match="not valid"):
        finish(pd.DataFrame([row]), "bad.csv")


def test_an_open_kernel_pool_shortens_the_switch_interval_until_the_last_one_closes():
    before = sys.getswitchinterval()
    first, second = KernelPool("kpi"), KernelPool("kpi")
    try:
        assert sys.getswitchinterval() == min(SWITCH_INTERVAL, before)
        first.close()
        first.close()  # twice: counted once
        assert sys.getswitchinterval() == min(SWITCH_INTERVAL, before)
    finally:
        second.close()
        first.close()
    assert sys.getswitchinterval() == before
