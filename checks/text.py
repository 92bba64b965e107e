"""The one sanitiser for outside text (log lines, query text, names, labels, queue names): its
pure-string rules, for every output path.

Outside text is data. It may carry ANSI colour (SGR), but every other control or escape
sequence — cursor movement, screen clear, OSC 52 clipboard writes, OSC 8 hyperlinks, 8-bit C1
controls, bidi overrides — is dropped. These rules live at the bottom layer, free of Rich and
Textual, so the plain CLI outputs (`zconsole snapshot`, `config`, `incidents …`) apply the very
same rules as the screen; :mod:`zconsole.widgets.text` adds the Rich rendering on top.
"""

from __future__ import annotations

import re

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
# read differently from what it is ("Trojan Source"); so are zero-width characters and marks
# (they hide text or make two different names look the same) and the Unicode line separators
# (a terminal may break a one-line field on them).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f\x80-\x9f\u061c\u200b-\u200f\u2028-\u202e"
    r"\u2060-\u2064\u2066-\u2069\ufeff]"
)
#: How a newline inside a one-line field is shown.
VISIBLE_NEWLINE = "⏎"


def strip_escapes(text: str, *, keep_colour: bool = False) -> str:
    """Remove every escape sequence and control character (SGR colour kept if asked)."""

    def replace(match: re.Match[str]) -> str:
        seq = match.group(0)
        return seq if keep_colour and _SGR.fullmatch(seq) else ""

    return _CONTROL.sub("", _ESCAPE.sub(replace, text))


def plain(text: str | None, *, max_len: int | None = None, single_line: bool = False) -> str:
    """Outside text as plain characters (exports, clipboard, the CLI): no escapes, no controls.

    ``single_line`` shows newlines as ``⏎``: one record per output line, so a hostile name
    cannot forge the next line of a report.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n")
    if single_line:
        text = text.replace("\n", VISIBLE_NEWLINE)
    cleaned = strip_escapes(text)
    return cleaned if max_len is None or len(cleaned) <= max_len else cleaned[: max_len - 1] + "…"
