"""The annual report: notebook runner, report context, charts, per-goal documents, batch runs."""

import importlib
import importlib.util
import sys
import types


def _defer_iri_grammar() -> None:
    """Build rfc3987_syntax's IRI grammar when an IRI is first checked, not when nbformat loads.

    papermill and nbconvert import nbformat, nbformat imports jsonschema, and jsonschema imports
    rfc3987_syntax if it is installed (it comes with jsonschema[format-nongpl], which Jupyter
    pulls in): that module compiles about 35 Lark parsers at import, 1.5 s of CPU on this
    machine (jsonschema issue #1428), although no notebook schema has an IRI field. A stand-in
    module gives jsonschema the same checker, which imports the real one on first use; the
    behaviour is unchanged, only the cost moves to where it is needed (never, for a report).
    """
    name = "rfc3987_syntax"
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return

    def is_valid_syntax(*args, **kwargs):
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return importlib.import_module(name).is_valid_syntax(*args, **kwargs)

    stand_in = types.ModuleType(name, "stand-in until first use (kpi_lib.reporting)")
    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[name] = stand_in


_defer_iri_grammar()
