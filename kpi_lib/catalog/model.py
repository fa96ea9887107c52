"""The KPI catalog: a strategy's indicators as validated data.

The catalog is YAML kept beside the data, not in code (as Open SDG and Our World in Data
keep indicator metadata); docs/catalog.md documents the schema. Loading refuses a
catalog with a wrong kind, a missing direction, a duplicate id, a target year before the
baseline year or a non-numeric value, naming the file, the KPI and the field.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from kpi_lib.catalog.notation import Comparator, TargetKind
from kpi_lib.core.errors import ArgumentError, InputError, InputErrors, KpiError
from kpi_lib.core.limits import load_yaml, text_problem
from kpi_lib.core.paths import DEFAULT_CATALOG
from kpi_lib.core.vocabulary import RELATIONS_JA

__all__ = ["DEFAULT_CATALOG", "Catalog", "Kpi", "load_catalog"]

Number = Annotated[StrictFloat, Field(allow_inf_nan=False)] | StrictInt  # .nan/.inf refused
MAX_ID_LENGTH = 40  # ids name files and anchors of the report
Year = Annotated[StrictInt, Field(ge=1900, le=2100)]
Direction = Literal["increase", "decrease", "maintain"]
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
YEARS_AFTER_PERIOD = 2


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value):
        if isinstance(value, str) and (problem := text_problem(value)):
            raise ValueError(problem)
        return value


class Window(_Model):
    start: Year
    end: Year

    @model_validator(mode="after")
    def _ordered(self):
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")
        return self

    @property
    def years(self) -> int:
        """Number of fiscal years in the window, both ends included."""
        return self.end - self.start + 1


class Measure(_Model):
    section: StrictInt | None = None
    section_ja: str | None = None
    number: StrictInt | None = None
    title_ja: str

    @property
    def code(self) -> str:
        """'1-①' for section 1 measure 1; '★' for a basic goal's numeric goal."""
        if self.section is None:
            return "★"
        mark = (
            CIRCLED[self.number - 1]
            if self.number and self.number <= len(CIRCLED)
            else str(self.number)
        )
        return f"{self.section}-{mark}"


class Component(_Model):
    name_ja: str
    value: Number
    notation: str | None = None


class ValueRange(_Model):
    low: Number
    high: Number


class Baseline(_Model):
    """The 基準値. Exactly one of value, status, range or from_series says what it is."""

    year: Year
    year_basis: Literal["fiscal", "calendar"] = "fiscal"
    value: Number | None = None
    per_year: StrictBool = False
    status: Literal["none", "not_adopted"] | None = None  # 基準値なし / 未策定
    range: ValueRange | None = None  # '▲5.1～▲10.5'
    components: list[Component] | None = None  # '19人 + 0人'
    from_series: StrictBool = False  # taken from the KPI's public series at evaluation
    notation: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        given = [
            name
            for name, present in (
                ("value", self.value is not None),
                ("status", self.status is not None),
                ("range", self.range is not None),
                ("from_series", self.from_series),
            )
            if present
        ]
        if len(given) != 1:
            raise ValueError(
                "a baseline needs exactly one of value, status, range "
                f"or from_series (got {', '.join(given) or 'none'})"
            )
        if self.components is not None and self.value is not None:
            total = sum(c.value for c in self.components)
            if abs(total - self.value) > 1e-9:
                raise ValueError(f"components sum to {total:g}, not to the value {self.value:g}")
        return self


