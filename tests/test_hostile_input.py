"""Hostile input, round 2 (issue 19, the input half): every case ends in exit 2 with a message
naming the file and the row, field or option, and nothing half-written; or it succeeds.

The hostile files are built here, small: bounds are tested with files just above them, streamed
so that no test holds more than a few MB.
"""

import csv
import datetime
import os
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import pytest
from openpyxl import load_workbook

from kpi_lib import cli
from kpi_lib.catalog.model import load_catalog
from kpi_lib.core import limits
from kpi_lib.core.errors import KpiError
from kpi_lib.core.paths import DEFAULT_CATALOG, PROJECT_ROOT
from kpi_lib.evaluation.outlook import load_config
from kpi_lib.observations.actuals import default_files, read_actuals
from kpi_lib.observations.template import write_template
from kpi_lib.reporting import batch
from kpi_lib.sources.ingest import read_public
from tests.conftest import FIXTURES
from tests.helpers import make_kpi

matplotlib.use("Agg")

CATALOG_TEXT = DEFAULT_CATALOG.read_text(encoding="utf-8")
FIRST_NAME = "  name_ja: 市内企業等における新規雇用者数\n"


def run(capsys, *args) -> tuple[int, str, str]:
    """`kpi ARGS` in this process: (exit code, stdout, stderr); argparse's exits included."""
    try:
        rc = cli.main([str(a) for a in args])
    except SystemExit as exc:
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return rc, out, err


def catalog_file(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(capsys, *args, says: list[str]) -> str:
    rc, _, err = run(capsys, *args)
    assert rc == 2, err
    for part in says:
        assert part in err, (part, err)
    return err


# ── YAML: duplicate keys, bombs, depth, encodings (items 4, 9 and Low) ────────


def test_a_second_kpis_block_is_refused_with_its_line(tmp_path, capsys):
    text = CATALOG_TEXT + "\nkpis:\n- kpi_id: X\n"
    path = catalog_file(tmp_path, text)
    line = text.count("\n", 0, text.rindex("\nkpis:")) + 2
    refused(
        capsys,
        "validate",
        path,
        says=[str(path), f"line {line}", "duplicate key 'kpis' (first on line 18)"],
    )


def test_a_duplicate_target_is_refused(tmp_path, capsys):
    text = CATALOG_TEXT.replace(FIRST_NAME, FIRST_NAME + "  target: {year: 2024, kind: maintain}\n")
    path = catalog_file(tmp_path, text)
    refused(
        capsys,
        "validate",
        path,
        says=[str(path), "line 30: duplicate key 'target' (first on line 25)"],
    )


def test_the_forecast_configuration_refuses_duplicate_keys(tmp_path):
    path = catalog_file(tmp_path, "level: 0.8\nlevel: 0.5\n", "forecast.yaml")
    with pytest.raises(KpiError, match="line 2: duplicate key 'level'") as exc:
        load_config(path)
    assert exc.value.exit_code == 2


def test_a_yaml_alias_bomb_is_refused(tmp_path, capsys):
    # 9 levels of 9 aliases each: 9^9 = 387 million leaves from a 350-byte file.
    lines, previous = ["a: &a [x, x, x, x, x, x, x, x, x]"], "a"
    for name in "bcdefghij":
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    path = catalog_file(tmp_path, "\n".join(lines) + "\n")
    assert path.stat().st_size < 500
    refused(capsys, "validate", path, says=[str(path), "aliases are expanded"])


def test_too_many_aliases_are_refused(tmp_path, capsys):
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (limits.MAX_YAML_ALIASES + 1)) + "]\n"
    path = catalog_file(tmp_path, text)
    refused(capsys, "validate", path, says=[str(path), f"more than {limits.MAX_YAML_ALIASES}"])


def test_a_500_deep_yaml_is_refused(tmp_path, capsys):
    path = catalog_file(tmp_path, "kpis: " + "[" * 500 + "]" * 500 + "\n")
    refused(capsys, "validate", path, says=[str(path), "line 1", "nested deeper than 40"])


