"""The emergency dump: ``pg_dump`` of one database to a file, with progress.

The runbooks type ``pg_dump sme_erp > emergency_backup_$(date +%Y%m%d_%H%M%S).sql``. This does
the same as a subprocess (argv list, never a shell), with the password handed over in the
``PGPASSWORD`` environment variable and never on the command line, the output written by us so
that the bytes written can be reported while it runs, and the file readable by its owner only.

The dump is the console's one deliberate second connection, for as long as it runs. It is named
``zconsole`` like the check's own (``application_name`` in the conninfo the check hands over, and
``PGAPPNAME`` for any other caller), so the pane hides it from every list: its long COPY is not
an incident's long query, and no bulk termination offers to kill it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from zconsole.checks.postgres import APPLICATION_NAME
from zconsole.checks.postgres_settings import conninfo_string as libpq_conninfo
from zconsole.checks.secrets import redact

CHUNK = 256 * 1024
#: Never prompt; plain SQL like the runbooks; and fail clearly instead of queueing forever behind
#: the ACCESS EXCLUSIVE lock that is often the incident itself.
DUMP_OPTIONS = ("--no-password", "--format=plain", "--lock-wait-timeout=30s")


class DumpError(Exception):
    """pg_dump could not run or failed; the message is one redacted line."""


@dataclass(frozen=True, slots=True)
class DumpResult:
    database: str
    path: Path
    size_bytes: int
    seconds: float


def find_pg_dump(server_major: int | None = None) -> str:
    """The pg_dump to use: one at least as new as the server (pg_dump refuses newer servers)."""
    installed = []
    for path in glob.glob("/usr/lib/postgresql/*/bin/pg_dump"):
        with contextlib.suppress(ValueError):
            installed.append((int(Path(path).parts[-3]), path))
    installed.sort()
    for major, path in installed:
        if server_major is None or major >= server_major:
            return path
    found = shutil.which("pg_dump")
    if found:
        return found
    if installed:
        return installed[-1][1]
    raise DumpError("pg_dump not found (Debian: apt-get install postgresql-client)")


def suitable_pg_dump(server_major: int | None) -> str | None:
    """A pg_dump on this host at least as new as the server, or None (none at all, or only
    older ones: pg_dump refuses a newer server, and the dump then runs in its container)."""
    installed = []
    for path in glob.glob("/usr/lib/postgresql/*/bin/pg_dump"):
        with contextlib.suppress(ValueError):
            installed.append((int(Path(path).parts[-3]), path))
    for major, path in sorted(installed):
        if server_major is None or major >= server_major:
            return path
    found = shutil.which("pg_dump")
    if found is None:
        return None
    try:
        version = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
        major = int(version.split()[-1].split(".")[0])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None
    return found if server_major is None or major >= server_major else None


def dump_path(
    directory: str | Path, database: str, now: datetime | None = None, *, suffix: str = ".sql"
) -> Path:
    """emergency_<db>_<YYYYmmdd_HHMMSS>.sql in `directory` (the runbooks' naming); ``.dump``
    for a custom-format archive."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d_%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in database) or "db"
    return Path(directory or ".") / f"emergency_{safe}_{stamp}{suffix}"


def conninfo_string(params: Mapping[str, str]) -> str:
    """The ``--dbname`` value: the check's libpq parameters without the password (which goes in
    PGPASSWORD, never on a command line ``ps`` shows)."""
    return libpq_conninfo({k: v for k, v in params.items() if k != "password"})


def run_dump(
    params: Mapping[str, str],
    password: str | None,
    path: Path,
    *,
    pg_dump: str,
    progress: Callable[[int], None] | None = None,
    timeout: float = 3600.0,
) -> DumpResult:
    """Dump ``params['dbname']`` to `path` (plain SQL); `progress` gets the bytes written so far.

    A failed dump leaves no partial file behind.
    """
    database = params.get("dbname", "")
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    env["PGAPPNAME"] = APPLICATION_NAME  # an application_name in `params` still wins
    if password:
        env["PGPASSWORD"] = password
    argv = [pg_dump, *DUMP_OPTIONS, f"--dbname={conninfo_string(params)}"]
    started = time.monotonic()
    written = 0
    with private_output(path) as out:
        with subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            while chunk := os.read(proc.stdout.fileno(), CHUNK):
                out.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(written)
                if time.monotonic() - started > timeout:
                    proc.kill()
                    raise DumpError(f"pg_dump of {database} passed its {timeout:g} s timeout")
            err = proc.stderr.read().decode(errors="replace")
            code = proc.wait()
        if code != 0:
            last = [line for line in err.splitlines() if line.strip()]
            raise DumpError(
                redact(
                    f"pg_dump of {database} failed ({code}): {last[-1] if last else 'no output'}"
                )
            )
    return DumpResult(database, path, path.stat().st_size, time.monotonic() - started)


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
