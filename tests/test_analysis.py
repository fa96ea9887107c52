"""The thematic analyses on the bundled data: figures traceable to the publishers' files."""

import pytest

from kpi_lib.core.paths import DATA_DIR
from kpi_lib.observations.handle import PublicTables
from kpi_lib.reporting import analysis

ASHIBETSU = "012165"
TABLES = PublicTables(DATA_DIR / "public")  # read once for these tests


def test_migration_matches_the_strategy_baselines():
    mig = analysis.migration(TABLES, ASHIBETSU)
    # 1903ssjin.xls (calendar 2018): the strategy's H30 出生件数 49, 社会増減 ▲153
    assert mig.loc[2018, "出生"] == 49 and mig.loc[2018, "社会増減"] == -153


def test_ssds_movers_extend_migration_with_the_gap_shown():
    movers = analysis.ssds_migration(TABLES, ASHIBETSU)
    assert movers.loc[2022, "転入−転出"] == -144 and movers.loc[2023, "転入−転出"] == -125
    assert movers.loc[2021, "統計の差（社会・人口統計体系 − 住民基本台帳）"] == 1  # −102 vs −103
    assert (
        movers.loc[2022, "住民基本台帳の社会増減"] != movers.loc[2022, "住民基本台帳の社会増減"]
    )  # NaN: no file


def test_tourism_total_of_the_baseline_year():
    monthly = analysis.tourism_monthly(TABLES, ASHIBETSU)
    assert round(monthly.loc[2018].sum(), 1) == 919.1  # the strategy's H30 919,033人


def test_furusato_boom_and_fall():
    gifts = analysis.furusato(TABLES, ASHIBETSU)
    assert gifts.loc[2020, "受入件数"] == 3_379 and gifts.loc[2021, "受入件数"] == 55_426
    peak = analysis.peak_and_latest(gifts["受入件数"])
    assert (peak["peak_year"], peak["latest_year"], peak["latest"]) == (2021, 2024, 11_899)
    assert peak["share_of_peak"] == pytest.approx(11_899 / 55_426)


def test_furusato_cost_ratios_from_the_detail_file():
    costs = analysis.furusato_costs(TABLES, ASHIBETSU)
    # FY2024: 返礼品調達費 59,444,051 and 経費合計 114,856,151 of 278,873,000 円
    assert costs.loc[2024, "返礼品率"] == pytest.approx(59_444_051 / 278_873_000)
    assert costs.loc[2024, "経費率"] == pytest.approx(114_856_151 / 278_873_000)
    assert costs.loc[2021, "経費率"] < analysis.COST_RATIO_CAP  # 49.96 %: just under 5割
    ctx = analysis.furusato_cost_context(TABLES, ASHIBETSU)
    assert ctx.loc[2024, "団体数（全国）"] > 1_700
    assert 0.2 < ctx.loc[2024, "全国の中央値（返礼品率）"] < analysis.GIFT_RATIO_CAP