class Target(_Model):
    year: Year
    kind: TargetKind
    placeholder: StrictBool = False  # a starter catalog's stand-in target, not yet the strategy's
    value: Number | None = None  # level, cumulative total
    percent: Number | None = None  # increase_pct, decrease_pct
    comparator: Comparator | None = None
    approximate: StrictBool = False  # 程度
    window: Window | None = None  # cumulative
    benchmark: Literal["national_average", "prefecture_average"] | None = None
    notation: str | None = None
    text: str | None = None

    @property
    def span(self) -> Window:
        """The window of a cumulative target (validation makes sure a cumulative one has it)."""
        if self.window is None:
            raise KpiError(f"a {self.kind} target has no window")
        return self.window

    @model_validator(mode="after")
    def _fields_of_kind(self):
        required = {
            "level": ["value"],
            "increase_pct": ["percent"],
            "decrease_pct": ["percent"],
            "cumulative": ["value", "window"],
            "benchmark": ["benchmark"],
            "maintain": [],
            "milestone": [],
        }[self.kind]
        missing = [f for f in required if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} target needs {', '.join(missing)}")
        if self.kind == "cumulative" and self.window.end != self.year:
            raise ValueError(
                f"the cumulative window ends in {self.window.end}, "
                f"not in the target year {self.year}"
            )
        if self.percent is not None and not 0 < self.percent < 1000:
            raise ValueError(f"percent {self.percent} is outside (0, 1000)")
        return self


Dataset = Literal["jumin", "furusato", "furusato_detail", "ssds", "tourism"]
DATASETS: tuple[str, ...] = get_args(Dataset)


class PublicSeries(_Model):
    """Where an official statistic measures the KPI (see kpi_lib.observations.values).

    A KPI may list several, in precedence order: for each year the first that has a
    value counts. ``relation`` says how far the statistic is from the KPI's definition:
    ``same`` (the statistic the KPI names), ``related`` (another statistic of the same
    thing, e.g. SSDS births by residence for 住民基本台帳 births) or ``proxy`` (a different
    quantity that tracks it, e.g. marriages by residence for registrations at the city
    office); ``note_ja`` says why, and reports print it beside the figures.
    """

    dataset: Dataset
    measure: str
    year_basis: Literal["fiscal", "calendar"]
    relation: Literal["same", "related", "proxy"] = "same"
    note_ja: str | None = None

    @property
    def relation_ja(self) -> str:
        """The relation as reports print it (同じ統計 / 別の統計 / 代理指標)."""
        return RELATIONS_JA[self.relation]


class ForecastBreaks(_Model):
    """Years a KPI's forecast must not learn from (a pandemic year is not a trend)."""

    years: list[Year]
    treatment: Literal["exclude", "dummy"] = (
        "exclude"  # left out of the fit, or a dummy in a trend regression
    )
    reason_ja: str


