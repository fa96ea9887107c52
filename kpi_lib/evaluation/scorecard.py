"""The scorecard: every KPI of a catalog judged as of one fiscal year, one entry each.

An entry holds the KPI, its evaluation, its outlook (before the target year) or hindsight (from
it on), the values the rules used with their sources, and the department's judgement. The
readers' pages, tables and counts read the entries; `Scorecard.frame` gives the same facts as
one row per KPI (SCORECARD_COLUMNS) for the csv, json, xlsx and terminal views.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter

import pandas as pd

from kpi_lib.catalog.model import Catalog, Kpi
from kpi_lib.core.vocabulary import (
    AWAITED,
    NO_GRADE,
    NOT_ENTERED,
    VERDICT_MET,
    VERDICT_MISSED,
)
from kpi_lib.evaluation.outlook import (
    ForecastConfig,
    Hindsight,
    Outlook,
    hindsight,
    load_config,
    outlook,
)
from kpi_lib.evaluation.rules import Evaluation, RuleSettings, evaluate
from kpi_lib.observations.handle import DataHandle
from kpi_lib.observations.values import choose_values

# The department's judgement of the evaluation year beside its KPI (observations.judgements).
JUDGEMENT_FIELDS = ["department", "actions", "assessment", "direction_next"]
SCORECARD_COLUMNS = [
    "kpi_id",
    "goal",
    "measure",
    "name_ja",
    "unit",
    "direction",
    "target_kind",
    "baseline_year",
    "baseline_value",
    "target_year",
    "target_resolved",
    "target_placeholder",
    "review",
    "latest_year",
    "latest_value",
    "latest_relation",
    "cumulative_value",
    "expected_value",
    "achievement_rate",
    "pace",
    "grade",
    "progress_status",
    "met",
    "verdict",
    "first_met_year",
    "n_points",
    "forecast_value",
    "forecast_lower",
    "forecast_upper",
    "p_meet",
    "forecast_method",
    "evidence",
    "year_basis",
    "source",
    "provenance",
    "rate_based",
    "calculation",
    "notes",
    *JUDGEMENT_FIELDS,
    "inputs",
]

# Evaluation attributes the scorecard copies as they are, in its column order.
EVALUATION_FIELDS = [
    *("baseline_year", "baseline_value", "target_year", "target_resolved"),
    *("latest_year", "latest_value", "cumulative_value", "expected_value"),
    *("achievement_rate", "pace", "grade", "verdict", "progress_status"),
    *("met", "first_met_year"),
]

# The judgement as a person reads it, in order: the terminal table and the workbook (which adds
# the counts, sources and the calculation in words).
READER_COLUMNS = [
    *("kpi_id", "measure", "name_ja", "unit"),
    *EVALUATION_FIELDS[:-2],
    *("forecast_value", "forecast_lower", "forecast_upper", "p_meet", "evidence"),
]


@dataclass(frozen=True)
class Judgement:
    """The department's own judgement of the evaluation year (observations.judgements); the
    department is the catalog's where the judgement names none."""

    department: str | None = None
    actions: str | None = None
    assessment: str | None = None
    direction_next: str | None = None


