"""The report's own pages (index, goal documents, batch summary): Jinja2 templates in
`templates/` (shipped with the package) — one page shell, one stylesheet, one body template per
page and the shared pieces (a result's badge, a plain table) — rendered by one environment with
autoescape on, so that a text from a catalog or workbook is escaped unless a caller marks it as
HTML it built (the one such HTML is a chart's <img>, built and escaped by chart_cache). Callers
pass plain values (strings, numbers formatted by core.numbers, lists of rows); data is never
read as template source, so template syntax inside a catalog's text stays text."""

from __future__ import annotations

from functools import cache

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("kpi_lib.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a name the template needs and was not given is an error
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def asset(name: str) -> str:
    """A file of templates/ as it is (a stylesheet), read by the same loader as the templates."""
    source, _, _ = _environment().loader.get_source(_environment(), name)  # type: ignore[union-attr]
    return source


def render(template: str, **values) -> str:
    """A page from one of the templates (each extends page.html); values are escaped."""
    return _environment().get_template(template).render(**values)


def table_values(title: str, df: pd.DataFrame | None) -> dict:
    """A DataFrame as the plain values of parts.html's table: its title, column names and rows
    of texts (no rows for an empty or missing frame: the table is then left out)."""
    if df is None or not len(df):
        return {"title": title, "columns": [], "rows": []}
    return {
        "title": title,
        "columns": [str(c) for c in df.columns],
        "rows": [[str(v) for v in row] for row in df.itertuples(index=False)],
    }