class Kpi(_Model):
    """One indicator of the strategy: its texts, baseline, target, unit and where its figures come
    from."""

    kpi_id: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=MAX_ID_LENGTH)
    ]
    goal: Annotated[StrictInt, Field(ge=1)]
    numeric_goal: StrictBool = False
    measure: Measure
    name_ja: str
    label_ja: str | None = None
    name_en: str
    unit: str
    direction: Direction  # required: never defaulted
    baseline: Baseline | None
    target: Target
    public_series: list[
        PublicSeries
    ] = []  # in precedence order; a single mapping is read as a list of one
    valid_range: ValueRange | None = None  # possible values, where the default of `bounds` is wrong
    forecast_breaks: ForecastBreaks | None = None
    note_ja: str | None = None
    department: str | None = None  # 担当課: the section that reports it (free text)
    # Written by `kpi catalog import`: what a person must still confirm (removed once checked);
    # how the direction was inferred.
    review: str | None = None
    direction_inferred: str | None = None

    @field_validator("public_series", mode="before")
    @classmethod
    def _series_list(cls, value):
        if value is None:
            return []
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _consistent(self):
        b, t = self.baseline, self.target
        if b is not None and t.year < b.year:
            raise ValueError(f"target year {t.year} is before the baseline year {b.year}")
        needs_baseline_value = t.kind in ("maintain", "increase_pct", "decrease_pct")
        if needs_baseline_value and (b is None or (b.value is None and not b.from_series)):
            raise ValueError(f"a {t.kind} target needs a baseline value")
        if t.kind == "increase_pct" and self.direction != "increase":
            raise ValueError("an increase_pct target needs direction increase")
        if t.kind == "decrease_pct" and self.direction != "decrease":
            raise ValueError("a decrease_pct target needs direction decrease")
        if t.kind == "maintain" and self.direction != "maintain":
            raise ValueError("a maintain target needs direction maintain")
        if (
            t.kind == "level"
            and b is not None
            and b.value is not None
            and self.direction != "maintain"
        ):
            gap = t.value - b.value
            if gap == 0:
                raise ValueError("the target equals the baseline: use direction maintain")
            if (gap > 0) != (self.direction == "increase"):
                raise ValueError(
                    f"direction {self.direction} but the target {t.value:g} "
                    f"lies the other way from the baseline {b.value:g}"
                )
        if b is not None and b.from_series and not self.public_series:
            raise ValueError("baseline.from_series needs a public_series")
        return self

    @property
    def label(self) -> str:
        """The name to show: label_ja where the strategy's own name is ambiguous."""
        return self.label_ja or self.name_ja

    @property
    def heading(self) -> str:
        """How readers find the KPI: the strategy's numbering and the name (★ for a numeric
        goal), never the internal id: 「1-① 施設園芸作物の販売額」."""
        return f"{'★' if self.numeric_goal else self.measure_code} {self.label}"

    @property
    def measure_code(self) -> str:
        """The KPI's measure code (e.g. 2-2)."""
        return self.measure.code

    def bounds(self) -> tuple[float | None, float | None]:
        """The values this KPI can possibly take (docs/validation.md).

        `valid_range` if given; else no bounds for a benchmark (a gap in points); else at
        least 0 unless the strategy itself writes a negative baseline or target (net
        migration), and at most 100 for a percentage.
        """
        if self.valid_range is not None:
            return float(self.valid_range.low), float(self.valid_range.high)
        t, b = self.target, self.baseline
        if t.kind == "benchmark":
            return None, None
        written = [t.value]
        if b is not None:
            written += [b.value, *((b.range.low, b.range.high) if b.range else ())]
        negative_written = any(v is not None and v < 0 for v in written)
        # a rate written above 100 (a floor-area ratio, 前年比) may exceed 100
        over_100 = any(v is not None and v > 100 for v in written)
        return (
            None if negative_written or (b is not None and b.from_series) else 0.0,
            100.0 if self.unit == "%" and not over_100 else None,
        )

    def resolve_target(self, baseline_value: float | None = None) -> float | None:
        """The absolute value to reach by the target year (None: milestone, benchmark).

        10% over 919,033 is 1,010,936.3; a 6% cut of 8,386.607 is 7,883.41; a
        cumulative target is its total over the window.
        """
        t = self.target
        if baseline_value is None and self.baseline is not None:
            baseline_value = self.baseline.value
        if t.kind in ("level", "cumulative") and t.value is not None:
            return float(t.value)
        if t.kind in ("benchmark", "milestone"):
            return None
        if baseline_value is None:
            return None  # from_series baseline not yet looked up
        if t.kind == "maintain":
            return float(baseline_value)
        sign = 1 if t.kind == "increase_pct" else -1
        percent = float(t.percent or 0)  # validation requires it for these kinds
        # 12 significant digits: 106,043,000 × 1.1 is 116,647,300, not ...300.00000001
        return float(f"{float(baseline_value) * (1 + sign * percent / 100):.12g}")


class Goal(_Model):
    goal: StrictInt
    title_ja: str


class Strategy(_Model):
    municipality_code: Annotated[str, Field(pattern=r"^\d{6}$")]
    municipality_ja: str
    title_ja: str
    period: Window
    source: str