@dataclass
class Entry:
    """One KPI of the scorecard: everything a reader is shown of it."""

    kpi: Kpi
    evaluation: Evaluation
    used: pd.DataFrame  # the values the rules chose up to the evaluation year, with their sources
    judgement: Judgement = field(default_factory=Judgement)
    outlook: Outlook | None = None  # before the target year
    hindsight: Hindsight | None = None  # from it on: the mid-period outlook against the outcome

    @property
    def kpi_id(self) -> str:
        """The KPI's id."""
        return self.kpi.kpi_id

    @property
    def latest_relation(self) -> str | None:
        """same / related / proxy for the public figure of the latest year (None: an analyst's)."""
        return _relation_of(self.used, self.evaluation.latest_year)

    @property
    def year_bases(self) -> list[str]:
        """The year bases (fiscal / calendar) of the values used, each once, in order."""
        return _distinct(self.used, "year_basis")

    @property
    def result(self) -> str:
        """What a reader is told of the result: in a final evaluation 達成 / 未達成, or, where
        the target year's figure is missing, 公表待ち (an official statistic that has not reached
        it) or 未入力 (the department has not entered it); before it, the grade, or 公表待ち /
        未入力 where there is no figure at all."""
        ev = self.evaluation
        if ev.verdict in (VERDICT_MET, VERDICT_MISSED):
            return ev.verdict
        if ev.verdict is None and ev.grade != NO_GRADE:
            return ev.grade
        return AWAITED if self.kpi.public_series else NOT_ENTERED

    def row(self) -> dict:
        """The entry as one row of SCORECARD_COLUMNS."""
        kpi, ev, ol, used = self.kpi, self.evaluation, self.outlook, self.used
        return {
            "kpi_id": kpi.kpi_id,
            "goal": kpi.goal,
            "measure": kpi.measure_code,
            "name_ja": kpi.label,
            "unit": kpi.unit,
            "direction": kpi.direction,
            "target_kind": kpi.target.kind,
            **_evaluation_fields(ev),
            "target_placeholder": kpi.target.placeholder,
            "review": kpi.review,  # an import's open question: reports mark 要確認
            "latest_relation": self.latest_relation,
            "n_points": ev.n_points,
            "forecast_value": ol.forecast_value if ol else None,
            "forecast_lower": ol.forecast_lower if ol else None,
            "forecast_upper": ol.forecast_upper if ol else None,
            "p_meet": ol.p_meet if ol else None,
            "forecast_method": ol.method if ol else None,
            "evidence": ol.evidence if ol else None,
            "year_basis": _joined(used, "year_basis"),
            "source": _joined(used, "source"),
            "provenance": _joined(used, "provenance"),
            "rate_based": ev.rate_based,
            "calculation": ev.calculation,
            "notes": " / ".join(ev.notes),
            **{name: getattr(self.judgement, name) for name in JUDGEMENT_FIELDS},
            "inputs": json.dumps(
                {
                    "rule": ev.rule,
                    "baseline": [ev.baseline_year, ev.baseline_value],
                    "baseline_source": ev.baseline_source,
                    "values_used": ev.history,
                    "settings": ev.settings,
                },
                ensure_ascii=False,
            ),
        }


def _evaluation_fields(ev: Evaluation) -> dict:
    """The evaluation's figures the scorecard copies as they are (EVALUATION_FIELDS)."""
    return dict(zip(EVALUATION_FIELDS, attrgetter(*EVALUATION_FIELDS)(ev), strict=True))


@dataclass
class Scorecard:
    """Every KPI of a catalog judged as of `as_of`, in the catalog's order."""

    catalog: Catalog
    as_of: int
    settings: RuleSettings
    entries: list[Entry]

    def __post_init__(self) -> None:
        self._by_id = {e.kpi_id: e for e in self.entries}

    def __getitem__(self, kpi_id: str) -> Entry:
        return self._by_id[kpi_id]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def of_goal(self, goal: int) -> list[Entry]:
        """The entries of one basic goal, in the catalog's order."""
        return [e for e in self.entries if e.kpi.goal == goal]

    @property
    def final(self) -> bool:
        """Some KPI has reached its target year: the readers see final verdicts."""
        return any(e.evaluation.verdict is not None for e in self.entries)

    def results(self, entries: list[Entry] | None = None) -> Counter[str]:
        """How many KPIs (of `entries`, default all) have each result (`Entry.result`): the one
        count of verdicts and grades behind every page, table and summary."""
        return Counter(e.result for e in (self.entries if entries is None else entries))

    def results_by_goal(self, order: list[str]) -> pd.DataFrame:
        """The results per basic goal (rows, with the total 計), in `order` (columns: the
        results that occur)."""
        goals = sorted({e.kpi.goal for e in self.entries})
        per_goal = {g: self.results(self.of_goal(g)) for g in goals}
        used = [label for label in order if any(c[label] for c in per_goal.values())]
        counts = pd.DataFrame(
            [[per_goal[g][label] for label in used] for g in goals], index=goals, columns=used
        )
        counts.loc["計"] = counts.sum()
        return counts.rename_axis(index="基本目標", columns="最終評価" if self.final else "評価")

    def frame(self) -> pd.DataFrame:
        """One row per KPI in SCORECARD_COLUMNS: the csv, json, xlsx and terminal views."""
        return pd.DataFrame([e.row() for e in self.entries], columns=SCORECARD_COLUMNS)


