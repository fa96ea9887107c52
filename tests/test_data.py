"""The bundled dataset: rebuilt byte for byte, traceable, and mapped to the KPIs."""

import subprocess
import sys

import pytest

from kpi_lib.catalog.model import load_catalog
from kpi_lib.core.errors import InputError
from kpi_lib.core.paths import DEFAULT_PUBLIC_DIR
from kpi_lib.observations.handle import load_observations
from kpi_lib.observations.values import choose_values
from kpi_lib.sources.ingest import ingest, read_public
from tests.conftest import SHARED_DATA, need_shared


def test_ingest_rebuilds_data_public_byte_for_byte(tmp_path):
    need_shared()
    out = tmp_path / "public"
    ingest(SHARED_DATA, out)
    bundled = sorted(p.name for p in DEFAULT_PUBLIC_DIR.iterdir())
    assert sorted(p.name for p in out.iterdir()) == bundled
    for name in bundled:
        assert (out / name).read_bytes() == (DEFAULT_PUBLIC_DIR / name).read_bytes(), name


def test_a_bad_source_changes_nothing_already_ingested(tmp_path):
    need_shared()
    out = tmp_path / "public"
    out.mkdir()
    (out / "MANIFEST.json").write_text("{}")  # an earlier ingest
    (out / "keep.txt").write_text("old")
    bad = tmp_path / "source"
    (bad / "jumin").mkdir(parents=True)
    (bad / "jumin" / "1903ssjin.xls").write_bytes(b"not a workbook")
    with pytest.raises(InputError, match="1903ssjin.xls"):
        ingest(bad, out)
    assert sorted(p.name for p in out.iterdir()) == ["MANIFEST.json", "keep.txt"]
    assert [p.name for p in tmp_path.glob(".public.*")] == []  # no staging folder, no lock


def test_every_bundled_row_carries_source_licence_and_as_of():
    for name in ("jumin", "furusato", "furusato_r2", "furusato_detail", "ssds", "tourism"):
        df = read_public(name)
        assert df[["source", "licence", "source_file", "as_of"]].notna().all().all(), name
        assert len(df) > 1000


def test_bundled_scope():
    jumin = read_public("jumin")
    assert set(jumin.prefecture.dropna()) == {"北海道"}
    assert jumin[jumin.level == "municipality"].municipality_code.nunique() >= 179
    furusato = read_public("furusato")
    assert furusato.prefecture.nunique() == 47  # national, for context and panels


@pytest.fixture(scope="module")
def observations():
    return load_observations(load_catalog())


def _series(observations, kpi_id, provenance="public"):
    """The values that count (precedence rule) of one provenance."""
    rows = observations if provenance == "strategy" else choose_values(observations)
    rows = rows[(rows.kpi_id == kpi_id) & (rows.provenance == provenance)]
    return dict(zip(rows.year, rows.value, strict=True))


def test_four_public_series_map_to_kpis(observations):
    assert _series(observations, "G2-0")[2018] == -153  # 社会移動数 ← 社会増減数
    assert _series(observations, "G3-1-1")[2018] == 49  # 出生件数 ← 出生者数
    assert _series(observations, "G2-1-2")[2018] == pytest.approx(919_100)  # 千人 × 1,000
    assert _series(observations, "G2-2-3")[2021] == 55_426
    births = observations[(observations.kpi_id == "G3-1-1") & (observations.provenance == "public")]
    assert set(births.year_basis) == {"calendar"}  # said, not hidden
    assert births.note.str.contains("暦年").all()
    assert _series(observations, "G2-2-3")[2024] == 11_899  # the FY2024 survey


def test_official_figure_and_strategy_baseline_are_both_shown(observations):
    assert _series(observations, "G2-2-3", "public")[2020] == 3379
    assert _series(observations, "G2-2-3", "strategy")[2020] == 3366
    assert _series(observations, "G2-1-2", "strategy")[2018] == 919_033


def test_kpi_series_cli_refuses_a_municipality_the_catalog_is_not_for():
    proc = subprocess.run(
        [sys.executable, "-m", "kpi_lib.cli", "series", "G2-2-3", "--municipality", "012335"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (
        "012335 (伊達市) disagrees with the catalog" in proc.stderr
        and "kpi catalog init --municipality 012335" in proc.stderr
    )


def test_kpi_series_cli_unknown_id_and_no_data():
    proc = subprocess.run(
        [sys.executable, "-m", "kpi_lib.cli", "series", "G9-9"], capture_output=True, text=True
    )
    assert (
        proc.returncode == 2
        and "unknown KPI id 'G9-9'" in proc.stderr
        and "Traceback" not in proc.stderr
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kpi_lib.cli", "series", "G1-1-1"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "106,043,000" in proc.stdout and "strategy" in proc.stdout
    assert "no values yet" in proc.stderr
