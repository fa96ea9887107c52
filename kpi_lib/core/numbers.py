"""Numbers as people write them: the one formatter behind reports, calculations and CLI tables."""

from __future__ import annotations

import math


def _missing(v) -> bool:
    if v is None or isinstance(v, str):
        return v is None
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return True  # pd.NA and other non-numbers


def number_text(v, *, decimals: int | None = None, negative: str = "-", missing: str = "") -> str:
    """A number with thousands separators and no `19.000000`.

    `decimals=None` writes it as a reader wants it: whole from 100 on, one decimal from 1,
    two below (1,234 / 12.3 / 0.86). `decimals=N` keeps up to N decimals and drops trailing
    zeros (a calculation in words, a CLI table). `negative` is the sign (▲ in Japanese
    tables), `missing` what a gap reads as.
    """
    if _missing(v):
        return missing
    x = float(v)
    size = abs(x)
    if x.is_integer() or (decimals is None and size >= 100):
        text = f"{size:,.0f}"
    elif decimals is None:
        text = f"{size:,.1f}" if size >= 1 else f"{size:.2f}"
    else:
        text = f"{size:,.{decimals}f}".rstrip("0").rstrip(".")
    return (negative if x < 0 and text.strip("0.,") else "") + text


def reader_number(v) -> str:
    """A figure in a report table or sentence: 1,234 / 12.3 / 0.86 / ▲153; empty for a gap."""
    return number_text(v, negative="▲")


def reader_percent(v) -> str:
    """A share in a report: 27% / ▲60%; empty for a gap."""
    if _missing(v):
        return ""
    text = f"{abs(float(v)):.0%}"
    return ("▲" if float(v) < 0 and text != "0%" else "") + text
