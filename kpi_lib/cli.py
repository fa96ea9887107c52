"""The `kpi` command: thin wrappers over kpi_lib, with errors a user can act on.

Exit codes: 0 success, 1 a run that failed (a report notebook), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from kpi_lib.catalog import model as catalog_mod
from kpi_lib.core.errors import ArgumentError, KpiError
from kpi_lib.core.limits import bounded
from kpi_lib.core.output import emit, terminal_text
from kpi_lib.core.paths import DATA_DIR

# The accepted ranges of numeric options (docs/validation.md, "Limits").
YEAR = bounded(int, 1900, 2100)
FRACTION = bounded(float, 0, 1)
LEVEL = bounded(float, 0, 1, open_low=True, open_high=True)


def _add_catalog_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", help="KPI catalog YAML (default: the bundled Ashibetsu catalog)")


def _add_format_args(p: argparse.ArgumentParser, formats=("table", "csv", "json")) -> None:
    p.add_argument("--format", choices=formats, default="table")
    p.add_argument("--out", help="write to this file instead of standard output")
    _add_force_arg(p)


def _add_force_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--force", action="store_true", help="replace an existing --out file (never an input)"
    )


def _check_out(args, *extra: str | None, feeds_actuals: bool = False) -> None:
    """Refuse --out before any work: an input of the run (catalog, data files, `extra`), an
    existing file without --force, or (`feeds_actuals`) a new file in the actuals folder that
    the next run would read as analysts' figures."""
    from kpi_lib.core.output import check_out
    from kpi_lib.core.paths import DEFAULT_CATALOG

    if not args.out:
        return
    data = Path(getattr(args, "data", None) or DATA_DIR)
    inputs = [Path(args.catalog or DEFAULT_CATALOG), *map(Path, filter(None, extra))]
    inputs += [Path(a) for a in getattr(args, "actuals", None) or []]
    for folder in (data / "public", data / "actuals", data / "kpis"):
        inputs += sorted(folder.glob("*")) if folder.is_dir() else []
    inputs.append(data / "forecast.yaml")
    check_out(args.out, inputs, args.force)
    actuals = (data / "actuals").resolve()
    if (
        feeds_actuals
        and getattr(args, "actuals", None) is None
        and Path(args.out).resolve().parent == actuals
    ):
        raise ArgumentError(
            "out",
            f"{args.out} is in {actuals}, whose files every run reads as analysts' "
            "figures; write it elsewhere",
        )


def cmd_catalog(args) -> int:
    """`kpi catalog [list|init|schema]`."""
    if args.action == "init":
        return _catalog_init(args)
    if args.paths and args.action not in ("import", "diff"):
        raise KpiError(f"kpi catalog {args.action} takes no file names: {' '.join(args.paths)}")
    if args.action == "import":
        return _catalog_import(args)
    if args.action == "diff":
        return _catalog_diff(args)
    _check_out(args, feeds_actuals=True)
    if args.action == "schema":
        import json

        text = (
            json.dumps(catalog_mod.Catalog.model_json_schema(), ensure_ascii=False, indent=2) + "\n"
        )
        if args.out:
            from kpi_lib.core.output import atomic_path

            with atomic_path(args.out) as tmp:
                tmp.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    from kpi_lib.catalog.listing import CATALOG_COLUMNS, catalog_rows

    cat = catalog_mod.load_catalog(args.catalog)
    df = pd.DataFrame(catalog_rows(cat), columns=CATALOG_COLUMNS)
    if args.format == "table":
        df = df.drop(columns=["baseline_text", "target_text", "name_en"])
    emit(df, args.format, args.out)
    return 0


def _catalog_init(args) -> int:
    import re

    from kpi_lib.observations.starter import write_starter

    if not args.municipality or not args.out:
        raise KpiError("kpi catalog init needs --municipality CODE and --out FILE.yaml")
    m = re.fullmatch(r"([0-9]{4})-([0-9]{4})", args.period or "")
    if not m or not 1900 <= int(m[1]) <= int(m[2]) <= min(int(m[1]) + 9, 2100):
        raise KpiError(
            f"--period {args.period!r}: expected START-END fiscal years such as 2025-2029 "
            "(1900–2100, at most ten years)"
        )
    out = Path(args.out)
    if out.exists():
        raise KpiError(
            f"{out} exists; kpi catalog init does not overwrite a catalog (choose another --out)"
        )
    n = write_starter(args.municipality, out, (int(m[1]), int(m[2])), args.data)
    print(
        f"wrote {out} ({n} KPIs with official baselines and placeholder "
        f"targets); edit the lines marked EDIT, then `kpi validate {out}`",
        file=sys.stderr,
    )
    return 0


