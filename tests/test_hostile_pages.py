"""Hostile text on the report's own pages (index, goal documents, batch summary), rendered by
Jinja2 with autoescape on: markup, attribute breakers, entities, spreadsheet formulas and
template syntax from a catalog, a department's workbook or the committee's, all shown as the
text they are — never run, never evaluated as a template. And a brace in a report folder's
name, which papermill would otherwise read as a field of its path."""

import json
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml
from openpyxl import load_workbook
from papermill.parameterize import add_builtin_parameters, parameterize_path

from kpi_lib.core.errors import KpiError
from kpi_lib.core.paths import DATA_DIR, DEFAULT_CATALOG
from kpi_lib.observations.judgements import REVIEW_SHEET, write_review_template
from kpi_lib.observations.template import write_template
from kpi_lib.reporting import batch
from kpi_lib.reporting.context import load_context
from kpi_lib.reporting.goal_docs import goal_documents
from kpi_lib.reporting.index_page import index_html
from kpi_lib.reporting.jobs import papermill_path, plan_jobs
from kpi_lib.reporting.run_settings import NOTEBOOK_DIR
from tests.test_hostile import kpi, no_traceback
from tests.test_round_trip import fill

SCRIPT = "<script>alert(1)</script>"
JINJA = "{{ 7*7 }}{% if true %}IF{% endif %}{# note #}{{ ''.__class__ }}"
ATTRIBUTE = '" onmouseover="alert(1)" x="'
ENTITIES = "&amp; &lt;b&gt; </td></table>"
FORMULA = '=HYPERLINK("http://example.invalid","click")'
HOSTILE = f"{SCRIPT} {JINJA} {ATTRIBUTE} {ENTITIES} {FORMULA}"


