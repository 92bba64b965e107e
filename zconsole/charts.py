"""Line charts as small standalone SVG files, for the postmortem beside its Markdown.

Written by hand rather than with matplotlib (~40 MB with numpy, half a second to import, on a
server that is already in trouble) or pygal (its SVGs link a tooltip script on a remote site
by default, and an export should point nowhere): a chart here is axes, a few polylines, time
ticks and a legend, and a Git host's Markdown view shows the file as an image. Every label is
escaped and made plain: queue names and mount points are outside text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from zconsole.checks.secrets import redact
from zconsole.widgets.text import plain

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 48
#: Colour-blind-safe (Okabe-Ito); lines also differ in dash pattern, and the legend names them.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")
TICKS = 6


def _text(value: str, max_len: int = 60) -> str:
    return escape(plain(redact(value), max_len=max_len))


def _number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def line_chart(
    title: str,
    unit: str,
    lines: Mapping[str, Sequence[tuple[datetime, float]]],
    *,
    since: datetime,
    until: datetime,
    marks: Sequence[tuple[datetime, str]] = (),
) -> str:
    """One SVG document: ``lines`` over [since, until], with vertical ``marks`` (declared …)."""
    t0, t1 = since.timestamp(), max(until.timestamp(), since.timestamp() + 1)
    values = [v for points in lines.values() for _, v in points]
    top = max(values, default=1.0)
    top = top * 1.1 if top > 0 else 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: datetime) -> float:
        return LEFT + (moment.timestamp() - t0) / (t1 - t0) * plot_w

    def y(value: float) -> float:
        return TOP + plot_h - max(0.0, value) / top * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{_text(title)} '
        f"({_text(unit, 20)})</text>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#444"/>',
    ]
    for i in range(TICKS):
        value = top * i / (TICKS - 1)
        out.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{_number(value)}</text>'
        )
        moment = datetime.fromtimestamp(t0 + (t1 - t0) * i / (TICKS - 1), since.tzinfo)
        out.append(
            f'<text x="{x(moment):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            f"{moment:%H:%M}</text>"
        )
    for moment, label in marks:
        if since <= moment <= until:
            mx = x(moment)
            out.append(
                f'<line x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}" y2="{TOP + plot_h}" '
                'stroke="#888" stroke-dasharray="3 3"/>'
            )
            out.append(f'<text x="{mx + 3:.1f}" y="{TOP + 10}" fill="#555">{_text(label)}</text>')
    legend_x = LEFT
    for i, (name, points) in enumerate(lines.items()):
        colour, dash = COLOURS[i % len(COLOURS)], DASHES[i % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{dashed} '
            f"points={quoteattr(coords)}/>"
        )
        ly = HEIGHT - 12
        out.append(
            f'<line x1="{legend_x}" y1="{ly - 4}" x2="{legend_x + 18}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2"{dashed}/>'
        )
        label = _text(name, 28)
        out.append(f'<text x="{legend_x + 22}" y="{ly}">{label}</text>')
        legend_x += 30 + 7 * len(plain(name, max_len=28))
    out.append("</svg>")
    return "\n".join(out) + "\n"