def _period(text: str | None) -> tuple[int, int]:
    import re

    m = re.fullmatch(r"(\d{4})-(\d{4})", text or "")
    if not m:
        raise ArgumentError(
            "period", f"{text!r}: expected START-END fiscal years such as 2025-2029"
        )
    return int(m[1]), int(m[2])


def _catalog_import(args) -> int:
    """`kpi catalog import SOURCE`: a strategy's KPI list as a catalog, with a review list."""
    from kpi_lib.observations.import_build import import_catalog

    if len(args.paths) != 1 or not args.municipality or not args.out:
        raise KpiError(
            "kpi catalog import needs SOURCE, --municipality CODE, --period START-END "
            "and --out FILE.yaml"
        )
    out = Path(args.out)
    if out.exists() or out.is_symlink():
        raise ArgumentError("out", f"{out} exists; the import does not overwrite a catalog")
    result = import_catalog(args.paths[0], args.municipality, _period(args.period), out, args.data)
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    n = len(result.catalog.kpis)
    print(f"wrote {out} ({n} KPIs, {len(result.reviews)} to review)", file=sys.stderr)
    for kpi_id, name, reason in result.reviews:
        print(f"review {kpi_id} {name}: {reason}", file=sys.stderr)
    return 0


def _catalog_diff(args) -> int:
    """`kpi catalog diff OLD NEW`: what differs, indicator by indicator."""
    from kpi_lib.catalog.diff import DIFF_COLUMNS, diff_catalogs

    if len(args.paths) != 2:
        raise KpiError("kpi catalog diff needs two catalogs: OLD.yaml NEW.yaml")
    _check_out(args, *args.paths)
    old, new = (catalog_mod.load_catalog(p) for p in args.paths)
    rows = diff_catalogs(old, new)
    if args.out is None and args.format == "table":
        if rows:
            emit(pd.DataFrame(rows, columns=DIFF_COLUMNS), args.format, None)
        print(f"{len(rows)} difference(s)", file=sys.stderr)
        return 0
    emit(pd.DataFrame(rows, columns=DIFF_COLUMNS), args.format, args.out)
    return 0


def _settings(args):
    from kpi_lib.evaluation.rules import RuleSettings

    return RuleSettings(
        formula=args.formula,
        grades=args.grades,
        maintain_tolerance_relative=args.maintain_tolerance,
        maintain_tolerance_points=args.maintain_points,
    )


def cmd_scorecard(args) -> int:
    """`kpi scorecard`: every KPI judged as of a fiscal year, as a table, csv, json or xlsx."""
    from kpi_lib.evaluation.scorecard import READER_COLUMNS, build_scorecard
    from kpi_lib.observations.gather import load_inputs
    from kpi_lib.observations.values import freshness, freshness_for_readers, municipality_for
    from kpi_lib.reporting.sheet import write_evaluation_workbook

    _check_out(args, feeds_actuals=True)
    cat = catalog_mod.load_catalog(args.catalog)
    cat.check_evaluation_year(args.as_of)
    municipality = municipality_for(cat, args.municipality, args.data)
    returned = load_inputs(cat, args.data, municipality, args.actuals)
    obs = returned.observations
    settings = _settings(args)
    scorecard = build_scorecard(
        cat,
        obs,
        args.as_of,
        settings,
        forecast=not args.no_forecast,
        data_dir=args.data,
        municipality_code=municipality,
        judgements=returned.judgements_for(args.as_of),
    )
    if args.format == "table" and not args.out:
        # The terminal: the readers' table in Japanese, fitted to its width (csv/json keep every
        # column for scripts).
        from kpi_lib.core.output import fitted_table, terminal_width
        from kpi_lib.reporting.tables import reader_table

        table = reader_table(scorecard.entries, ids=True)
        optional = ("根拠", "注記", "単位", "基準値", "見通し（目標年度）")
        sys.stdout.write(fitted_table(table, terminal_width(), "指標", optional))
        print("すべての列: --format csv / json / xlsx", file=sys.stderr)
        return 0
    card = scorecard.frame()
    if args.format == "table":
        card = card[READER_COLUMNS]
    emit(
        card,
        args.format,
        args.out,
        xlsx_writer=lambda _, path: write_evaluation_workbook(
            path,
            scorecard,
            freshness_for_readers(freshness(cat, args.data, municipality), args.as_of),
        ),
    )
    return 0


