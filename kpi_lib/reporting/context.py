"""What every report notebook works from: the data handle (catalog, public tables, returned
files), the observations and the scorecard, evaluated once per report (`kpi report` stores it
for its kernels, public tables included: they read none from disk)."""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import pandas as pd

from kpi_lib.catalog.model import Catalog
from kpi_lib.core.errors import ArgumentError
from kpi_lib.evaluation.rules import RuleSettings
from kpi_lib.evaluation.scorecard import Scorecard, build_scorecard
from kpi_lib.observations.handle import DataHandle, PublicTables
from kpi_lib.observations.judgements import Returned
from kpi_lib.observations.status import kpi_status
from kpi_lib.observations.values import choose_values


@dataclass
class ReportContext:
    """What every report notebook works from: the data handle, the observations and the scorecard
    with forecasts."""

    fiscal_year: int
    data: DataHandle
    observations: pd.DataFrame
    scorecard: Scorecard
    settings: RuleSettings
    # the departments' judgements and the committee's opinions
    returned: Returned = field(default_factory=Returned.empty)

    @property
    def catalog(self) -> Catalog:
        """The catalog evaluated (the handle's)."""
        return self.data.catalog

    @property
    def municipality_code(self) -> str:
        """The municipality evaluated: the catalog's."""
        return self.data.municipality_code

    @property
    def tables(self) -> PublicTables:
        """The public tables, as read once by the handle."""
        return self.data.tables

    @property
    def opinions(self) -> dict[int, str]:
        """The committee's opinion per basic goal for this year."""
        return self.returned.opinions_for(self.fiscal_year)

    @cached_property
    def status(self) -> pd.DataFrame:
        """Per KPI: its department and whether the year's figure and judgement are in."""
        return kpi_status(self.catalog, self.returned, self.fiscal_year)

    @cached_property
    def chosen(self) -> pd.DataFrame:
        """One value per KPI and year, as the rules used them."""
        return choose_values(self.observations)

    def kpi(self, kpi_id: str):
        """The catalog's KPI with this id."""
        return self.catalog.get(kpi_id)

    def kpi_for(self, dataset: str, *measures: str):
        """The catalog's KPI fed by one of these public statistics (first listed), or None.

        Notebooks find their KPIs this way, never by id, so they serve any catalog."""
        return next(
            (
                k
                for k in self.catalog.kpis
                if k.public_series
                and k.public_series[0].dataset == dataset
                and k.public_series[0].measure in measures
            ),
            None,
        )

    def first_kpi_with_data(self):
        """The default of the deep dive: the first numeric goal (★) with data, else any KPI with
        data."""
        with_data = [
            k for k in self.catalog.kpis if not self.history(k.kpi_id).empty
        ] or self.catalog.kpis
        return next((k for k in with_data if k.numeric_goal), with_data[0])

    def history(self, kpi_id: str) -> pd.DataFrame:
        """The values the rules used (one per year), oldest first: the scorecard entry's."""
        return self.scorecard[kpi_id].used.sort_values("year")


def load_context(
    fiscal_year: int,
    catalog_path: str = "",
    data_dir: str = "",
    grades: str = "ABCD",
    formula: Literal["progress", "ratio"] = "progress",
    cache: str = "",
) -> ReportContext:
    """The data handle, observations and the scorecard with forecasts, as of `fiscal_year`.

    `cache`: a file `kpi report` wrote with `save_context`, computed once for all its notebooks;
    used only if it was made with the same arguments, else computed afresh.
    """
    if re.fullmatch(r"\d{6}", str(catalog_path)) and not Path(catalog_path).exists():
        # a notebook written before the municipality came from the catalog alone
        raise ArgumentError(
            "catalog_path",
            f"{catalog_path} looks like a 団体コード: load_context(fiscal_year, catalog_path, "
            "data_dir, …) takes no municipality code any more (the catalog's is used); "
            "remove it from the call",
        )
    key = _key(fiscal_year, catalog_path, data_dir, grades, formula)
    if cache and Path(cache).exists():
        stored_key, ctx = _stored(cache)
        if stored_key == key:
            return ctx
    data = DataHandle.open(data_dir or None, catalog_path or None)
    return build_context(data, int(fiscal_year), RuleSettings(formula=formula, grades=grades))


def saved_context(path: str | Path) -> ReportContext:
    """The context `kpi report` saved at `path` for its kernels, whatever it was asked with."""
    return _stored(path)[1]


def _stored(path: str | Path) -> tuple[tuple, ReportContext]:
    with open(path, "rb") as fh:  # the report's own file, in its staging folder
        return pickle.load(fh)


def build_context(data: DataHandle, fiscal_year: int, settings: RuleSettings) -> ReportContext:
    """The context of an opened data handle, as of `fiscal_year`."""
    data.catalog.check_evaluation_year(fiscal_year, "fiscal_year")
    returned = data.returned
    scorecard = build_scorecard(
        data.catalog,
        returned.observations,
        fiscal_year,
        settings,
        data=data,
        judgements=returned.judgements_for(fiscal_year),
    )
    return ReportContext(fiscal_year, data, returned.observations, scorecard, settings, returned)


def _key(fiscal_year, catalog_path, data_dir, grades, formula) -> tuple:
    resolve = lambda p: str(Path(p).resolve()) if p else ""  # noqa: E731
    return (
        int(fiscal_year),
        resolve(catalog_path),
        resolve(data_dir),
        grades,
        formula,
    )


def save_context(
    ctx: ReportContext,
    path: Path,
    catalog_path: str = "",
    data_dir: str = "",
    grades: str = "ABCD",
    formula: str = "progress",
) -> None:
    """Store the evaluated context for the report's kernels, so that each loads it instead of
    evaluating again; with every public table of the handle, so that none reads one from disk."""
    ctx.tables.read_all()
    key = _key(ctx.fiscal_year, catalog_path, data_dir, grades, formula)
    with open(path, "wb") as fh:
        pickle.dump((key, ctx), fh)


def save_figure(fig, output_dir: str, name: str) -> None:
    """Keep a figure beside the report (150 dpi, tight) when the notebook is given an output
    folder; the page shows the same drawing (`charts.show`)."""
    if output_dir:
        from kpi_lib.reporting.charts import figure_png

        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / f"{name}.png").write_bytes(figure_png(fig))
