"""Small server-side SVG charts, so pages work offline with no chart library."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aicommons.evaluation.leaderboard import LeaderboardRow

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 720, 300, 64, 48, 24, 160


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) * (out_high - out_low) / (high - low)


def _text(
    x: float, y: float, css: str, content: str, anchor: str = "start", extra: str = ""
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class="{css}" text-anchor="{anchor}"{extra}>'
        f"{escape(content)}</text>"
    )


def _axes(x_label: str, y_label: str, y_max: float, y_min: float = 0.0) -> list[str]:
    bottom, right = HEIGHT - PAD_BOTTOM, WIDTH - PAD_RIGHT
    parts = [
        f'<line x1="{PAD_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{bottom}" class="axis"/>',
        f'<text x="{(PAD_LEFT + right) / 2}" y="{HEIGHT - 8}" class="label" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text x="14" y="{(PAD_TOP + bottom) / 2}" class="label" text-anchor="middle" '
        f'transform="rotate(-90 14 {(PAD_TOP + bottom) / 2})">{escape(y_label)}</text>',
    ]
    for i in range(5):
        value = y_min + (y_max - y_min) * i / 4
        y = _scale(value, y_min, y_max, bottom, PAD_TOP)
        parts.append(
            f'<line x1="{PAD_LEFT - 4}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(_text(PAD_LEFT - 8, y + 4, "tick", _short(value), "end"))
    return parts


def _short(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _svg(parts: Sequence[str], title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def line_chart(
    series: dict[str, list[tuple[str, float]]], *, title: str, x_label: str, y_label: str
) -> str:
    """One line per series over shared categorical x values (e.g. days)."""
    xs = sorted({x for points in series.values() for x, _ in points})
    values = [v for points in series.values() for _, v in points]
    if not xs:
        return _svg(
            [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="label">no data yet</text>'], title
        )
    y_max = max(values) * 1.1 or 1.0
    bottom, right = HEIGHT - PAD_BOTTOM, WIDTH - PAD_RIGHT
    parts = _axes(x_label, y_label, y_max)
    step = max(1, len(xs) // 8)
    for i, x in enumerate(xs):
        if i % step == 0:
            px = _scale(i, 0, max(len(xs) - 1, 1), PAD_LEFT, right)
            parts.append(_text(px, bottom + 16, "tick", x, "middle"))
    for n, (name, points) in enumerate(sorted(series.items())):
        colour = PALETTE[n % len(PALETTE)]
        coords = [
            (
                _scale(xs.index(x), 0, max(len(xs) - 1, 1), PAD_LEFT, right),
                _scale(v, 0, y_max, bottom, PAD_TOP),
            )
            for x, v in sorted(points)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in coords
        )
        parts.append(
            f'<text x="{right + 12}" y="{PAD_TOP + 16 * n + 8}" class="legend" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    return _svg(parts, title)


def scatter_chart(
    points: Sequence[tuple[str, float, float, bool]], *, title: str, x_label: str, y_label: str
) -> str:
    """Labelled points ``(label, x, y, on_front)``; points on the front are joined by a line."""
    if not points:
        empty = f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="label">no data yet</text>'
        return _svg([empty], title)
    xs = [p[1] for p in points]
    ys = [p[2] for p in points]
    x_min, x_max = min(xs), max(xs) * 1.1 or 1.0
    y_max = max(ys) * 1.1 or 1.0
    bottom, right = HEIGHT - PAD_BOTTOM, WIDTH - PAD_RIGHT
    parts = _axes(x_label, y_label, y_max)
    for i in range(5):
        value = x_min + (x_max - x_min) * i / 4
        px = _scale(value, x_min, x_max, PAD_LEFT, right)
        parts.append(_text(px, bottom + 16, "tick", _short(value), "middle"))

    def position(x: float, y: float) -> tuple[float, float]:
        return _scale(x, x_min, x_max, PAD_LEFT, right), _scale(y, 0, y_max, bottom, PAD_TOP)

    front = sorted((p for p in points if p[3]), key=lambda p: p[1])
    if len(front) > 1:
        line = " ".join("{:.1f},{:.1f}".format(*position(p[1], p[2])) for p in front)
        parts.append(f'<polyline points="{line}" class="front"/>')
    for n, (label, x, y, on_front) in enumerate(points):
        cx, cy = position(x, y)
        colour = PALETTE[n % len(PALETTE)]
        ring = ' stroke="#16a34a" stroke-width="3"' if on_front else ""
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{colour}"{ring}/>')
        parts.append(_text(cx + 9, cy - 8, "legend", label))
    return _svg(parts, title)


def leaderboard_chart(rows: Sequence[LeaderboardRow]) -> str:
    """SVG: capability against energy per 1,000 queries, the Pareto front joined."""
    points = [
        (r.model, r.wh_per_1000_queries, r.capability, r.on_front)
        for r in rows
        if r.capability is not None and r.wh_per_1000_queries is not None
    ]
    return scatter_chart(
        [(m, float(x or 0), float(y or 0), f) for m, x, y, f in points],
        title="Capability against energy",
        x_label="Wh per 1,000 queries",
        y_label="capability (mean main score)",
    )
