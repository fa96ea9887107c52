"""The analyses behind the thematic notebooks, on the public tables of the run's data handle
(`ctx.tables`: read once, never from disk here).

Each function returns a plain DataFrame with Japanese column names where analysts read
them; the notebooks only display and chart these.
"""

from __future__ import annotations

from typing import cast

import pandas as pd

from kpi_lib.observations import values as observations
from kpi_lib.observations.handle import PublicTables

MONTH_ORDER = [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]


def municipality_name(tables: PublicTables, code: str) -> str:
    """The municipality's name in the bundled data (the code itself where none is known)."""
    return observations.municipality_name(code, tables) or code


def peers(tables: PublicTables, code: str) -> pd.DataFrame:
    """The municipalities of the same 振興局 (空知 for 芦別市)."""
    regions = tables.table("regions")
    mine = regions.loc[regions["municipality_code"] == code, "promotion_bureau"]
    if mine.empty:
        return regions.iloc[0:0]
    return regions[regions["promotion_bureau"] == mine.iloc[0]]


# ── population migration ──────────────────────────────────────────────────────

MIGRATION_MEASURES = {
    "転入者数": "転入",
    "転出者数": "転出",
    "その他記載": "その他記載",
    "その他消除": "その他消除",
    "社会増減数": "社会増減",
    "出生者数": "出生",
    "死亡者数": "死亡",
    "自然増減数": "自然増減",
    "人口": "人口",
}


def migration(tables: PublicTables, code: str) -> pd.DataFrame:
    """転入, 転出, 社会増減 and births by calendar year (FY2012 left out: another basis)."""
    j = tables.table("jumin")
    rows = j[
        (j["municipality_code"] == code)
        & j["measure"].isin(MIGRATION_MEASURES)
        & (j["year_basis"] == "calendar")
    ]
    wide = rows.pivot_table(index="year", columns="measure", values="value", aggfunc="first")
    return wide.rename(columns=MIGRATION_MEASURES).reindex(
        columns=list(MIGRATION_MEASURES.values())
    )


def net_migration_ranking(
    tables: PublicTables, year: int, prefecture: str = "北海道"
) -> pd.DataFrame:
    """社会増減率 (per 100 residents at the start of the year) of every municipality, ranked.

    The rate is 社会増減数 over the population at the start of the calendar year (the
    previous file's reference date), as the 住民基本台帳 tables define it.
    """
    j = tables.table("jumin")
    j = j[
        (j["prefecture"] == prefecture)
        & (j["level"] == "municipality")
        & (j["year_basis"] == "calendar")
    ]
    net = j[(j["measure"] == "社会増減数") & (j["year"] == year)].set_index("municipality_code")[
        "value"
    ]
    pop = j[(j["measure"] == "人口") & (j["year"] == year - 1)].set_index("municipality_code")[
        "value"
    ]
    names = j.drop_duplicates("municipality_code").set_index("municipality_code")["municipality"]
    df = pd.DataFrame({"市町村": names, "社会増減数": net, "年初人口": pop}).dropna()
    df = df[df["年初人口"] > 0]
    df["社会増減率(%)"] = df["社会増減数"] / df["年初人口"] * 100
    df["順位"] = df["社会増減率(%)"].rank(ascending=False, method="min").astype(int)
    return df.sort_values("順位")


# ── tourism ───────────────────────────────────────────────────────────────────


def tourism_monthly(tables: PublicTables, code: str, measure: str = "入込総数") -> pd.DataFrame:
    """Fiscal year × month (April first), in thousands of persons."""
    t = tables.table("tourism")
    rows = t[(t["municipality_code"] == code) & (t["measure"] == measure) & t["month"].notna()]
    wide = rows.pivot_table(index="year", columns="month", values="value", aggfunc="first")
    return wide.reindex(columns=MONTH_ORDER)


