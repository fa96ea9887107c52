"""Loaders against the publishers' real files (skipped without ../shared) and bad files."""

import pytest

from kpi_lib.core.errors import InputError
from kpi_lib.sources.loaders import furusato, jumin, tourism
from tests.conftest import FIXTURES, SHARED_DATA, need_shared


@pytest.fixture(scope="module")
def jumin_all():
    return jumin.load_jumin(need_shared(SHARED_DATA / "jumin"))


@pytest.fixture(scope="module")
def furusato_series():
    folder = need_shared(SHARED_DATA / "furusato")
    codes = furusato.load_codes(folder / "R2_gain.xlsx")
    return furusato.load_series(folder / "soumu_kakudantai_timeseries_2008_2021.csv", codes)


def _value(df, code, measure, year, month=None):
    rows = df[(df.municipality_code == code) & (df.measure == measure) & (df.year == year)]
    rows = rows[rows.month.isna()] if month is None else rows[rows.month == month]
    assert len(rows) == 1, rows
    return rows.value.iloc[0]


def test_jumin_ashibetsu_2018(jumin_all):
    assert _value(jumin_all, "012165", "出生者数", 2018) == 49  # the strategy's H30 出生件数
    assert _value(jumin_all, "012165", "社会増減数", 2018) == -153
    row = jumin_all[(jumin_all.municipality_code == "012165") & (jumin_all.year == 2018)].iloc[0]
    assert (row.year_basis, row.municipality, row.prefecture) == ("calendar", "芦別市", "北海道")


def test_jumin_years_and_bases(jumin_all):
    bases = jumin_all.groupby("year").year_basis.first().to_dict()
    assert bases[2012] == "fiscal"  # 1303ssjin: FY2012 dynamics
    assert all(bases[y] == "calendar" for y in range(2013, 2022))
    stock = jumin_all[(jumin_all.measure == "人口") & (jumin_all.year == 2018)].as_of.iloc[0]
    flow = jumin_all[(jumin_all.measure == "出生者数") & (jumin_all.year == 2018)].as_of.iloc[0]
    assert (stock, flow) == ("2019-01-01", "2018-12-31")


def test_jumin_net_migration_is_in_plus_other_minus_out_plus_other(jumin_all):
    a = (
        jumin_all[(jumin_all.municipality_code == "012165") & (jumin_all.year == 2018)]
        .set_index("measure")
        .value
    )
    assert a["社会増減数"] == a["転入者数"] + a["その他記載"] - a["転出者数"] - a["その他消除"]


def test_hokkaido_municipalities_sum_to_the_prefecture_row(jumin_all):
    hk = jumin_all[
        (jumin_all.prefecture == "北海道")
        & jumin_all.measure.isin(["社会増減数", "人口", "出生者数"])
    ]
    munis = hk[hk.level == "municipality"].groupby(["year", "measure"]).value.sum()
    pref = hk[hk.level == "prefecture"].set_index(["year", "measure"]).value
    assert (munis - pref).abs().max() == 0  # wards of 札幌市 are not counted twice
    wards = hk[(hk.level == "ward") & (hk.year == 2021) & (hk.measure == "人口")]
    assert len(wards) == 10 and wards.municipality.str.startswith("札幌市").all()


def test_jumin_short_names_unless_they_clash(jumin_all):
    names = set(jumin_all[jumin_all.prefecture == "北海道"].municipality.dropna())
    assert "当別町" in names and "石狩郡当別町" not in names
    assert {"古宇郡泊村", "国後郡泊村"} <= names  # two 泊村: both keep their district
    codes = jumin.name_codes(jumin_all, "北海道")
    assert codes["泊村"] == "014036"  # the one with residents


def test_furusato_series(furusato_series):
    assert _value(furusato_series, "012165", "受入件数", 2021) == 55426
    assert _value(furusato_series, "012165", "受入件数", 2020) == 3379  # the strategy says 3,366
    assert set(furusato_series.prefecture.dropna()) >= {"北海道", "福島県"}
    assert not furusato_series.municipality.isin(["合計", "市町村合計"]).any()
    date = (
        furusato_series[(furusato_series.municipality == "伊達市")]
        .groupby("prefecture")
        .municipality_code.first()
    )
    assert date.to_dict() == {"北海道": "012335", "福島県": "072133"}


