"""The layout: the README's architecture table names every package and module of kpi_lib, and
the layers import downwards only."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KPI_LIB = ROOT / "kpi_lib"
ROW = re.compile(r"^\| `(kpi_lib/[a-z_/.]*)` \| (.*) \|$", re.M)


def _table() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for m in ROW.finditer(section)}


def test_readme_architecture_table_matches_the_folders():
    rows = _table()
    packages = sorted(p.name for p in KPI_LIB.iterdir() if (p / "__init__.py").exists())
    assert sorted(k.split("/")[1] for k in rows if k.endswith("/")) == packages
    for package in packages:
        found = {
            p.name + ("/" if p.is_dir() else "")
            for p in (KPI_LIB / package).iterdir()
            if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()
        }
        named = set(re.findall(r"`([a-z_]+(?:\.py|/))`", rows[f"kpi_lib/{package}/"]))
        assert found <= named, (package, found - named)  # every module is described
        inside = {p.name for p in (KPI_LIB / package).rglob("*.py")} | found
        assert named <= inside, (package, named - inside)  # and nothing that is not there
    top = sorted(p.name for p in KPI_LIB.glob("*.py") if p.name != "__init__.py")
    assert top == sorted(k.split("/")[1] for k in rows if k.endswith(".py"))


LAYERS = ["core", "catalog", "sources", "observations", "forecasting", "evaluation", "reporting"]


def test_layers_import_downwards_only():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = []
    for path in KPI_LIB.rglob("*.py"):
        layer = path.relative_to(KPI_LIB).parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kpi_lib."):
                other = node.module.split(".")[1]
                if layer in rank and rank.get(other, -1) > rank[layer]:
                    upward.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}")
    assert not upward
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert " ← ".join(f"`{name}`" for name in LAYERS) in readme
