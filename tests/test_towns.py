"""Any town, any strategy: starter catalogs, reports for other towns, the schema and its checks."""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from kpi_lib.catalog.model import Catalog, load_catalog
from kpi_lib.core.paths import DEFAULT_CATALOG, PROJECT_ROOT
from kpi_lib.observations.catalog_checks import check_catalog
from kpi_lib.reporting.run_settings import NOTEBOOK_DIR
from kpi_lib.sources.ingest import read_public
from tests.conftest import FIXTURES, kpi

ASHIBETSU = "012165"


def _towns(n=3) -> list[str]:
    """Hokkaido towns other than Ashibetsu with SSDS births for 2022 and an FY2024 furusato count:
    the three most populous of them, so the choice is the data's, not the test's."""
    ssds = read_public("ssds")
    births = set(ssds[(ssds.measure == "出生数") & (ssds.year == 2022)].municipality_code)
    furusato = read_public("furusato")
    counted = set(
        furusato[(furusato.measure == "受入件数") & (furusato.year == 2024)].municipality_code
    )
    pop = ssds[
        (ssds.measure == "住民基本台帳人口")
        & (ssds.year == 2023)
        & ssds.municipality_code.isin(births & counted - {ASHIBETSU})
    ]
    # the 4th to 6th largest: towns, not Sapporo's scale (its wards are another story)
    return list(pop.sort_values("value", ascending=False).municipality_code.iloc[3 : 3 + n])