def seasonal_profile(monthly: pd.DataFrame) -> pd.Series:
    """Each month's mean share of its fiscal year's total."""
    shares = monthly.div(monthly.sum(axis=1), axis=0)
    return shares.mean().rename("平均構成比")


def tourism_annual(tables: PublicTables, code: str) -> pd.DataFrame:
    """Annual totals and the mix: 道内/道外 and 日帰/宿泊 (thousands of persons, shares)."""
    t = tables.annual("tourism")
    rows = t[t["municipality_code"] == code]
    wide = rows.pivot_table(index="year", columns="measure", values="value", aggfunc="first")
    if "入込総数" not in wide:
        return pd.DataFrame(columns=["入込総数(千人)"])
    out = pd.DataFrame({"入込総数(千人)": wide["入込総数"]})
    for part in ("内道外客", "内道内客", "内日帰客", "内宿泊客"):
        if part in wide:
            out[f"{part[1:]}比率"] = wide[part] / wide["入込総数"]
    return out


def tourism_peers(tables: PublicTables, code: str, base_year: int = 2018) -> pd.DataFrame:
    """入込総数 of the 振興局's municipalities, indexed to `base_year` = 100."""
    t = tables.annual("tourism")
    codes = peers(tables, code)["municipality_code"]
    rows = t[t["municipality_code"].isin(codes) & (t["measure"] == "入込総数")]
    wide = rows.pivot_table(index="year", columns="municipality", values="value", aggfunc="first")
    return wide.div(wide.loc[base_year]) * 100 if base_year in wide.index else wide


# ── furusato-nozei ────────────────────────────────────────────────────────────


def furusato(tables: PublicTables, code: str) -> pd.DataFrame:
    """Counts, amounts (円), the average gift and year-on-year growth."""
    f = tables.table("furusato")
    rows = f[f["municipality_code"] == code]
    wide = rows.pivot_table(index="year", columns="measure", values="value", aggfunc="first")
    df = pd.DataFrame({"受入件数": wide["受入件数"], "受入額(円)": wide["受入額"] * 1e8})
    df["平均寄附額(円)"] = df["受入額(円)"] / df["受入件数"]
    df["件数の伸び率"] = df["受入件数"].pct_change()
    df["金額の伸び率"] = df["受入額(円)"].pct_change()
    return df


def furusato_context(tables: PublicTables, code: str) -> pd.DataFrame:
    """The nation's and Hokkaido's totals beside the municipality, and its rank in Hokkaido."""
    f = tables.table("furusato")
    counts = f[f["measure"] == "受入件数"]
    nation = counts[counts["level"] == "nation"].set_index("year")["value"]
    hokkaido = counts[(counts["prefecture"] == "北海道") & (counts["level"] == "municipality")]
    hk_total = hokkaido.groupby("year")["value"].sum()
    mine = hokkaido[hokkaido["municipality_code"] == code].set_index("year")["value"]
    rank = hokkaido.assign(r=hokkaido.groupby("year")["value"].rank(ascending=False, method="min"))
    my_rank = rank[rank["municipality_code"] == code].set_index("year")["r"].astype(int)
    return pd.DataFrame(
        {
            "全国（件）": nation,
            "北海道内市町村計（件）": hk_total,
            "当市（件）": mine,
            "道内順位": my_rank,
            "道内市町村数": hokkaido.groupby("year").size(),
        }
    )


# The 総務省 rules since June 2019: gifts in return at most 3割 of the donation, all costs
# of collecting it (gifts included) at most 5割 (what counts as a cost widened in Oct 2023).
GIFT_RATIO_CAP, COST_RATIO_CAP = 0.3, 0.5
COST_ITEMS = ["返礼品調達費", "送付費", "広報費", "決済費", "事務費", "その他費"]