def cmd_ingest(args) -> int:
    """`kpi ingest`: rebuild the bundled tables from the publishers' files."""
    from kpi_lib.sources.ingest import ingest

    ingest(args.source, args.out)
    return 0


def cmd_series(args) -> int:
    """`kpi series KPI_ID`: one KPI's observations from every source, and which one counts."""
    from kpi_lib.catalog.model import RELATIONS_JA
    from kpi_lib.observations.gather import load_observations
    from kpi_lib.observations.values import mark_chosen, measured, municipality_for

    _check_out(args, feeds_actuals=True)
    cat = catalog_mod.load_catalog(args.catalog)
    kpi = cat.get(args.kpi_id)
    municipality = municipality_for(cat, args.municipality, args.data)
    obs = load_observations(cat, args.data, municipality, args.actuals)
    obs = obs[obs["kpi_id"] == kpi.kpi_id].sort_values(["year", "provenance"])
    if obs.empty:
        raise KpiError(
            f"no observations of {kpi.kpi_id} ({kpi.label}) for municipality "
            f"{municipality}: it has no public series; enter actuals with `kpi template`"
        )
    if measured(obs).empty:
        print(
            f"kpi series: {kpi.kpi_id} has no values yet, only the "
            "strategy's baseline: departments enter them with `kpi template`",
            file=sys.stderr,
        )
    # Every row is listed; `used` marks the one the precedence rule counts for its year.
    obs = obs.assign(used=mark_chosen(obs))
    cols = ["year", "year_basis", "value", "unit", "provenance", "relation", "used", "source"]
    if args.format == "table":
        obs = obs.assign(relation=obs["relation"].map(RELATIONS_JA).fillna(""))
    else:
        cols += ["licence", "source_file", "as_of", "note"]
    emit(obs[cols], args.format, args.out)
    return 0


def cmd_template(args) -> int:
    """`kpi template`: the entry workbook (or one per department), or the committee's."""
    from kpi_lib.core.output import atomic_path
    from kpi_lib.observations.judgements import write_review_template
    from kpi_lib.observations.template import (
        default_year,
        write_department_templates,
        write_template,
    )

    if not args.by_department:  # a folder of workbooks: write_department_templates checks it
        _check_out(args)
    cat = catalog_mod.load_catalog(args.catalog)
    year = args.fiscal_year or default_year(cat)
    cat.check_evaluation_year(year, "fiscal_year")
    if args.by_department and args.review:
        raise ArgumentError("review", "writes one workbook; it does not go with --by-department")
    if args.by_department:
        counts = write_department_templates(cat, args.out, year)
        listing = "、".join(f"{terminal_text(d)} {n}" for d, n in counts.items())
        print(
            f"wrote {len(counts)} workbooks into {args.out} for FY{year} ({listing})",
            file=sys.stderr,
        )
        return 0
    with atomic_path(args.out) as tmp:
        if args.review:
            write_review_template(cat, tmp, year)
        else:
            write_template(cat, tmp, year)
    what = f"{len(cat.goals)} basic goals" if args.review else f"{len(cat.kpis)} KPIs"
    print(f"wrote {args.out} ({what}, FY{year})", file=sys.stderr)
    return 0


