"""The one sanitiser for outside text: log lines, query text, names, labels, image names.

Outside text is data. It may carry ANSI colour (kept as colour), but every other control or
escape sequence — cursor movement, screen clear, OSC 52 clipboard writes, OSC 8 hyperlinks,
8-bit C1 controls — is dropped, and the rest is returned as a Rich ``Text`` so that Rich or
Textual markup in it (``[bold red]``) is shown literally and never interpreted.
"""

from __future__ import annotations

import re

from rich.text import Text

# ESC-introduced sequences, in the order a terminal would parse them:
#   CSI  ESC [ params intermediates final
#   OSC  ESC ] ... (BEL | ESC \)      — also DCS/SOS/PM/APC (ESC P, X, ^, _) up to ST
#   two-byte ESC X
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)"  # OSC / DCS / SOS / PM / APC, to the terminator
    r"|\x1b[ -/]*[0-~]"  # other ESC sequences (charset selection, RIS "ESC c", ...)
    r"|\x1b"  # a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI, parameters and all (not just the C1 byte)
    r"|[\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|$)",  # 8-bit DCS/SOS/OSC/PM/APC
    re.DOTALL,
)
# An SGR sequence that only sets colours and text attributes: the one kind we let through.
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
# C0 controls except tab and newline, DEL, and the 8-bit C1 range (0x9b is an 8-bit CSI).
# ESC is not in the list: _ESCAPE has removed every ESC already, except the SGR sequences kept
# on purpose — removing their ESC here would leave "[31m" as visible text.
# Bidi embedding/override/isolate marks are dropped too: they can make a log line or a query
# read differently from what it is ("Trojan Source").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")
_VISIBLE_NEWLINE = "⏎"


def strip_escapes(text: str, *, keep_colour: bool = False) -> str:
    """Remove every escape sequence and control character (SGR colour kept if asked)."""

    def replace(match: re.Match[str]) -> str:
        seq = match.group(0)
        return seq if keep_colour and _SGR.fullmatch(seq) else ""

    return _CONTROL.sub("", _ESCAPE.sub(replace, text))


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
        text = text.replace("\n", _VISIBLE_NEWLINE)
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


def plain(text: str | None, *, max_len: int | None = None) -> str:
    """Outside text as plain characters (for exports and clipboard): no escapes, no controls."""
    if not text:
        return ""
    cleaned = strip_escapes(text.replace("\r\n", "\n"))
    return cleaned if max_len is None or len(cleaned) <= max_len else cleaned[: max_len - 1] + "…"
