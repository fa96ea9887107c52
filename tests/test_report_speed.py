"""What keeps the report fast without changing it: each notebook chart drawn once for its
file and its page, nbformat loaded without the IRI grammar, the kernels' imports without scipy and
pandera, every kernel started at once, and the report's threads getting the GIL back quickly
while a kernel pool is open."""

import base64
import io
import subprocess
import sys
import threading
import time

import matplotlib
import matplotlib.figure

matplotlib.use("agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from kpi_lib.core.errors import InputError  # noqa: E402
from kpi_lib.reporting import charts, jobs  # noqa: E402
from kpi_lib.reporting.context import save_figure  # noqa: E402
from kpi_lib.reporting.jobs import Job, run_all  # noqa: E402
from kpi_lib.reporting.kernels import KernelPool  # noqa: E402
from kpi_lib.sources.tidy import TIDY_COLUMNS, finish  # noqa: E402


def _chart():
    charts.use_style()
    share = pd.Series([0.1, 0.2, 0.15], index=[2020, 2021, 2022])
    return charts.share_line(share, "割合", "割合（%）").figure


def _not_drawn(*args, **kwargs):
    raise AssertionError("the figure was drawn again")


def _png_size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def _shown(fig, monkeypatch) -> tuple[bytes, dict]:
    """The PNG and its metadata that charts.show displays."""
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    charts.show(fig)
    data, metadata = shown[0]._repr_png_()
    return base64.b64decode(data), metadata


def test_the_page_shows_the_saved_file_at_the_figures_own_size(tmp_path, monkeypatch):
    fig = _chart()
    direct = io.BytesIO()
    fig.savefig(direct, format="png", bbox_inches="tight")  # as the page was drawn before
    save_figure(fig, str(tmp_path), "share")
    saved = (tmp_path / "share.png").read_bytes()
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _not_drawn)
    png, metadata = _shown(fig, monkeypatch)
    assert png == saved  # one drawing for the file and the page
    assert Image.open(tmp_path / "share.png").info["dpi"] == pytest.approx((150, 150), abs=0.1)
    assert abs(metadata["width"] - _png_size(direct.getvalue())[0]) <= 3  # as wide as before
    assert metadata["alt"].startswith("割合")


def test_a_figure_changed_after_saving_is_drawn_afresh_for_the_page(tmp_path, monkeypatch):
    fig = _chart()
    save_figure(fig, str(tmp_path), "share")
    fig.axes[0].set_title("ずっと長い別の題名をここに書いておく、図の幅を超えるほどに長い題名")
    assert fig.stale
    direct = io.BytesIO()
    fig.savefig(direct, format="png", dpi=150, bbox_inches="tight")
    png, metadata = _shown(fig, monkeypatch)
    assert png != (tmp_path / "share.png").read_bytes()  # the new title is on the page
    assert _png_size(png) == _png_size(direct.getvalue())  # in its own tight box
    assert metadata["width"] == round(_png_size(png)[0] * 100 / 150)


def test_a_figure_without_an_output_folder_is_drawn_once_for_the_page(monkeypatch):
    fig = _chart()
    save_figure(fig, "", "share")  # interactive: no file
    png, metadata = _shown(fig, monkeypatch)
    assert metadata["width"] == round(_png_size(png)[0] * 100 / 150)


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


def test_papermill_and_nbconvert_load_without_building_the_iri_grammar():
    # The grammar cost 1.5 s of CPU at import; an IRI is still checked once asked for.
    code = (
        "import sys, kpi_lib.reporting.jobs, papermill, nbconvert\n"
        "print(hasattr(sys.modules['rfc3987_syntax'], 'make_syntax_validator'))\n"
        "from jsonschema import Draft7Validator as V\n"
        "v = V({'format': 'iri'}, format_checker=V.FORMAT_CHECKER)\n"
        "print(v.is_valid('https://例え.jp/a'), v.is_valid('not an iri'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "False"]


def test_the_tidy_schema_still_refuses_a_bad_table():
    row = dict.fromkeys(TIDY_COLUMNS, "x") | {"year": 2020, "month": None, "value": 1.0}
    with pytest.raises(InputError, match="not valid"):
        finish(pd.DataFrame([row]), "bad.csv")


def _run_faked(monkeypatch, tmp_path, plan, n_jobs: int, start, execute) -> None:
    """run_all over `plan` with `start` for a kernel's start and `execute` for a notebook's run;
    every job must end ok."""
    monkeypatch.setattr(KernelPool, "start", start)
    monkeypatch.setattr(jobs, "_execute", execute)
    run_all(plan, tmp_path, "kpi", n_jobs, 10, while_running=lambda gate, _: gate.open())
    assert [job.status for job in plan] == ["ok"] * len(plan), [job.error for job in plan]


def test_every_kernel_starts_at_once_while_only_jobs_notebooks_run(tmp_path, monkeypatch):
    plan = [Job(tmp_path / "nb.ipynb", f"out{i}.ipynb", {}, "x") for i in range(4)]
    together = threading.Barrier(len(plan), timeout=60)  # broken unless all four start at once
    running, most, lock = [0], [0], threading.Lock()

    def start(self, km, cwd, preload=""):
        together.wait()

    def execute(job, staging, km, timeout, preloaded):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    _run_faked(monkeypatch, tmp_path, plan, 2, start, execute)
    assert most[0] <= 2  # --jobs 2: two notebooks at a time


def test_kernels_started_ahead_are_a_few_not_a_multiple_of_jobs(tmp_path, monkeypatch):
    """--jobs 3 with six notebooks: three run and two more kernels wait ready (jobs.AHEAD), not
    six idle kernels each holding pandas and matplotlib."""
    plan = [Job(tmp_path / "nb.ipynb", f"out{i}.ipynb", {}, "x") for i in range(6)]
    ahead = threading.Barrier(3 + jobs.AHEAD, timeout=60)  # the first ones start together
    alive, most, calls, lock = [0], [0], [0], threading.Lock()

    def start(self, km, cwd, preload=""):
        with lock:
            alive[0] += 1
            most[0] = max(most[0], alive[0])
            calls[0] += 1
            first = calls[0] <= ahead.parties
        if first:
            ahead.wait()

    def execute(job, staging, km, timeout, preloaded):
        time.sleep(0.05)
        with lock:
            alive[0] -= 1

    _run_faked(monkeypatch, tmp_path, plan, 3, start, execute)
    assert most[0] == 3 + jobs.AHEAD
