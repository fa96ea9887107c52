"""The reader vocabulary: every Japanese word a reader sees for a code or a computed fact,
defined once. Pages, workbooks, notebooks and CLI tables take their labels from here.

Sections keep the words of one subject together; add to the section that fits, never a second
dictionary for the same codes elsewhere.
"""

from __future__ import annotations

from kpi_lib.core.numbers import reader_number

# --- years -----------------------------------------------------------------------------------

# The basis of a statistic's year: a fiscal year (April–March) or a calendar year.
YEAR_BASIS_JA = {"fiscal": "年度", "calendar": "暦年"}


def year_basis_word(basis: str | None) -> str:
    """年度 / 暦年 for a code; an unknown code is shown as given (never dropped)."""
    return YEAR_BASIS_JA.get(basis or "", basis or "")


# --- intervals and forecasts -----------------------------------------------------------------


def interval_phrase(level: float, lower: float | None, upper: float | None) -> str:
    """「80%区間 1,234〜1,456」: a prediction interval as the pages print it ('' without one)."""
    if lower is None or upper is None:
        return ""
    return f"{level:.0%}区間 {reader_number(lower)}〜{reader_number(upper)}"
