"""The bodies of the `kpi` subcommands (kpi_lib.cli declares their options): each one a thin
wrapper over kpi_lib that turns parsed options into calls and prints or writes the result."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from kpi_lib.catalog import model as catalog_mod
from kpi_lib.core.errors import ArgumentError, KpiError
from kpi_lib.core.output import emit, terminal_text
from kpi_lib.core.paths import DATA_DIR


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
    from kpi_lib.observations.handle import DataHandle
    from kpi_lib.observations.values import freshness, freshness_for_readers
    from kpi_lib.reporting.sheet import write_evaluation_workbook

    _check_out(args, feeds_actuals=True)
    cat = catalog_mod.load_catalog(args.catalog)
    cat.check_evaluation_year(args.fiscal_year, "fiscal_year")
    data = DataHandle.open(
        args.data, catalog=cat, actuals=args.actuals, municipality=args.municipality
    )
    returned = data.returned
    obs = returned.observations
    settings = _settings(args)
    scorecard = build_scorecard(
        cat,
        obs,
        args.fiscal_year,
        settings,
        forecast=not args.no_forecast,
        data=data,
        judgements=returned.judgements_for(args.fiscal_year),
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
            freshness_for_readers(freshness(cat, data.tables), args.fiscal_year),
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
    from kpi_lib.observations.handle import DataHandle
    from kpi_lib.observations.values import mark_chosen, measured

    _check_out(args, feeds_actuals=True)
    cat = catalog_mod.load_catalog(args.catalog)
    kpi = cat.get(args.kpi_id)
    data = DataHandle.open(
        args.data, catalog=cat, actuals=args.actuals, municipality=args.municipality
    )
    municipality = data.municipality_code
    obs = data.observations
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
    from kpi_lib.observations.handle import DataHandle
    from kpi_lib.observations.status import (
        department_status,
        kpi_status,
        still_due,
        write_status_xlsx,
    )

    _check_out(args, feeds_actuals=True)
    cat = catalog_mod.load_catalog(args.catalog)
    cat.check_evaluation_year(args.fiscal_year, "fiscal_year")
    returned = DataHandle.open(
        args.data, catalog=cat, actuals=args.actuals, municipality=args.municipality
    ).returned
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
