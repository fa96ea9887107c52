"""Checks for maintainers (pre-commit): notebooks carry no outputs or execution counts."""

from __future__ import annotations

import json
import sys


def notebooks_with_outputs(paths: list[str]) -> list[str]:
    """The notebooks among `paths` that carry outputs or execution counts."""
    bad = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
        if any(
            c.get("outputs") or c.get("execution_count")
            for c in nb.get("cells", [])
            if c.get("cell_type") == "code"
        ):
            bad.append(path)
    return bad


def main(argv: list[str]) -> int:
    """`python -m kpi_lib.core.devtools strip-check NOTEBOOK…`: exit 1 if any carries outputs."""
    if not argv or argv[0] != "strip-check":
        print("usage: python -m kpi_lib.core.devtools strip-check NOTEBOOK…", file=sys.stderr)
        return 2
    bad = notebooks_with_outputs(argv[1:])
    for path in bad:
        print(
            f"{path}: has outputs or execution counts; "
            "clear them (Edit → Clear Outputs of All Cells)",
            file=sys.stderr,
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
