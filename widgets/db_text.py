"""Cells and count lines the database panes share: names, one-line queries, "by user: a 3, b 1".

Every value here comes from the server (a user, a database, a query) and goes through the one
neutraliser, :func:`~zconsole.widgets.text.inert`.
"""

from __future__ import annotations

from rich.text import Text

from zconsole.widgets.text import inert

#: Columns of the one-line query in tables (the full text shows below on selection).
QUERY_COLUMN_LEN = 80


def name_cell(value: str | None, width: int = 16) -> Text:
    return inert(value or "–", single_line=True, max_len=width)


def query_cell(query: str) -> Text:
    """A query on one line: whitespace runs folded, cut to the column."""
    return inert(" ".join(query.split()), single_line=True, max_len=QUERY_COLUMN_LEN, colour=False)


def counts_line(label: str, counts: dict[str, int], limit: int = 4) -> Text:
    """``label: a 3, b 1, +2 more`` (the most common first, as the check counted them)."""
    line = Text(f"{label}: ", style="dim")
    items = list(counts.items())
    for index, (name, count) in enumerate(items[:limit]):
        if index:
            line.append(", ")
        line.append_text(inert(name, single_line=True, max_len=24))
        line.append(f" {count}")
    if len(items) > limit:
        line.append(f", +{len(items) - limit} more", style="dim")
    if not items:
        line.append("–")
    return line
