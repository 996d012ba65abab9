"""The server-drawn charts: scales, downsampling, escaping of labels."""

from __future__ import annotations

from arenadb.web.svg import Interval, _downsample, _ticks, bar_chart, forest_plot, line_chart

EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def test_ticks_are_round_and_cover_the_range():
    assert _ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert _ticks(903.2, 1041.7) == [920, 940, 960, 980, 1000, 1020, 1040]
    assert _ticks(5, 5) == [5]


def test_long_series_are_downsampled_with_both_ends():
    points = _downsample(list(range(10_000)), 600)
    assert len(points) == 600 and points[0] == (0, 0) and points[-1] == (9_999, 9_999)


def test_labels_are_escaped_in_every_chart():
    charts = [
        forest_plot([Interval(EVIL, 1000, 950, 1050, href=f"/agents/{EVIL}")], caption=EVIL),
        forest_plot([Interval("x", 1000, None, None, provisional=True)], caption="unknown"),
        line_chart([1.0, 2.0, 1.5], caption=EVIL, x_label=EVIL),
        bar_chart([EVIL, "2030-01-02"], [1.0, 2.0], caption=EVIL, unit=EVIL),
    ]
    for chart in charts:
        assert "<script" not in chart and "<img" not in chart
    assert "&lt;script&gt;" in charts[0]
    assert "interval unknown" in charts[1] and "provisional" in charts[1]


def test_nothing_to_draw_is_empty():
    assert forest_plot([], caption="x") == ""
    assert line_chart([], caption="x", x_label="y") == ""
    assert bar_chart([], [], caption="x") == ""