def cmd_status(args) -> int:
    """`kpi status`: per department, which KPIs have the year's figure and judgement."""
    from kpi_lib.core.output import atomic_path, clip_text, fitted_table, terminal_width
    from kpi_lib.observations.gather import load_inputs
    from kpi_lib.observations.status import (
        department_status,
        kpi_status,
        still_due,
        write_status_xlsx,
    )

    _check_out(args, feeds_actuals=True)
    cat = catalog_mod.load_catalog(args.catalog)
    cat.check_evaluation_year(args.fiscal_year, "fiscal_year")
    returned = load_inputs(cat, args.data, None, args.actuals)
    per_kpi = kpi_status(cat, returned, args.fiscal_year)
    if args.format == "xlsx":
        if not args.out:
            raise ArgumentError("format", "xlsx needs ‹out› FILE.xlsx")
        with atomic_path(args.out) as tmp:
            write_status_xlsx(per_kpi, tmp, args.fiscal_year, cat.strategy.title_ja)
        print(f"wrote {args.out}", file=sys.stderr)
        return 0
    if args.format != "table" or args.out:
        emit(per_kpi, args.format, args.out)
        return 0
    width = terminal_width()
    per_kpi = per_kpi.assign(担当課=per_kpi["担当課"].map(lambda d: clip_text(d, 24)))
    summary = department_status(per_kpi)
    print(f"{cat.strategy.municipality_ja} {args.fiscal_year}年度の提出状況（担当課別）")
    sys.stdout.write(fitted_table(summary, width, "未提出の指標"))
    missing = still_due(per_kpi)
    if len(missing):
        print(f"\n未提出の指標（{len(missing)}）")
        sys.stdout.write(fitted_table(missing.drop(columns=["提出ファイル"]), width, "指標"))
    return 0


def cmd_validate(args) -> int:
    """`kpi validate FILE…`: check inputs without changing anything."""
    from kpi_lib.observations.validate import review_warnings, validate_file

    cat = catalog_mod.load_catalog(args.catalog)
    for f in args.files:
        print(f"OK {terminal_text(validate_file(f, cat))}")
        for warning in review_warnings(f):
            print(f"warning: {terminal_text(warning)}", file=sys.stderr)
    return 0


def _read_series_csv(path: str) -> pd.DataFrame:
    """A user's CSV with a series_id column kept as text; unreadable input is a KpiError."""
    if Path(path).exists() and not Path(path).is_file():  # a FIFO would block, a folder fail
        raise KpiError(f"{path}: not a regular file")
    try:
        return pd.read_csv(path, dtype={"series_id": str})
    except FileNotFoundError:
        raise KpiError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise KpiError(f"{path}: not a readable CSV: {exc}") from None


def cmd_forecast_panel(args) -> int:
    """`kpi forecast-panel`: forecast every series of a CSV panel (and `p_meet` for targets)."""
    from kpi_lib.core.output import check_out, write_csv_for_people
    from kpi_lib.forecasting.inputs import panel_from_long, read_targets
    from kpi_lib.forecasting.panel import forecast_panel

    check_out(args.out, [p for p in (args.input, args.targets) if p], args.force)
    panel = panel_from_long(_read_series_csv(args.input), args.input)
    first, last = int(panel.years.min()), int(panel.years.max())
    if not first <= args.through <= last:
        # Forecasts are labelled from --through on: beyond the data they would name wrong years.
        raise ArgumentError(
            "through",
            f"{args.through}: {args.input} runs from {first} to {last}; "
            f"fit through one of its years, {first}–{last}",
        )
    print(
        f"[forecast-panel] {len(panel.ids)} series, {panel.years.min()}–{panel.years.max()}; "
        f"fitting through {args.through}, {args.horizon} years ahead",
        file=sys.stderr,
    )
    targets = read_targets(_read_series_csv(args.targets), args.targets) if args.targets else None
    out = forecast_panel(
        panel, args.through, args.horizon, args.level, args.method, targets=targets
    )
    for note in out.attrs.get("notes", []):
        print(f"[forecast-panel] {note}", file=sys.stderr)
    write_csv_for_people(out, args.out)
    print(f"wrote {args.out} ({len(out)} rows)", file=sys.stderr)
    return 0


def cmd_bench(args) -> int:
    """`kpi bench forecast|report`: benchmarks from one run."""
    if args.what == "forecast":
        from kpi_lib.forecasting.bench import run_forecast_bench

        print(run_forecast_bench(args.level))
    else:
        from kpi_lib.reporting.bench import run_report_bench

        print(run_report_bench(full=args.full, runs=args.runs))
    return 0


