"""`kpi catalog init`: a starter catalog for any municipality the bundled data covers.

One KPI per public statistic the town has (社会移動数, 観光入込客数, ふるさと納税の寄附件数,
婚姻件数, 出生件数, 人口), grouped under the four basic goals of the national strategy. Each
baseline is the official figure of the latest year before the period starts, with its
source in a comment; each target is a placeholder ("hold the baseline", marked
`placeholder: true`) so that the starter report runs at once, and the comments say what to
edit. The YAML is written by hand (json strings are valid YAML scalars) to keep the comments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kpi_lib.catalog.model import load_catalog
from kpi_lib.core.errors import ArgumentError, KpiError
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.observations.handle import PublicTables
from kpi_lib.observations.values import choose_values, municipality_name, series_for

# The four basic goals (基本目標) of the national 第2期「まち・ひと・しごと創生総合戦略」.
GOALS = {
    1: "稼ぐ地域をつくるとともに、安心して働けるようにする",
    2: "地方とのつながりを築き、地方への新しいひとの流れをつくる",
    3: "結婚・出産・子育ての希望をかなえる",
    4: "ひとが集う、安心して暮らすことができる魅力的な地域をつくる",
}


@dataclass(frozen=True)
class StarterKpi:
    """One KPI of a starter catalog, proposed from a public statistic the town has."""

    kpi_id: str
    goal: int
    numeric_goal: bool
    name_ja: str
    name_en: str
    unit: str
    series: tuple[dict, ...]  # public_series entries, in precedence order
    breaks: str | None = None  # forecast_breaks (2020–2021) for series the pandemic broke


STARTER_KPIS = (
    StarterKpi(
        "G2-0",
        2,
        True,
        "社会移動数（転入者数－転出者数）",
        "Net migration",
        "人",
        (
            {
                "dataset": "jumin",
                "measure": "社会増減数",
                "year_basis": "calendar",
                "relation": "same",
                "note_ja": "住民基本台帳の社会増減数（暦年）。「その他」の記載・消除を含む。",
            },
            {
                "dataset": "ssds",
                "measure": "転入超過数（日本人移動者）",
                "year_basis": "calendar",
                "relation": "related",
                "note_ja": "社会・人口統計体系の転入者数−転出者数"
                "（暦年、日本人の市区町村間移動のみ）。住民基本台帳の値がない年に用いる。",
            },
        ),
    ),
    StarterKpi(
        "G2-1",
        2,
        False,
        "観光入込客数",
        "Tourist entries",
        "人",
        (
            {
                "dataset": "tourism",
                "measure": "入込総数",
                "year_basis": "fiscal",
                "relation": "same",
                "note_ja": "北海道観光入込客数調査（年度、千人単位で公表）。",
            },
        ),
        breaks="新型コロナウイルス感染症の影響で観光入込が大きく落ち込んだ年度（トレンドではない）",
    ),
    StarterKpi(
        "G2-2",
        2,
        False,
        "ふるさと納税の寄附件数",
        "Furusato-nozei donations",
        "件",
        (
            {
                "dataset": "furusato",
                "measure": "受入件数",
                "year_basis": "fiscal",
                "relation": "same",
                "note_ja": "総務省「ふるさと納税に関する現況調査」の受入件数（年度）。",
            },
        ),
    ),
    StarterKpi(
        "G3-0",
        3,
        True,
        "婚姻件数",
        "Marriages",
        "件",
        (
            {
                "dataset": "ssds",
                "measure": "婚姻件数",
                "year_basis": "calendar",
                "relation": "same",
                "note_ja": "人口動態統計の婚姻件数（夫婦の住所地による暦年の集計、"
                "社会・人口統計体系）。",
            },
        ),
    ),
    StarterKpi(
        "G3-1",
        3,
        False,
        "出生件数",
        "Births",
        "件",
        (
            {
                "dataset": "jumin",
                "measure": "出生者数",
                "year_basis": "calendar",
                "relation": "same",
                "note_ja": "住民基本台帳の出生者数（暦年）。",
            },
            {
                "dataset": "ssds",
                "measure": "出生数",
                "year_basis": "calendar",
                "relation": "related",
                "note_ja": "社会・人口統計体系の出生数（人口動態統計、住所地による暦年の集計）。"
                "住民基本台帳の値がない年に用いる。",
            },
        ),
    ),
    StarterKpi(
        "G4-0",
        4,
        True,
        "人口（住民基本台帳）",
        "Population (resident register)",
        "人",
        (
            {
                "dataset": "jumin",
                "measure": "人口",
                "year_basis": "calendar",
                "relation": "same",
                "note_ja": "住民基本台帳人口（翌年1月1日現在の値をその暦年の値とする）。",
            },
            {
                "dataset": "ssds",
                "measure": "住民基本台帳人口",
                "year_basis": "calendar",
                "relation": "same",
                "note_ja": "社会・人口統計体系の住民基本台帳人口（同じ値。"
                "住民基本台帳の表がない年に用いる）。",
            },
        ),
    ),
)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def yaml_flow(value) -> str:
    """A value as one line of YAML flow style: strings as JSON (valid YAML, any text safe)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_flow(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    return _q(str(value))


def kpi_yaml(fields: dict) -> str:
    """One `kpis[]` entry as a block of flow-style fields, in the bundled catalog's layout."""
    lines = [f"{k}: {yaml_flow(v)}" for k, v in fields.items() if v is not None or k == "baseline"]
    return "- " + "\n  ".join(lines) + "\n"


def write_catalog_text(text: str, out: str | Path):
    """Write catalog YAML to `out` atomically, only if it loads as a valid catalog; return it."""
    from kpi_lib.core.output import atomic_path

    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
        return load_catalog(tmp)  # written only if it validates


def _notation(v: float, unit: str) -> str:
    text = f"{abs(v):,.0f}" if float(v).is_integer() else f"{abs(v):,}"
    return f"{'▲' if v < 0 else ''}{text}{unit}"


def _observed(kpi: StarterKpi, code: str, tables: PublicTables) -> pd.DataFrame:
    """The town's values of a starter KPI, one per year by the precedence rule."""
    from kpi_lib.catalog.model import Kpi

    probe = Kpi.model_validate(
        {
            "kpi_id": kpi.kpi_id,
            "goal": kpi.goal,
            "measure": {"title_ja": "—"},
            "name_ja": kpi.name_ja,
            "name_en": kpi.name_en,
            "unit": kpi.unit,
            "direction": "maintain",
            "baseline": None,
            "target": {"year": 2100, "kind": "milestone"},
            "public_series": list(kpi.series),
        }
    )
    frames = [
        series_for(probe, spec, rank, tables, code) for rank, spec in enumerate(probe.public_series)
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["year", "value", "source", "relation"])
    return choose_values(pd.concat(frames, ignore_index=True)).sort_values("year")


def town_name(
    code: str,
    start: int,
    end: int,
    data_dir: str | Path = DATA_DIR,
    tables: PublicTables | None = None,
) -> str:
    """The name of municipality `code`, once the code and the period `start`–`end` are checked
    (from `tables` when the caller has them open, else from DATA/public)."""
    if not (len(code) == 6 and code.isdigit()):
        raise ArgumentError(
            "municipality", f"{code!r}: expected a 6-digit 団体コード such as 012165"
        )
    if not (1990 <= start <= end <= 2100 and end - start <= 10):
        raise ArgumentError(
            "period", f"{start}-{end}: expected a period such as 2025-2029 (at most 10 years)"
        )
    name = municipality_name(code, tables or PublicTables(Path(data_dir) / "public"))
    if name is None:
        raise ArgumentError(
            "municipality",
            f"{code}: unknown 団体コード (the bundled data covers Hokkaido's "
            "municipalities, and every municipality for ふるさと納税)",
        )
    return name


def starter_catalog(code: str, start: int, end: int, data_dir: str | Path = DATA_DIR) -> str:
    """The YAML text of a starter catalog for municipality `code`, period `start`–`end`."""
    tables = PublicTables(Path(data_dir) / "public")  # read once for the name and the KPIs
    name = town_name(code, start, end, data_dir, tables)
    prefecture = _prefecture(code, tables)
    blocks, goals = [], set()
    for kpi in STARTER_KPIS:
        obs = _observed(kpi, code, tables)
        before = obs[obs["year"] <= start - 1]
        if before.empty:
            continue  # no official figure before the period: nothing to start from
        row = before.iloc[-1]
        goals.add(kpi.goal)
        blocks.append(
            _kpi_block(kpi, int(row["year"]), float(row["value"]), str(row["source"]), end)
        )
    if not blocks:
        raise KpiError(
            f"{name} ({code}) has no public figures before {start} in the "
            "bundled data; write its catalog by hand (docs/catalog.md)"
        )
    head = f"""# Starter KPI catalog for {name} ({code}), period FY{start}–FY{end}.
# Written by `kpi catalog init`; the schema is in docs/catalog.md (`kpi catalog schema`).
# What to edit:
#   1. strategy.title_ja and source: your strategy's title and chapter.
#   2. each target: replace the placeholder (hold the baseline) with your strategy's target,
#      e.g. {{year: {end}, kind: level, value: 120, notation: 120件, text: "..."}}, set the
#      direction (increase / decrease / maintain) and remove `placeholder: true`.
#   3. add your strategy's other KPIs (their values come from `kpi template`).
# Then check it with `kpi validate FILE.yaml` and run `kpi report --fiscal-year YEAR --catalog
# FILE.yaml`.
schema_version: 1
strategy:
  municipality_code: {_q(code)}
  municipality_ja: {_q(name)}
  title_ja: {_q(f"{name} 総合戦略（{start}〜{end}年度）")}  # EDIT: your strategy's title
  period: {{start: {start}, end: {end}}}
  source: {_q(f"kpi catalog init（{prefecture}{name}の公表統計から作成した初期カタログ）")}  # EDIT
goals:
""" + "".join(
        f"  - {{goal: {g}, title_ja: {_q(GOALS[g])}}}  # EDIT: your basic goal {g}\n"
        for g in sorted(goals)
    )
    return head + "\nkpis:\n" + "\n".join(blocks)


def _prefecture(code: str, tables: PublicTables) -> str:
    for name in ("jumin", "ssds", "furusato"):
        t = tables.table(name)
        p = t.loc[t["municipality_code"] == code, "prefecture"].dropna()
        if not p.empty:
            return str(p.iloc[-1])
    return ""


def _kpi_block(kpi: StarterKpi, year: int, value: float, source: str, end: int) -> str:
    basis = kpi.series[0]["year_basis"]
    series = "".join(
        f"    - {{dataset: {s['dataset']}, measure: {_q(s['measure'])}, year_basis: "
        f"{s['year_basis']}, relation: {s['relation']}, note_ja: {_q(s['note_ja'])}}}\n"
        for s in kpi.series
    )
    notation = _notation(value, kpi.unit)
    return (
        f"- kpi_id: {kpi.kpi_id}\n  goal: {kpi.goal}\n  numeric_goal: "
        f"{'true' if kpi.numeric_goal else 'false'}\n  measure: {_measure(kpi)}\n  "
        f"name_ja: {_q(kpi.name_ja)}\n  name_en: {_q(kpi.name_en)}\n  unit: "
        f"{_q(kpi.unit)}\n  direction: maintain  # EDIT with the target: increase, "
        f"decrease or maintain\n  # Baseline: the official figure of {year}, "
        f"{source}.\n  baseline: {{year: {year}, year_basis: {basis}, value: "
        f"{_number(value)}, notation: {_q(notation)}, text: {_q(f'{kpi.name_ja} {notation}')}}}\n "
        " # PLACEHOLDER target: hold the baseline. EDIT to your strategy's target.\n "
        f" target: {{year: {end}, kind: maintain, placeholder: true, notation: 基準値を維持, "
        "text: 基準値を維持}\n"
        f"  public_series:\n{series}"
        + (
            "  forecast_breaks: {years: [2020, 2021], "
            f"treatment: exclude, reason_ja: {_q(kpi.breaks)}}}\n"
            if kpi.breaks
            else ""
        )
    )


def _measure(kpi: StarterKpi) -> str:
    """★ goals have only a title; the others a measure (施策) of their basic goal, numbered."""
    if kpi.numeric_goal:
        return '{title_ja: "数値目標"}'
    number = int(kpi.kpi_id.rsplit("-", 1)[1])
    return (
        '{section: 1, section_ja: "公表統計で測る指標", '
        f"number: {number}, title_ja: {_q(kpi.name_ja)}}}  # EDIT: your strategy's measure"
    )


def write_starter(
    code: str, out: str | Path, period: tuple[int, int], data_dir: str | Path = DATA_DIR
) -> int:
    """Write the starter catalog to `out` (atomically), check it loads, and return its KPI count."""
    text = starter_catalog(code, period[0], period[1], data_dir)
    return len(write_catalog_text(text, out).kpis)
