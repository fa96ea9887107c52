"""A panel and its input checks: the (series × year) array every panel forecast works on, read
from a long table (series_id, year, value), and the targets table of `kpi forecast-panel`.

Bad input is refused with a message naming the file, the row or column and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpi_lib.core.errors import InputError


@dataclass
class Panel:
    """A (series × year) array of one statistic, NaN before a series starts."""

    ids: np.ndarray  # (S,)
    years: np.ndarray  # (T,) consecutive
    values: np.ndarray  # (S, T), NaN before a series starts

    def through(self, year: int) -> Panel:
        """The panel cut after `year`."""
        keep = self.years <= year
        return Panel(self.ids, self.years[keep], self.values[:, keep])


def refuse_first(bad: pd.Series, df: pd.DataFrame, column: str, source: str, expected: str) -> None:
    """Raise naming the first row of a CSV (header on line 1) where `bad` holds, if any."""
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        found = df[column].iloc[i]
        shown = repr(found) if isinstance(found, str) else f"'{found}'"  # inf, not np.float64(inf)
        raise InputError(source, f"expected {expected}, found {shown}", row=i + 2, column=column)


MAX_YEARS = 300  # a yearly panel longer than this is a typo in the year column
MAX_CELLS = 50_000_000  # series × years: about 400 MB of floats, the most one run should hold
MAX_HORIZON = 50


def panel_from_long(df: pd.DataFrame, source: str = "input") -> Panel:
    """Check and pivot a long table (series_id, year, value).

    Refused with a message naming the series: missing columns, non-numeric years or
    values, duplicate years, gaps inside a series, and series with no values.
    """
    missing = {"series_id", "year", "value"} - set(df.columns)
    if missing:
        raise InputError(
            source,
            f"missing column(s) {', '.join(sorted(missing))}; expected series_id, year, value",
        )
    if df.empty:
        raise InputError(source, "no rows")
    df = df[["series_id", "year", "value"]].copy()
    df["series_id"] = df["series_id"].astype(str)
    years = pd.to_numeric(df["year"], errors="coerce")
    bad = years.isna() | (years % 1 != 0)
    refuse_first(bad, df, "year", source, "a whole year")
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = values.isna() & df["value"].notna() & df["value"].astype(str).str.strip().ne("")
    refuse_first(bad, df, "value", source, "a number")
    bad = values.notna() & ~np.isfinite(values.fillna(0.0))
    refuse_first(bad, df, "value", source, "a finite number")
    span = int(years.max() - years.min() + 1)
    if span > MAX_YEARS:
        raise InputError(
            source,
            f"the years run from {int(years.min())} to {int(years.max())} ({span:,} "
            f"years); yearly panels span at most {MAX_YEARS}: check the year column",
            column="year",
        )
    n_series = df["series_id"].nunique()
    if n_series * span > MAX_CELLS:
        raise InputError(
            source,
            f"{n_series:,} series × {span} years is more than this "
            f"tool holds at once ({MAX_CELLS:,} cells); split the file",
        )
    df["year"], df["value"] = years.astype(int), values
    dup = df.duplicated(["series_id", "year"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise InputError(
            source,
            f"series {first.series_id!r} has year {first.year} more than once",
            column="year",
        )
    has_value = df["value"].notna().groupby(df["series_id"]).any()
    if not has_value.all():
        raise InputError(source, f"series {has_value[~has_value].index[0]!r} has no values")
    df = df.dropna(subset=["value"])
    wide = df.pivot(index="series_id", columns="year", values="value")
    wide = wide.reindex(columns=range(int(wide.columns.min()), int(wide.columns.max()) + 1))
    arr = wide.to_numpy(dtype=float)
    started = np.cumsum(~np.isnan(arr), axis=1) > 0
    last = np.isnan(arr[:, ::-1]).argmin(axis=1)
    ended = np.arange(arr.shape[1])[None, :] > (arr.shape[1] - 1 - last)[:, None]
    gaps = started & ~ended & np.isnan(arr)
    if gaps.any():
        s, t = np.argwhere(gaps)[0]
        raise InputError(
            source,
            f"series {wide.index[s]!r} has no value for {wide.columns[t]} "
            "between other years; fill the gap or split the series",
            column="year",
        )
    return Panel(wide.index.to_numpy(), wide.columns.to_numpy(), arr)


TARGET_COLUMNS = ["series_id", "year", "target", "direction"]


def read_targets(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a targets table: series_id, year, target, direction (increase / decrease)."""
    missing = set(TARGET_COLUMNS) - set(df.columns)
    if missing:
        raise InputError(
            source,
            f"missing column(s) {', '.join(sorted(missing))}; expected {', '.join(TARGET_COLUMNS)}",
        )
    df = df[TARGET_COLUMNS].copy()
    df["series_id"] = df["series_id"].astype(str)
    for col in ("year", "target"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.fillna(0))
        refuse_first(bad, df, col, source, "a number")
        df[col] = values
    bad = ~df["direction"].isin(["increase", "decrease"])
    refuse_first(bad, df, "direction", source, "increase or decrease")
    if df.duplicated(["series_id", "year"]).any():
        first = df[df.duplicated(["series_id", "year"])].iloc[0]
        raise InputError(
            source, f"series {first.series_id!r} has two targets for {int(first.year)}"
        )
    return df.astype({"year": int})