def test_an_oversized_yaml_is_refused_unread(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    with path.open("w") as f:
        f.write("# " + "x" * limits.MAX_YAML_BYTES + "\n")
    refused(capsys, "validate", path, says=[str(path), "bytes: a catalog file is at most"])


def test_a_shift_jis_catalog_names_the_line(tmp_path, capsys):
    path = tmp_path / "sjis.yaml"
    path.write_bytes(CATALOG_TEXT.encode("cp932", errors="replace"))
    refused(capsys, "validate", path, says=[str(path), "line 1: not UTF-8 text"])


def test_a_5000_digit_integer_is_refused(tmp_path, capsys):
    text = CATALOG_TEXT.replace("value: 106043000,", f"value: {'1' * 5000},")
    path = catalog_file(tmp_path, text)
    refused(capsys, "validate", path, says=[str(path), "line 38", "an integer of 5000 digits"])


def test_nan_and_infinity_are_not_values(tmp_path, capsys):
    path = catalog_file(tmp_path, CATALOG_TEXT.replace("value: 106043000,", "value: .nan,"))
    refused(capsys, "validate", path, says=["KPI G1-1-1", "baseline.value", "finite"])
    path = catalog_file(tmp_path, CATALOG_TEXT.replace("value: 106043000,", "value: .inf,"))
    refused(capsys, "validate", path, says=["KPI G1-1-1", "baseline.value", "finite"])


def test_a_bom_and_crlf_catalog_is_read(tmp_path, capsys):
    path = tmp_path / "crlf.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + CATALOG_TEXT.replace("\n", "\r\n").encode("utf-8"))
    rc, out, err = run(capsys, "validate", path)
    assert rc == 0, err
    assert "65 indicators" in out


def test_a_tab_indent_names_its_line(tmp_path, capsys):
    path = catalog_file(tmp_path, CATALOG_TEXT.replace("  goal: 1\n", "\tgoal: 1\n", 1))
    refused(capsys, "validate", path, says=[str(path), "line 21", "'\\t'"])


def test_kpis_as_a_mapping_is_refused(tmp_path, capsys):
    path = catalog_file(tmp_path, CATALOG_TEXT.replace("kpis:\n", "kpis:\n  first:\n", 1))
    rc, _, err = run(capsys, "validate", path)
    assert rc == 2 and str(path) in err


def test_forecast_yaml_errors_name_file_and_field(tmp_path):
    path = catalog_file(tmp_path, "level: [0.8\n", "forecast.yaml")
    with pytest.raises(KpiError, match=r"forecast.yaml: line 2, column 1: not valid YAML"):
        load_config(path)
    path.write_text("level: 2\nmethod: magic\n", encoding="utf-8")
    with pytest.raises(KpiError) as exc:
        load_config(path)
    message = str(exc.value)
    assert "column 'level': Input should be less than 1 (got 2)" in message
    assert "column 'method': unknown method 'magic'" in message
    assert "validation error" not in message and "pydantic" not in message


def test_a_300_character_kpi_id_is_refused(tmp_path, capsys):
    path = catalog_file(tmp_path, CATALOG_TEXT.replace("kpi_id: G1-0\n", f"kpi_id: {'G' * 300}\n"))
    refused(capsys, "validate", path, says=["kpis[0]", "kpi_id", "at most 40 characters"])


# ── report --catalog-dir names (item 5) ───────────────────────────────────────


def test_two_catalogs_with_one_stem_are_refused(tmp_path):
    folder = tmp_path / "towns"
    folder.mkdir()
    for name in ("town.yaml", "town.yml"):
        (folder / name).write_text(CATALOG_TEXT, encoding="utf-8")
    with pytest.raises(KpiError, match=r"town.yaml and town.yml would both be reported into town/"):
        batch.run_batch(2024, folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["..yaml", ".hidden.yaml", "a\x1b[2J.yaml"])
def test_catalog_names_that_are_no_folder_are_refused(tmp_path, name):
    folder = tmp_path / "towns"
    folder.mkdir()
    (folder / name).write_text(CATALOG_TEXT, encoding="utf-8")
    with pytest.raises(KpiError, match="may not start with a dot or hold control characters"):
        batch.run_batch(2024, folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out*"))  # no lock or staging left


@pytest.mark.parametrize(
    "names", [("index.html.yaml",), ("town.yaml", "town.failed.yaml"), ("A.yaml", "a.FAILED.yml")]
)
def test_catalog_names_the_batch_writes_itself_are_refused(tmp_path, names):
    """A town's folder named index.html would be the summary's path (refused only after every
    report was built); one named town.failed is where a failed run of town.yaml is kept, which
    would have replaced that town's finished report."""
    folder = tmp_path / "towns"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(CATALOG_TEXT, encoding="utf-8")
    with pytest.raises(KpiError, match="is a name the batch writes itself"):
        batch.run_batch(2024, folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_javascript_catalog_name_is_a_relative_link(tmp_path):
    from kpi_lib.evaluation.scorecard import build_scorecard
    from kpi_lib.observations.handle import load_observations

    target = tmp_path / "out" / "javascript:alert(document.cookie)"  # from that catalog's stem
    target.mkdir(parents=True)
    catalog = load_catalog()
    card = build_scorecard(catalog, load_observations(catalog), 2024, forecast=False)
    row = batch._summary_row(card, target)
    assert row["達成"] == card.results().get("達成", 0)
    assert row["報告"] == "javascript%3Aalert%28document.cookie%29/index.html"
    html = batch._summary_html(2024, [row], [])
    assert 'href="javascript%3Aalert%28document.cookie%29/index.html"' in html
    assert "javascript:" not in html


# ── numeric options (items 6, 7 and Low) ──────────────────────────────────────


@pytest.fixture
def panel(tmp_path) -> Path:
    path = tmp_path / "panel.csv"
    rows = [f"a,{y},{y - 1900}" for y in range(2010, 2021)]
    path.write_text("series_id,year,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_forecast_panel_through_beyond_the_data_is_refused(tmp_path, capsys, panel):
    out = tmp_path / "f.csv"
    args = ["forecast-panel", "--input", panel, "--horizon", 2, "--out", out, "--through"]
    refused(capsys, *args, 2100, says=["--through 2100", "runs from 2010 to 2020"])
    assert not out.exists()
    rc, _, err = run(capsys, *args, 2020)
    assert rc == 0, err
    years = [r["year"] for r in csv.DictReader(out.open(encoding="utf-8-sig"))]
    assert years == ["2021", "2022"]  # labelled from the last year fitted


PANEL = "forecast-panel --input p.csv --out o.csv"


@pytest.mark.parametrize(
    "command, accepted",
    [
        ("scorecard --as-of 2021 --maintain-tolerance nan", "[0, 1]"),
        ("scorecard --as-of 2021 --maintain-tolerance -1", "[0, 1]"),
        ("scorecard --as-of 2021 --maintain-points inf", "[0, 100]"),
        ("scorecard --fiscal-year 1e3", "[1900, 2100]"),
        ("report --fiscal-year 9223372036854775807", "[1900, 2100]"),
        ("report --fiscal-year 2024 --jobs 0", "[1, 64]"),
        ("report --fiscal-year 2024 --timeout -5", "[1, 86400]"),
        (f"{PANEL} --horizon 2 --through 9223372036854775807", "[1900, 2100]"),
        (f"{PANEL} --horizon 2 --through {'1' * 5000}", "[1900, 2100]"),
        (f"{PANEL} --through 2020 --horizon 0", "[1, 30]"),
        (f"{PANEL} --through 2020 --horizon 2 --level 1", "(0, 1)"),
        ("bench --level nan", "(0, 1)"),
        ("scorecard --as-of ٢٠٢١", "[1900, 2100]"),  # the earlier name, the same check
    ],
)
def test_numeric_options_are_range_checked(capsys, command, accepted):
    args = command.split()
    # argparse names the option with its aliases: `argument --fiscal-year/--as-of: expected`
    option = re.compile(rf"argument (\S+/)?{re.escape(args[-2])}(/\S+)?: expected")
    err = refused(capsys, *args, says=[accepted, args[-1][:40]])
    assert option.search(err), err


def test_a_period_out_of_range_is_refused(tmp_path, capsys):
    out = tmp_path / "t.yaml"
    for period in ("2029-2025", "0000-0004", "2025-2099", "٢٠٢٥-٢٠٢٩"):
        refused(
            capsys,
            "catalog",
            "init",
            "--municipality",
            "012165",
            "--out",
            out,
            "--period",
            period,
            says=["--period", "1900–2100, at most ten years"],
        )
    assert not out.exists()


def test_ascii_terminal_gets_escapes_not_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONIOENCODING": "ascii"}
    kpi = [sys.executable, "-m", "kpi_lib.cli"]
    proc = subprocess.run([*kpi, "catalog"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "\\u5e02\\u5185" in proc.stdout  # 市内, escaped
    bad = catalog_file(tmp_path, "a: 1\na: 2\n", "芦別.yaml")
    proc = subprocess.run([*kpi, "validate", bad], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "\\u82a6\\u5225.yaml: line 2: duplicate key 'a'" in proc.stderr


# ── characters (items 8 and 10) ───────────────────────────────────────────────

HEADER = (FIXTURES / "actuals_good.csv").read_text(encoding="utf-8").splitlines()[0]
YEAR_2021 = HEADER.split(",").index("2021年度(R3)")


def actuals_csv(tmp_path: Path, cells: dict[int, str], name="a.csv") -> Path:
    """An entry CSV with one row for G2-3-1 (合宿者入込数, 人) and the given cells."""
    row = ["G2-3-1", "2", "3-①", "合宿者入込数", "人"] + [""] * (len(HEADER.split(",")) - 5)
    for j, v in cells.items():
        row[j] = v
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        csv.writer(f).writerow(row)
    return path


@pytest.mark.parametrize("value", ["10²", "5³", "⑳", "١٢", "1٢"])
def test_digits_nfkc_would_fold_are_not_numbers(tmp_path, capsys, value):
    path = actuals_csv(tmp_path, {YEAR_2021: value})
    refused(
        capsys,
        "validate",
        path,
        says=[str(path), "row 2", "KPI G2-3-1", "column '2021年度(R3)'", f"found '{value}'"],
    )


def test_full_width_digits_are_still_numbers(tmp_path, capsys):
    path = actuals_csv(tmp_path, {YEAR_2021: "１５，０２０"})
    rc, out, err = run(capsys, "validate", path)
    assert rc == 0, err
    assert "1 values for 1 KPIs" in out


def test_a_5000_digit_cell_is_not_finite(tmp_path, capsys):
    path = actuals_csv(tmp_path, {YEAR_2021: "1" * 5000})
    refused(capsys, "validate", path, says=["row 2", "column '2021年度(R3)'", "finite"])


def test_control_characters_in_an_actuals_cell_are_refused(tmp_path, capsys):
    source = HEADER.split(",").index("出典・担当課")
    path = actuals_csv(tmp_path, {YEAR_2021: "15020", source: "企画課\x1b[2J"})
    err = refused(capsys, "validate", path, says=["row 2", "control character U+001B"])
    assert "\x1b" not in err


def test_control_characters_in_a_catalog_are_refused_and_never_printed_raw(tmp_path, capsys):
    text = CATALOG_TEXT.replace(FIRST_NAME, '  name_ja: "新規\\e[31m雇用者数"\n')
    path = catalog_file(tmp_path, text)
    err = refused(
        capsys, "validate", path, says=["KPI G1-0", "name_ja", "control character U+001B"]
    )
    assert "\x1b" not in err
    out = tmp_path / "t.xlsx"
    refused(capsys, "template", "--out", out, "--catalog", path, says=["U+001B"])
    assert not out.exists()


def test_a_file_name_with_escapes_is_printed_escaped(tmp_path, capsys):
    err = refused(capsys, "validate", tmp_path / "x\x1b]0;owned\x07.csv", says=["file not found"])
    assert "\x1b" not in err and "\\x1b]0;owned\\x07.csv" in err


def test_a_character_the_chart_font_lacks_is_reported(tmp_path, capsys):
    text = CATALOG_TEXT.replace(FIRST_NAME, "  name_ja: 𠮷田の新規雇用者数😀\n")
    path = catalog_file(tmp_path, text)
    refused(
        capsys,
        "validate",
        path,
        says=["KPI G1-0", "column 'name_ja'", "𠮷 (U+20BB7), 😀 (U+1F600) not in the charts' font"],
    )


def test_the_chart_draws_a_missing_glyph_as_geta(tmp_path):
    from kpi_lib.reporting import charts

    charts.use_style()
    kpi = make_kpi(value=120).model_copy(update={"name_ja": "𠮷田の인구", "unit": "人"})
    ev = SimpleNamespace(
        baseline_year=2018,
        baseline_value=100.0,
        target_resolved=120.0,
        target_year=2024,
        latest_year=None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns per missing glyph
        ax = charts.kpi_chart(kpi, ev)
        ax.figure.savefig(tmp_path / "c.png")
    assert ax.get_title() == "〓田の〓〓"


# ── actuals/: which files, special files, formulas, sizes (items 9, 11 and Low) ─


def test_one_rule_for_the_files_of_actuals(tmp_path, capsys):
    folder = tmp_path / "actuals"
    folder.mkdir()
    catalog = load_catalog()
    wb = folder / "dept.xlsm"
    write_template(catalog, wb)
    (folder / "y.csv").mkdir()
    os.mkfifo(folder / "pipe.csv")
    (folder / "notes.txt").write_text("memo", encoding="utf-8")
    (folder / "~$dept.xlsx").write_text("lock", encoding="utf-8")
    (folder / "README.md").write_text("# 記入方法", encoding="utf-8")  # as data/actuals/ has
    assert default_files(folder) == [wb]
    err = capsys.readouterr().err
    assert f"skipped {folder / 'y.csv'}: not a regular file" in err
    assert f"skipped {folder / 'pipe.csv'}: not a regular file" in err
    assert f"skipped {folder / 'notes.txt'}: not an .xlsx/.xlsm workbook or a .csv file" in err
    assert "~$" not in err
    assert "README" not in err  # the bundled run no longer warns about the folder's own guide
    rc, out, err = run(capsys, "validate", wb)  # validate reads what the folder scan reads
    assert rc == 0, err
    assert "dept.xlsm: analysts' actuals" in out
    for special in ("y.csv", "pipe.csv"):  # never opened (a FIFO would block)
        refused(capsys, "validate", folder / special, says=["not a regular file"])
        with pytest.raises(KpiError, match="not a regular file"):
            read_actuals(folder / special, catalog)


def test_a_formula_without_a_saved_value_names_its_cell(tmp_path, capsys):
    path = tmp_path / "f.xlsx"
    write_template(load_catalog(), path)
    wb = load_workbook(path)
    ws = wb["実績入力"]
    ws["N4"] = "=100+1"  # openpyxl saves formulas without a cached value
    wb.save(path)
    refused(
        capsys,
        "validate",
        path,
        says=[
            str(path),
            "sheet '実績入力'",
            "row 4",
            "column 'N'",
            "a formula (=100+1) with no saved",
        ],
    )


def test_an_xlsx_that_expands_beyond_the_bound_is_refused_before_opening(tmp_path, capsys):
    path = tmp_path / "bomb.xlsx"
    write_template(load_catalog(), path)
    chunk = b"<t>" + b"A" * 1_000_000 + b"</t>"
    with (
        zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("xl/sharedStrings2.xml", "w") as f,  # streamed: a few MB of memory
    ):
        for _ in range(limits.MAX_XLSX_UNCOMPRESSED // len(chunk) + 1):
            f.write(chunk)
    assert path.stat().st_size < 1_000_000
    refused(
        capsys, "validate", path, says=[str(path), "xl/sharedStrings2.xml", "at most 100,000,000"]
    )


def test_a_csv_field_over_csv_s_limit_names_its_row(tmp_path, capsys):
    path = actuals_csv(tmp_path, {HEADER.split(",").index("備考"): "x" * 131_073})
    refused(capsys, "validate", path, says=[str(path), "row 2", "not a readable CSV row"])


def test_an_overlong_cell_is_refused(tmp_path, capsys):
    path = actuals_csv(tmp_path, {HEADER.split(",").index("備考"): "x" * 40_000})
    refused(
        capsys,
        "validate",
        path,
        says=["row 2", "column 'T'", "a text of 40,000 characters (at most 32,767"],
    )


def test_an_oversized_csv_is_refused_unread(tmp_path, capsys):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for _ in range(limits.MAX_CSV_BYTES // 1_000_000 + 1):
            f.write(("," * 99 + "\n") * 10_000)
    refused(capsys, "validate", path, says=[str(path), "a CSV file is at most 20,000,000 bytes"])


def test_too_many_rows_are_refused(tmp_path, capsys):
    path = tmp_path / "rows.csv"
    path.write_text(HEADER + "\n" + ",\n" * limits.MAX_ROWS, encoding="utf-8")
    refused(capsys, "validate", path, says=[str(path), "more than 20,000 rows"])


def test_a_truncated_public_table_is_an_input_error(tmp_path):
    public = PROJECT_ROOT / "data" / "public" / "jumin.csv.gz"
    (tmp_path / "jumin.csv.gz").write_bytes(public.read_bytes()[:5000])
    with pytest.raises(
        KpiError, match=r"jumin.csv.gz: bundled data is damaged .*kpi ingest"
    ) as exc:
        read_public("jumin", tmp_path)
    assert exc.value.exit_code == 2
    (tmp_path / "jumin.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(KpiError, match="bundled data is damaged"):
        read_public("jumin", tmp_path)


# ── found in the second pass (beyond the list) ────────────────────────


@pytest.mark.parametrize(
    "written, read_as",
    [("010", "8"), ("0x1F", "31"), ("1:30", "90"), ("0b101", "5")],
)
def test_yaml_1_1_number_forms_are_refused(tmp_path, capsys, written, read_as):
    path = catalog_file(tmp_path, CATALOG_TEXT.replace("value: 106043000,", f"value: {written},"))
    refused(capsys, "validate", path, says=["line 38", f"{written} is read by YAML as {read_as}"])


def test_an_unquoted_municipality_code_is_refused_not_read_as_octal(tmp_path, capsys):
    path = catalog_file(tmp_path, CATALOG_TEXT.replace('"012165"', "012165"))
    assert path.read_text(encoding="utf-8") != CATALOG_TEXT
    refused(capsys, "validate", path, says=["012165 is read by YAML as 5237", "quote it"])


def test_binary_and_set_tags_are_refused(tmp_path, capsys):
    path = catalog_file(tmp_path, CATALOG_TEXT.replace(FIRST_NAME, "  name_ja: !!binary aGk=\n"))
    refused(capsys, "validate", path, says=["line 24", "tag:yaml.org,2002:binary is not allowed"])


def test_a_catalog_without_kpis_is_refused(tmp_path, capsys):
    path = catalog_file(tmp_path, CATALOG_TEXT[: CATALOG_TEXT.index("kpis:")] + "kpis: []\n")
    refused(capsys, "validate", path, says=["column 'kpis'", "at least 1 item"])


def test_bidirectional_overrides_and_huge_texts_are_refused(tmp_path, capsys):
    path = catalog_file(tmp_path, CATALOG_TEXT.replace(FIRST_NAME, '  name_ja: "数\\u202e者"\n'))
    refused(capsys, "validate", path, says=["name_ja", "control character U+202E"])
    path = catalog_file(tmp_path, CATALOG_TEXT.replace(FIRST_NAME, f"  name_ja: {'あ' * 40_000}\n"))
    refused(capsys, "validate", path, says=["name_ja", "a text of 40,000 characters"])


def test_a_damaged_number_cell_in_a_workbook_names_its_row(tmp_path, capsys):
    good = tmp_path / "t.xlsx"
    write_template(load_catalog(), good)
    path = tmp_path / "nan.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":  # a number cell holding NaN, as no Excel writes
                data = data.replace(
                    b'<c r="N31" s="3" t="n" />', b'<c r="N31" t="n"><v>NaN</v></c>'
                )
                assert b"NaN" in data
            out.writestr(name, data)
    refused(capsys, "validate", path, says=[str(path), "sheet '実績入力', row 31", "cannot read"])


def test_dates_and_booleans_in_year_cells_are_not_numbers(tmp_path, capsys):
    path = tmp_path / "d.xlsx"
    write_template(load_catalog(), path)
    wb = load_workbook(path)
    wb["実績入力"]["N31"] = datetime.datetime(2021, 5, 1)
    wb["実績入力"]["O31"] = True
    wb.save(path)
    refused(
        capsys, "validate", path, says=["row 31", "found '2021-05-01 00:00:00'", "found 'True'"]
    )


def test_terminal_tables_escape_control_characters():
    import pandas as pd

    from kpi_lib.core.output import render

    text = render(pd.DataFrame({"source": ["課\x1b[2J\x9b31m\u202e"]}), "table")
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text
    assert "課\\x1b[2J\\x9b31m\\u202e" in text


def test_two_columns_with_one_name_are_refused(tmp_path, capsys):
    path = actuals_csv(tmp_path, {YEAR_2021: "15020"})
    text = path.read_text(encoding="utf-8").replace("備考", "出典・担当課", 1)
    path.write_text(text, encoding="utf-8")
    refused(capsys, "validate", path, says=[str(path), "row 1", "two columns named 出典・担当課"])


def test_a_fifo_as_panel_or_public_table_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "panel.csv"
    os.mkfifo(fifo)
    args = ["forecast-panel", "--input", fifo, "--through", 2020, "--horizon", 2]
    refused(capsys, *args, "--out", tmp_path / "o.csv", says=[f"{fifo}: not a regular file"])
    os.mkfifo(tmp_path / "jumin.csv.gz")
    with pytest.raises(KpiError, match="jumin.csv.gz: not a regular file"):
        read_public("jumin", tmp_path)


def test_a_bom_crlf_shift_jis_csv_is_read(tmp_path, capsys):
    path = actuals_csv(tmp_path, {YEAR_2021: "１５，０２０"})
    text = path.read_text(encoding="utf-8").replace("\n", "\r\n")
    path.write_bytes(text.encode("cp932"))
    rc, out, err = run(capsys, "validate", path)
    assert rc == 0, err
    assert "1 values for 1 KPIs" in out
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    rc, out, err = run(capsys, "validate", path)
    assert rc == 0, err


def test_an_xml_entity_bomb_in_a_workbook_is_refused(tmp_path, capsys):
    good = tmp_path / "t.xlsx"
    write_template(load_catalog(), good)
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">'
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )  # &i; expands to 10^9 characters
    path = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                assert data.startswith(b"<worksheet")  # openpyxl writes no XML declaration
                data = f"<!DOCTYPE worksheet [{entities}]>".encode() + data
                data = data.replace(b"<v>2018</v>", b"<v>&i;</v>", 1)
            out.writestr(name, data)
    assert path.stat().st_size < 50_000
    refused(capsys, "validate", path, says=[str(path), "cannot read", "declares XML entities"])
