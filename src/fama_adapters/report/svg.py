"""Charts as inline SVG, written by hand: a funnel, a weekly grid, trends by month.

No script, no external asset: each chart is one ``<svg role="img">`` with a
``<title>`` and ``<desc>`` (its text alternative), colours that keep 4.5:1
contrast for their labels, and series told apart by dash and marker as well
as colour. Values are the published ones; a withheld value draws nothing and
says "withheld". Text that shows a count of people carries ``class="people"``
so tests can find every such number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from fama_adapters.markup import html as _h

__all__ = ["funnel_svg", "grid_svg", "trend_svg"]

_BLUES = ("#eef3fb", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
_INK = "#1b1b1b"


def _frame(chart_id: str, width: int, height: int, title: str, desc: str, body: str) -> Markup:
    return _h(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {} {}" '
        'width="{}" height="{}" aria-labelledby="{}-title {}-desc"><title id="{}-title">'
        '{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        width,
        height,
        width,
        height,
        chart_id,
        chart_id,
        chart_id,
        escape(title),
        chart_id,
        escape(desc),
        body,
    )


def funnel_svg(
    chart_id: str, stages: Sequence[tuple[str, int | None]], *, title: str, desc: str
) -> str:
    """Horizontal bars, one per stage, scaled to the largest published value."""
    label_w, bar_w, row_h, top = 250, 340, 40, 10
    width, height = label_w + bar_w + 110, top * 2 + row_h * len(stages)
    scale = max([v for _, v in stages if v] or [1])
    parts = []
    for i, (label, value) in enumerate(stages):
        y = top + i * row_h
        parts.append(
            _h(
                '<text x="{}" y="{}" text-anchor="end" font-size="15" fill="{}">{}</text>',
                label_w - 10,
                y + 25,
                _INK,
                escape(label),
            )
        )
        if value is None:
            parts.append(
                _h(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#767676" '
                    'stroke-dasharray="4 3"/><text class="people" x="{}" y="{}" font-size="14" '
                    'font-style="italic" fill="{}">withheld</text>',
                    label_w,
                    y + 6,
                    bar_w,
                    row_h - 12,
                    label_w + 10,
                    y + 25,
                    _INK,
                )
            )
            continue
        w = round(bar_w * value / scale)
        parts.append(
            _h(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/><text class="people" '
                'x="{}" y="{}" font-size="15" font-weight="bold" fill="{}">{}</text>',
                label_w,
                y + 6,
                w,
                row_h - 12,
                _BLUES[3],
                label_w + w + 8,
                y + 25,
                _INK,
                value,
            )
        )
    return _frame(chart_id, width, height, title, desc, (Markup("").join(parts)))


def grid_svg(
    chart_id: str,
    counts: Mapping[tuple[int, str], int],
    *,
    days: Sequence[str],
    bands: Sequence[str],
    title: str,
    desc: str,
) -> str:
    """A weekday × time-of-day grid; darker is more meetings, dashed border is none."""
    cell_w, cell_h, left, top = 84, 46, 96, 30
    width, height = left + cell_w * len(days) + 10, top + cell_h * len(bands) + 10
    top_value = max(counts.values() or [1]) or 1
    parts = []
    for d, day in enumerate(days):
        parts.append(
            _h(
                '<text x="{}" y="20" text-anchor="middle" font-size="14" fill="{}">{}</text>',
                left + d * cell_w + cell_w / 2,
                _INK,
                escape(day[:3]),
            )
        )
    for b, band in enumerate(bands):
        y = top + b * cell_h
        parts.append(
            _h(
                '<text x="{}" y="{}" text-anchor="end" font-size="14" fill="{}">{}</text>',
                left - 8,
                y + cell_h / 2 + 5,
                _INK,
                escape(band),
            )
        )
        for d in range(len(days)):
            n = counts.get((d + 1, band), 0)
            x = left + d * cell_w
            if n == 0:
                parts.append(
                    _h(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="#ffffff" '
                        'stroke="#b10e1e" stroke-width="2" stroke-dasharray="5 3"/><text x="{}" '
                        'y="{}" text-anchor="middle" font-size="13" fill="#b10e1e">none</text>',
                        x + 2,
                        y + 2,
                        cell_w - 4,
                        cell_h - 4,
                        x + cell_w / 2,
                        y + cell_h / 2 + 5,
                    )
                )
                continue
            step = min(len(_BLUES) - 1, 1 + (n * (len(_BLUES) - 2)) // top_value)
            fill = _BLUES[step]
            ink = "#ffffff" if step >= 3 else _INK
            parts.append(
                _h(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/><text x="{}" y="{}" '
                    'text-anchor="middle" font-size="16" font-weight="bold" fill="{}">{}</text>',
                    x + 2,
                    y + 2,
                    cell_w - 4,
                    cell_h - 4,
                    fill,
                    x + cell_w / 2,
                    y + cell_h / 2 + 6,
                    ink,
                    n,
                )
            )
    return _frame(chart_id, width, height, title, desc, (Markup("").join(parts)))


_SERIES_STYLE = (
    ("#08306b", "", "circle"),
    ("#b35806", "8 4", "square"),
    ("#1b7837", "2 3", "diamond"),
)


def _marker(shape: str, x: float, y: float, colour: str) -> Markup:
    if shape == "square":
        return _h(
            '<rect x="{:.1f}" y="{:.1f}" width="8" height="8" fill="{}"/>', x - 4, y - 4, colour
        )
    if shape == "diamond":
        return _h(
            '<path d="M{:.1f} {:.1f} L{:.1f} {:.1f} L{:.1f} {:.1f} L{:.1f} {:.1f} Z" fill="{}"/>',
            x,
            y - 5,
            x + 5,
            y,
            x,
            y + 5,
            x - 5,
            y,
            colour,
        )
    return _h('<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="{}"/>', x, y, colour)


def trend_svg(
    chart_id: str,
    months: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | None]]],
    *,
    title: str,
    desc: str,
) -> str:
    """Lines by month (up to three series); a withheld month breaks the line."""
    left, right, top, bottom = 50, 50, 40, 40
    plot_w, plot_h = max(120 * max(len(months) - 1, 1), 720), 200
    width, height = left + plot_w + right, top + plot_h + bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top_value = max(values or [1]) or 1
    step_x = plot_w / max(len(months) - 1, 1)

    def px(i: int) -> float:
        return left + i * step_x

    def py(v: int) -> float:
        return top + plot_h - plot_h * v / top_value

    parts = [
        (
            _h(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#767676"/>',
                left,
                top + plot_h,
                left + plot_w,
                top + plot_h,
            )
        ),
        (
            _h(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#767676"/>',
                left,
                top,
                left,
                top + plot_h,
            )
        ),
        (
            _h(
                '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="{}">{}</text>',
                left - 6,
                top + 5,
                _INK,
                top_value,
            )
        ),
        (
            _h(
                '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="{}">0</text>',
                left - 6,
                top + plot_h + 4,
                _INK,
            )
        ),
    ]
    for i, month in enumerate(months):
        parts.append(
            _h(
                '<text x="{:.1f}" y="{}" text-anchor="middle" font-size="12" fill="{}">{}</text>',
                px(i),
                top + plot_h + 20,
                _INK,
                escape(month),
            )
        )
    for s, (label, vs) in enumerate(series):
        colour, dash, shape = _SERIES_STYLE[s % len(_SERIES_STYLE)]
        legend_x = left + s * 240
        parts.append(
            (
                _h(
                    '<line x1="{}" y1="16" x2="{}" y2="16" stroke="{}" stroke-width="3" '
                    'stroke-dasharray="{}"/>',
                    legend_x,
                    legend_x + 28,
                    colour,
                    dash,
                )
            )
            + _marker(shape, legend_x + 14, 16, colour)
            + (
                _h(
                    '<text x="{}" y="20" font-size="13" fill="{}">{}</text>',
                    legend_x + 34,
                    _INK,
                    escape(label),
                )
            )
        )
        run: list[str] = []
        for i, v in enumerate([*vs, None]):
            if v is not None:
                run.append(_h("{:.1f},{:.1f}", px(i), py(v)))
                continue
            if len(run) > 1:
                parts.append(
                    _h(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="3" '
                        'stroke-dasharray="{}"/>',
                        Markup(" ").join(run),
                        colour,
                        dash,
                    )
                )
            run = []
        for i, v in enumerate(vs):
            if v is not None:
                parts.append(_marker(shape, px(i), py(v), colour))
    return _frame(chart_id, width, height, title, desc, (Markup("").join(parts)))
