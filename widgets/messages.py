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
class ContainerLogsRequested(Message):
    """The containers pane asks for the logs of one container or of a Compose service.

    Here, not beside the logs screen: the pane and the app name it at start, and the screen
    (an Input, a RichLog) is imported only when someone opens it.
    """

    title: str
    container_ids: tuple[str, ...]
    names: tuple[str, ...]


@dataclass
class DiskScanRequested(Message):
    """The host pane asks for "find what is big" on one mount (the scan screen is imported
    when it opens)."""

    mount: str


@dataclass
class PinRequested(Message):
    """Copy a row of a pane into the timeline as evidence."""

    source: str
    text: str