class _Page(HTMLParser):
    """What a browser makes of a page: its elements' attributes and the text it shows."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.shown: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.shown.append(data)

    @property
    def text(self) -> str:
        return "".join(self.shown)


def assert_shown_as_text(html: str, name: str, hostile: str = HOSTILE) -> None:
    page = _Page(html)
    assert "script" not in page.tags, name
    assert not [k for k, _ in page.attributes if k.startswith("on")], name
    assert hostile in page.text, name  # every character shown, template syntax unevaluated
    assert "IF{% endif %}" in page.text and "<class 'str'>" not in page.text, name


@pytest.fixture(scope="module")
def hostile_context(tmp_path_factory):
    """The bundled catalog with hostile goal titles, KPI names, department and strategy text,
    and returned workbooks with hostile judgements and a hostile committee opinion."""
    root = tmp_path_factory.mktemp("hostile_pages")
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    raw["strategy"]["title_ja"] += HOSTILE
    for g in raw["goals"]:
        g["title_ja"] += HOSTILE
    for k in raw["kpis"]:
        k["department"] = f"企画課{HOSTILE}"
        if k["kpi_id"] in ("G2-0", "G2-2-3"):  # a ★ goal and a KPI with a final verdict
            k["name_ja"] += HOSTILE
            k["target"]["text"] += HOSTILE
    catalog_path = root / "catalog.yaml"
    catalog_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    data = root / "data"
    (data / "actuals").mkdir(parents=True)
    (data / "public").symlink_to(DATA_DIR / "public", target_is_directory=True)
    (data / "forecast.yaml").write_bytes((DATA_DIR / "forecast.yaml").read_bytes())
    ctx = load_context(2024, catalog_path=str(catalog_path), data_dir=str(data))
    blank, entry = root / "blank.xlsx", data / "actuals" / "企画課.xlsx"
    write_template(ctx.catalog, blank, 2024)
    fill(
        blank,
        entry,
        {
            "G2-0": {"取組内容": FORMULA, "評価・要因分析": HOSTILE, "今後の方向性": "改善"},
            "G2-2-3": {"取組内容": HOSTILE},
        },
    )
    review = data / "actuals" / "有識者会議.xlsx"
    write_review_template(ctx.catalog, review, 2024)
    wb = load_workbook(review)
    wb[REVIEW_SHEET].cell(5, 4, HOSTILE)  # basic goal 2
    wb.save(review)
    return load_context(2024, catalog_path=str(catalog_path), data_dir=str(data))


def test_hostile_text_on_the_index_is_shown_as_text(hostile_context):
    class Job:
        output_name = "01_scorecard.ipynb"
        title = HOSTILE

    source = dict.fromkeys(["source", "years", "year_basis", "as_of", "licence"], HOSTILE)
    html = index_html(hostile_context, [Job()], [source])
    assert_shown_as_text(html, "index.html")
    page = _Page(html)
    assert page.text.count(HOSTILE) >= 12  # title, goals, ★ names, department, link, source
    assert ("href", "01_scorecard.html") in page.attributes


def test_a_notebook_named_like_a_scheme_links_relatively(hostile_context):
    class Job:
        output_name = "javascript:alert(1).ipynb"
        title = "x"

    page = _Page(index_html(hostile_context, [Job()], []))
    assert ("href", "javascript%3Aalert%281%29.html") in page.attributes
    assert not [v for k, v in page.attributes if k == "href" and ":" in (v or "")]


def test_hostile_text_in_the_goal_documents_is_shown_as_text(hostile_context):
    docs = {d.goal: d.html for d in goal_documents(hostile_context)}
    for goal, html in docs.items():
        assert_shown_as_text(html, f"goal{goal}.html")
    page = _Page(docs[2])
    shown = page.text
    assert f"担当課の評価（企画課{HOSTILE}）" in shown  # the department's judgement
    assert f"評価・要因分析{HOSTILE}" in shown and f"取組内容{FORMULA}" in shown
    assert f"有識者会議の意見{HOSTILE}" in shown  # the committee's opinion
    alts = [v for k, v in page.attributes if k == "alt"]
    assert any(HOSTILE in (alt or "") for alt in alts)  # the chart's alt text, escaped
    ids = [v for k, v in page.attributes if k == "id"]
    assert "kpi-G2-2-3" in ids


def test_hostile_text_in_the_batch_summary_is_shown_as_text(tmp_path, hostile_context):
    row = dict.fromkeys(batch.SUMMARY_COLUMNS, HOSTILE) | {"報告": "a%7B%7B/index.html"}
    failure = (hostile_context.catalog, tmp_path / f"{JINJA}.yaml", HOSTILE)
    html = batch._summary_html(2024, [row], [failure])
    assert_shown_as_text(html, "index.html of the batch")
    assert ("href", "a%7B%7B/index.html") in _Page(html).attributes


@pytest.mark.parametrize(
    "name", ["FY{fiscal_year}", "{{7*7}}", "a}b{", "{data_dir.__class__}", "{0}"]
)
def test_a_brace_in_a_path_reaches_papermill_as_itself(tmp_path, name):
    path = tmp_path / name / "01_scorecard.ipynb"
    parameters = add_builtin_parameters({"fiscal_year": 2024, "data_dir": "/x"})
    assert parameterize_path(papermill_path(path), parameters) == str(path)


def test_a_report_into_a_folder_with_braces_in_its_name(tmp_path):
    """A batch names a town's folder after its catalog (h{{7*7}}.yaml); before the fix papermill
    read the braces as fields of its output path and every notebook failed."""
    notebooks = tmp_path / "nbs"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"language_info": {"name": "python"}})
    nb.cells = [
        nbformat.v4.new_code_cell("fiscal_year = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(fiscal_year)"),
    ]
    nbformat.write(nb, notebooks / "01_scorecard.ipynb")
    out = tmp_path / "h{{7*7}}{fiscal_year}"
    proc = kpi("report", "--fiscal-year", 2024, "--out", out, "--notebooks", notebooks)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "01_scorecard.html").is_file() and (out / "index.html").is_file()
    executed = json.loads((out / "01_scorecard.ipynb").read_text(encoding="utf-8"))
    assert executed["metadata"]["papermill"]["output_path"] == str(out / "01_scorecard.ipynb")
    assert not list(tmp_path.glob(".*building*"))


@pytest.mark.parametrize(
    ("names", "deep_dive"),
    [
        (["index.ipynb"], []),  # its HTML would be replaced by the report's index.html
        (["01_scorecard.ipynb", "Goal2.ipynb"], []),  # … or race a goal document
        (["06_extra.ipynb", "06_EXTRA.ipynb"], []),  # one page on a case-insensitive disk
    ],
)
def test_a_notebook_that_would_overwrite_another_page_is_refused(tmp_path, names, deep_dive):
    for name in names:
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / name)
    with pytest.raises(KpiError, match=r"a notebook would be written as .*\.html"):
        plan_jobs(tmp_path, {}, tmp_path / "figures", deep_dive)


def test_the_bundled_notebooks_and_their_deep_dives_are_planned():
    jobs = plan_jobs(NOTEBOOK_DIR, {}, Path("figures"), ["G1-0", "G2-0"])
    assert len({j.output_name for j in jobs}) == len(jobs) >= 6