def furusato_costs(tables: PublicTables, code: str) -> pd.DataFrame:
    """One municipality's donations and their costs by fiscal year (円), with the two ratios."""
    d = tables.table("furusato_detail")
    rows = d[d["municipality_code"] == code]
    wide = rows.pivot_table(index="year", columns="measure", values="value", aggfunc="first")
    out = wide.reindex(columns=["受入件数", "受入額", *COST_ITEMS, "経費合計"])
    out["返礼品率"] = out["返礼品調達費"] / out["受入額"]
    out["経費率"] = out["経費合計"] / out["受入額"]
    return out.rename_axis(index="年度", columns=None)


def furusato_cost_context(
    tables: PublicTables, code: str, prefecture: str = "北海道"
) -> pd.DataFrame:
    """返礼品率 and 経費率 of the municipality beside the prefecture's and the nation's
    municipalities (medians), and how many of them were above the caps."""
    d = tables.table("furusato_detail")
    d = d[d["level"] == "municipality"]
    wide = d.pivot_table(
        index=["municipality_code", "year"], columns="measure", values="value", aggfunc="first"
    )
    wide = wide[wide["受入額"] > 0]
    ratios = pd.DataFrame(
        {
            "返礼品率": wide["返礼品調達費"] / wide["受入額"],
            "経費率": wide["経費合計"] / wide["受入額"],
        }
    ).reset_index()
    prefs = d.drop_duplicates("municipality_code").set_index("municipality_code")["prefecture"]
    ratios["prefecture"] = ratios["municipality_code"].map(prefs)
    in_pref = ratios[ratios["prefecture"] == prefecture]
    mine = ratios[ratios["municipality_code"] == code].set_index("year")
    by_year = ratios.groupby("year")
    pref_year = in_pref.groupby("year")
    return pd.DataFrame(
        {
            "当市の返礼品率": mine["返礼品率"],
            f"{prefecture}内の中央値（返礼品率）": pref_year["返礼品率"].median(),
            "全国の中央値（返礼品率）": by_year["返礼品率"].median(),
            "当市の経費率": mine["経費率"],
            f"{prefecture}内の中央値（経費率）": pref_year["経費率"].median(),
            "全国の中央値（経費率）": by_year["経費率"].median(),
            "経費率5割超の団体（全国）": by_year["経費率"].agg(
                lambda s: int((s > COST_RATIO_CAP).sum())
            ),
            "団体数（全国）": by_year.size(),
        }
    ).rename_axis(index="年度")


def peak_and_latest(series: pd.Series) -> dict:
    """The peak year and value of a yearly series and where its latest year stands against it."""
    s = series.dropna()
    peak_year = int(cast(int, s.idxmax()))
    return {
        "peak_year": peak_year,
        "peak": float(s.max()),
        "latest_year": int(s.index.max()),
        "latest": float(s.iloc[-1]),
        "share_of_peak": float(s.iloc[-1] / s.max()) if s.max() else None,
    }


# The difference between the two statistics of the same moves, named for readers.
GAP_COLUMN = "統計の差（社会・人口統計体系 − 住民基本台帳）"


def ssds_migration(tables: PublicTables, code: str) -> pd.DataFrame:
    """Japanese movers (SSDS) by calendar year beside the 住民基本台帳 社会増減, where both exist.

    SSDS counts moves between municipalities of Japanese residents only; the gap column
    shows how far the two statistics differ in the years they share.
    """
    t = tables.table("ssds")
    rows = t[t["municipality_code"] == code]
    wide = rows.pivot_table(index="year", columns="measure", values="value", aggfunc="first")
    names = {
        "転入者数（日本人移動者）": "転入（日本人）",
        "転出者数（日本人移動者）": "転出（日本人）",
        "転入超過数（日本人移動者）": "転入−転出",
    }
    out = (
        wide.reindex(columns=list(names))
        .rename(columns=names)
        .dropna(how="all")
        .rename_axis(columns=None)
    )
    jumin = migration(tables, code)
    out["住民基本台帳の社会増減"] = jumin["社会増減"].reindex(out.index)
    out[GAP_COLUMN] = out["転入−転出"] - out["住民基本台帳の社会増減"]
    return out.rename_axis(index="年")
