"""The `kpi` command: thin wrappers over kpi_lib, with errors a user can act on.

Exit codes: 0 success, 1 a run that failed (a report notebook), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from . import catalog as catalog_mod
from .errors import KpiError
from .output import emit


def _add_catalog_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", help="KPI catalog YAML (default: the bundled Ashibetsu catalog)")


def _add_format_args(p: argparse.ArgumentParser, formats=("table", "csv", "json")) -> None:
    p.add_argument("--format", choices=formats, default="table")
    p.add_argument("--out", help="write to this file instead of standard output")


def cmd_catalog(args) -> int:
    cat = catalog_mod.load_catalog(args.catalog)
    df = pd.DataFrame(catalog_mod.catalog_rows(cat), columns=catalog_mod.CATALOG_COLUMNS)
    if args.format == "table":
        df = df.drop(columns=["baseline_text", "target_text", "name_en"])
    emit(df, args.format, args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpi", description="効果検証 of a regional revitalization strategy's KPIs."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("catalog", help="list the KPI catalog, one row per indicator")
    _add_catalog_arg(p)
    _add_format_args(p)
    p.set_defaults(func=cmd_catalog)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KpiError as exc:
        print(f"kpi {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
