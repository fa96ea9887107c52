"""The forecasts' reader notes: phrased by the reader vocabulary (core/vocabulary.py), never in
the numerical core, and in Japanese throughout (no error-kind codes)."""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from kpi_lib.forecasting.inputs import panel_from_long
from kpi_lib.forecasting.panel import forecast_panel

FORECASTING = Path(__file__).resolve().parent.parent / "kpi_lib" / "forecasting"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff60]")


def test_the_numerical_core_holds_no_japanese():
    # bench.py names the public tables' measures (受入件数 …), which are data keys, not notes.
    found = {
        p.name: m[0]
        for p in FORECASTING.glob("*.py")
        if p.name != "bench.py" and (m := JAPANESE.search(p.read_text(encoding="utf-8")))
    }
    assert not found, found


def _panel() -> pd.DataFrame:
    """40 steady positive series (calibrated on ratio errors) and one that crosses zero, alone
    of its kind: too few scaled errors to calibrate it."""
    rng = np.random.default_rng(0)
    rows = [
        (f"s{i}", y, round(1000 + 40 * i + 20 * (y - 2012) + rng.normal(0, 15)))
        for i in range(40)
        for y in range(2012, 2022)
    ]
    rows += [("neg", 2018, 1), ("neg", 2019, -3), ("neg", 2020, 4), ("neg", 2021, -2)]
    rows += [("one", 2021, 5), ("three", 2019, 5), ("three", 2020, 6), ("three", 2021, 7)]
    return pd.DataFrame(rows, columns=["series_id", "year", "value"])


def test_panel_notes_say_in_japanese_what_was_done():
    out = forecast_panel(panel_from_long(_panel()), 2021, 3)
    notes = out.attrs["notes"]
    assert notes[0].startswith("手法はローリング・オリジン検証で選択（パネル全体: ")
    # the series that crosses zero: its kind is named in Japanese, not by its code 'scaled'
    assert "検証の誤差が少なく較正できないため（尺度化誤差）、モデル自身の区間を使用" in notes
    assert not any("scaled" in n or "(log)" in n for n in notes), notes
    conformal = [n for n in notes if n.startswith("コンフォーマル区間（直近8時点")]
    assert len(conformal) == 1 and re.search(r"的中率は \d+%（名目 80%）$", conformal[0])
    by_series = out.groupby("series_id")["note"].first()
    assert by_series["one"] == "観測が1点のみのため予測なし（2点以上が必要）"
    assert by_series["three"] == "観測が3点のみ（区間は参考程度）"
    assert by_series["s0"] == ""
    assert out[out["series_id"] == "one"]["forecast"].isna().all()
