"""総務省「住民基本台帳に基づく人口、人口動態及び世帯数」, 市区町村別 (files YYMMssjin).

Every file has the same 25 columns; the header rows differ (4 rows until 2020, 6 from
2021), so data rows are found by their 団体コード, and the columns are checked against
the header text before any value is read. The 2013 file (population on 2013-03-31) holds
the dynamics of FY2012; later files (population on 1 January) those of the previous
calendar year.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import pandas as pd

from kpi_lib.catalog.notation import parse_year
from kpi_lib.core.errors import InputError
from kpi_lib.sources.tidy import finish

from .excel import cell_text, code6, read_grid

SOURCE = "総務省「住民基本台帳に基づく人口、人口動態及び世帯数」市区町村別（総計）"
LICENCE = "CC BY 4.0（政府標準利用規約 第2.0版）"

# column position -> (measure, unit, a word its header must contain)
COLUMNS = {
    3: ("人口_男", "人", "男"),
    4: ("人口_女", "人", "女"),
    5: ("人口", "人", "計"),
    6: ("世帯数", "世帯", "世帯数"),
    7: ("転入者数_国内", "人", "転入者数（国内）"),
    8: ("転入者数_国外", "人", "転入者数（国外）"),
    9: ("転入者数", "人", "転入者数（計）"),
    10: ("出生者数", "人", "出生者数"),
    11: ("その他記載", "人", "その他"),
    12: ("記載数計", "人", "計（Ａ）"),
    13: ("転出者数_国内", "人", "転出者数（国内）"),
    14: ("転出者数_国外", "人", "転出者数（国外）"),
    15: ("転出者数", "人", "転出者数（計）"),
    16: ("死亡者数", "人", "死亡者数"),
    17: ("その他消除", "人", "その他"),
    18: ("消除数計", "人", "計（Ｂ）"),
    19: ("増減数", "人", "増減数"),
    20: ("増減率", "%", "率"),
    21: ("自然増減数", "人", "自然増"),
    22: ("自然増減率", "%", "率"),
    23: ("社会増減数", "人", "社会増"),
    24: ("社会増減率", "%", "率"),
}
STOCKS = {"人口_男", "人口_女", "人口", "世帯数"}
_DISTRICT_RE = re.compile(r"^[^郡]+郡(.+[町村])$")
_DATE_RE = re.compile(r"^((?:平成|令和)(?:\d+|元))年(\d+)月(\d+)日")


def reference_date(title: str, file: str) -> pd.Timestamp:
    """'平成31年1月1日住民基本台帳…' -> 2019-01-01."""
    m = _DATE_RE.match(title.replace(" ", ""))
    if not m:
        raise InputError(
            file,
            f"the title cell {title[:30]!r} does not start with a date such as 平成31年1月1日",
            row=1,
        )
    return pd.Timestamp(parse_year(m[1]).year, int(m[2]), int(m[3]))


def dynamics_period(ref: pd.Timestamp) -> tuple[int, str, pd.Timestamp]:
    """The year, basis and last day of the dynamics a file with this reference date holds."""
    if (ref.month, ref.day) == (1, 1):
        return ref.year - 1, "calendar", ref - pd.Timedelta(days=1)
    if (ref.month, ref.day) == (3, 31):
        return ref.year - 1, "fiscal", ref
    raise ValueError(f"unexpected reference date {ref.date()}")


def _short_names(pref: pd.Series, full: pd.Series) -> pd.Series:
    """'石狩郡当別町' -> '当別町', the name other sources (and people) use.

    Where two towns of a prefecture share the short name (古宇郡泊村 and the Northern
    Territories' 国後郡泊村), both keep their district.
    """
    short = full.str.replace(_DISTRICT_RE, r"\1", regex=True)
    clash = pd.DataFrame({"p": pref, "s": short}).duplicated(keep=False)
    return short.where(~clash, full)


def name_codes(tidy: pd.DataFrame, prefecture: str) -> dict[str, str]:
    """Municipality name -> 団体コード for one prefecture, for sources without codes.

    A district-qualified name also answers to its short form when only one municipality
    of that short name has residents.
    """
    pop = tidy[
        (tidy["prefecture"] == prefecture)
        & (tidy["level"] == "municipality")
        & (tidy["measure"] == "人口")
    ].drop_duplicates("municipality_code", keep="last")
    codes = dict(zip(pop["municipality"], pop["municipality_code"], strict=True))
    short = pop.assign(s=pop["municipality"].str.replace(_DISTRICT_RE, r"\1", regex=True))
    populated = short[short["value"] > 0]
    for s_name, group in populated.groupby("s"):
        if len(group) == 1 and s_name not in codes:
            codes[s_name] = group["municipality_code"].iloc[0]
    return codes


def _check_header(grid: pd.DataFrame, first_data: int, file: str) -> None:
    header = grid.iloc[:first_data]
    for col, (measure, _, word) in COLUMNS.items():
        text = " ".join(cell_text(v) for v in header[col])
        if word not in text:
            raise InputError(
                file,
                f"expected the header of {measure} to contain {word!r}, found {text!r}",
                column=f"column {col + 1}",
            )


def load_jumin_file(path: str | Path) -> pd.DataFrame:
    """One 住民基本台帳 workbook (.xls/.xlsx) as tidy rows, refusing a layout it does not know."""
    path = Path(path)
    file = str(path)
    grid = read_grid(path)
    if grid.shape[1] < 25:
        raise InputError(file, f"expected 25 columns, found {grid.shape[1]}")
    ref = reference_date(cell_text(grid.iat[0, 0]), file)
    year, basis, period_end = dynamics_period(ref)
    codes = grid[0].map(code6)
    is_total = grid[1].map(cell_text).eq("合計")
    data_rows = grid.index[codes.notna() | is_total]
    if len(data_rows) == 0:
        raise InputError(file, "no rows with a 6-digit 団体コード")
    _check_header(grid, data_rows[0], file)

    data = grid.loc[data_rows]
    pref = data[1].map(cell_text)
    name = _short_names(data[1].map(cell_text), data[2].map(cell_text).replace({"-": "", "0": ""}))
    code = codes.loc[data_rows]
    level = pd.Series("municipality", index=data.index)
    level[is_total.loc[data_rows]] = "nation"
    level[code.str[2:5].eq("000").fillna(False)] = "prefecture"
    # 政令市の区: '札幌市中央区' where '札幌市' is itself a row of the same prefecture.
    cities = set(zip(pref[name.str.endswith("市")], name[name.str.endswith("市")], strict=True))
    ward = [
        bool(re.match(r"^(.+?市).+区$", n)) and (p, n.split("市", 1)[0] + "市") in cities
        for p, n in zip(pref, name, strict=True)
    ]
    level[ward] = "ward"

    frames = []
    for col, (measure, unit, _) in COLUMNS.items():
        values = pd.to_numeric(data[col], errors="coerce")
        bad = data[col].notna() & values.isna() & data[col].map(cell_text).ne("")
        if bad.any():
            row = int(cast(int, bad.idxmax()))
            raise InputError(
                file,
                f"expected a number for {measure}, found {data.at[row, col]!r}",
                row=row + 1,
                column=f"column {col + 1}",
            )
        as_of = ref if measure in STOCKS else period_end
        frames.append(
            pd.DataFrame(
                {
                    "municipality_code": code,
                    "prefecture": pref.where(level != "nation", None),
                    "municipality": name.where(name != "", None),
                    "level": level,
                    "measure": measure,
                    "value": values,
                    "unit": unit,
                    "as_of": as_of.strftime("%Y-%m-%d"),
                }
            )
        )
    tidy = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    tidy = tidy.assign(
        dataset="jumin",
        year=year,
        year_basis=basis,
        month=cast(Any, pd.NA),
        source=SOURCE,
        licence=LICENCE,
        source_file=path.name,
    )
    return finish(tidy, file)


def load_jumin(folder: str | Path) -> pd.DataFrame:
    """Every YYMMssjin.xls/.xlsx file of a folder, oldest first."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if re.match(r"^\d{4}ssjin\.xlsx?$", p.name))
    if not files:
        raise InputError(str(folder), "no files named like 1903ssjin.xls or 2203ssjin.xlsx")
    return pd.concat([load_jumin_file(p) for p in files], ignore_index=True)
