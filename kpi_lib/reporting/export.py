"""An executed notebook made ready for readers: its HTML without code (page title, alt text of
every chart), and its parameters moved from the staging folder to the report's own."""

from __future__ import annotations

import functools
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


@functools.cache
def _exporter():
    """One HTML exporter per process: a new one compiles its templates again at its first export
    (0.1 s, three times what an export costs afterwards)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code="ja",
    )


def notebook_html(executed: Path, out: Path) -> None:
    """The executed notebook as HTML for readers: outputs only, no code cells."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = page_title(executed.stem)  # the template's <title>
    with _EXPORT_LOCK:
        body, _ = _exporter().from_notebook_node(nb)
    out.write_text(_for_readers(body, nb), encoding="utf-8")


def page_title(stem: str) -> str:
    """The Japanese title of an exported notebook ('05_kpi_deep_dive_G2-0' → 'KPI 詳細 G2-0')."""
    for name, title in sorted(TITLES.items(), key=lambda kv: -len(kv[0])):
        if stem == name:
            return title
        if stem.startswith(name + "_"):
            return f"{title} {stem[len(name) + 1 :]}"
    return stem


def _for_readers(body: str, nb) -> str:
    """nbconvert's page with each chart's alt text and the print stylesheet."""
    from bs4 import BeautifulSoup

    from kpi_lib.reporting.pages import asset

    soup = BeautifulSoup(body, features="html.parser")
    _name_images(soup, nb)
    if soup.head is not None:
        style = soup.new_tag("style")
        style.string = asset("notebook_print.css")
        soup.head.append(style)
    return str(soup)


def _name_images(soup, nb) -> None:
    """Each chart's alt text from its output's metadata (charts.show puts the figure's
    description there; nbconvert's template does not read it and would write "No description
    has been provided for this image"). A chart without one is named by its section."""
    alts = [
        (o.get("metadata", {}).get("image/png") or {}).get("alt")
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    images = soup.select(".jp-RenderedImage img")
    for i, img in enumerate(images):
        alt = alts[i] if i < len(alts) and len(images) == len(alts) else None
        if not alt:
            heading = img.find_previous(["h1", "h2", "h3"])
            section = heading.get_text(strip=True).rstrip("¶") if heading else ""
            alt = f"{section}のグラフ" if section else "グラフ"
        img["alt"] = alt


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