def build_scorecard(
    catalog: Catalog,
    observations: pd.DataFrame,
    as_of: int,
    settings: RuleSettings | None = None,
    *,
    forecast: bool = True,
    data: DataHandle | None = None,
    forecast_config: ForecastConfig | None = None,
    judgements: pd.DataFrame | None = None,
) -> Scorecard:
    """Every KPI evaluated as of `as_of`, with its outlook or hindsight and the departments'
    `judgements` of that year (Returned.judgements_for). The outlooks' peers and settings come
    from `data` (default: the bundled data opened for `catalog`)."""
    settings = settings or RuleSettings()
    if forecast and data is None:
        data = DataHandle.open(catalog=catalog, actuals=[])  # the peers' tables: no returned file
    forecast_config = forecast_config or load_config(data.forecast_file if data else None)
    chosen = choose_values(observations)
    given = _judgements_by_kpi(judgements)
    entries = []
    for kpi in catalog.kpis:
        obs = chosen[chosen["kpi_id"] == kpi.kpi_id] if not chosen.empty else chosen
        ev = evaluate(kpi, obs, as_of, settings)
        entry = Entry(
            kpi,
            ev,
            obs[obs["year"] <= as_of] if not obs.empty else obs,
            _judgement(kpi, given.get(kpi.kpi_id, {})),
        )
        # Once the target year is reached the verdict is final: no forecast, but a look
        # back at what the outlook said mid-period (public series only).
        if forecast and data and not ev.final:
            entry.outlook = outlook(
                kpi,
                obs,
                as_of,
                data=data,
                config=forecast_config,
                settings=settings,
                target_resolved=ev.target_resolved,
            )
        if forecast and data and ev.final and kpi.public_series:
            entry.hindsight = hindsight(
                kpi,
                obs,
                ev,
                data=data,
                config=forecast_config,
                settings=settings,
            )
        entries.append(entry)
    return Scorecard(catalog, as_of, settings, entries)


def _judgements_by_kpi(judgements: pd.DataFrame | None) -> dict[str, dict]:
    """The first judgement of each KPI, its empty fields left out."""
    if judgements is None or judgements.empty:
        return {}
    by_kpi = judgements.drop_duplicates("kpi_id").set_index("kpi_id")
    return {
        str(kpi_id): {f: str(row[f]) for f in JUDGEMENT_FIELDS if pd.notna(row[f]) and row[f] != ""}
        for kpi_id, row in by_kpi.iterrows()
    }


def _judgement(kpi: Kpi, given: dict) -> Judgement:
    """The KPI's judgement; its department the judgement's, else the catalog's."""
    return Judgement(**{"department": kpi.department, **given})


def _relation_of(used: pd.DataFrame, year: int | None) -> str | None:
    """same / related / proxy for the public figure of that year (None: an analyst's value)."""
    if year is None or used.empty or "relation" not in used:
        return None
    rel = used.loc[used["year"] == year, "relation"].dropna()
    return str(rel.iloc[0]) if not rel.empty and rel.iloc[0] else None


def _distinct(obs: pd.DataFrame, column: str) -> list[str]:
    """The column's values, each once, in order (gaps left out)."""
    if obs.empty or column not in obs:
        return []
    return list(dict.fromkeys(str(v) for v in obs[column].dropna()))


def _joined(obs: pd.DataFrame, column: str) -> str:
    return " / ".join(_distinct(obs, column))
