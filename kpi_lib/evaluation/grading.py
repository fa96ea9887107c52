"""How KPIs are graded: the grade scales and the settings the rules judge by (docs/rules.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from kpi_lib.core.vocabulary import NO_GRADE

Formula = Literal["progress", "ratio"]


@dataclass(frozen=True)
class GradeScale:
    """Grades from best to worst, each with the lowest pace that earns it."""

    name: str
    steps: tuple[tuple[str, float], ...]  # (label, minimum pace), best first
    worst: str

    def grade(self, pace: float | None, worse_than_baseline: bool = False) -> str:
        """The grade for a pace (None: no grade); worse than the baseline is the worst grade."""
        if pace is None or (isinstance(pace, float) and math.isnan(pace)):
            return NO_GRADE
        if worse_than_baseline:
            return self.worst
        for label, minimum in self.steps:
            if pace >= minimum:
                return label
        return self.worst

    @property
    def best(self) -> str:
        """The best grade's label."""
        return self.steps[0][0]

    @property
    def in_progress(self) -> str:
        """The grade for 'not there yet, nothing wrong' (a milestone before its deadline)."""
        return self.steps[-1][0]

    @property
    def labels(self) -> list[str]:
        """Every grade label, best first."""
        return [label for label, _ in self.steps] + [self.worst]


GRADE_PRESETS: dict[str, GradeScale] = {
    # A ≥ 100 %, B ≥ 80 %, C ≥ 50 %, D below 50 % or worse than the baseline.
    "ABCD": GradeScale("ABCD", (("A", 1.0), ("B", 0.8), ("C", 0.5)), "D"),
    # ◎ 達成, ○ 概ね順調, △ 遅れ, × 大幅な遅れ: the same cut-offs in symbols.
    "symbols": GradeScale("symbols", (("◎", 1.0), ("○", 0.8), ("△", 0.5)), "×"),
    # S 目標を大きく上回る, A 達成, B 8割以上, C 8割未満.
    "SABC": GradeScale("SABC", (("S", 1.2), ("A", 1.0), ("B", 0.8)), "C"),
}


@dataclass(frozen=True)
class RuleSettings:
    """How KPIs are judged: the achievement formula, the grade scale and the tolerance of a level to
    maintain."""

    formula: Formula = "progress"  # (actual − baseline)/(target − baseline); 'ratio': actual/target
    grades: str = "ABCD"
    maintain_tolerance_relative: float = 0.10  # ±10 % of the level to hold
    maintain_tolerance_points: float = 3.0  # ±3 points where the unit is %
    substantial: float = 0.95  # Open SDG growth-rate thresholds
    moderate: float = 0.60

    @property
    def scale(self) -> GradeScale:
        """The grade scale of the chosen preset."""
        try:
            return GRADE_PRESETS[self.grades]
        except KeyError:
            raise ValueError(
                f"unknown grade preset {self.grades!r}; expected one of {', '.join(GRADE_PRESETS)}"
            ) from None

    def describe(self) -> dict:
        """The settings as a dict, for the scorecard's record of how it judged."""
        return {
            "formula": self.formula,
            "grades": self.grades,
            "grade_thresholds": {label: m for label, m in self.scale.steps},
            "maintain_tolerance": {
                "relative": self.maintain_tolerance_relative,
                "points": self.maintain_tolerance_points,
            },
            "progress_thresholds": {"substantial": self.substantial, "moderate": self.moderate},
        }
