"""The emergency dump: ``mysqldump --single-transaction`` of one database to a file, with progress.

The runbooks type ``mysqldump -u root -p app > backup.sql``. This does the same as a subprocess
(argv list, never a shell). The connection options, password included, go in an option file of
our own (mode 0600, removed afterwards) named by ``--defaults-file`` — never on the command line,
where every user of the machine would see it in ``ps`` — and that flag also keeps the user's
and the system's option files out of it. ``--single-transaction`` dumps InnoDB tables from one
consistent snapshot without locking them: the application keeps writing during the incident.
The file itself is written as pg_dump's is (``dump_file.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from zconsole.checks.mysql_settings import Endpoint
from zconsole.mitigations.dump_file import DumpError, DumpResult, stream_to_file

#: One consistent snapshot, rows streamed (not buffered in the client), routines and triggers
#: kept; tablespaces skipped (they need the PROCESS privilege on MySQL 8 and restore nothing).
DUMP_OPTIONS = (
    "--single-transaction",
    "--quick",
    "--routines",
    "--triggers",
    "--no-tablespaces",
)


def find_mysqldump(family: str = "mysql") -> str:
    """MariaDB's client for a MariaDB server, MySQL's for MySQL, else whichever is installed."""
    names = ("mariadb-dump", "mysqldump") if family == "mariadb" else ("mysqldump", "mariadb-dump")
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise DumpError("mysqldump not found (Debian: apt-get install mariadb-client)")


def option_file_text(endpoint: Endpoint) -> str:
    """The ``[client]`` section for ``--defaults-file``: where, as whom, and the password."""

    def value(text: str) -> str:
        # Option-file values may be quoted; backslash and quote escaped inside the quotes.
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["[client]", f"user={value(endpoint.user)}"]
    if endpoint.unix_socket:
        lines.append(f"socket={value(endpoint.unix_socket)}")
    else:
        lines += [f"host={value(endpoint.host)}", f"port={endpoint.port}", "protocol=tcp"]
    if endpoint.password:
        lines.append(f"password={value(endpoint.password)}")
    return "\n".join(lines) + "\n"


def argv_for(binary: str, option_file: str, database: str) -> list[str]:
    # --defaults-file must come first: the client reads option flags in order.
    return [binary, f"--defaults-file={option_file}", *DUMP_OPTIONS, "--databases", database]


def run_dump(
    endpoint: Endpoint,
    database: str,
    path: Path,
    *,
    binary: str,
    progress: Callable[[int], None] | None = None,
    timeout: float = 3600.0,
) -> DumpResult:
    """Dump `database` to `path` (plain SQL); `progress` gets the bytes written so far."""
    with tempfile.TemporaryDirectory(prefix="zconsole-dump-") as private:
        option_file = Path(private) / "client.cnf"
        fd = os.open(option_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(option_file_text(endpoint))
        env = {k: v for k, v in os.environ.items() if k != "MYSQL_PWD"}
        return stream_to_file(
            argv_for(binary, str(option_file), database),
            env,
            path,
            tool="mysqldump",
            database=database,
            progress=progress,
            timeout=timeout,
        )
