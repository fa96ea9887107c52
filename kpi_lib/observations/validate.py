"""`kpi validate FILE`: check any input the tool reads, without changing anything."""

from __future__ import annotations

import re
from pathlib import Path

from kpi_lib.catalog.model import Catalog, load_catalog
from kpi_lib.core.errors import InputError, InputErrors
from kpi_lib.observations.actuals import read_returned
from kpi_lib.observations.catalog_checks import check_catalog
from kpi_lib.observations.entry_files import ACTUALS_KINDS, ACTUALS_SUFFIXES
from kpi_lib.sources.loaders import furusato, jumin, ssds, tourism


def validate_file(path: str | Path, catalog: Catalog) -> str:
    """Read `path` with the reader its name and shape call for; return a one-line summary.

    Raises InputError / InputErrors naming the file, sheet, row and column of each problem.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "file not found")
    if not path.is_file():  # a folder named y.csv, a FIFO: never opened
        raise InputError(str(path), "not a regular file")
    name = path.name
    if re.match(r"^\d{4}ssjin\.xlsx?$", name):
        df = jumin.load_jumin_file(path)
        year = f"year {df['year'].iloc[0]} ({df['year_basis'].iloc[0]})"
        return _summary(name, "住民基本台帳 file", df, "municipality_code") + f", {year}"
    if re.match(r"^tourism_stat_report_\d{4}_monthly\.csv$", name):
        df = tourism.load_tourism_file(path)
        return _summary(name, "観光入込客数 file", df, "municipality", "municipalities")
    if name == "R2_gain.xlsx" or (path.suffix == ".xlsx" and "gain" in name):
        df = furusato.load_r2_detail(path)
        return _summary(name, "ふるさと納税 detail workbook", df)
    if name.startswith("soumu_kakudantai"):
        codes_file = path.with_name("R2_gain.xlsx")
        if not codes_file.exists():
            raise InputError(str(path), "the 団体コード list R2_gain.xlsx must lie beside this CSV")
        df = furusato.load_series(path, furusato.load_codes(codes_file))
        return _summary(name, "ふるさと納税 time series", df)
    if name.startswith("soumu_detail"):
        df = furusato.load_detail(path)
        return _summary(name, "ふるさと納税 detail (costs)", df, "municipality_code")
    if name.startswith("ssds_"):
        df = ssds.load_ssds(path)
        return _summary(
            name, "社会・人口統計体系 municipal data", df, "municipality_code", "municipalities"
        )
    if path.suffix in (".yaml", ".yml"):
        cat = load_catalog(path)
        problems = check_catalog(cat, str(path))
        if problems:
            raise InputErrors(problems)
        placeholders = sum(k.target.placeholder for k in cat.kpis)
        reviews = len(review_warnings(cat, str(path)))
        return (
            f"{name}: KPI catalog for {cat.strategy.municipality_ja} "
            f"({cat.strategy.municipality_code}), {len(cat.kpis)} "
            "indicators, texts and public series checked"
            + (f"; {placeholders} placeholder target(s) still to replace" if placeholders else "")
            + (f"; {reviews} open review item(s), listed as warnings" if reviews else "")
        )
    if path.suffix.lower() in ACTUALS_SUFFIXES:
        returned = read_returned(path, catalog)
        if not returned.opinions.empty:
            goals = returned.opinions["goal"].nunique()
            return f"{name}: the committee's opinions on {goals} basic goals, nothing to fix"
        df, judged = returned.observations, len(returned.judgements)
        kpis = df["kpi_id"].nunique()
        return (
            f"{name}: analysts' actuals, {len(df)} values for {kpis} KPIs and {judged} "
            "judgements, nothing to fix"
        )
    raise InputError(
        str(path),
        "unknown kind of file: expected a KPI catalog (.yaml), an entry file "
        f"({ACTUALS_KINDS}), or an official file (YYMMssjin.xls, "
        "tourism_stat_report_YYYY_monthly.csv, "
        "R2_gain.xlsx, soumu_kakudantai_*.csv, soumu_detail_*.csv, ssds_*.csv)",
    )


def review_warnings(catalog: Catalog | str | Path, file: str = "") -> list[str]:
    """The open `review` items of a catalog (a path: only if it is a catalog), one line each:
    warnings, not errors — the catalog is usable, a person must still confirm these."""
    if not isinstance(catalog, Catalog):
        path = Path(catalog)
        if path.suffix not in (".yaml", ".yml"):
            return []
        file, catalog = str(path), load_catalog(path)
    return [
        f"{file}, KPI {k.kpi_id} ({k.name_ja}): review: {k.review}"
        for k in catalog.kpis
        if k.review
    ]


def _summary(name: str, what: str, df, column: str | None = None, noun: str = "bodies") -> str:
    """'NAME: WHAT, N bodies, M values': what a file held, for `kpi validate`'s OK line."""
    bodies = [f"{df[column].nunique()} {noun}"] if column else []
    return ", ".join([f"{name}: {what}", *bodies, f"{len(df):,} values"])