class Catalog(_Model):
    """A strategy's KPI catalog (one YAML file): the strategy, its basic goals and every KPI."""

    schema_version: Literal[1]
    strategy: Strategy
    goals: Annotated[list[Goal], Field(min_length=1)]
    kpis: Annotated[list[Kpi], Field(min_length=1)]

    @model_validator(mode="after")
    def _ids_and_goals(self):
        seen: set[str] = set()
        goals = {g.goal for g in self.goals}
        for k in self.kpis:
            if k.kpi_id in seen:
                raise ValueError(f"duplicate kpi_id {k.kpi_id!r}")
            seen.add(k.kpi_id)
            if k.goal not in goals:
                raise ValueError(
                    f"KPI {k.kpi_id} names goal {k.goal}, which the catalog does not list"
                )
        return self

    @cached_property
    def by_id(self) -> dict[str, Kpi]:
        """The KPIs by id."""
        return {k.kpi_id: k for k in self.kpis}

    def get(self, kpi_id: str) -> Kpi:
        """The KPI with this id; an unknown id is an input error listing the known ones."""
        try:
            return self.by_id[kpi_id]
        except KeyError:
            raise InputError(
                "catalog", f"unknown KPI id {kpi_id!r}; known ids: {', '.join(self.by_id)}"
            ) from None

    def goal_title(self, goal: int) -> str:
        """The Japanese title of basic goal `goal`."""
        return next(g.title_ja for g in self.goals if g.goal == goal)

    @property
    def evaluation_years(self) -> tuple[int, int]:
        """Fiscal years the catalog can be judged as of: from its earliest baseline year (or the
        period's start) to YEARS_AFTER_PERIOD after the period ends (a final evaluation is often
        compiled a year or two late; later than that, the next strategy's catalog applies)."""
        first = min(
            (k.baseline.year for k in self.kpis if k.baseline), default=self.strategy.period.start
        )
        return min(first, self.strategy.period.start), self.strategy.period.end + YEARS_AFTER_PERIOD

    def check_evaluation_year(self, year: int, parameter: str = "as_of", note: str = "") -> None:
        """Refuse a fiscal year this catalog cannot judge, naming the parameter the user gave."""
        first, last = self.evaluation_years
        if not first <= year <= last:
            raise ArgumentError(
                parameter,
                f"{year}{note} is outside what this catalog can judge: {first}–{last} "
                f"(its baselines start in {first}; its period "
                f"{self.strategy.period.start}–{self.strategy.period.end} ends "
                f"the target years, plus {YEARS_AFTER_PERIOD} for a late final evaluation)",
            )


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog YAML file (default: the bundled Ashibetsu one)."""
    path = Path(path) if path else DEFAULT_CATALOG
    raw = load_yaml(path, "catalog file")
    if not isinstance(raw, dict):
        raise InputError(
            str(path), "expected a mapping with schema_version, strategy, goals and kpis"
        )
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        raise schema_errors(path, raw, exc) from None


_TYPE_TAGS = {"float", "int", "bool", "str", "function-after", "literal", "constrained-int"}


def schema_errors(path: Path, raw: dict, exc: ValidationError) -> InputErrors:
    """Turn pydantic's locations into 'file, KPI id, field' messages."""
    listed = raw.get("kpis")
    kpis: list = listed if isinstance(listed, list) else []
    errors = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and (p in _TYPE_TAGS or "[" in p))]
        kpi_id = None
        if len(loc) >= 2 and loc[0] == "kpis" and isinstance(loc[1], int):
            item = kpis[loc[1]] if loc[1] < len(kpis) else None
            kpi_id = (item or {}).get("kpi_id") if isinstance(item, dict) else None
            kpi_id = f"{kpi_id} (kpis[{loc[1]}])" if kpi_id else f"kpis[{loc[1]}]"
            loc = loc[2:]
        field = ".".join(str(p) for p in loc) or None
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "this field is required"
        elif (
            "input" in err
            and err["type"] not in ("value_error",)
            and not isinstance(err["input"], dict)
        ):
            message += f" (got {err['input']!r})"
        errors.append(InputError(str(path), message, kpi_id=kpi_id, column=field))
    return InputErrors(errors)
