"""Server-side SVG charts: well-formed, escaped, and honest about empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aicommons.web.charts import line_chart, scatter_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_line_chart_draws_one_line_per_series() -> None:
    svg = line_chart(
        {"alice": [("2026-11-01", 10), ("2026-11-02", 30)], "bob <&>": [("2026-11-02", 5)]},
        title="Tokens per day",
        x_label="day",
        y_label="tokens",
    )
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert "bob &lt;&amp;&gt;" in svg


def test_scatter_marks_the_front() -> None:
    svg = scatter_chart(
        [("a", 1.0, 0.3, True), ("b", 2.0, 0.5, True), ("c", 3.0, 0.4, False)],
        title="Capability against energy",
        x_label="J/query",
        y_label="score",
    )
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}circle")) == 3
    assert len(root.findall(f"{SVG}polyline")) == 1


def test_empty_charts_say_so() -> None:
    assert "no data yet" in line_chart({}, title="t", x_label="x", y_label="y")
    assert "no data yet" in scatter_chart([], title="t", x_label="x", y_label="y")
