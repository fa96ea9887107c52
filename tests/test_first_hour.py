"""What a new user meets first (issue 25): the venv check, the default report folder per town,
the notice for a year before the strategy's period, the terminal table's width."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_lib.catalog.model import load_catalog
from kpi_lib.core.output import display_width, fitted_table
from kpi_lib.core.paths import PROJECT_ROOT
from kpi_lib.reporting.runner import REPORTS_DIR, default_report_dir
from kpi_lib.reporting.tables import period_notice
from tests.conftest import FIXTURES, KPI

ENSURE_VENV = PROJECT_ROOT / "tools" / "ensure_venv.sh"


def _fake_python(folder: Path, version: str) -> Path:
    """An interpreter that reports `version` (what an old Debian python3 would say)."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "python"
    fake.write_text(f"#!/bin/sh\necho {version}\n", encoding="utf-8")
    fake.chmod(0o755)
    return fake


def _ensure(venv: Path, python: Path | str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(ENSURE_VENV), str(venv), str(python)], capture_output=True, text=True
    )


def test_too_old_python_is_refused_with_the_fix(tmp_path):
    proc = _ensure(tmp_path / ".venv", _fake_python(tmp_path / "old", "3.10.13"))
    assert proc.returncode == 2
    assert "Python 3.10.13" in proc.stderr and "3.11 or newer" in proc.stderr
    assert "make PYTHON=" in proc.stderr
    assert not (tmp_path / ".venv").exists()


def test_missing_python_is_named(tmp_path):
    proc = _ensure(tmp_path / ".venv", tmp_path / "no-such-python")
    assert proc.returncode == 2 and "was not found" in proc.stderr


def test_a_venv_left_on_a_too_old_python_is_made_anew(tmp_path):
    venv = tmp_path / ".venv"
    _fake_python(venv / "bin", "3.10.13")
    (venv / "pyvenv.cfg").write_text("version = 3.10.13\n", encoding="utf-8")
    proc = _ensure(venv, sys.executable)
    assert proc.returncode == 0, proc.stderr
    assert "making it anew" in proc.stderr
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info >= (3, 11))"],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "True"
    # a good venv is left as it is
    marker = venv / "kept"
    marker.write_text("", encoding="utf-8")
    assert _ensure(venv, sys.executable).returncode == 0 and marker.exists()


def test_a_folder_that_is_not_a_venv_is_never_removed(tmp_path):
    venv = tmp_path / ".venv"
    _fake_python(venv / "bin", "3.10.13")
    (venv / "notes.txt").write_text("mine", encoding="utf-8")
    proc = _ensure(venv, sys.executable)
    assert proc.returncode == 2 and "not a virtual environment" in proc.stderr
    assert (venv / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_the_makefile_runs_the_check_before_installing():
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not on this machine")
    dry = subprocess.run(
        [make, "-n", "-B", "report"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout
    lines = dry.splitlines()
    check = next(i for i, line in enumerate(lines) if "ensure_venv.sh" in line)
    install = next(i for i, line in enumerate(lines) if "pip install" in line)
    assert check < install
    assert "[test]" not in dry  # make report installs no test tools
    assert "--quiet" not in dry  # the install shows what it does


def test_the_default_report_folder_names_the_town():
    bundled = load_catalog()
    assert default_report_dir(bundled, 2024) == REPORTS_DIR / "012165_芦別市" / "FY2024"
    other = load_catalog(FIXTURES / "catalog_3rd_period.yaml")
    assert default_report_dir(other, 2025).parent.name.startswith(other.strategy.municipality_code)
    # a hostile name cannot lead the folder out of reports/
    hostile = other.model_copy(
        update={"strategy": other.strategy.model_copy(update={"municipality_ja": "../../etc"})}
    )
    folder = default_report_dir(hostile, 2025)
    assert folder.parent.parent == REPORTS_DIR and ".." not in folder.parts


def test_a_year_before_the_period_gets_a_notice():
    third = load_catalog(FIXTURES / "catalog_3rd_period.yaml")
    start = third.strategy.period.start
    notice = period_notice(third, start - 1)
    assert f"{start}〜{third.strategy.period.end}年度" in notice and "始まる前" in notice
    assert period_notice(third, start) == ""
    assert period_notice(load_catalog(), 2024) == ""  # the final year of the 2nd period


def test_the_terminal_scorecard_fits_120_columns_in_japanese():
    for year in ("2022", "2024"):
        proc = subprocess.run(
            [*KPI, "scorecard", "--as-of", year],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert max(display_width(line) for line in lines) <= 120
        header = lines[0]
        assert "指標" in header and "評価" in header
        assert "unable_to_assess" not in proc.stdout and "progress_status" not in proc.stdout
        assert len(lines) >= 66  # the header and every one of the 65 KPIs
    assert "最終評価" in header  # FY2024: the final verdicts


def test_a_fitted_table_clips_the_long_column_and_names_what_it_left_out():
    import pandas as pd

    df = pd.DataFrame({"ID": ["A-1"], "指標": ["長い指標名" * 20], "注記": ["x" * 90]})
    text = fitted_table(df, 60, "指標", optional=["注記"])
    lines = text.splitlines()
    assert max(display_width(line) for line in lines[:-1]) <= 60
    assert lines[1].endswith("…") and "省略: 注記" in lines[-1]
    escaped = fitted_table(pd.DataFrame({"指標": ["\x1b[31mred"]}), 60, "指標")
    assert "\x1b" not in escaped and "\\x1b" in escaped
