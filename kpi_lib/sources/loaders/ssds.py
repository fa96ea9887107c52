"""総務省統計局「社会・人口統計体系」(SSDS) 市区町村データ, as a long CSV.

Columns 地域コード (5 digits, no check digit), 都道府県, 市区町村, 項目コード, 項目, 調査年,
値, 単位. These are related to, but not the same statistics as, the 住民基本台帳 files:
転入者数/転出者数 count Japanese movers between municipalities only (no moves from or to
abroad, no その他 entries), and births and marriages are 人口動態統計 by residence. The
loader keeps the publisher's item names and adds one derived measure, 転入超過数（日本人移動者）
= 転入者数 − 転出者数, whose source says how it was made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pandas as pd

from kpi_lib.catalog.notation import parse_number
from kpi_lib.core.errors import InputError
from kpi_lib.sources.tidy import finish

from .csvfile import fixed_rows

SOURCE = "総務省統計局「社会・人口統計体系」市区町村データ（統計でみる市区町村のすがた）"
LICENCE = "政府標準利用規約 第2.0版（CC BY 4.0 互換、出典：総務省統計局）"
CSV_COLUMNS = ["地域コード", "都道府県", "市区町村", "項目コード", "項目", "調査年", "値", "単位"]

# 項目コード -> (measure, the reference date of the year's figure as (month, day, year offset))
ITEMS = {
    "A2301": ("住民基本台帳人口", (1, 1, 1)),  # labelled 2021 = the population on 2022-01-01
    "A4101": ("出生数", (12, 31, 0)),
    "A9101": ("婚姻件数", (12, 31, 0)),
    "A5103": ("転入者数（日本人移動者）", (12, 31, 0)),
    "A5104": ("転出者数（日本人移動者）", (12, 31, 0)),
}
NET_MEASURE = "転入超過数（日本人移動者）"
NET_SOURCE = SOURCE + "（転入者数−転出者数として算出。国外との移動・その他の記載消除を含まない）"


def check_digit(code5: str) -> str:
    """The 6th digit of a 団体コード (JIS X 0402): (11 − Σ digit × weight mod 11) mod 10."""
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def code6_from5(code5: str) -> str:
    """The 6-digit 団体コード: the 5-digit code and its check digit."""
    return code5 + check_digit(code5)


def load_ssds(path: str | Path) -> pd.DataFrame:
    """One SSDS CSV (社会・人口統計体系) as tidy rows, with 転入超過数 derived."""
    path = Path(path)
    file = str(path)
    records = []
    for line, row in fixed_rows(path, CSV_COLUMNS):
        code, pref, name, item, _label, year, value, unit = row
        if item not in ITEMS:
            raise InputError(
                file,
                f"unknown 項目コード {item!r}; expected one of {', '.join(ITEMS)}",
                row=line,
                column="項目コード",
            )
        if not (len(code) == 5 and code.isdigit()):
            raise InputError(
                file,
                f"expected a 5-digit 地域コード, found {code!r}",
                row=line,
                column="地域コード",
            )
        try:
            y, v = int(year), parse_number(value)
        except ValueError as exc:
            raise InputError(file, f"expected a year and a number: {exc}", row=line) from None
        if v < 0:
            raise InputError(
                file, f"a count cannot be negative, found {value!r}", row=line, column="値"
            )
        measure, (month, day, offset) = ITEMS[item]
        records.append(
            (
                code6_from5(code),
                pref,
                name,
                measure,
                y,
                v,
                unit,
                f"{y + offset:04d}-{month:02d}-{day:02d}",
            )
        )
    df = pd.DataFrame(
        records,
        columns=[
            "municipality_code",
            "prefecture",
            "municipality",
            "measure",
            "year",
            "value",
            "unit",
            "as_of",
        ],
    )
    df = pd.concat([df, _net_migration(df)], ignore_index=True)
    df = df.assign(
        dataset="ssds",
        level="municipality",
        year_basis="calendar",
        month=cast(Any, pd.NA),
        source=df["measure"].map(lambda m: NET_SOURCE if m == NET_MEASURE else SOURCE),
        licence=LICENCE,
        source_file=path.name,
    )
    return finish(df, file)


def _net_migration(df: pd.DataFrame) -> pd.DataFrame:
    keys = ["municipality_code", "prefecture", "municipality", "year"]
    moves = df[df["measure"].isin([ITEMS["A5103"][0], ITEMS["A5104"][0]])]
    wide = moves.pivot_table(
        index=keys, columns="measure", values="value", aggfunc="first"
    ).dropna()
    net = (wide[ITEMS["A5103"][0]] - wide[ITEMS["A5104"][0]]).rename("value").reset_index()
    return net.assign(
        measure=NET_MEASURE, unit="人", as_of=net["year"].map(lambda y: f"{y:04d}-12-31")
    )