def cmd_report(args) -> int:
    """`kpi report`: the annual report (or one per catalog with --catalog-dir)."""
    from kpi_lib.reporting.run_settings import RunSettings
    from kpi_lib.reporting.runner import run_report

    if args.catalog_dir:
        from kpi_lib.reporting.batch import run_batch

        if args.catalog or args.municipality or args.deep_dive is not None or args.notebooks:
            raise KpiError(
                "--catalog-dir runs every catalog of the folder with the project's "
                "notebooks: leave out --catalog, --municipality, --notebooks and --deep-dive"
            )
        run_batch(args.fiscal_year, args.catalog_dir, args.out, args.jobs, args.data, args.timeout)
        return 0
    run_report(
        RunSettings.of(
            args.fiscal_year,
            args.out,
            jobs=args.jobs,
            municipality_code=args.municipality,
            catalog=args.catalog,
            data=args.data,
            notebooks=args.notebooks,
            deep_dive=args.deep_dive,
            timeout=args.timeout,
        )
    )
    return 0


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default=str(DATA_DIR),
        help="data folder with public/ and actuals/ (default: bundled)",
    )
    p.add_argument(
        "--municipality",
        help="団体コード, 6 digits; must agree with the catalog's (default: the catalog's)",
    )
    p.add_argument(
        "--actuals", nargs="*", help="analysts' entry workbooks or CSVs (default: DATA/actuals/*)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The `kpi` command line: every subcommand with its options and help."""
    from kpi_lib.forecasting.methods import BENCHMARKS, METHODS
    from kpi_lib.reporting.run_settings import DEFAULT_TIMEOUT

    parser = argparse.ArgumentParser(
        prog="kpi", description="効果検証 of a regional revitalization strategy's KPIs."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "catalog",
        help="list the KPI catalog (list), write a starter one for a town (init), import a "
        "strategy's KPI list (import SOURCE), compare two (diff OLD NEW), "
        "or print its JSON Schema (schema)",
    )
    p.add_argument(
        "action", nargs="?", choices=["list", "init", "schema", "import", "diff"], default="list"
    )
    p.add_argument("paths", nargs="*", help="import: SOURCE; diff: OLD.yaml NEW.yaml")
    _add_catalog_arg(p)
    _add_format_args(p)
    p.add_argument("--municipality", help="init, import: 団体コード of the town (6 digits)")
    p.add_argument(
        "--period",
        default="2025-2029",
        help="init, import: the strategy's fiscal years (default 2025-2029)",
    )
    p.add_argument(
        "--data",
        default=str(DATA_DIR),
        help="init, import: data folder with public/ (default: bundled)",
    )
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("scorecard", help="judge every KPI as of a fiscal year")
    p.add_argument(
        "--as-of",
        type=YEAR,
        required=True,
        metavar="YEAR",
        help="fiscal year of evaluation, e.g. 2021",
    )
    _add_catalog_arg(p)
    _add_data_args(p)
    _add_format_args(p, ("table", "csv", "json", "xlsx"))
    p.add_argument(
        "--formula",
        choices=["progress", "ratio"],
        default="progress",
        help="達成率: progress = (actual−baseline)/(target−baseline) (default); "
        "ratio = actual/target",
    )
    p.add_argument(
        "--grades", choices=["ABCD", "symbols", "SABC"], default="ABCD", help="grade preset"
    )
    p.add_argument("--no-forecast", action="store_true", help="leave out the forecasts (faster)")
    p.add_argument(
        "--maintain-tolerance",
        type=FRACTION,
        default=0.10,
        metavar="FRACTION",
        help="a level to hold is met within this share of it (default 0.10 = ±10 %%)",
    )
    p.add_argument(
        "--maintain-points",
        type=bounded(float, 0, 100),
        default=3.0,
        metavar="POINTS",
        help="the same for percentages, in points (default 3)",
    )
    p.set_defaults(func=cmd_scorecard)

    p = sub.add_parser("ingest", help="rebuild data/public from the publishers' files")
    p.add_argument(
        "--source",
        help="folder with jumin/, furusato/, hokkaido_tourism/ (default: ../shared/data)",
    )
    p.add_argument("--out", help="output folder (default: data/public)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("series", help="one KPI's observations: year, value, unit, source")
    p.add_argument("kpi_id")
    _add_catalog_arg(p)
    _add_data_args(p)
    _add_format_args(p)
    p.set_defaults(func=cmd_series)

    p = sub.add_parser("template", help="write the analysts' entry workbook")
    p.add_argument("--out", required=True, help="FILE.xlsx (with --by-department: a new FOLDER)")
    p.add_argument(
        "--fiscal-year",
        type=YEAR,
        metavar="YEAR",
        help="the evaluation year of the judgement columns (default: the last fiscal year "
        "ended, within the strategy's period)",
    )
    p.add_argument(
        "--by-department",
        action="store_true",
        help="one workbook per 担当課 in the folder --out (KPIs without one in 未割当.xlsx)",
    )
    p.add_argument(
        "--review",
        action="store_true",
        help="the committee's workbook: one row per basic goal for 有識者会議の意見",
    )
    _add_force_arg(p)
    _add_catalog_arg(p)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser(
        "status", help="per department, which KPIs have the year's figure and judgement"
    )
    p.add_argument("--fiscal-year", type=YEAR, required=True, metavar="YEAR")
    _add_format_args(p, ("table", "csv", "json", "xlsx"))
    _add_catalog_arg(p)
    _add_data_args(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("report", help="run the notebooks and write the annual report")
    p.add_argument(
        "--fiscal-year", type=YEAR, required=True, metavar="YEAR", help="fiscal year of evaluation"
    )
    p.add_argument("--out", help="report folder (default: reports/<団体コード>_<town>/FY<YEAR>)")
    p.add_argument(
        "--jobs", type=bounded(int, 1, 64), default=2, help="notebooks run at once (default 2)"
    )
    p.add_argument(
        "--municipality", help="団体コード; must agree with the catalog's (default: the catalog's)"
    )
    p.add_argument(
        "--timeout",
        type=bounded(int, 1, 86_400),
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"a cell running longer fails its notebook (default {DEFAULT_TIMEOUT})",
    )
    _add_catalog_arg(p)
    p.add_argument("--data", help="data folder with public/ and actuals/ (default: bundled)")
    p.add_argument(
        "--notebooks", help="folder of notebooks to run (default: the project's notebooks/)"
    )
    p.add_argument(
        "--catalog-dir",
        metavar="DIR",
        help="one report per catalog (*.yaml) in DIR, into OUT/<name>/, "
        "with a summary index across towns (default OUT: reports/FY<YEAR>_towns)",
    )
    p.add_argument(
        "--deep-dive",
        nargs="*",
        metavar="KPI_ID",
        help="KPIs for the deep-dive notebook (default: every KPI with data)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("forecast-panel", help="forecast every series of a panel at once")
    p.add_argument("--input", required=True, help="CSV with columns series_id, year, value")
    p.add_argument(
        "--through", type=YEAR, required=True, metavar="YEAR", help="last year to fit on"
    )
    p.add_argument(
        "--horizon", type=bounded(int, 1, 30), required=True, metavar="H", help="years ahead"
    )
    p.add_argument("--level", type=LEVEL, default=0.8, help="central interval, default 0.8")
    p.add_argument("--method", default="auto", choices=["auto", *METHODS, *BENCHMARKS])
    p.add_argument(
        "--targets",
        help="CSV with series_id, year, target, direction (increase/decrease): adds p_meet",
    )
    p.add_argument(
        "--out",
        required=True,
        help="output CSV: series_id, year, forecast, lower, upper, method, note "
        "(with --targets also target, direction, p_meet)",
    )
    _add_force_arg(p)
    p.set_defaults(func=cmd_forecast_panel)

    p = sub.add_parser("bench", help="benchmarks: forecast speed and quality, or report time")
    p.add_argument("what", nargs="?", choices=["forecast", "report"], default="forecast")
    p.add_argument("--level", type=LEVEL, default=0.8)
    p.add_argument(
        "--full",
        action="store_true",
        help="report: with a generated entry workbook that gives every KPI five years of values",
    )
    p.add_argument("--runs", type=int, default=3, help="report: runs to take the median of")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "validate", help="check input files (entry workbook, CSV, catalog, official files)"
    )
    p.add_argument("files", nargs="+")
    _add_catalog_arg(p)
    p.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `kpi`; a user's mistake prints a message and returns 2, never a traceback."""
    for stream in (sys.stdout, sys.stderr):
        # A terminal that cannot show Japanese (PYTHONIOENCODING=ascii) gets \\u escapes.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KpiError as exc:
        message = exc.for_cli() if isinstance(exc, ArgumentError) else str(exc)
        prefix = "error: " if exc.exit_code == 2 else ""  # a failed notebook names itself
        print(f"kpi {args.command}: {prefix}{terminal_text(message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a read-only or full disk, a denied permission: the user's to fix
        from kpi_lib.core.output import os_error_message

        print(f"kpi {args.command}: error: {os_error_message(exc, doing='')}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
