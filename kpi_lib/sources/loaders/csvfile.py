"""Reading a publisher's CSV whose columns are fixed: header checked, rows of the right width."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from kpi_lib.core.errors import InputError


def fixed_rows(path: Path, columns: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped fields) of every data row; a wrong header or width names the row."""
    file = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
    except FileNotFoundError:
        raise InputError(file, "file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(file, f"expected UTF-8 text: {exc}") from None
    if header != columns:
        raise InputError(file, f"expected the columns {columns}, found {header}", row=1)
    for line, row in enumerate(rows, start=2):
        if len(row) != len(columns):
            raise InputError(file, f"expected {len(columns)} fields, found {len(row)}", row=line)
        yield line, [c.strip() for c in row]
