"""What an input may cost: bounds on YAML, workbooks, CSVs and command-line numbers.

Every file the tool reads comes from a user and may be hostile or broken; each bound here
is far above what a real catalog, entry workbook or panel holds (docs/validation.md,
"Limits") and far below what would exhaust a machine. A file beyond one is refused with
its name and the bound, before the expensive part is done.
"""

from __future__ import annotations

import argparse
import importlib
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import yaml

from kpi_lib.core.errors import InputError

# YAML (catalogs, data/forecast.yaml). The bundled catalog: 40 KB, depth 7, ~2,500 nodes.
MAX_YAML_BYTES = 2_000_000
MAX_YAML_DEPTH = 40
MAX_YAML_ALIASES = 200
MAX_YAML_NODES = 200_000  # counted with every alias expanded (an alias bomb grows 9^levels)
MAX_INT_DIGITS = 18  # a YAML integer longer than this is no KPI value (and int() refuses 4,300)
# Entry workbooks and CSVs (one row per KPI, one column per year).
MAX_XLSX_UNCOMPRESSED = 100_000_000  # bytes of all members of the zip, summed as stored
MAX_CSV_BYTES = 20_000_000
MAX_ROWS = 20_000
MAX_CELL_CHARS = 32_767  # Excel's own limit for a cell


# Control characters refused in any text read (ESC starts a terminal's control sequence, C1 0x9b
# too; xlsx cannot hold C0 ones), and the bidirectional overrides that make text display in
# another order than it reads. Tab, newline and carriage return are layout.
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def text_problem(text: str) -> str | None:
    """What makes `text` unfit for any output (a control character, over MAX_CELL_CHARS), or
    None."""
    if len(text) > MAX_CELL_CHARS:
        return f"a text of {len(text):,} characters (at most {MAX_CELL_CHARS:,}, as Excel)"
    if code := control_character(text):
        return f"control character {code} in the text; remove it"
    return None


def control_character(text: str) -> str | None:
    """'U+001B' for the first control character of `text`, None if it has none."""
    m = CONTROL_IN_TEXT.search(text)
    return f"U+{ord(m[0]):04X}" if m else None


def read_text(path: Path, what: str, limit: int) -> str:
    """A text file's UTF-8 content (a BOM allowed), refused beyond `limit` bytes or when it is
    not UTF-8 (the error names the line)."""
    raw = read_bytes(path, what, limit)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            str(path), f"line {line}: not UTF-8 text (byte {raw[exc.start]:#04x}); save it as UTF-8"
        ) from None


def read_bytes(path: Path, what: str, limit: int) -> bytes:
    """A regular file's bytes, refused beyond `limit` bytes (a folder or FIFO is never opened)."""
    try:
        if not path.is_file():
            raise InputError(str(path), f"{what} not found" if not path.exists() else "not a file")
        size = path.stat().st_size
        if size > limit:
            raise InputError(str(path), f"{size:,} bytes: a {what} is at most {limit:,} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read it: {exc.strerror or exc}") from None


class _PyYamlEvents(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's own scanner and parser, where libyaml is missing."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


# libyaml's scanner and parser (five times PyYAML's own on the catalog) give the events; the
# composer that counts aliases and depth, and the constructor, stay PyYAML's Python ones.
_Events: Any = (
    importlib.import_module("yaml._yaml").CParser if yaml.__with_libyaml__ else _PyYamlEvents
)


class _BoundedLoader(
    yaml.composer.Composer, _Events, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
):
    """PyYAML's safe loader with bounds on depth, aliases and expanded size, refusing duplicate
    keys (PyYAML lets the last one win silently) and overlong integers."""

    file = ""

    def __init__(self, stream):
        _Events.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0

    def _refuse(self, mark, problem: str):
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(self.file, f"{line}{problem}")

    def compose_node(self, parent, index):  # noqa: D102
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                self._refuse(self.peek_event().start_mark, f"more than {MAX_YAML_ALIASES} aliases")
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            self._refuse(self.peek_event().start_mark, f"nested deeper than {MAX_YAML_DEPTH}")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: D102
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: PyYAML's own error follows
                if first is not None:
                    self._refuse(
                        key_node.start_mark, f"duplicate key {key!r} (first on line {first})"
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):  # noqa: D102
        text = str(node.value)
        digits = sum(c.isdigit() for c in text)
        if digits > MAX_INT_DIGITS:
            self._refuse(
                node.start_mark, f"an integer of {digits} digits (at most {MAX_INT_DIGITS})"
            )
        if not _DECIMAL.fullmatch(text):
            # YAML 1.1 reads 010 as 8, 0x1F as 31 and 1:30 as 90: never what a catalog means.
            self._refuse(
                node.start_mark,
                f"{text} is read by YAML as {super().construct_yaml_int(node)}; write a plain "
                f"decimal number, or quote it ('{text}') if it is a code",
            )
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node):  # noqa: D102
        if ":" in str(node.value):
            self._refuse(node.start_mark, f"{node.value} is a sexagesimal number in YAML; quote it")
        return super().construct_yaml_float(node)

    def construct_undefined(self, node):  # noqa: D102
        self._refuse(node.start_mark, f"the tag {node.tag} is not allowed in this file")


