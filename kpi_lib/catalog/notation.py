"""Japanese notation as written in strategy tables and official statistics.

Three things are read here, each exactly or not at all:

* years: era years (``H30``, ``平成30年度``, ``令和元年度``), Western years, fiscal (年度,
  April–March) kept apart from calendar (年);
* quantities: ``1,234``, ``△100``/``▲5.1`` (negative), ``106,043千円`` (× 1,000 yen),
  ``421万人``, ``93%``, ``35,000件``, ``60分``, any unit as written, ranges ``▲5.1～▲10.5``,
  placeholders ``基準値なし``/``未策定``/``―``;
* target rules: ``基準値を維持``, ``5年間で10%程度の増加``, ``5年後に基準値の6%削減``,
  ``5年間で200件``, ``5年後に△100人``, ``50%以上``, ``全国平均以上``,
  ``2024年度(令和6年度)中の計画策定``.

Anything else raises :class:`NotationError`, which quotes the text it could not read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

YearBasis = Literal["fiscal", "calendar"]
Comparator = Literal[">=", "<=", ">", "<"]


class NotationError(ValueError):
    """Text that does not follow any notation this module knows."""

    def __init__(self, text: str, expected: str):
        self.text = text
        self.expected = expected
        super().__init__(f"cannot read {text!r}: expected {expected}")


# First Western year of each era minus one: era year N is OFFSET + N.
ERA_OFFSETS = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}
ERA_LETTERS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}

COMPARATORS: dict[str, Comparator] = {"以上": ">=", "以下": "<=", "超": ">", "未満": "<"}

# Unit prefixes that scale the number: 千円 is thousands of yen.
SCALED_UNITS = {
    "千円": (1_000, "円"),
    "万円": (10_000, "円"),
    "百万円": (1_000_000, "円"),
    "億円": (100_000_000, "円"),
    "千人": (1_000, "人"),
}

# Placeholders that stand where a value would be.
PLACEHOLDERS = {
    "基準値なし": "none",
    "なし": "none",
    "未策定": "not_adopted",
    "-": "none",
    "―": "none",  # the line lists' dash for "no baseline"
    "—": "none",
    "ー": "none",
    "現状値なし": "none",
}


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII) with all white space removed.

    The strategy was extracted from a PDF, so spaces inside numbers and units ("0 件",
    "kg-CO ₂") are layout, not meaning.
    """
    text = re.sub(r"\s+", "", str(text))
    text = "".join(
        "\ufffd" if _foreign_digit(c) and not (i and _latin(text[i - 1])) else c
        for i, c in enumerate(text)
    )
    text = unicodedata.normalize("NFKC", text)
    return text.replace("〜", "~").replace("−", "-")


def _foreign_digit(c: str) -> bool:
    """A character NFKC or int() would read as digits that is neither an ASCII nor a full-width
    digit: 10² is not 102, nor ⑳ 20, nor ١٢ 12 (they become U+FFFD and fail to parse)."""
    if c.isascii() or "０" <= c <= "９":
        return False
    return unicodedata.digit(c, None) is not None or any(
        "0" <= d <= "9" for d in unicodedata.normalize("NFKC", c)
    )


def _latin(c: str) -> bool:
    """A Latin letter, after which a sub- or superscript digit belongs to a unit (kg-CO₂, m²)."""
    return unicodedata.normalize("NFKC", c).isascii() and unicodedata.normalize("NFKC", c).isalpha()


@dataclass(frozen=True)
class JpYear:
    """A year read from Japanese text, with whether it is a fiscal (年度) or calendar (年) year."""

    year: int
    basis: YearBasis | None  # None: the text does not say (H30 in a table header)


_ERA_RE = re.compile(
    r"^(?P<era>明治|大正|昭和|平成|令和|[MTSHR])(?P<n>元|\d{1,2})(?P<suffix>年度|年)?$"
)
_WESTERN_RE = re.compile(r"^(?P<y>\d{4})(?P<suffix>年度|年)?$")


