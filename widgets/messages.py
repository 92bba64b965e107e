"""Messages widgets post upward; the app turns them into actions and timeline entries."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class MitigationRequested(Message):
    """A pane asks for a mitigation on its selected record (the app builds and runs the Action)."""

    source: str
    action: str
    record: object


@dataclass
class PinRequested(Message):
    """Copy a row of a pane into the timeline as evidence."""

    source: str
    text: str
