"""Hostile input: no user data lost, nothing injected, no impossible value accepted."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from kpi_lib.catalog.model import load_catalog
from kpi_lib.core.errors import InputErrors, KpiError
from kpi_lib.core.paths import DEFAULT_CATALOG, PROJECT_ROOT
from kpi_lib.core.publish import REPORT_MARKER, locked, recover
from kpi_lib.observations.actuals import read_actuals
from kpi_lib.reporting.run_settings import NOTEBOOK_DIR
from tests.conftest import FIXTURES
from tests.helpers import visible_text

KPI = [sys.executable, "-m", "kpi_lib.cli"]
HOSTILE_SCRIPT = "<script>alert('x')</script>"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://example.invalid","clic")'
JINJA = "{{ 7*7 }}{% if true %}IF{% endif %}"  # template syntax: shown, never evaluated


def kpi(*args, cwd=None, timeout=300):
    return subprocess.run(
        [*KPI, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )


def some_notebooks(tmp_path, *names) -> Path:
    """A notebook folder with only some of the report's notebooks (faster runs)."""
    folder = tmp_path / "nbs"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(NOTEBOOK_DIR / name, folder / name)
    return folder


def no_traceback(proc):
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


# ── never lose a user's files ─────────────────────────────────────────────────


def test_report_refuses_a_folder_it_did_not_write(tmp_path):
    target = tmp_path / "v"
    (target / "sub").mkdir(parents=True)
    (target / "notes.txt").write_text("x")
    proc = kpi("report", "--fiscal-year", 2021, "--out", target)
    assert proc.returncode == 2 and "is not a report folder written by kpi" in proc.stderr
    no_traceback(proc)
    assert (target / "notes.txt").read_text() == "x" and (target / "sub").is_dir()


def test_report_refuses_a_file_at_out(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("mine")
    proc = kpi("report", "--fiscal-year", 2021, "--out", target)
    assert proc.returncode == 2 and "not a folder" in proc.stderr
    assert target.read_text() == "mine"


def test_recover_restores_the_previous_report_after_a_kill_between_renames(tmp_path):
    final = tmp_path / "FY2021"
    dead = 2**22 + 12345  # above pid_max on this machine's kernel: no such process
    old = tmp_path / f".FY2021.old-{dead}"
    old.mkdir()
    (old / REPORT_MARKER).write_text("{}")
    (old / "index.html").write_text("previous")
    staging = tmp_path / f".FY2021.building-{dead}"
    staging.mkdir()
    done = recover(final)
    assert (final / "index.html").read_text() == "previous"
    assert not old.exists() and not staging.exists() and len(done) == 2


def test_a_second_run_on_the_same_out_is_refused_naming_the_first(tmp_path):
    final = tmp_path / "FY2021"
    with locked(final):
        proc = kpi("report", "--fiscal-year", 2021, "--out", final)
    assert proc.returncode == 2 and f"process {os.getpid()}" in proc.stderr
    assert not final.exists()


def test_relative_out_lands_beside_the_caller_and_the_checkout_stays_clean(tmp_path):
    def checkout_status() -> str:
        git = ["git", "status", "--porcelain", "--ignored"]
        return subprocess.run(git, cwd=PROJECT_ROOT, capture_output=True, text=True).stdout

    before = checkout_status()
    nbs = some_notebooks(tmp_path, "01_scorecard.ipynb")
    proc = kpi(
        "report",
        "--fiscal-year",
        2021,
        "--out",
        "rel/FY2021",
        "--notebooks",
        "nbs",
        "--deep-dive",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "rel" / "FY2021"
    assert (out / "index.html").exists() and list((out / "figures").glob("*.png"))
    manifest = (out / "manifest.json").read_text(encoding="utf-8")
    assert ".building-" not in manifest and str(out / "figures") in manifest
    executed = (out / "01_scorecard.ipynb").read_text(encoding="utf-8")
    assert ".building-" not in executed and str(out) in executed
    assert json.loads(manifest)["parameters"]["01_scorecard.ipynb"]["context_file"] == ""
    assert checkout_status() == before
    assert "TCP without encryption" not in proc.stderr  # kernels talk over IPC sockets
    assert nbs.exists()


def test_a_report_into_its_own_earlier_folder_replaces_it(tmp_path):
    out = tmp_path / "FY2021"
    nbs = some_notebooks(tmp_path, "01_scorecard.ipynb")
    for _ in range(2):
        proc = kpi("report", "--fiscal-year", 2021, "--out", out, "--notebooks", nbs, "--deep-dive")
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / REPORT_MARKER).exists()
    # the lock is removed at the end too: nothing is left beside the report
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".FY2021")) == []