def parse_year(text: str) -> JpYear:
    """Read one year: ``H30``, ``平成30年度``, ``令和元年度``, ``2024年度``, ``2018年``.

    ``年度`` gives a fiscal year, ``年`` a calendar year; a bare era year (``H30``, as in
    the strategy's column headers) leaves the basis to the caller.
    """
    norm = normalize(text)
    norm = norm[:1].upper() + norm[1:]  # 'h30' as 'H30'
    basis_of: dict[str | None, YearBasis | None] = {"年度": "fiscal", "年": "calendar", None: None}
    m = _ERA_RE.match(norm)
    if m:
        era = ERA_LETTERS.get(m["era"], m["era"])
        n = 1 if m["n"] == "元" else int(m["n"])
        if n < 1:
            raise NotationError(text, f"an era year of 1 (元) or more in {era}")
        return JpYear(ERA_OFFSETS[era] + n, basis_of[m["suffix"]])
    m = _WESTERN_RE.match(norm)
    if m:
        return JpYear(int(m["y"]), basis_of[m["suffix"]])
    raise NotationError(text, "a year such as H30, R6, 平成30年度, 令和元年度 or 2024年度")


def to_era(year: int) -> str:
    """FY2018 -> 'H30', FY2019 -> 'R1' (the strategy's own short form)."""
    if year >= 2019:
        return f"R{year - 2018}"
    if year >= 1989:
        return f"H{year - 1988}"
    if year >= 1926:
        return f"S{year - 1925}"
    raise ValueError(f"year {year} is before 昭和")


@dataclass(frozen=True)
class Quantity:
    """A number with its unit, in base units (千円 is stored as 円 × 1,000)."""

    value: float | None
    unit: str | None = None
    placeholder: str | None = None  # 'none' (基準値なし) or 'not_adopted' (未策定)
    per_year: bool = False  # '3人／年'
    low: float | None = None  # ranges '▲5.1～▲10.5'
    high: float | None = None
    text: str = ""

    @property
    def is_range(self) -> bool:
        """Whether the quantity is a range (low～high)."""
        return self.low is not None


_NUMBER = r"[△▲\-+]?\d[\d,]*(?:\.\d+)?"
_NUMBER_RE = re.compile(rf"^(?P<num>{_NUMBER})$")
# Units are open: any word after the number is its unit as written (分, 台, 倍, ポイント,
# t-CO2, kg-CO2, 世帯 …), scaled where it starts with 千/万/億 (1150万t-CO2 is 11,500,000
# t-CO2). A unit holds no digit (but a Latin one's chemical tail, CO2), no hiragana but
# か所/ヶ所 and no rule word, so that prose such as '5年間でたくさん' is never read as
# '5 年間でたくさん'.
_RULE_WORDS = "以上|以下|未満|超|程度|増加|減少|削減|維持|年間|年後|累計|毎年|平均|まで"
_WORD_UNIT = rf"(?:(?!{_RULE_WORDS})[^\W\d_]){{1,10}}"
_UNIT_RE = rf"(?:%|‰|[A-Za-z]+\d?(?:-[A-Za-z0-9]+)*|{_WORD_UNIT}(?:-[A-Za-z0-9]+)*)"
_HIRAGANA_OK = ("か所", "ヶ所", "ケ所", "カ所", "ヵ所")
_QUANTITY_RE = re.compile(rf"^(?P<all>全)?(?P<num>{_NUMBER})(?P<unit>{_UNIT_RE})?(?P<per>/年)?$")
_RANGE_RE = re.compile(
    rf"^(?P<a>{_NUMBER})(?P<ua>{_UNIT_RE})?~(?P<b>{_NUMBER})(?P<ub>{_UNIT_RE})?$"
)
# '4億3,000万円': 億 and 万 in one number (the 万 part below 10,000).
_OKU_MAN_RE = re.compile(r"^(?P<oku>\d[\d,]*)億(?P<man>\d[\d,]*)万(?P<unit>[^\W\d_]*)$")
_SCALES = {"百万": 1_000_000, "千": 1_000, "万": 10_000, "億": 100_000_000, "兆": 10**12}


