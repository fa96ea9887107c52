"""総務省「ふるさと納税に関する現況調査」: the long time series CSV and the FY2020 workbook.

The CSV has no 団体コード: codes come from the official workbook's 団体コード sheet, joined
on (都道府県, 市区町村) because names repeat across prefectures (伊達市 in 北海道 and 福島県).
Rows labelled 合計 / 市町村合計 are subtotals mislabelled by the conversion and are dropped;
rows whose 市区町村 is the prefecture itself are the prefecture's own receipts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pandas as pd

from kpi_lib.catalog.notation import parse_number
from kpi_lib.core.errors import InputError
from kpi_lib.sources.tidy import finish

from .csvfile import fixed_rows
from .excel import cell_text, code6, read_grid

SOURCE_SERIES = "総務省「ふるさと納税に関する現況調査」各団体の受入額・受入件数（時系列）"
SOURCE_R2 = "総務省「ふるさと納税に関する現況調査」令和2年度 受入額等の詳細（R2_gain.xlsx）"
LICENCE = "CC BY 4.0（出典：総務省）"
SUBTOTAL_LABELS = {"合計", "市町村合計"}
NATION_LABEL = "全国合計"
CSV_COLUMNS = ["都道府県", "市区町村", "年度", "受入額_億円", "受入件数"]


def load_codes(workbook: str | Path) -> pd.DataFrame:
    """団体コード, 都道府県, 市区町村 (empty for the prefecture) from R2_gain.xlsx."""
    workbook = Path(workbook)
    grid = read_grid(workbook, "団体コード")
    codes = grid[0].map(code6)
    rows = grid[codes.notna()]
    if rows.empty:
        raise InputError(str(workbook), "no 6-digit codes in column 1", sheet="団体コード")
    return pd.DataFrame(
        {
            "municipality_code": codes[codes.notna()].values,
            "prefecture": rows[1].map(cell_text).values,
            "municipality": rows[2].map(cell_text).values,
        }
    )


def _fiscal_year_end(year: int) -> str:
    return f"{year + 1}-03-31"


def load_series(path: str | Path, codes: pd.DataFrame) -> pd.DataFrame:
    """The long CSV (FY2008–): 受入額 in 億円 as published, 受入件数 in 件."""
    path = Path(path)
    file = str(path)
    records = []
    for line, row in fixed_rows(path, CSV_COLUMNS):
        pref, name, year, amount, count = row
        if pref in SUBTOTAL_LABELS or name in SUBTOTAL_LABELS:
            continue
        try:
            fy = int(year)
            values = {
                "受入額": parse_number(amount) if amount else None,
                "受入件数": parse_number(count) if count else None,
            }
        except ValueError as exc:
            raise InputError(file, f"expected numbers: {exc}", row=line) from None
        if pref == NATION_LABEL:
            level, pref, name = "nation", "", ""
        elif name == pref:
            level, name = "prefecture", ""
        else:
            level = "municipality"
        for measure, value in values.items():
            if value is not None:
                records.append((pref, name, level, measure, fy, value))
    df = pd.DataFrame(records, columns=["prefecture", "name", "level", "measure", "year", "value"])

    df = df.merge(
        codes.rename(columns={"municipality": "name"}), on=["prefecture", "name"], how="left"
    )
    missing = df[df["municipality_code"].isna() & df["level"].ne("nation")][
        ["prefecture", "name"]
    ].drop_duplicates()
    if not missing.empty:
        sample = ", ".join(f"{p} {n}" for p, n in missing.head(5).itertuples(index=False))
        raise InputError(
            file, f"{len(missing)} name(s) have no 団体コード in the code list: {sample}"
        )
    df = df.assign(
        dataset="furusato",
        prefecture=df["prefecture"].replace("", None),
        municipality=df["name"].replace("", None),
        year_basis="fiscal",
        month=cast(Any, pd.NA),
        unit=df["measure"].map({"受入額": "億円", "受入件数": "件"}),
        source=SOURCE_SERIES,
        licence=LICENCE,
        source_file=path.name,
        as_of=df["year"].map(_fiscal_year_end),
    )
    return finish(df, file)


def load_r2_detail(workbook: str | Path) -> pd.DataFrame:
    """FY2020 受入件数 and 受入額 (円) from sheet 集計 of R2_gain.xlsx."""
    workbook = Path(workbook)
    file = str(workbook)
    grid = read_grid(workbook, "集計")
    codes = grid[0].map(code6)
    data = grid[codes.notna()]
    if data.empty:
        raise InputError(file, "no rows with a 6-digit 団体コード", sheet="集計")
    header = grid.iloc[: data.index[0]]
    for col, word in ((3, "寄附件数"), (4, "寄附金額")):
        if word not in " ".join(header[col].map(cell_text)):
            raise InputError(
                file, f"expected {word!r} in the header", sheet="集計", column=f"column {col + 1}"
            )
    names = data[2].map(cell_text)
    prefecture_row = codes[data.index].str[2:5].eq("000")
    frames = []
    for col, measure, unit in ((3, "受入件数", "件"), (4, "受入額", "円")):
        values = pd.to_numeric(data[col], errors="coerce")
        if values.isna().any():
            row = int(cast(int, values.isna().idxmax()))
            raise InputError(
                file,
                f"expected a number, found {data.at[row, col]!r}",
                sheet="集計",
                row=row + 1,
                column=f"column {col + 1}",
            )
        frames.append(
            pd.DataFrame(
                {
                    "municipality_code": codes[data.index],
                    "prefecture": data[1].map(cell_text),
                    "municipality": names.where(~prefecture_row, None),
                    "level": prefecture_row.map({True: "prefecture", False: "municipality"}),
                    "measure": measure,
                    "value": values,
                    "unit": unit,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True).assign(
        dataset="furusato_r2",
        year=2020,
        year_basis="fiscal",
        month=cast(Any, pd.NA),
        source=SOURCE_R2,
        licence=LICENCE,
        source_file=workbook.name,
        as_of=_fiscal_year_end(2020),
    )
    return finish(df, file)


SOURCE_DETAIL = (
    "総務省「ふるさと納税に関する現況調査」受入額及び受入件数・経費の内訳（各年度の詳細）"
)
DETAIL_KEYS = ["団体コード", "都道府県", "市区町村", "年度"]
# column -> (measure, unit). The ratios of the file are left out: they are these
# amounts divided by 受入額, and analysis recomputes them from the yen figures.
DETAIL_MEASURES = {
    "受入件数": ("受入件数", "件"),
    "受入額_円": ("受入額", "円"),
    "返礼品調達費_円": ("返礼品調達費", "円"),
    "送付費_円": ("送付費", "円"),
    "広報費_円": ("広報費", "円"),
    "決済費_円": ("決済費", "円"),
    "事務費_円": ("事務費", "円"),
    "その他費_円": ("その他費", "円"),
    "経費合計_円": ("経費合計", "円"),
    "ポータル費_円": ("ポータル費", "円"),  # reported from FY2023, part of 事務費
}


def load_detail(path: str | Path) -> pd.DataFrame:
    """The yearly detail CSV (FY2019–): counts, amounts and the costs of collecting them, in 円."""
    path = Path(path)
    file = str(path)
    try:
        raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except FileNotFoundError:
        raise InputError(file, "file not found") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(file, f"not a readable UTF-8 CSV: {exc}") from None
    missing = [c for c in [*DETAIL_KEYS, *DETAIL_MEASURES] if c not in raw.columns]
    if missing:
        raise InputError(file, f"expected the columns {missing} (found {list(raw.columns)})", row=1)
    codes = raw["団体コード"].map(code6)
    if codes.isna().any():
        line = int(cast(int, codes.isna().idxmax())) + 2
        raise InputError(
            file,
            f"expected a 6-digit 団体コード, found {raw.at[line - 2, '団体コード']!r}",
            row=line,
            column="団体コード",
        )
    is_pref = codes.str[2:5].eq("000")
    frames = []
    for column, (measure, unit) in DETAIL_MEASURES.items():
        text = raw[column].str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & text.ne("")
        if (
            measure != "その他費"
        ):  # the publisher books adjustments there (村山市 FY2019: −38,759,029)
            bad |= values < 0
        if bad.any():
            line = int(cast(int, bad.idxmax())) + 2
            raise InputError(
                file,
                f"expected a non-negative number, found {text[line - 2]!r}",
                row=line,
                column=column,
            )
        frames.append(
            pd.DataFrame(
                {
                    "municipality_code": codes,
                    "prefecture": raw["都道府県"].str.strip(),
                    "municipality": raw["市区町村"]
                    .str.strip()
                    .where(~is_pref, None)
                    .replace("", None),
                    "level": is_pref.map({True: "prefecture", False: "municipality"}),
                    "measure": measure,
                    "value": values,
                    "unit": unit,
                    "year": pd.to_numeric(raw["年度"], errors="coerce"),
                }
            ).dropna(subset=["value"])
        )
    df = pd.concat(frames, ignore_index=True)
    if df["year"].isna().any():
        raise InputError(file, "expected a fiscal year in every row", column="年度")
    df["year"] = df["year"].astype(int)
    df = df.assign(
        dataset="furusato_detail",
        year_basis="fiscal",
        month=cast(Any, pd.NA),
        source=SOURCE_DETAIL,
        licence=LICENCE,
        source_file=path.name,
        as_of=df["year"].map(_fiscal_year_end),
    )
    return finish(df, file)
