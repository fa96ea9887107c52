"""An executed notebook made ready for readers: its HTML without code (page title, alt text of
every chart), and its parameters moved from the staging folder to the report's own."""

from __future__ import annotations

import functools
import html
import re
import threading
from pathlib import Path

TITLES = {
    "01_scorecard": "効果検証スコアカード",
    "02_migration": "人口移動（社会増減）と出生",
    "03_tourism": "観光入込客数",
    "04_furusato": "ふるさと納税の推移",
    "05_kpi_deep_dive": "KPI 詳細",
}


_EXPORT_LOCK = threading.Lock()  # the jobs' threads share one exporter, one at a time
TEMPLATE = "kpi_lab"  # templates/nbconvert/kpi_lab: nbconvert's lab page with the readers' changes
# No backtracking pattern: a catalog's title with a long run of spaces made the former
# `(.+?)\s*#*\s*$` take minutes (in this process, holding the jobs' threads); the closing
# `#`s and spaces are trimmed in _last_heading instead.
_HEADING = re.compile(r"^#{1,3}[ \t]+(.*)$", re.MULTILINE)
_HTML_HEADING = re.compile(r"<h[1-3][^>]*>(.*?)</h[1-3]>", re.IGNORECASE | re.DOTALL)


@functools.cache
def _exporter():
    """One HTML exporter per process: a new one compiles its templates again at its first export
    (0.1 s, three times what an export costs afterwards)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name=TEMPLATE,
        extra_template_basedirs=[str(Path(__file__).parent / "templates" / "nbconvert")],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code="ja",
    )


def notebook_html(executed: Path, out: Path) -> None:
    """The executed notebook as HTML for readers: outputs only, no code cells, each chart with
    its alt text, the print stylesheet in the head (all in nbconvert's one pass over the page)."""
    import nbformat

    from kpi_lib.reporting.pages import asset

    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = page_title(executed.stem)  # the template's <title>
    name_images(nb)
    with _EXPORT_LOCK:
        body, _ = _exporter().from_notebook_node(
            nb, resources={"kpi_print_css": asset("notebook_print.css")}
        )
    out.write_text(body, encoding="utf-8")


def page_title(stem: str) -> str:
    """The Japanese title of an exported notebook ('05_kpi_deep_dive_G2-0' → 'KPI 詳細 G2-0')."""
    for name, title in sorted(TITLES.items(), key=lambda kv: -len(kv[0])):
        if stem == name:
            return title
        if stem.startswith(name + "_"):
            return f"{title} {stem[len(name) + 1 :]}"
    return stem


def name_images(nb) -> None:
    """Give each chart of `nb` its alt text, which the template writes (nbconvert's own would
    write "No description has been provided for this image"): charts.show puts the figure's
    description in the output's metadata; a chart without one is named by the heading above it
    (a markdown cell's or a displayed one's)."""
    section = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            section = _last_heading(cell.source, "") or section
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            section = _last_heading(data.get("text/markdown", ""), data.get("text/html", "")) or (
                section
            )
            if "image/png" in data:
                meta = output.setdefault("metadata", {}).setdefault("image/png", {})
                if not meta.get("alt"):
                    meta["alt"] = f"{section}のグラフ" if section else "グラフ"


def _last_heading(markdown, html_text) -> str:
    """The text of the last heading (levels 1–3) in a markdown or an HTML text, or ''."""
    join = lambda t: "".join(t) if isinstance(t, list) else str(t)  # noqa: E731
    closed = [h.rstrip().rstrip("#").rstrip() for h in _HEADING.findall(join(markdown))]
    found = [h for h in closed if h] + _HTML_HEADING.findall(join(html_text))
    if not found:
        return ""
    plain = html.unescape(re.sub(r"<[^>]+>", "", found[-1]))
    return re.sub(r"[*`]", "", plain).strip()


def relocated_parameters(params: dict, staging: Path, final: Path) -> dict:
    """A notebook's parameters with the staging folder's paths replaced by the report's own."""
    out = {}
    for key, value in params.items():
        if key == "context_file":
            out[key] = ""  # removed after the run; a re-run computes afresh
        elif isinstance(value, str) and value.startswith(str(staging)):
            out[key] = str(final) + value[len(str(staging)) :]
        else:
            out[key] = value
    return out


def relocate(executed: Path, staging: Path, final: Path) -> None:
    """Rewrite the injected parameters of an executed notebook to the final paths."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    if "parameters" in meta:
        meta["parameters"] = relocated_parameters(meta["parameters"], staging, final)
    for key, value in list(meta.items()):  # output_path
        if isinstance(value, str) and value.startswith(str(staging)):
            meta[key] = str(final) + value[len(str(staging)) :]
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            lines = []
            for line in cell.source.splitlines():
                if line.startswith("context_file = "):
                    line = 'context_file = ""'
                # papermill writes strings with non-ASCII characters escaped (\u5831): both forms
                for old, new in ((staging, final), (_escaped(staging), _escaped(final))):
                    line = line.replace(str(old), str(new))
                lines.append(line)
            cell.source = "\n".join(lines)
    nbformat.write(nb, executed)


def _escaped(path: Path) -> str:
    """The path as papermill writes it inside a Python string literal."""
    from papermill.translators import PythonTranslator

    return PythonTranslator.translate_escaped_str(str(path))[1:-1]
