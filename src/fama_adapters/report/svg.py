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
from html import escape

__all__ = ["funnel_svg", "grid_svg", "trend_svg"]

_BLUES = ("#eef3fb", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
_INK = "#1b1b1b"


def _frame(chart_id: str, width: int, height: int, title: str, desc: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>{body}</svg>'
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
            f'<text x="{label_w - 10}" y="{y + 25}" text-anchor="end" font-size="15" '
            f'fill="{_INK}">{escape(label)}</text>'
        )
        if value is None:
            parts.append(
                f'<rect x="{label_w}" y="{y + 6}" width="{bar_w}" height="{row_h - 12}" '
                f'fill="none" stroke="#767676" stroke-dasharray="4 3"/>'
                f'<text class="people" x="{label_w + 10}" y="{y + 25}" font-size="14" '
                f'font-style="italic" fill="{_INK}">withheld</text>'
            )
            continue
        w = round(bar_w * value / scale)
        parts.append(
            f'<rect x="{label_w}" y="{y + 6}" width="{w}" height="{row_h - 12}" '
            f'fill="{_BLUES[3]}"/>'
            f'<text class="people" x="{label_w + w + 8}" y="{y + 25}" font-size="15" '
            f'font-weight="bold" fill="{_INK}">{value}</text>'
        )
    return _frame(chart_id, width, height, title, desc, "".join(parts))


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
            f'<text x="{left + d * cell_w + cell_w / 2}" y="20" text-anchor="middle" '
            f'font-size="14" fill="{_INK}">{escape(day[:3])}</text>'
        )
    for b, band in enumerate(bands):
        y = top + b * cell_h
        parts.append(
            f'<text x="{left - 8}" y="{y + cell_h / 2 + 5}" text-anchor="end" font-size="14" '
            f'fill="{_INK}">{escape(band)}</text>'
        )
        for d in range(len(days)):
            n = counts.get((d + 1, band), 0)
            x = left + d * cell_w
            if n == 0:
                parts.append(
                    f'<rect x="{x + 2}" y="{y + 2}" width="{cell_w - 4}" height="{cell_h - 4}" '
                    f'fill="#ffffff" stroke="#b10e1e" stroke-width="2" stroke-dasharray="5 3"/>'
                    f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 5}" text-anchor="middle" '
                    f'font-size="13" fill="#b10e1e">none</text>'
                )
                continue
            step = min(len(_BLUES) - 1, 1 + (n * (len(_BLUES) - 2)) // top_value)
            fill = _BLUES[step]
            ink = "#ffffff" if step >= 3 else _INK
            parts.append(
                f'<rect x="{x + 2}" y="{y + 2}" width="{cell_w - 4}" height="{cell_h - 4}" '
                f'fill="{fill}"/>'
                f'<text x="{x + cell_w / 2}" y="{y + cell_h / 2 + 6}" text-anchor="middle" '
                f'font-size="16" font-weight="bold" fill="{ink}">{n}</text>'
            )
    return _frame(chart_id, width, height, title, desc, "".join(parts))


_SERIES_STYLE = (
    ("#08306b", "", "circle"),
    ("#b35806", "8 4", "square"),
    ("#1b7837", "2 3", "diamond"),
)


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if shape == "diamond":
        return (
            f'<path d="M{x:.1f} {y - 5:.1f} L{x + 5:.1f} {y:.1f} L{x:.1f} {y + 5:.1f} '
            f'L{x - 5:.1f} {y:.1f} Z" fill="{colour}"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


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
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="#767676"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#767676"/>',
        f'<text x="{left - 6}" y="{top + 5}" text-anchor="end" font-size="12" '
        f'fill="{_INK}">{top_value}</text>',
        f'<text x="{left - 6}" y="{top + plot_h + 4}" text-anchor="end" font-size="12" '
        f'fill="{_INK}">0</text>',
    ]
    for i, month in enumerate(months):
        parts.append(
            f'<text x="{px(i):.1f}" y="{top + plot_h + 20}" text-anchor="middle" font-size="12" '
            f'fill="{_INK}">{escape(month)}</text>'
        )
    for s, (label, vs) in enumerate(series):
        colour, dash, shape = _SERIES_STYLE[s % len(_SERIES_STYLE)]
        legend_x = left + s * 240
        parts.append(
            f'<line x1="{legend_x}" y1="16" x2="{legend_x + 28}" y2="16" stroke="{colour}" '
            f'stroke-width="3" stroke-dasharray="{dash}"/>'
            + _marker(shape, legend_x + 14, 16, colour)
            + f'<text x="{legend_x + 34}" y="20" font-size="13" fill="{_INK}">'
            f"{escape(label)}</text>"
        )
        run: list[str] = []
        for i, v in enumerate([*vs, None]):
            if v is not None:
                run.append(f"{px(i):.1f},{py(v):.1f}")
                continue
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                    f'stroke-width="3" stroke-dasharray="{dash}"/>'
                )
            run = []
        for i, v in enumerate(vs):
            if v is not None:
                parts.append(_marker(shape, px(i), py(v), colour))
    return _frame(chart_id, width, height, title, desc, "".join(parts))
