"""Reading official workbooks (.xls and .xlsx alike) as raw cell grids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpi_lib.core.errors import InputError
from kpi_lib.core.limits import check_xlsx


def read_grid(path: Path, sheet: str | int = 0) -> pd.DataFrame:
    """All cells of one sheet, no header inference; calamine reads .xls and .xlsx."""
    if Path(path).suffix.lower() == ".xlsx" and Path(path).is_file():
        check_xlsx(Path(path))  # its members' sizes, before anything is decompressed
    try:
        return pd.read_excel(path, sheet_name=sheet, header=None, engine="calamine", dtype=object)
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except ValueError as exc:  # unknown sheet, not a workbook
        raise InputError(
            str(path), f"cannot read it as a workbook: {exc}", sheet=str(sheet)
        ) from None
    except Exception as exc:  # calamine's own errors for corrupt files
        raise InputError(str(path), f"cannot read it as a workbook: {exc}") from None


def cell_text(v) -> str:
    """A header cell as text ('' for empty)."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return str(v).strip()


def code6(v) -> str | None:
    """A 6-digit 団体コード; Excel may have stored it as a number and lost the zero."""
    text = cell_text(v)
    if text.endswith(".0"):
        text = text[:-2]
    if text.isdigit() and len(text) <= 6:
        return text.zfill(6)
    return None
