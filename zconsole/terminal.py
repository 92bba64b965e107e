"""What the command line prints: redacted, then made inert by the one neutraliser.

Every plain-text output of `zconsole` (snapshot, config, incidents …, error lines) goes through
here, so outside text (a queue name, a container name, an incident title) can no more clear the
responder's screen or set the clipboard than it can in the TUI, and no secret is printed.
"""

from __future__ import annotations

import sys
from typing import TextIO

from zconsole.checks.secrets import redact
from zconsole.checks.text import plain


def safe(text: str) -> str:
    """``text`` as it may be printed: secrets masked, escapes and controls dropped."""
    return plain(redact(text))


def out(text: str, stream: TextIO | None = None) -> None:
    """Print ``text`` (one or more lines) to stdout."""
    (stream or sys.stdout).write(safe(text).rstrip("\n") + "\n")


def error(text: str) -> None:
    """One ``zconsole: …`` line to stderr."""
    sys.stderr.write("zconsole: " + safe(text).rstrip("\n") + "\n")
