"""An emergency dump's output into a file: what pg_dump and mysqldump share.

The tool runs as a subprocess (argv list, never a shell) and we write its output ourselves, so
the bytes written can be reported while it runs, to a file readable by its owner only (created
exclusively: an earlier dump is never overwritten). A failed or timed-out dump leaves no partial
file behind.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from zconsole.checks.secrets import redact

CHUNK = 256 * 1024


class DumpError(Exception):
    """The dump could not run or failed; the message is one redacted line."""


@dataclass(frozen=True, slots=True)
class DumpResult:
    database: str
    path: Path
    size_bytes: int
    seconds: float


def dump_path(
    directory: str | Path, database: str, now: datetime | None = None, *, suffix: str = ".sql"
) -> Path:
    """emergency_<db>_<YYYYmmdd_HHMMSS>.sql in `directory` (the runbooks' naming); ``.dump``
    for a custom-format archive."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d_%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in database) or "db"
    return Path(directory or ".") / f"emergency_{safe}_{stamp}{suffix}"


@contextlib.contextmanager
def private_output(path: Path) -> Iterator[BinaryIO]:
    """A new file readable by its owner only (a dump holds every row), removed again if
    anything fails before the block ends: a failed dump leaves no partial file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def stream_to_file(
    argv: Sequence[str],
    env: Mapping[str, str],
    path: Path,
    *,
    tool: str,
    database: str,
    progress: Callable[[int], None] | None = None,
    timeout: float = 3600.0,
) -> DumpResult:
    """Run `argv`, its standard output into `path`; `progress` gets the bytes written so far."""
    started = time.monotonic()
    written = 0
    with private_output(path) as out:
        with subprocess.Popen(
            list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(env)
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            while chunk := os.read(proc.stdout.fileno(), CHUNK):
                out.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(written)
                if time.monotonic() - started > timeout:
                    proc.kill()
                    raise DumpError(f"{tool} of {database} passed its {timeout:g} s timeout")
            err = proc.stderr.read().decode(errors="replace")
            code = proc.wait()
        if code != 0:
            last = [line for line in err.splitlines() if line.strip()]
            raise DumpError(
                redact(f"{tool} of {database} failed ({code}): {last[-1] if last else 'no output'}")
            )
    return DumpResult(database, path, path.stat().st_size, time.monotonic() - started)
