"""The one sanitiser for outside text, as the screen renders it.

The string rules (what is dropped, SGR colour kept) are :mod:`zconsole.checks.text`, shared with
every plain output; here the rest becomes a Rich ``Text``, so that Rich or Textual markup in it
(``[bold red]``) is shown literally and never interpreted.
"""

from __future__ import annotations

from rich.text import Text

from zconsole.checks.text import VISIBLE_NEWLINE, plain, strip_escapes

__all__ = ["inert", "plain", "strip_escapes"]


def inert(
    text: str | None,
    *,
    single_line: bool = False,
    max_len: int | None = None,
    colour: bool = True,
    style: str = "",
) -> Text:
    """Outside text made safe to render: colour kept, everything else inert.

    ``single_line`` shows newlines as ``⏎`` (a query or log line in a table row).
    """
    if not text:
        return Text("", style=style)
    text = text.replace("\r\n", "\n").replace("\t", "    ")
    if single_line:
        text = text.replace("\n", VISIBLE_NEWLINE)
    if max_len is not None and len(text) > max_len * 4:
        # Bound the work on huge inputs before parsing; the final cut happens below.
        text = text[: max_len * 4]
    cleaned = strip_escapes(text, keep_colour=colour)
    result = (
        Text.from_ansi(cleaned, style=style)
        if colour and "\x1b" in cleaned
        else Text(cleaned, style=style)
    )
    if single_line:
        # from_ansi splits on newlines; none are left in single-line mode.
        result.no_wrap = True
    if max_len is not None and len(result) > max_len:
        result.truncate(max_len - 1)
        result.append("…")
    return result