@pytest.fixture(scope="module")
def town_batch(tmp_path_factory) -> tuple[Path, Path, str]:
    """Starter catalogs of the first two towns in one folder and `kpi report --catalog-dir` over
    it, built once for this module: (the catalogs' folder, the batch's folder, its stderr). Each
    town's report in it is the one `kpi report --catalog` makes without --deep-dive; a test that
    changes a folder copies it first."""
    root = tmp_path_factory.mktemp("towns")
    folder = root / "catalogs"
    folder.mkdir()
    for code in _towns(2):
        proc = kpi("catalog", "init", "--municipality", code, "--out", folder / f"{code}.yaml")
        assert proc.returncode == 0, proc.stderr
    out = root / "towns"
    proc = kpi("report", "--fiscal-year", 2024, "--catalog-dir", folder, "--out", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder, out, proc.stderr


def _town_progress(stderr: str, code: str) -> str:
    """The batch's progress lines for one town: from its `[batch] [i/n] …` line to the next."""
    parts = re.split(r"^(?=\[batch\] \[\d+/\d+\] )", stderr, flags=re.M)
    (part,) = [p for p in parts if f"({code}.yaml)" in p.split("\n", 1)[0]]
    return part


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_starter_catalog_and_a_report_for_another_town(tmp_path, index, request):
    code = _towns()[index]
    if index < 2:  # the batch's towns: catalog and report shared with the batch test (time)
        folder, towns, stderr = request.getfixturevalue("town_batch")
        path, out = folder / f"{code}.yaml", towns / code
    else:  # one town on its own, with a deep dive
        path = tmp_path / f"{code}.yaml"
        proc = kpi("catalog", "init", "--municipality", code, "--out", path)
        assert proc.returncode == 0, proc.stderr
    assert kpi("validate", path).returncode == 0
    catalog = load_catalog(path)
    name = catalog.strategy.municipality_ja
    assert catalog.strategy.municipality_code == code and all(
        k.target.placeholder for k in catalog.kpis
    )
    if index < 2:
        stderr = _town_progress(stderr, code)
    else:
        out = tmp_path / "FY2024"
        deep = ["--deep-dive", "G3-1"]
        proc = kpi("report", "--fiscal-year", 2024, "--catalog", path, "--out", out, *deep)
        assert proc.returncode == 0, proc.stderr[-3000:]
        stderr = proc.stderr
    pages = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.html")}
    everything = "\n".join(pages.values())
    assert name in pages["index.html"] and name in pages["01_scorecard.html"]
    assert "芦別" not in everything  # nothing of Ashibetsu's
    furusato = read_public("furusato")
    count = furusato[
        (furusato.municipality_code == code)
        & (furusato.measure == "受入件数")
        & (furusato.year == 2024)
    ]
    assert (
        f"{count.value.iloc[0]:,.0f}（2024）" in pages["01_scorecard.html"]
    )  # the FY2024 count from the 2024 file
    ssds = read_public("ssds")
    births = ssds[
        (ssds.municipality_code == code) & (ssds.measure == "出生数") & (ssds.year == 2022)
    ]
    assert (
        f"{births.value.iloc[0]:,.0f}（2022・別の統計）" in pages["01_scorecard.html"]
    )  # SSDS, labelled
    assert "（仮）" in pages["01_scorecard.html"]  # placeholder targets are marked
    assert "（仮の目標）（仮の目標）" not in everything  # marked once (issue 25)
    # FY2024 lies before the starter's period FY2025–FY2029: said on the first page and the terminal
    assert "戦略の期間の前の年度です" in pages["index.html"]
    assert "2025〜2029年度" in pages["index.html"] and "始まる前の年度" in stderr


def test_starter_baselines_are_the_official_figures_before_the_period(tmp_path):
    path = tmp_path / "ashibetsu3.yaml"
    assert (
        kpi(
            "catalog", "init", "--municipality", ASHIBETSU, "--out", path, "--period", "2025-2029"
        ).returncode
        == 0
    )
    text = path.read_text(encoding="utf-8")
    catalog = load_catalog(path)
    b = {k.name_ja: (k.baseline.year, k.baseline.value) for k in catalog.kpis}
    assert b["ふるさと納税の寄附件数"] == (2024, 11_899)
    assert b["社会移動数（転入者数－転出者数）"] == (2023, -125)  # SSDS, the latest before 2025
    assert b["出生件数"] == (2022, 34) and b["婚姻件数"] == (2022, 32)
    assert "PLACEHOLDER" in text and "EDIT" in text
    tourism = next(k for k in catalog.kpis if k.name_ja == "観光入込客数")
    assert tourism.forecast_breaks.years == [2020, 2021]
    assert (
        kpi("catalog", "init", "--municipality", ASHIBETSU, "--out", path).returncode == 2
    )  # never overwrites


def test_catalog_init_refuses_unknown_towns_and_bad_periods(tmp_path):
    proc = kpi("catalog", "init", "--municipality", "999999", "--out", tmp_path / "x.yaml")
    assert proc.returncode == 2 and "unknown 団体コード" in proc.stderr
    proc = kpi(
        "catalog",
        "init",
        "--municipality",
        ASHIBETSU,
        "--out",
        tmp_path / "x.yaml",
        "--period",
        "2025",
    )
    assert proc.returncode == 2 and "START-END" in proc.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_a_town_outside_hokkaido_gets_its_furusato_kpi_and_a_report(tmp_path):
    path = tmp_path / "iga.yaml"
    assert (
        kpi("catalog", "init", "--municipality", "242161", "--out", path).returncode == 0
    )  # 三重県伊賀市
    catalog = load_catalog(path)
    assert [k.name_ja for k in catalog.kpis] == ["ふるさと納税の寄附件数"]
    proc = kpi(
        "report", "--fiscal-year", 2024, "--catalog", path, "--out", tmp_path / "r", "--deep-dive"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    migration = (tmp_path / "r" / "02_migration.html").read_text(encoding="utf-8")
    assert "北海道の市町村のみ" in migration  # the section says why it is empty


def test_a_third_period_catalog_reports(tmp_path):
    path = FIXTURES / "catalog_3rd_period.yaml"
    proc = kpi(
        "report",
        "--fiscal-year",
        2025,
        "--catalog",
        path,
        "--out",
        tmp_path / "r",
        "--deep-dive",
        "N2-1",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = (tmp_path / "r" / "01_scorecard.html").read_text(encoding="utf-8")
    assert "第3期芦別市総合戦略" in card and "11,899（2024）" in card
    index = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "2025年度に届いていません" in index  # no statistic reaches FY2025 yet


def test_municipality_comes_from_the_catalog():
    catalog = load_catalog(FIXTURES / "catalog_3rd_period.yaml")
    proc = kpi(
        "scorecard",
        "--as-of",
        2025,
        "--catalog",
        FIXTURES / "catalog_3rd_period.yaml",
        "--format",
        "csv",
    )
    assert proc.returncode == 0 and "N2-1" in proc.stdout
    assert catalog.evaluation_years == (2023, 2031)


def test_no_kpi_id_literal_in_the_notebooks():
    for nb in NOTEBOOK_DIR.glob("*.ipynb"):
        sources = "\n".join(
            "".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
        )
        assert not re.findall(r"\bG\d-\d", sources), nb.name


# ── the schema and the cross-file checks ──────────────────────────────────────


def _properties(schema: dict):
    for name, model in [("Catalog", schema), *schema["$defs"].items()]:
        for prop in model.get("properties", {}):
            yield name, prop


def _allowed_values(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum":
                yield from value
            elif key == "const":
                yield value
            else:
                yield from _allowed_values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _allowed_values(value)


def test_catalog_schema_command_prints_the_models_json_schema():
    proc = kpi("catalog", "schema")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == json.loads(json.dumps(Catalog.model_json_schema()))


def test_docs_catalog_documents_every_field_and_value_of_the_schema():
    doc = (PROJECT_ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    # every name written in code style: `field`, `{start, end}`, `strategy.period`, `>=`
    names = {
        token
        for span in re.findall(r"`([^`]+)`", doc)
        for token in re.split(r"[^\w>=<]+", span)
        if token
    }
    schema = Catalog.model_json_schema()
    missing = [f"{model}.{prop}" for model, prop in _properties(schema) if prop not in names]
    assert not missing, f"docs/catalog.md does not document {missing}"
    values = sorted({str(v) for v in _allowed_values(schema)} - {"1"})
    assert "prefecture_average" in values
    undocumented = [v for v in values if v not in names]
    assert not undocumented, f"docs/catalog.md does not name {undocumented}"


def _edited_catalog(tmp_path, edit) -> str:
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    edit({k["kpi_id"]: k for k in raw["kpis"]})
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_validate_catalog_finds_a_typo_in_a_public_series(tmp_path):
    path = _edited_catalog(
        tmp_path, lambda k: k["G2-2-3"]["public_series"][0].update(measure="受入件")
    )
    proc = kpi("validate", path)
    assert (
        proc.returncode == 2
        and "KPI G2-2-3" in proc.stderr
        and "public_series[0].measure" in proc.stderr
    )
    assert "受入件数" in proc.stderr  # the known measures are listed


def test_validate_catalog_finds_a_text_that_does_not_read_as_its_value(tmp_path):
    def edit(k):
        k["G2-1-2"]["baseline"]["value"] = 919_330  # the text says 919,033
        k["G2-2-3"]["target"]["value"] = 3_500  # the text says 35,000

    problems = check_catalog(load_catalog(_edited_catalog(tmp_path, edit)), "edited.yaml")
    text = "\n".join(map(str, problems))
    assert "KPI G2-1-2, column 'baseline.notation'" in text and "919033" in text.replace(",", "")
    assert "KPI G2-2-3, column 'target.notation'" in text


def test_the_bundled_catalog_passes_its_checks():
    assert check_catalog(load_catalog(), "bundled") == []


def test_batch_run_over_a_folder_of_catalogs(tmp_path, town_batch):
    folder, out, _ = town_batch  # catalog init and the batch report, built once (fixture)
    index = (out / "index.html").read_text(encoding="utf-8")
    for code in _towns(2):
        name = load_catalog(folder / f"{code}.yaml").strategy.municipality_ja
        assert name in index and f'href="{code}/index.html"' in index
        assert (out / code / "01_scorecard.html").exists()
    assert "<th>公表待ち</th>" in index and "<th>未入力</th>" in index  # results, not 未確定
    folder = shutil.copytree(folder, tmp_path / "catalogs")  # the shared folder stays as built
    (folder / "broken.yaml").write_text("schema_version: 1\n", encoding="utf-8")
    proc = kpi(
        "report", "--fiscal-year", 2024, "--catalog-dir", folder, "--out", tmp_path / "again"
    )
    assert (
        proc.returncode == 2 and "broken.yaml" in proc.stderr and not (tmp_path / "again").exists()
    )
