"""Errors a user can fix: each names where the problem is and what was expected.

The CLI prints these without a traceback and exits with status 2; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import re


class KpiError(Exception):
    """A problem with the user's input or request, not with the program."""

    exit_code = 2  # what `kpi` exits with (README: exit codes)


class ArgumentError(KpiError):
    """A bad value of a parameter. The library names parameters as Python does
    (`fiscal_year`); the CLI prints them as its options (`--fiscal-year`). Other parameters
    are marked ‹name› in `problem`."""

    def __init__(self, parameter: str, problem: str):
        self.parameter, self.problem = parameter, problem
        super().__init__(f"{parameter} {_names(problem, lambda n: n)}")

    def for_cli(self) -> str:
        """The message with every parameter written as its command-line option."""
        option = lambda n: "--" + n.replace("_", "-")  # noqa: E731
        return f"{option(self.parameter)} {_names(self.problem, option)}"


def _names(text: str, spell) -> str:
    return re.sub(r"‹(\w+)›", lambda m: spell(m[1]), text)


MAX_PROBLEM_CHARS = 500


class InputError(KpiError):
    """A bad value at a known place in an input file."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        kpi_id: str | None = None,
    ):
        if len(problem) > MAX_PROBLEM_CHARS:  # a hostile cell quoted whole would flood the terminal
            problem = f"{problem[:300]}…({len(problem):,} characters)…{problem[-60:]}"
        self.file, self.problem = str(file), problem
        self.sheet, self.row, self.column, self.kpi_id = sheet, row, column, kpi_id
        where = [self.file]
        if sheet:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if kpi_id:
            where.append(f"KPI {kpi_id}")
        if column:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {problem}")


class InputErrors(KpiError):
    """Several input errors found in one pass, reported together."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        head = f"{len(errors)} problem(s) found:"
        super().__init__("\n".join([head, *(f"  - {e}" for e in errors)]))
