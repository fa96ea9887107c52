"""The tidy table every official-data loader returns, and its validation.

One row per municipality (or prefecture / nation), year, month (annual rows: empty) and
measure, each with its unit, source, licence, the publisher's file and the date the figure
refers to (`as_of`: the reference date of a stock, the last day of a flow's period).

pandera is imported only when a loader validates (`kpi ingest`): every module that reads the
public tables imports this one, the report's notebook kernels too, and pandera costs them a
third of a second each.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from kpi_lib.core.errors import InputError

TIDY_COLUMNS = [
    "dataset",
    "municipality_code",
    "prefecture",
    "municipality",
    "level",
    "measure",
    "year",
    "year_basis",
    "month",
    "value",
    "unit",
    "source",
    "licence",
    "source_file",
    "as_of",
]
LEVELS = ["nation", "prefecture", "municipality", "ward"]


@cache
def tidy_schema():
    """The tidy table's pandera schema (built on first use)."""
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {
            "dataset": pa.Column(str),
            "municipality_code": pa.Column(str, pa.Check.str_matches(r"^\d{6}$"), nullable=True),
            "prefecture": pa.Column(str, nullable=True),
            "municipality": pa.Column(str, nullable=True),
            "level": pa.Column(str, pa.Check.isin(LEVELS)),
            "measure": pa.Column(str),
            "year": pa.Column("int64", pa.Check.in_range(1990, 2100)),
            "year_basis": pa.Column(str, pa.Check.isin(["fiscal", "calendar"])),
            "month": pa.Column("Int64", pa.Check.in_range(1, 12), nullable=True),
            "value": pa.Column(float, nullable=False),
            "unit": pa.Column(str),
            "source": pa.Column(str),
            "licence": pa.Column(str),
            "source_file": pa.Column(str),
            "as_of": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}$")),
        },
        strict=True,
        ordered=True,
        unique=["dataset", "prefecture", "municipality", "measure", "year", "month", "source_file"],
        report_duplicates="all",
    )


def finish(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """Order, type and validate a loader's output; a failure names the file."""
    import pandera.pandas as pa

    df = df.reindex(columns=TIDY_COLUMNS).copy()
    df["year"] = df["year"].astype("int64")
    df["month"] = df["month"].astype("Int64")
    df["value"] = df["value"].astype(float)
    try:
        return tidy_schema().validate(df, lazy=True).reset_index(drop=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.head(5)
        detail = "; ".join(
            f"column {c['column']!r} failed {c['check']} (value {c['failure_case']!r})"
            for _, c in cases.iterrows()
        )
        raise InputError(file, f"the loaded table is not valid: {detail}") from None