def _slow_notebooks(tmp_path, seconds: int) -> Path:
    import nbformat

    folder = tmp_path / "slow"
    folder.mkdir()
    for i in range(3):
        nb = nbformat.v4.new_notebook()
        nb.metadata = {"kernelspec": {"name": "kpi", "display_name": "kpi", "language": "python"}}
        params = nbformat.v4.new_code_cell("fiscal_year = 2021")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})")]
        nbformat.write(nb, folder / f"slow{i}.ipynb")
    return folder


@pytest.mark.serial  # a time bound: run alone, after the parallel run
def test_ctrl_c_stops_within_seconds_and_cleans_up(tmp_path):
    out = tmp_path / "FY2021"
    slow = _slow_notebooks(tmp_path, 120)
    proc = subprocess.Popen(
        [
            *KPI,
            "report",
            "--fiscal-year",
            "2021",
            "--out",
            str(out),
            "--notebooks",
            str(slow),
            "--deep-dive",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    for line in proc.stderr:  # wait until the notebooks are running
        if "notebooks with" in line:
            break
    time.sleep(4)
    stopped = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=60)[1]
    took = time.monotonic() - stopped
    assert proc.returncode == 130 and "interrupted" in rest
    assert took < 15, f"took {took:.1f} s to stop"
    assert not out.exists() and not list(tmp_path.glob(".FY2021.building-*"))
    # this run's kernels only (their sockets are in kpi-ipc-<the report's pid>-…): other runs
    # on the machine have their own
    kernels = subprocess.run(
        ["pgrep", "-f", f"kpi-ipc-{proc.pid}-"], capture_output=True, text=True
    ).stdout.split()
    assert not kernels, f"kernels still running: {kernels}"


@pytest.mark.serial  # a time bound: run alone, after the parallel run
def test_a_hung_cell_fails_its_notebook_at_the_timeout(tmp_path):
    slow = _slow_notebooks(tmp_path, 60)
    for extra in ("slow1.ipynb", "slow2.ipynb"):
        (slow / extra).unlink()
    start = time.monotonic()
    proc = kpi(
        "report",
        "--fiscal-year",
        2021,
        "--out",
        tmp_path / "FY2021",
        "--notebooks",
        slow,
        "--deep-dive",
        "--timeout",
        3,
    )
    assert proc.returncode == 1 and "timeout of 3 s" in proc.stderr
    assert time.monotonic() - start < 45
    # kept for debugging, written when it ended (papermill no longer writes it at every cell)
    import nbformat

    kept = nbformat.read(tmp_path / "FY2021.failed" / "slow0.ipynb", as_version=4)
    hung = kept.cells[-1]
    assert "time.sleep(60)" in hung.source and hung.metadata.papermill["start_time"]


# ── nothing injected ──────────────────────────────────────────────────────────


@pytest.fixture()
def hostile_catalog(tmp_path) -> Path:
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    raw["goals"][1]["title_ja"] = f"目標 {HOSTILE_SCRIPT} {JINJA}"
    for k in raw["kpis"]:
        if k["kpi_id"] == "G2-2-3":
            k["name_ja"] = FORMULA
        if k["kpi_id"] == "G3-1-1":
            k["name_ja"] = f"出生件数 {HOSTILE_IMG} {JINJA}"
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _hostile_actuals(tmp_path) -> Path:
    path = tmp_path / "actuals.csv"
    rows = list(csv.reader((FIXTURES / "actuals_good.csv").open(encoding="utf-8-sig")))
    header = rows[0]
    src, note = header.index("出典・担当課"), header.index("備考")
    for row in rows[1:]:
        if row[0] == "G2-3-1":
            row[src], row[note] = HOSTILE_SCRIPT, HOSTILE_IMG
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_catalog_and_workbook_text_reaches_html_escaped(tmp_path, hostile_catalog):
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data, ignore=shutil.ignore_patterns("actuals"))
    (data / "actuals").mkdir()
    shutil.copy(_hostile_actuals(tmp_path), data / "actuals" / "entry.csv")
    nbs = some_notebooks(tmp_path, "01_scorecard.ipynb", "05_kpi_deep_dive.ipynb")
    out = tmp_path / "FY2021"
    proc = kpi(
        "report",
        "--fiscal-year",
        2021,
        "--out",
        out,
        "--catalog",
        hostile_catalog,
        "--data",
        data,
        "--notebooks",
        nbs,
        "--deep-dive",
        "G2-3-1",
        "G3-1-1",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    pages = [
        "01_scorecard.html",
        "05_kpi_deep_dive_G2-3-1.html",
        "05_kpi_deep_dive_G3-1-1.html",
        "index.html",
        *(p.name for p in out.glob("goal*.html")),
    ]
    assert "goal2.html" in pages
    for page in pages:
        text = (out / page).read_text(encoding="utf-8")
        assert HOSTILE_SCRIPT not in text and HOSTILE_IMG not in text, page
        if page in ("index.html", "goal2.html", "05_kpi_deep_dive_G3-1-1.html"):
            assert JINJA in visible_text(text), page  # the goal's title, the KPI's name
    assert "&lt;script&gt;alert" in (out / "goal2.html").read_text(
        encoding="utf-8"
    )  # goal title and 出典
    card = (out / "01_scorecard.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert" in card  # shown as text, not run
    deep = (out / "05_kpi_deep_dive_G2-3-1.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert" in deep  # the 出典・担当課 of the analysts' file


def test_spreadsheet_formulas_are_defused_in_xlsx_and_csv(tmp_path, hostile_catalog):
    def scorecard(fmt: str) -> Path:
        out = tmp_path / f"card.{fmt}"
        args = ("--as-of", 2021, "--catalog", hostile_catalog, "--format", fmt, "--out", out)
        assert kpi("scorecard", *args).returncode == 0
        return out

    ws = load_workbook(scorecard("xlsx"))["スコアカード"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(c.value == FORMULA and c.data_type == "s" for c in cells)  # shown as the text it is
    raw = scorecard("csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows the Japanese text
    rows = {r["kpi_id"]: r for r in csv.DictReader(raw.decode("utf-8-sig").splitlines())}
    assert rows["G2-2-3"]["name_ja"] == "'" + FORMULA
    assert float(rows["G2-0"]["latest_value"]) == -103  # a real negative number stays a number
    template = tmp_path / "entry.xlsx"
    assert kpi("template", "--out", template, "--catalog", hostile_catalog).returncode == 0
    ws = load_workbook(template)["実績入力"]
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]


# ── no impossible values ──────────────────────────────────────────────────────


def _entry(tmp_path, edits: dict, name="entry.csv", drop_columns=(), encoding="utf-8") -> Path:
    """The good fixture with cells replaced: {(kpi_id, header): value}."""
    rows = list(csv.reader((FIXTURES / "actuals_good.csv").open(encoding="utf-8-sig")))
    header = rows[0]
    catalog = load_catalog()
    for (kpi_id, column), value in edits.items():
        if column not in header:  # an optional column the fixture lacks (確認済み)
            header.append(column)
        row = next((r for r in rows[1:] if r[0] == kpi_id), None)
        if row is None:
            row = [kpi_id] + [""] * (len(header) - 1)
            row[header.index("単位")] = catalog.get(kpi_id).unit
            rows.append(row)
        row.extend([""] * (len(header) - len(row)))
        row[header.index(column)] = value
    keep = [j for j, h in enumerate(header) if h not in drop_columns]
    path = tmp_path / name
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([[r[j] for j in keep if j < len(r)] for r in rows])
    return path


@pytest.mark.parametrize(
    ("kpi_id", "value", "expected"),
    [
        ("G2-3-1", "-5", "cannot be below 0"),  # a count
        ("G4-0", "130", "cannot exceed 100"),  # a percentage
    ],
)
def test_impossible_values_are_refused_with_file_row_kpi_and_column(
    tmp_path, kpi_id, value, expected
):
    path = _entry(tmp_path, {(kpi_id, "2021年度(R3)"): value})
    with pytest.raises(InputErrors) as info:
        read_actuals(path, load_catalog())
    text = str(info.value)
    assert (
        "entry.csv" in text
        and f"KPI {kpi_id}" in text
        and "column '2021年度(R3)'" in text
        and expected in text
    )
    proc = kpi("validate", path)
    assert proc.returncode == 2 and expected in proc.stderr
    no_traceback(proc)


def test_net_migration_may_be_negative():
    # the strategy writes ▲100: negatives are possible for 社会移動数
    assert load_catalog().get("G2-0").bounds() == (None, None)


def test_an_implausible_value_needs_confirmation(tmp_path):
    path = _entry(tmp_path, {("G2-3-1", "2021年度(R3)"): "1,000,000,000,000,000"})
    with pytest.raises(
        InputErrors, match=r"KPI G2-3-1, column '2021年度\(R3\)': implausible value"
    ):
        read_actuals(path, load_catalog())
    path = _entry(
        tmp_path,
        {("G2-3-1", "2021年度(R3)"): "1,000,000,000,000,000", ("G2-3-1", "確認済み"): "はい"},
        name="ok.csv",
    )
    df = read_actuals(path, load_catalog())
    assert df[(df.kpi_id == "G2-3-1") & (df.year == 2021)].value.iloc[0] == 1e15


def test_a_jump_against_the_other_years_is_flagged(tmp_path):
    path = _entry(
        tmp_path,
        {
            ("G2-2-2", "2020年度(R2)"): "5",
            ("G2-2-2", "2021年度(R3)"): "6",
            ("G2-2-2", "2022年度(R4)"): "700",
        },
    )
    with pytest.raises(InputErrors, match="implausible jump to 700"):
        read_actuals(path, load_catalog())


def test_a_deleted_year_column_is_an_error(tmp_path):
    path = _entry(tmp_path, {}, drop_columns=("2022年度(R4)",))
    proc = kpi("validate", path)
    assert proc.returncode == 2 and "2022年度(R4) are missing" in proc.stderr


def test_a_deleted_fixed_column_keeps_every_year(tmp_path):
    path = _entry(tmp_path, {}, drop_columns=("目標（原文）",))
    df = read_actuals(path, load_catalog())
    assert df[df.kpi_id == "G2-3-1"].year.min() == 2019  # the first year column is not swallowed


def test_no_year_columns_is_an_error(tmp_path):
    years = [
        h
        for h in next(csv.reader((FIXTURES / "actuals_good.csv").open(encoding="utf-8-sig")))
        if "年度(" in h
    ]
    path = _entry(tmp_path, {}, drop_columns=tuple(years))
    proc = kpi("validate", path)
    assert proc.returncode == 2 and "no fiscal-year columns" in proc.stderr


def test_shift_jis_csv_is_read_and_garbage_names_its_row(tmp_path):
    path = _entry(tmp_path, {("G2-3-1", "備考"): "市の集計"}, encoding="cp932")
    df = read_actuals(path, load_catalog())
    assert "市の集計" in set(df.note.dropna())
    bad = tmp_path / "bad.csv"
    bad.write_bytes(path.read_bytes() + b"G2-3-1,\xff\xfe\xfa\n")
    with pytest.raises(
        Exception, match=r"bad.csv, row \d+: this row is neither UTF-8 nor Shift_JIS"
    ):
        read_actuals(bad, load_catalog())


@pytest.mark.parametrize(
    "args",
    [
        ("scorecard", "--as-of", "2017"),
        ("scorecard", "--as-of", "2031"),
        ("report", "--fiscal-year", "2010"),
    ],
)
def test_years_the_catalog_cannot_judge_exit_2(args):
    proc = kpi(*args)
    assert proc.returncode == 2 and "outside what this catalog can judge" in proc.stderr
    assert "[report] FY" not in proc.stderr  # refused before any notebook


def test_unknown_municipality_exits_2_before_any_notebook(tmp_path):
    proc = kpi("report", "--fiscal-year", 2024, "--municipality", "999999", "--out", tmp_path / "r")
    assert (
        proc.returncode == 2
        and "unknown 団体コード" in proc.stderr
        and "notebooks with" not in proc.stderr
    )
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("scorecard", "--as-of", "2021", "--format", "csv", "--out", "{dir}"),
        ("template", "--out", "{dir}"),
    ],
)
def test_a_folder_as_a_file_output_is_exit_2(tmp_path, args):
    proc = kpi(*[a.replace("{dir}", str(tmp_path)) for a in args])
    assert proc.returncode == 2 and "is a folder" in proc.stderr
    no_traceback(proc)


def test_forecast_panel_refuses_inf_and_absurd_spans_and_notes_short_series(tmp_path):
    src = tmp_path / "p.csv"

    def panel(text, out=tmp_path / "o.csv"):
        src.write_text(text)
        return kpi(
            "forecast-panel", "--input", src, "--through", 2019, "--horizon", 2, "--out", out
        )

    proc = panel("series_id,year,value\na,2018,1\na,2019,inf\n")
    assert proc.returncode == 2 and "row 3" in proc.stderr and "finite" in proc.stderr
    proc = panel("series_id,year,value\na,2018,1\na,99999999,2\n")
    assert proc.returncode == 2 and "at most 300" in proc.stderr
    no_traceback(proc)
    good = "series_id,year,value\na,2016,1\na,2017,2\na,2018,3\na,2019,4\nb,2019,5\n"
    proc = panel(good)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader((tmp_path / "o.csv").read_text(encoding="utf-8-sig").splitlines()))
    short = [r for r in rows if r["series_id"] == "b"]
    assert short and all("2点以上が必要" in r["note"] and r["forecast"] == "" for r in short)
    proc = panel(good, out=tmp_path)
    assert proc.returncode == 2 and "is a folder" in proc.stderr


def test_errors_are_kpi_errors_not_tracebacks():
    with pytest.raises(KpiError):
        load_catalog().check_evaluation_year(1999)


def test_library_errors_name_parameters_and_the_cli_names_options():
    from kpi_lib.catalog.model import load_catalog
    from kpi_lib.core.errors import ArgumentError

    with pytest.raises(ArgumentError) as exc:
        load_catalog().check_evaluation_year(2040, "fiscal_year")
    assert str(exc.value).startswith("fiscal_year 2040 is outside")
    assert exc.value.for_cli().startswith("--fiscal-year 2040 is outside")
    proc = subprocess.run(
        [*KPI, "scorecard", "--as-of", "2040"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "--fiscal-year 2040 is outside" in proc.stderr