_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)
_BoundedLoader.add_constructor("tag:yaml.org,2002:float", _BoundedLoader.construct_yaml_float)
# Bytes, sets and ordered pairs are nothing a catalog holds (bytes would pass as text).
for _tag in ("binary", "set", "omap", "pairs"):
    _BoundedLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _BoundedLoader.construct_undefined)


def _expanded_size(node, sizes: dict) -> int:
    """Nodes the document holds with every alias expanded (shared nodes counted each time)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = MAX_YAML_NODES + 1  # a cycle (a recursive alias) is over any bound
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(n, sizes) for n in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    else:
        size = 1
    sizes[id(node)] = min(size, MAX_YAML_NODES + 1)
    return sizes[id(node)]


def _character_at(text: str, mark) -> str:
    """' (found '\\t')' for the character a scanner error points at (libyaml's message does not
    name it, PyYAML's did): a tab, most often, where YAML wants spaces."""
    lines = text.splitlines()
    if mark is None or not 0 <= mark.line < len(lines):
        return ""
    line = lines[mark.line]
    return f" (found {line[mark.column]!r})" if 0 <= mark.column < len(line) else ""


def load_yaml(path: str | Path, what: str = "YAML file"):
    """A YAML file read within the bounds above, as plain Python data; every problem is an
    InputError naming the file and the line."""
    path = Path(path)
    text = read_text(path, what, MAX_YAML_BYTES)
    loader = _BoundedLoader(text)
    loader.file = str(path)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise InputError(
                str(path),
                f"more than {MAX_YAML_NODES:,} values once its aliases are expanded "
                "(an alias bomb?)",
            )
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = f"{exc.problem or exc}{_character_at(text, mark)}"
        raise InputError(str(path), f"{where}not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"not valid YAML: {exc}") from None
    except RecursionError:  # a bound above should come first; never a traceback
        raise InputError(str(path), f"nested deeper than {MAX_YAML_DEPTH}") from None
    finally:
        loader.dispose()


def check_xlsx(path: Path) -> None:
    """Refuse a workbook whose zip members would expand beyond MAX_XLSX_UNCOMPRESSED bytes, before
    any of it is decompressed (a 1.5 MB file can hold a 1.5 GB string)."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(str(path), f"cannot read it as an Excel workbook: {exc}") from None
    total = sum(m.file_size for m in members)
    if total > MAX_XLSX_UNCOMPRESSED:
        biggest = max(members, key=lambda m: m.file_size)
        raise InputError(
            str(path),
            f"the workbook expands to {total:,} bytes ({biggest.filename}: "
            f"{biggest.file_size:,}); an entry workbook is at most {MAX_XLSX_UNCOMPRESSED:,}",
        )


def check_cell(file: str, text: str, *, sheet=None, row=None, column=None) -> None:
    """Refuse a cell longer than MAX_CELL_CHARS (no KPI value or note is that long) or holding a
    control character."""
    if problem := text_problem(text):
        raise InputError(file, problem, sheet=sheet, row=row, column=column)


def bounded(kind: type, low: float, high: float, *, open_low=False, open_high=False):
    """An argparse `type` for a number in [low, high] (open ends excluded): nan, inf, a value out
    of range or an absurd integer end in argparse's usage error (exit 2) naming the option."""
    left, right = "(" if open_low else "[", ")" if open_high else "]"
    accepted = f"{'an integer' if kind is int else 'a number'} in {left}{low:g}, {high:g}{right}"

    def parse(text: str):
        try:
            if not text.isascii():  # int() would read ١٢ or ２０ as well
                raise ValueError(text)
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {accepted}, got {text[:40]!r}") from None
        finite = math.isfinite(value)
        too_low = value <= low if open_low else value < low
        too_high = value >= high if open_high else value > high
        if not finite or too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected {accepted}, got {text[:40]!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse
