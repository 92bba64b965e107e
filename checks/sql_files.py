"""SQL text from ``sql/*.sql``: one file per server-version range, as pg_activity keeps its queries.

``NAME.sql`` serves every version; ``NAME_post_NNNNNN.sql`` serves that version number and up
(PostgreSQL's server_version_num; for MySQL and MariaDB major*10000 + minor*100 + patch).
"""

from __future__ import annotations

import functools
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


@functools.cache
def _read(filename: str) -> str:
    return (SQL_DIR / filename).read_text(encoding="utf-8")


@functools.cache
def ranges(name: str) -> tuple[tuple[int, str], ...]:
    """(minimum version, file) for `name`, newest first; empty when there is no such file."""
    found = [(0, f"{name}.sql")] if (SQL_DIR / f"{name}.sql").exists() else []
    for path in SQL_DIR.glob(f"{name}_post_*.sql"):
        found.append((int(path.stem.rsplit("_", 1)[1]), path.name))
    return tuple(sorted(found, reverse=True))


def sql_file(name: str, version_num: int) -> str:
    """The file that serves `name` at `version_num`."""
    for minimum, filename in ranges(name):
        if version_num >= minimum:
            return filename
    raise LookupError(f"no SQL file for {name!r} fits server version {version_num} in {SQL_DIR}")


def get(name: str, version_num: int = 999999) -> str:
    """The SQL text of `name` for a server version."""
    return _read(sql_file(name, version_num))
