"""The progress of one long action (an emergency dump), handed from its thread to the poll.

The action's worker thread writes; the check's poll reads the latest state into its snapshot,
so the pane shows it with the next refresh. One frozen record swapped under a lock: the writer
never touches the collector's own state, and a reader never sees half an update.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Progress(Generic[T]):
    """The latest state of a long action, or None before the first one started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: T | None = None

    def set(self, state: T) -> None:
        with self._lock:
            self._latest = state

    @property
    def latest(self) -> T | None:
        with self._lock:
            return self._latest
