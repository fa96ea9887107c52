"""北海道「北海道観光入込客数調査報告書」: per municipality and month, one CSV per fiscal year.

Values are thousands of persons (千人; 宿泊客延数 thousands of person-nights) with float
artefacts ('899.8000000000001') that are rounded back to the published 0.1. Some rows carry
trailing commas (empty extra fields). The file's previous_year and
comparison_with_previous_year columns are not kept: the comparison is a ratio in some
years and a percentage in others, and both follow from the neighbouring year's file.
"""

from __future__ import annotations

import calendar
import csv
import re
from pathlib import Path

import pandas as pd

from kpi_lib.catalog.notation import parse_number
from kpi_lib.core.errors import InputError
from kpi_lib.sources.tidy import finish

SOURCE = "北海道「北海道観光入込客数調査報告書」市町村別・月別"
LICENCE = "CC BY 4.0（北海道オープンデータ）"
MONTHS = [
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "january",
    "february",
    "march",
]
HEADER = [
    "area",
    "promotion_bureau",
    "commune",
    "type",
    *MONTHS,
    "sum",
    "previous_year",
    "comparison_with_previous_year",
]
TYPES = {
    "入込総数": "千人",
    "内道外客": "千人",
    "内道内客": "千人",
    "内日帰客": "千人",
    "内宿泊客": "千人",
    "宿泊客延数": "千人泊",
}
_FILE_RE = re.compile(r"tourism_stat_report_(\d{4})_monthly\.csv$")


def _month_end(fiscal_year: int, month_index: int) -> tuple[int, str]:
    """Calendar month number and its last day, for the i-th month of a fiscal year."""
    month = (month_index + 3) % 12 + 1
    year = fiscal_year if month >= 4 else fiscal_year + 1
    return month, f"{year}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"


def _value(text: str, file: str, line: int, column: str) -> float | None:
    text = text.strip()
    if text in ("", "-", "－"):
        return None
    try:
        # machine floats ('9.9999999999999645E-2') and 1,234 alike, back to the published 0.1
        return round(
            float(text)
            if re.fullmatch(r"[-+]?[\d.]+(E[-+]?\d+)?", text, re.I)
            else parse_number(text),
            1,
        )
    except ValueError:
        raise InputError(
            file,
            f"expected a number of thousands of persons, found {text!r}",
            row=line,
            column=column,
        ) from None


def load_tourism_file(path: str | Path, codes: dict[str, str] | None = None) -> pd.DataFrame:
    """One fiscal year's file; `codes` maps Hokkaido municipality names to 団体コード."""
    path = Path(path)
    file = str(path)
    m = _FILE_RE.search(path.name)
    if not m:
        raise InputError(file, "expected a file name like tourism_stat_report_2018_monthly.csv")
    fy = int(m[1])
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise InputError(file, "file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(file, f"expected UTF-8 text: {exc}") from None
    if not rows or [c.strip() for c in rows[0][: len(HEADER)]] != HEADER:
        raise InputError(file, f"expected the header {','.join(HEADER)}", row=1)

    codes = codes or {}
    records: list[tuple] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) < len(HEADER) or any(c.strip() for c in row[len(HEADER) :]):
            raise InputError(
                file,
                f"expected {len(HEADER)} fields (trailing empty ones allowed), found {len(row)}",
                row=line,
            )
        area, bureau, commune, kind = (c.strip() for c in row[:4])
        if kind not in TYPES:
            raise InputError(
                file,
                f"unknown type {kind!r}; expected one of {', '.join(TYPES)}",
                row=line,
                column="type",
            )
        base = (codes.get(commune), commune, kind, TYPES[kind])
        for i, month_name in enumerate(MONTHS):
            value = _value(row[4 + i], file, line, month_name)
            if value is not None:
                month, as_of = _month_end(fy, i)
                records.append((*base, month, value, as_of))
        total = _value(row[16], file, line, "sum")
        if total is not None:
            records.append((*base, None, total, f"{fy + 1}-03-31"))
    df = pd.DataFrame(
        records,
        columns=["municipality_code", "municipality", "measure", "unit", "month", "value", "as_of"],
    )
    df = df.assign(
        dataset="tourism",
        prefecture="北海道",
        level="municipality",
        year=fy,
        year_basis="fiscal",
        source=SOURCE,
        licence=LICENCE,
        source_file=path.name,
    )
    return finish(df, file)


def load_tourism(folder: str | Path, codes: dict[str, str] | None = None) -> pd.DataFrame:
    """Every 北海道観光入込客数 CSV in `folder` as tidy rows."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if _FILE_RE.search(p.name))
    if not files:
        raise InputError(str(folder), "no files named like tourism_stat_report_2018_monthly.csv")
    return pd.concat([load_tourism_file(p, codes) for p in files], ignore_index=True)


def load_regions(folder: str | Path, codes: dict[str, str]) -> pd.DataFrame:
    """Municipality -> 振興局 (promotion_bureau) and area, from the newest survey file.

    The peers of a town (芦別市's neighbours in 空知) come from here.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if _FILE_RE.search(p.name))
    if not files:
        raise InputError(str(folder), "no files named like tourism_stat_report_2018_monthly.csv")
    newest = files[-1]
    with newest.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    seen = {}
    for row in rows:
        if len(row) >= 3 and row[2].strip() and row[2].strip() not in seen:
            area, bureau, commune = (c.strip() for c in row[:3])
            seen[commune] = (codes.get(commune), commune, bureau, area)
    return pd.DataFrame(
        list(seen.values()),
        columns=["municipality_code", "municipality", "promotion_bureau", "area"],
    ).assign(prefecture="北海道", source=SOURCE, licence=LICENCE, source_file=newest.name)
