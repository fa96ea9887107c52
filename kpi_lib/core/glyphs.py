"""Which characters the charts' Japanese font (IPAexGothic, bundled by matplotlib-fontja) can draw.

A KPI name with 𠮷, an emoji or Hangul would be drawn as empty boxes with a warning per glyph;
`kpi validate` reports such text and the charts draw 〓 (the typesetter's mark for a missing
character) in its place. The font file is read here, without importing matplotlib.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

MISSING = "〓"  # U+3013 GETA MARK, in the font


@lru_cache(maxsize=1)
def _font_characters() -> frozenset[int] | None:
    """Code points of the chart font's cmap (None: the font is not installed; nothing checked)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        return None
    font = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"
    if not font.is_file():
        return None
    from fontTools.ttLib import TTFont

    with TTFont(font, lazy=True) as f:
        return frozenset(f.getBestCmap())


def missing_glyphs(text: str) -> list[str]:
    """The characters of `text` the chart font cannot draw, in order, each once (white space and
    control characters are not drawn and not counted)."""
    have = _font_characters()
    if have is None:
        return []
    seen: dict[str, None] = {}
    for c in text:
        if not c.isspace() and c.isprintable() and ord(c) not in have:
            seen.setdefault(c, None)
    return list(seen)


def drawable(text: str) -> str:
    """`text` with every character the font lacks replaced by 〓."""
    missing = set(missing_glyphs(text))
    return "".join(MISSING if c in missing else c for c in text) if missing else text
