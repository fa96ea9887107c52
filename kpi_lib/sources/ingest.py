"""`kpi ingest`: build the bundled public dataset in data/public from the publishers' files.

Reproducible byte for byte: rows are sorted, floats written in their shortest exact form
and gzip headers carry no time stamp or file name. The new folder is built and validated
beside the old one and swapped in whole, so a bad input changes nothing already ingested.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import zlib
from pathlib import Path

import pandas as pd

from kpi_lib.core.errors import InputError
from kpi_lib.core.output import progress, sha256
from kpi_lib.core.paths import DEFAULT_PUBLIC_DIR, DEFAULT_SHARED_DATA, VALIDATION_REGION
from kpi_lib.core.publish import (
    claim,
    glob_escape,
    locked,
    recover,
    refuse_overlap,
    staging_dir,
    swap_in,
)
from kpi_lib.sources.loaders import furusato, jumin, ssds, tourism
from kpi_lib.sources.tidy import TIDY_COLUMNS

BUNDLED_PREFECTURE = "北海道"  # Ashibetsu's peers; furusato is kept nation-wide
SORT_KEYS = [
    "dataset",
    "level",
    "municipality_code",
    "municipality",
    "measure",
    "year",
    "month",
    "source_file",
]


# The tables `kpi ingest` writes (data/public/NAME.csv.gz).
TABLE_NAMES = ("jumin", "furusato", "furusato_r2", "furusato_detail", "ssds", "tourism", "regions")


def build_tables(source: Path) -> dict[str, pd.DataFrame]:
    """Read and validate every input; nothing is written here."""
    if not source.is_dir():
        raise InputError(
            str(source),
            "source folder not found; pass --source DIR (the folder "
            "holding jumin/, furusato/, ssds/ and hokkaido_tourism/)",
        )
    progress("ingest", f"reading 住民基本台帳 files in {source / 'jumin'}")
    jumin_all = jumin.load_jumin(source / "jumin")
    codes = jumin.name_codes(jumin_all, BUNDLED_PREFECTURE)
    jumin_bundled = jumin_all[
        (jumin_all["prefecture"] == BUNDLED_PREFECTURE) | (jumin_all["level"] == "nation")
    ]

    series_file = newest_series_file(source / "furusato")
    progress(
        "ingest", f"reading ふるさと納税: {series_file.name}, the yearly detail and R2_gain.xlsx"
    )
    workbook = source / "furusato" / "R2_gain.xlsx"
    code_list = furusato.load_codes(workbook)
    series = furusato.load_series(series_file, code_list)
    detail = furusato.load_r2_detail(workbook)
    costs = furusato.load_detail(source / "furusato" / "soumu_detail_2019_2024.csv")

    progress("ingest", "reading 社会・人口統計体系 (SSDS) municipal data")
    ssds_rows = ssds.load_ssds(source / "ssds" / "ssds_hokkaido_municipal.csv")

    progress("ingest", f"reading 北海道観光入込客数 files in {source / 'hokkaido_tourism'}")
    visits = tourism.load_tourism(source / "hokkaido_tourism", codes)
    regions = tourism.load_regions(source / "hokkaido_tourism", codes)
    return {
        "jumin": jumin_bundled,
        "furusato": series,
        "furusato_r2": detail,
        "furusato_detail": costs,
        "ssds": ssds_rows,
        "tourism": visits,
        "regions": regions,
    }


def newest_series_file(folder: Path) -> Path:
    """The ふるさと納税 time series reaching furthest (…_2008_2024.csv supersedes
    …_2008_2021.csv)."""
    dated = {}
    for p in folder.glob("soumu_kakudantai_timeseries_*.csv"):
        m = re.search(r"_(\d{4})\.csv$", p.name)
        if m:
            dated[int(m[1])] = p
    if not dated:
        raise InputError(
            str(folder), "no file named like soumu_kakudantai_timeseries_2008_2024.csv"
        )
    return dated[max(dated)]


def _csv_gz(df: pd.DataFrame) -> bytes:
    if "measure" in df:  # a tidy statistics table
        df = df[TIDY_COLUMNS].sort_values(SORT_KEYS, na_position="first", kind="mergesort")
    else:  # a lookup table
        df = df.sort_values(list(df.columns[:2]), na_position="first", kind="mergesort")
    text = df.to_csv(index=False, lineterminator="\n")
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


# In the source folder but never bundled: the forecasts' validation region, which tests and
# benchmarks read from ../shared (the product's SSDS stays Hokkaido).
NOT_BUNDLED = {VALIDATION_REGION}


def _input_files(source: Path) -> list[dict]:
    """The source files the bundled data is built from (the validation region left out)."""
    files = sorted(
        p
        for p in source.rglob("*")
        if p.is_file() and p.relative_to(source).as_posix() not in NOT_BUNDLED
    )
    return [
        {"path": str(p.relative_to(source)), "sha256": sha256(p), "bytes": p.stat().st_size}
        for p in files
    ]


def ingest(source: Path | None = None, out: Path | None = None) -> dict:
    """Rebuild `out` (default data/public) from `source` (default ../shared/data)."""
    source = Path(source or DEFAULT_SHARED_DATA).resolve()
    out = Path(out or DEFAULT_PUBLIC_DIR).resolve()
    refuse_overlap(out, {"the source folder": source})
    claim(out, "MANIFEST.json", "bundled-data folder")  # refused before any lock is created
    with locked(out):
        for line in [*recover(out), *_remove_old_staging(out)]:
            progress("ingest", line)
        claim(
            out, "MANIFEST.json", "bundled-data folder"
        )  # never over a folder ingest did not write
        return _ingest(source, out)


def _remove_old_staging(out: Path) -> list[str]:
    """Staging folders of killed runs of earlier versions (`.public.xxxxxxxx`, from mkdtemp):
    removed only if they hold nothing but the files ingest writes."""
    ours = {f"{name}.csv.gz" for name in TABLE_NAMES} | {"MANIFEST.json"}
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.[a-z0-9_]{{8}}$")
    done = []
    for p in out.parent.glob(f".{glob_escape(out.name)}.*"):
        if not pattern.match(p.name) or p.is_symlink() or not p.is_dir():
            continue
        entries = list(p.iterdir())
        if all(e.name in ours and e.is_file() and not e.is_symlink() for e in entries):
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name}, left by a run that was killed")
    return done


def _ingest(source: Path, out: Path) -> dict:
    tables = build_tables(source)
    staging = staging_dir(out)  # .public.building-PID, marked: the next run removes it if killed
    try:
        outputs = []
        for name, df in tables.items():
            path = staging / f"{name}.csv.gz"
            path.write_bytes(_csv_gz(df))
            outputs.append({"file": path.name, "rows": len(df), "sha256": sha256(path)})
            progress("ingest", f"{path.name}: {len(df):,} rows")
        manifest = {
            "description": "Public statistics bundled with kpi; rebuilt by `kpi ingest` "
            "from the publishers' files.",
            "prefecture_scope": {
                "jumin": BUNDLED_PREFECTURE,
                "tourism": BUNDLED_PREFECTURE,
                "regions": BUNDLED_PREFECTURE,
                "ssds": BUNDLED_PREFECTURE,
                "furusato": "all",
                "furusato_r2": "all",
                "furusato_detail": "all",
            },
            "inputs": _input_files(source),
            "outputs": outputs,
        }
        (staging / "MANIFEST.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress("ingest", f"wrote {out}")
    return manifest


def read_public(name: str, public_dir: Path | None = None) -> pd.DataFrame:
    """One bundled table (jumin, furusato, furusato_r2, furusato_detail, ssds, tourism, regions) as
    ingested."""
    path = Path(public_dir or DEFAULT_PUBLIC_DIR) / f"{name}.csv.gz"
    if not path.exists():
        raise InputError(str(path), "bundled data not found; run `kpi ingest` to build it")
    if not path.is_file():
        raise InputError(str(path), "not a regular file; run `kpi ingest` to rebuild the data")
    dtypes: dict = (
        {"municipality_code": str, "month": "Int64"}
        if name != "regions"
        else {"municipality_code": str}
    )
    try:
        return pd.read_csv(path, compression="gzip", dtype=dtypes)
    except (
        EOFError,
        OSError,
        zlib.error,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,  # an empty gzip
    ) as exc:
        # gzip.BadGzipFile is an OSError; a truncated file ends in EOFError
        raise InputError(
            str(path), f"bundled data is damaged ({exc}); run `kpi ingest` to rebuild it"
        ) from None
