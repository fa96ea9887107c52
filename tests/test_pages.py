"""The report's own pages share one Jinja2 template and one stylesheet, shipped in the package,
with autoescape on: the index, the goal documents and the batch summary, each body a template."""

import re
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest
from markupsafe import Markup

from kpi_lib.catalog.model import load_catalog
from kpi_lib.reporting import batch
from kpi_lib.reporting.index_page import index_html
from kpi_lib.reporting.pages import render

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = resources.files("kpi_lib.reporting") / "templates"
HOSTILE = "<script>alert(1)</script>&"
STYLE = re.compile(r"<style>\n(.*?)</style>", re.S)


def page(title: str, body: str, kind: str, header: str = "") -> str:
    """The bare shell: `body` is HTML its caller built (marked safe), the other texts plain."""
    return render("page.html", title=title, body=Markup(body), kind=kind, header=header)


def _style(html: str) -> str:
    found = STYLE.findall(html)
    assert len(found) == 1, "one stylesheet per page"
    return found[0]


def test_the_shell_escapes_its_texts_and_keeps_the_callers_html():
    html = page(HOSTILE, "<p>本文</p>", "goal", header=HOSTILE)
    assert "<script>" not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt;&amp;") == 2
    assert "<title>&lt;script&gt;" in html and "<p>本文</p>" in html
    assert '<body class="goal">' in html and html.startswith("<!DOCTYPE html>")
    # the link to the index goes with the header line, and is hidden in print
    assert '<a class="noprint" href="index.html">目次へ</a>' in html
    assert "目次へ" not in page("題", "<p>x</p>", "index")


def test_the_one_stylesheet_prints_on_a4_and_hides_the_index_link():
    css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    assert _style(page("題", "", "index")) == css
    assert "@page{size:A4;" in css
    print_rules = css.split("@media print{", 1)[1]
    assert ".noprint,.calc{display:none}" in print_rules
    assert "print-color-adjust:exact" in print_rules  # badges keep their colours on paper


@pytest.fixture(scope="module")
def ctx(report_context):
    return report_context(2024)  # computed once per session (tests/conftest.py)


def test_the_index_page_uses_the_shell_and_the_stylesheet(ctx):
    html = index_html(ctx, [], [])
    assert _style(html) == (TEMPLATES / "style.css").read_text(encoding="utf-8")
    assert '<body class="index">' in html
    title = re.search(r"<title>(.*?)</title>", html)[1]
    assert title == f"{ctx.catalog.strategy.title_ja} 最終評価（2024年度）"


def test_the_batch_summary_escapes_every_text_of_a_catalog(tmp_path):
    cat = load_catalog()
    row = dict(
        zip(batch.SUMMARY_COLUMNS, [HOSTILE, "012165", HOSTILE, "2020〜2024年度"], strict=False)
    )
    row |= {c: 0 for c in batch.SUMMARY_COLUMNS[4:-1]} | {"報告": "a%3Ab/index.html"}
    html = batch._summary_html(2024, [row], [(cat, tmp_path / "x<y>.yaml", HOSTILE)])
    assert "<script>" not in html and "x&lt;y&gt;.yaml" in html
    assert html.count("&lt;script&gt;") == 3
    assert '<a href="a%3Ab/index.html">報告</a>' in html
    assert '<body class="towns">' in html
    assert _style(html) == (TEMPLATES / "style.css").read_text(encoding="utf-8")
    assert "<h1>効果検証報告 団体別一覧（2024年度・R6）</h1>" in html


def test_every_template_file_is_shipped_with_the_package():
    """pyproject's package-data names every file of templates/, so a non-editable install
    (a wheel) carries them all."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["kpi_lib.reporting"]
    files = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file())
    assert {"page.html", "style.css", "towns.html"} <= set(files)
    assert {"index.html", "goal.html", "goal_section.html", "parts.html"} <= set(files)
    assert {"nbconvert/kpi_lab/index.html.j2", "nbconvert/kpi_lab/conf.json"} <= set(files)
    for name in files:
        # fnmatch's * also crosses "/": a glob must name the file's own folder
        matches = [g for g in globs if fnmatch(f"templates/{name}", g)]
        assert any(g.count("/") == name.count("/") + 1 for g in matches), name


def test_the_page_bodies_are_templates_not_strings_escaped_by_hand():
    """index_page.py and goal_docs.py prepare plain values; the templates lay them out and
    escape them (no f-string HTML with html.escape left to forget)."""
    for module in ("index_page.py", "goal_docs.py"):
        source = (ROOT / "kpi_lib" / "reporting" / module).read_text(encoding="utf-8")
        assert "import html" not in source and "html.escape" not in source, module
        assert "<table" not in source and "<p" not in source, module
