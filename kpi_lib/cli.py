"""The `kpi` command: thin wrappers over kpi_lib, with errors a user can act on.

Exit codes: 0 success, 1 a run that failed (a report notebook), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import sys

from kpi_lib import commands
from kpi_lib.core.errors import ArgumentError, KpiError
from kpi_lib.core.limits import bounded
from kpi_lib.core.output import terminal_text
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
    p.set_defaults(func=commands.cmd_catalog)

    p = sub.add_parser("scorecard", help="judge every KPI as of a fiscal year")
    p.add_argument(
        "--fiscal-year",
        "--as-of",  # its earlier name, kept for scripts; `kpi report` says --fiscal-year
        dest="fiscal_year",
        type=YEAR,
        required=True,
        metavar="YEAR",
        help="fiscal year of evaluation, e.g. 2021 (also --as-of)",
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
    p.set_defaults(func=commands.cmd_scorecard)

    p = sub.add_parser("ingest", help="rebuild data/public from the publishers' files")
    p.add_argument(
        "--source",
        help="folder with jumin/, furusato/, hokkaido_tourism/ (default: ../shared/data)",
    )
    p.add_argument("--out", help="output folder (default: data/public)")
    p.set_defaults(func=commands.cmd_ingest)

    p = sub.add_parser("series", help="one KPI's observations: year, value, unit, source")
    p.add_argument("kpi_id")
    _add_catalog_arg(p)
    _add_data_args(p)
    _add_format_args(p)
    p.set_defaults(func=commands.cmd_series)

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
    p.set_defaults(func=commands.cmd_template)

    p = sub.add_parser(
        "status", help="per department, which KPIs have the year's figure and judgement"
    )
    p.add_argument("--fiscal-year", type=YEAR, required=True, metavar="YEAR")
    _add_format_args(p, ("table", "csv", "json", "xlsx"))
    _add_catalog_arg(p)
    _add_data_args(p)
    p.set_defaults(func=commands.cmd_status)

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
    p.set_defaults(func=commands.cmd_report)

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
    p.set_defaults(func=commands.cmd_forecast_panel)

    p = sub.add_parser("bench", help="benchmarks: forecast speed and quality, or report time")
    p.add_argument("what", nargs="?", choices=["forecast", "report"], default="forecast")
    p.add_argument("--level", type=LEVEL, default=0.8)
    p.add_argument(
        "--full",
        action="store_true",
        help="report: with a generated entry workbook that gives every KPI five years of values",
    )
    p.add_argument("--runs", type=int, default=3, help="report: runs to take the median of")
    p.set_defaults(func=commands.cmd_bench)

    p = sub.add_parser(
        "validate", help="check input files (entry workbook, CSV, catalog, official files)"
    )
    p.add_argument("files", nargs="+")
    _add_catalog_arg(p)
    p.set_defaults(func=commands.cmd_validate)
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
