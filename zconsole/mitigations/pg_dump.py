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
from collections.abc import Callable, Mapping
from pathlib import Path

from zconsole.checks.postgres import APPLICATION_NAME
from zconsole.checks.postgres_settings import conninfo_string as libpq_conninfo

# The file side is shared with mysqldump and the container dump (dump_file.py).
from zconsole.mitigations.dump_file import DumpError as DumpError
from zconsole.mitigations.dump_file import DumpResult, stream_to_file
from zconsole.mitigations.dump_file import dump_path as dump_path

#: Never prompt; plain SQL like the runbooks; and fail clearly instead of queueing forever behind
#: the ACCESS EXCLUSIVE lock that is often the incident itself.
DUMP_OPTIONS = ("--no-password", "--format=plain", "--lock-wait-timeout=30s")


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
    return stream_to_file(
        argv, env, path, tool="pg_dump", database=database, progress=progress, timeout=timeout
    )
