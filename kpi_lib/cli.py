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
from kpi_lib.core.output import emit
from kpi_lib.core.paths import DATA_DIR


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
    cat = catalog_mod.load_catalog(args.catalog)
    df = pd.DataFrame(catalog_mod.catalog_rows(cat), columns=catalog_mod.CATALOG_COLUMNS)
    if args.format == "table":
        df = df.drop(columns=["baseline_text", "target_text", "name_en"])
    emit(df, args.format, args.out)
    return 0


def _catalog_init(args) -> int:
    import re

    from kpi_lib.observations.starter import write_starter

    if not args.municipality or not args.out:
        raise KpiError("kpi catalog init needs --municipality CODE and --out FILE.yaml")
    m = re.fullmatch(r"(\d{4})-(\d{4})", args.period or "")
    if not m:
        raise KpiError(
            f"--period {args.period!r}: expected START-END fiscal years such as 2025-2029"
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
    from kpi_lib.evaluation.scorecard import READER_COLUMNS, build_scorecard, write_scorecard_xlsx
    from kpi_lib.observations.gather import load_observations
    from kpi_lib.observations.values import freshness, freshness_for_readers, municipality_for

    _check_out(args, feeds_actuals=True)
    cat = catalog_mod.load_catalog(args.catalog)
    cat.check_evaluation_year(args.as_of)
    municipality = municipality_for(cat, args.municipality, args.data)
    obs = load_observations(cat, args.data, municipality, args.actuals)
    settings = _settings(args)
    card, _ = build_scorecard(
        cat,
        obs,
        args.as_of,
        settings,
        forecast=not args.no_forecast,
        data_dir=args.data,
        municipality_code=municipality,
    )
    if args.format == "table":
        card = card[READER_COLUMNS]
        card = card.round(
            {
                "achievement_rate": 3,
                "pace": 3,
                "expected_value": 1,
                "p_meet": 2,
                "forecast_value": 0,
                "forecast_lower": 0,
                "forecast_upper": 0,
            }
        )
    emit(
        card,
        args.format,
        args.out,
        xlsx_writer=lambda df, path: write_scorecard_xlsx(
            df,
            path,
            as_of=args.as_of,
            catalog=cat,
            settings=settings,
            freshness=freshness_for_readers(freshness(cat, args.data, municipality), args.as_of),
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
    """`kpi template`: the analysts' entry workbook."""
    from kpi_lib.core.output import atomic_path
    from kpi_lib.observations.actuals import write_template

    _check_out(args)
    cat = catalog_mod.load_catalog(args.catalog)
    with atomic_path(args.out) as tmp:
        write_template(cat, tmp)
    print(f"wrote {args.out} ({len(cat.kpis)} KPIs)", file=sys.stderr)
    return 0


def cmd_validate(args) -> int:
    """`kpi validate FILE…`: check inputs without changing anything."""
    from kpi_lib.observations.validate import validate_file

    cat = catalog_mod.load_catalog(args.catalog)
    for f in args.files:
        print(f"OK {validate_file(f, cat)}")
    return 0


def _read_series_csv(path: str) -> pd.DataFrame:
    """A user's CSV with a series_id column kept as text; unreadable input is a KpiError."""
    try:
        return pd.read_csv(path, dtype={"series_id": str})
    except FileNotFoundError:
        raise KpiError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise KpiError(f"{path}: not a readable CSV: {exc}") from None


def cmd_forecast_panel(args) -> int:
    """`kpi forecast-panel`: forecast every series of a CSV panel (and `p_meet` for targets)."""
    from kpi_lib.core.output import check_out, write_csv_for_people
    from kpi_lib.forecasting.panel import forecast_panel, panel_from_long, read_targets

    check_out(args.out, [p for p in (args.input, args.targets) if p], args.force)
    panel = panel_from_long(_read_series_csv(args.input), args.input)
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

        print(run_report_bench(full=args.full))
    return 0


def cmd_report(args) -> int:
    """`kpi report`: the annual report (or one per catalog with --catalog-dir)."""
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
        args.fiscal_year,
        args.out,
        args.jobs,
        args.municipality,
        args.catalog,
        args.data,
        args.notebooks,
        args.deep_dive,
        timeout=args.timeout,
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
    from kpi_lib.forecasting.panel import BENCHMARKS, METHODS
    from kpi_lib.reporting.runner import DEFAULT_TIMEOUT

    parser = argparse.ArgumentParser(
        prog="kpi", description="効果検証 of a regional revitalization strategy's KPIs."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "catalog",
        help="list the KPI catalog (list), write a starter one for a town (init), "
        "or print its JSON Schema (schema)",
    )
    p.add_argument("action", nargs="?", choices=["list", "init", "schema"], default="list")
    _add_catalog_arg(p)
    _add_format_args(p)
    p.add_argument("--municipality", help="init: 団体コード of the town (6 digits)")
    p.add_argument(
        "--period",
        default="2025-2029",
        help="init: the strategy's fiscal years (default 2025-2029)",
    )
    p.add_argument(
        "--data", default=str(DATA_DIR), help="init: data folder with public/ (default: bundled)"
    )
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("scorecard", help="judge every KPI as of a fiscal year")
    p.add_argument(
        "--as-of",
        type=int,
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
        type=float,
        default=0.10,
        metavar="FRACTION",
        help="a level to hold is met within this share of it (default 0.10 = ±10 %%)",
    )
    p.add_argument(
        "--maintain-points",
        type=float,
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
    p.add_argument("--out", required=True, help="FILE.xlsx")
    _add_force_arg(p)
    _add_catalog_arg(p)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("report", help="run the notebooks and write the annual report")
    p.add_argument(
        "--fiscal-year", type=int, required=True, metavar="YEAR", help="fiscal year of evaluation"
    )
    p.add_argument("--out", help="report folder (default: reports/FY<YEAR>)")
    p.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")
    p.add_argument(
        "--municipality", help="団体コード; must agree with the catalog's (default: the catalog's)"
    )
    p.add_argument(
        "--timeout",
        type=int,
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
    p.add_argument("--through", type=int, required=True, metavar="YEAR", help="last year to fit on")
    p.add_argument("--horizon", type=int, required=True, metavar="H", help="years ahead")
    p.add_argument("--level", type=float, default=0.8, help="central interval, default 0.8")
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
    p.add_argument("--level", type=float, default=0.8)
    p.add_argument(
        "--full",
        action="store_true",
        help="report: with a generated entry workbook that gives every KPI five years of values",
    )
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KpiError as exc:
        message = exc.for_cli() if isinstance(exc, ArgumentError) else str(exc)
        prefix = "error: " if exc.exit_code == 2 else ""  # a failed notebook names itself
        print(f"kpi {args.command}: {prefix}{message}", file=sys.stderr)
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
