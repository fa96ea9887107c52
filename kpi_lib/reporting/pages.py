"""The shell of the report's own pages (index, goal documents, batch summary): one Jinja2 page
template and one stylesheet, in `templates/` (shipped with the package), with autoescape on, so
that a text from a catalog or workbook is escaped unless a caller marks it as HTML it built."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("kpi_lib.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a name the template needs and was not given is an error
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(title: str, body: str, kind: str, header: str = "") -> str:
    """A whole page: `title` and `header` (the muted line above the heading, with the link to the
    index hidden in print) are plain text; `body` is HTML its caller built and escaped; `kind`
    is the body's class in the stylesheet (index, goal, towns)."""
    return render("page.html", title=title, body=Markup(body), kind=kind, header=header)


def render(template: str, **values) -> str:
    """A page from one of the templates (each extends page.html); values are escaped."""
    return _environment().get_template(template).render(**values)