def test_furusato_parts_sum_to_the_nation(furusato_series):
    counts = furusato_series[furusato_series.measure == "受入件数"]
    nation = counts[counts.level == "nation"].set_index("year").value
    parts = counts[counts.level != "nation"].groupby("year").value.sum()
    assert (parts - nation).abs().max() < 1e-6
    assert counts[counts.level == "municipality"].groupby("year").size().eq(1741).all()


def test_furusato_r2_workbook():
    df = furusato.load_r2_detail(need_shared(SHARED_DATA / "furusato" / "R2_gain.xlsx"))
    assert _value(df, "012165", "受入件数", 2020) == 3379
    assert _value(df, "012165", "受入額", 2020) == 85_445_000
    assert df[df.level == "prefecture"].municipality.isna().all()


def test_tourism_ashibetsu():
    codes = {"芦別市": "012165"}
    df = tourism.load_tourism(need_shared(SHARED_DATA / "hokkaido_tourism"), codes)
    assert _value(df, "012165", "入込総数", 2018) == pytest.approx(919.1)
    assert _value(df, "012165", "入込総数", 2010) == pytest.approx(899.8)  # not 899.8000000000001
    assert _value(df, "012165", "入込総数", 2018, month=4) == pytest.approx(46.9)
    months = df[
        (df.municipality_code == "012165")
        & (df.year == 2018)
        & (df.measure == "入込総数")
        & df.month.notna()
    ]
    assert len(months) == 12 and months.value.sum() == pytest.approx(919.1, abs=0.2)
    jan = months[months.month == 1].iloc[0]
    assert jan.as_of == "2019-01-31"  # January of FY2018 is in calendar 2019
    assert set(df.measure) == {
        "入込総数",
        "内道外客",
        "内道内客",
        "内日帰客",
        "内宿泊客",
        "宿泊客延数",
    }
    assert df.unit[df.measure == "宿泊客延数"].eq("千人泊").all()


# ── bad files ─────────────────────────────────────────────────────────────────


def test_tourism_text_in_a_number_cell():
    with pytest.raises(InputError) as err:
        tourism.load_tourism_file(FIXTURES / "tourism_stat_report_2018_monthly.csv")
    msg = str(err.value)
    assert (
        "tourism_stat_report_2018_monthly.csv" in msg
        and "row 3" in msg
        and "'june'" in msg
        and "'N/A'" in msg
    )


def test_tourism_bad_name_and_unknown_type(tmp_path):
    with pytest.raises(InputError, match="file name like"):
        tourism.load_tourism_file(tmp_path / "visits.csv")
    path = tmp_path / "tourism_stat_report_2018_monthly.csv"
    path.write_text(
        ",".join(tourism.HEADER) + "\n道央,空知,芦別市,入込人数" + ",1" * 15 + "\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="unknown type '入込人数'"):
        tourism.load_tourism_file(path)
    path.write_text(
        ",".join(tourism.HEADER) + "\n道央,空知,芦別市,入込総数" + ",1" * 15 + ",9\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="row 2.*trailing empty"):
        tourism.load_tourism_file(path)


def test_furusato_bad_header():
    import pandas as pd

    with pytest.raises(InputError, match="expected the columns"):
        furusato.load_series(FIXTURES / "soumu_kakudantai_bad_header.csv", pd.DataFrame())


def test_jumin_wrong_columns(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["平成31年1月1日住民基本台帳人口"])
    ws.append(["団体コード", "都道府県名", "市区町村名"] + ["人口"] * 22)
    ws.append([None] * 25)
    ws.append([None] * 25)
    ws.append(["012165", "北海道", "芦別市"] + [1] * 22)
    path = tmp_path / "1903ssjin.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match="1903ssjin.xlsx.*column 'column 4'.*男"):
        jumin.load_jumin_file(path)


def test_jumin_missing_date(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["住民基本台帳人口"] + [None] * 23 + ["（単位：人）"])
    path = tmp_path / "1903ssjin.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match="does not start with a date"):
        jumin.load_jumin_file(path)
