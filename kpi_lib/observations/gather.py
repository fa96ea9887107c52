"""Everything observed for a catalog in one table: public series, analysts' files, baselines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from kpi_lib.catalog.model import Catalog
from kpi_lib.core.errors import InputErrors
from kpi_lib.observations import actuals as actuals_mod
from kpi_lib.observations.judgements import Returned, conflicts
from kpi_lib.observations.values import OBS_COLUMNS, public_observations, strategy_baselines

if TYPE_CHECKING:
    from kpi_lib.observations.handle import PublicTables


def load_inputs(catalog: Catalog, tables: PublicTables, actuals: Sequence[str | Path]) -> Returned:
    """Public series, the departments' figures (the files `actuals`) and the strategy's
    baselines in one tidy table, with the departments' judgements and the committee's opinions.
    The same figure or judgement given twice with different contents, in one file or two, is
    refused naming both places."""
    returned = returned_together([actuals_mod.read_returned(f, catalog) for f in actuals])
    frames = [
        public_observations(catalog, tables),
        returned.observations,
        strategy_baselines(catalog),
    ]
    frames = [f for f in frames if not f.empty]
    returned.observations = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OBS_COLUMNS)
    )
    return returned


def returned_together(parts: list[Returned]) -> Returned:
    """The returned files as one, refusing what two places give differently."""
    together = Returned.empty()
    if not parts:
        return together
    together.observations = pd.concat(
        [p.observations for p in parts if not p.observations.empty] or [pd.DataFrame()],
        ignore_index=True,
    )
    together.judgements = pd.concat([p.judgements for p in parts], ignore_index=True)
    together.opinions = pd.concat([p.opinions for p in parts], ignore_index=True)
    problems = [
        *conflicts(together.observations, ["kpi_id", "year"], ["value"], "the figure"),
        *conflicts(
            together.judgements,
            ["kpi_id", "fiscal_year"],
            ["department", "actions", "assessment", "direction_next"],
            "the judgement",
        ),
        *conflicts(together.opinions, ["goal", "fiscal_year"], ["opinion"], "the opinion"),
    ]
    if problems:
        raise InputErrors(problems)
    # the same figure or judgement twice: kept once
    if not together.observations.empty:
        together.observations = together.observations.drop_duplicates(["kpi_id", "year"])
    together.judgements = together.judgements.drop_duplicates(["kpi_id", "fiscal_year"])
    together.opinions = together.opinions.drop_duplicates(["goal", "fiscal_year"])
    return together