def parse_number(text: str | float | int) -> float:
    """A bare number as officials write it: ``1,234``, ``△12``, ``▲5.1``, ``１２３``."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    norm = normalize(str(text))
    m = _NUMBER_RE.match(norm)
    if not m:
        raise NotationError(str(text), "a number such as 1,234, △12, ▲5.1 or 8,386.607")
    return _to_float(m["num"], str(text))


def _to_float(num: str, original: str) -> float:
    negative = num[0] in "△▲-"
    digits = num.lstrip("△▲-+")
    if "," in digits and not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", digits):
        raise NotationError(original, "thousands separators every three digits (1,234,567)")
    value = float(digits.replace(",", ""))
    return -value if negative else value


def _scale_unit(unit: str | None) -> tuple[float, str | None]:
    """'千円' is 円 × 1,000, '万人' 人 × 10,000, '万t-CO2' t-CO2 × 10,000; other units as
    written."""
    unit = (unit or "").strip()
    if unit in SCALED_UNITS:
        return SCALED_UNITS[unit]
    for prefix, scale in _SCALES.items():
        if unit.startswith(prefix) and len(unit) > len(prefix):
            return scale, unit[len(prefix) :]
    return 1, unit or None


def _unit_ok(unit: str | None) -> bool:
    """A unit, not prose: no hiragana except in か所."""
    if not unit:
        return True
    if unit.startswith("年"):
        return False  # '5年' is a span or a date, not a count
    bare = unit
    for ok in _HIRAGANA_OK:
        bare = bare.replace(ok, "")
    return not re.search(r"[\u3041-\u309f]", bare)


def parse_quantity(text: str) -> Quantity:
    """A value cell: ``106,043千円``, ``93%``, ``全3校``, ``3人／年``, ``▲5.1～▲10.5``,
    ``421万人``, ``60分``, ``基準値なし``."""
    norm = normalize(text)
    if norm in PLACEHOLDERS:
        return Quantity(None, placeholder=PLACEHOLDERS[norm], text=text)
    m = _RANGE_RE.match(norm)
    if m and _unit_ok(m["ua"]) and _unit_ok(m["ub"]):
        scale, unit = _scale_unit(m["ub"] or m["ua"])
        a, b = (_to_float(m[g], text) * scale for g in ("a", "b"))
        return Quantity(None, unit, low=min(a, b), high=max(a, b), text=text)
    m = _QUANTITY_RE.match(norm)
    if m and _unit_ok(m["unit"]):
        scale, unit = _scale_unit(m["unit"])
        value = float(f"{_to_float(m['num'], text) * scale:.12g}")
        return Quantity(value, unit, per_year=bool(m["per"]), text=text)
    m = _OKU_MAN_RE.match(norm)
    if m and _unit_ok(m["unit"]):
        oku, man = _to_float(m["oku"], text), _to_float(m["man"], text)
        if man < 10_000:
            return Quantity(oku * 1e8 + man * 1e4, m["unit"] or None, text=text)
    raise NotationError(
        text, "a value such as 1,234件, △100人, 106,043千円, 93%, 全3校, ▲5.1～▲10.5 or 基準値なし"
    )


TargetKind = Literal[
    "level", "increase_pct", "decrease_pct", "maintain", "cumulative", "benchmark", "milestone"
]


@dataclass(frozen=True)
class TargetRule:
    """What a target cell says, before it is tied to a baseline and a year."""

    kind: TargetKind
    value: float | None = None  # level, cumulative total
    unit: str | None = None
    percent: float | None = None  # increase_pct / decrease_pct
    years: int | None = None  # '5年間' (window length) or '5年後' (horizon)
    comparator: Comparator | None = None
    approximate: bool = False  # 程度
    benchmark: str | None = None  # 'national_average'
    deadline: int | None = None  # milestone: fiscal year by which it is done
    per_year: bool = False  # '3人／年': a yearly rate


_FROM = r"(?:(?P<y>\d+)年(?:間で|後に|後|間))?(?:基準値|現状値|現状)?(?:から|の|比|より|比で)?"
_RULES: list[tuple[re.Pattern, TargetKind]] = [
    (re.compile(r"^(基準値|現状値|現状)?(を|の)?維持(する)?$"), "maintain"),
    (
        re.compile(rf"^{_FROM}(?P<p>\d+(\.\d+)?)%(?P<approx>程度)?(の)?(増加|増|向上|上昇)$"),
        "increase_pct",
    ),
    (
        re.compile(rf"^{_FROM}(?P<p>\d+(\.\d+)?)%(?P<approx>程度)?(の)?(削減|減少|減|低減)$"),
        "decrease_pct",
    ),
    (
        re.compile(
            rf"^(?P<y>\d+)年間(で|の)?(累計)?(?P<q>{_NUMBER}{_UNIT_RE}?)(?P<approx>程度)?"
            r"(?P<cmp>以上|以下)?$"
        ),
        "cumulative",
    ),
    (re.compile(rf"^累計(で)?(?P<q>{_NUMBER}{_UNIT_RE}?)(?P<cmp>以上|以下)?$"), "cumulative"),
    (
        re.compile(rf"^(?P<y>\d+)年後に(?P<q>{_NUMBER}{_UNIT_RE}?)(?P<cmp>以上|以下|超|未満)?$"),
        "level",
    ),
    (
        re.compile(
            r"^(?P<area>全国|全道|北海道|全県|県|府|都)平均(値)?(を)?(?P<cmp>以上|以下|超|未満)$"
        ),
        "benchmark",
    ),
    (
        re.compile(r"^(?P<fy>\d{4})年度(\((令和|平成)(\d+|元)年度\))?(中)?(の|に)?計画(を)?策定$"),
        "milestone",
    ),
    (
        re.compile(
            r"^(?P<when>\d{4}年度|(令和|平成|[RH])(\d+|元)年度)(\((令和|平成)(\d+|元)年度\))?"
            r"(中|まで|末)?(の|に|までに)?.{0,40}?(策定|完了|完成|開始|実施|設置|導入|開設|整備)$"
        ),
        "milestone",
    ),
    (
        re.compile(rf"^(年間|毎年)(?P<q>{_NUMBER}{_UNIT_RE}?)(?P<cmp>以上|以下|超|未満)?$"),
        "level",
    ),
    (re.compile(rf"^(?P<q>全?{_NUMBER}{_UNIT_RE}?(/年)?)(?P<cmp>以上|以下|超|未満)?$"), "level"),
]
_AREAS = {"全国": "national_average"}  # any other area's average is the prefecture's


def parse_target(text: str) -> TargetRule:
    """A target cell or phrase, e.g. ``5年間で10%程度の増加`` or ``5年後に△100人``."""
    norm = normalize(text)
    for pattern, kind in _RULES:
        m = pattern.match(norm)
        if not m:
            continue
        groups = m.groupdict()
        years = int(groups["y"]) if groups.get("y") else None
        cmp = COMPARATORS[groups["cmp"]] if groups.get("cmp") else None
        approx = bool(groups.get("approx"))
        if kind == "maintain":
            return TargetRule("maintain")
        if kind in ("increase_pct", "decrease_pct"):
            return TargetRule(kind, percent=float(groups["p"]), years=years, approximate=approx)
        if kind == "benchmark":
            area = _AREAS.get(groups["area"], "prefecture_average")
            return TargetRule("benchmark", benchmark=area, comparator=cmp)
        if kind == "milestone":
            fy = int(groups["fy"]) if groups.get("fy") else parse_year(groups["when"]).year
            _check_era_gloss(norm, fy, text)
            return TargetRule("milestone", deadline=fy)
        q = parse_quantity(groups["q"])
        if q.value is None:
            break
        return TargetRule(
            kind,
            value=q.value,
            unit=q.unit,
            years=years,
            comparator=cmp,
            approximate=approx,
            per_year=q.per_year or norm.startswith(("年間", "毎年")),
        )
    raise NotationError(
        text,
        "a target rule such as 基準値を維持, 5年間で10%程度の増加, 5年後に基準値の6%削減, "
        "5年間で200件, 5年後に△100人, 50%以上, 全国平均以上 or 2024年度(令和6年度)中の計画策定",
    )


def _check_era_gloss(norm: str, fy: int, text: str) -> None:
    """'2024年度(令和6年度)': the era gloss must name the same year."""
    m = re.search(r"\(((令和|平成)(\d+|元)年度)\)", norm)
    if m and parse_year(m[1]).year != fy:
        raise NotationError(text, f"the era year in brackets to equal FY{fy}")


def compare(actual: float, comparator: Comparator, target: float) -> bool:
    """Whether `actual` satisfies `comparator` against `target`."""
    return {
        ">=": actual >= target,
        "<=": actual <= target,
        ">": actual > target,
        "<": actual < target,
    }[comparator]
