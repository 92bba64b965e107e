"""The progress of an emergency dump, handed from the action's thread to its source's poll.

The dump action writes (start, advance, finish, fail); the check's poll reads the latest status
into its snapshot, so the pane shows it with the next refresh. The collector's own state is
never written from the action's thread. PostgreSQL's pg_dump and MySQL's mysqldump share it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class DumpStatus:
    """An emergency dump in progress (or the last one), as the pane shows it."""

    database: str
    path: str
    bytes_written: int
    running: bool
    elapsed_s: float = 0.0
    error: str | None = None


class DumpProgress:
    """Where an emergency dump (an action, in its own thread) reports how far it is, and every
    poll of its source reads it into the pane's data. Each report swaps in one frozen
    :class:`DumpStatus` whole, so a reader never sees half of one."""

    def __init__(self) -> None:
        self._started = 0.0
        self.status: DumpStatus | None = None

    def start(self, database: str, path: str) -> None:
        self._started = time.monotonic()
        self.status = DumpStatus(database=database, path=path, bytes_written=0, running=True)

    def advance(self, written: int) -> None:
        if self.status is not None:
            elapsed = time.monotonic() - self._started
            self.status = replace(self.status, bytes_written=written, elapsed_s=elapsed)

    def finish(self, size_bytes: int, seconds: float) -> None:
        if self.status is not None:
            self.status = replace(
                self.status, bytes_written=size_bytes, running=False, elapsed_s=seconds
            )

    def fail(self, error: str) -> None:
        if self.status is not None:
            self.status = replace(self.status, running=False, error=error)
