"""The ``[postgres]`` settings, and the one place a DSN is worked out.

Config resolves the DSN once (a config file, DATABASE_URL, or the PG* variables libpq reads) into
:attr:`PostgresSettings.dsn`; the check and the dump use that string as it is. No psycopg here:
config loading reads this without paying for the driver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

#: The PG* variables that say "PostgreSQL is configured", and the libpq keyword of each.
PG_ENVIRONMENT = {
    "PGHOST": "host",
    "PGPORT": "port",
    "PGDATABASE": "dbname",
    "PGUSER": "user",
    "PGSERVICE": "service",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PostgresSettings:
    #: libpq DSN or URL; empty means DATABASE_URL, then PG* environment variables.
    dsn: str = ""
    interval: float | None = None
    timeout: float | None = None
    connections_warn_pct: float = 80.0
    connections_crit_pct: float = 95.0
    #: A session active longer than this is a "long query" (runbooks: slow query > 1 s).
    long_query_s: float = 1.0
    #: Statement timeout of the console's own queries, milliseconds.
    statement_timeout_ms: int = 3000
    statements_top: int = 10
    #: Bulk "terminate long queries" default (runbooks: kill long-running queries > 5 min).
    kill_long_after_min: float = 5.0
    #: Bulk "terminate idle-in-transaction sessions" default, minutes in that state.
    kill_idle_tx_after_min: float = 5.0
    #: Where the emergency pg_dump writes its file ("" means the current directory).
    dump_dir: str = ""
    #: The container the server runs in (name or id; discovery fills it): the emergency dump
    #: runs inside it when this host has no pg_dump new enough, and "restart" is its service's.
    container: str = ""


def normalise_dsn(dsn: str) -> str:
    """libpq does not know SQLAlchemy's "postgresql+psycopg2://" spelling: the plain one."""
    return re.sub(r"^postgres(?:ql)?\+[a-z0-9_]+://", "postgresql://", dsn)


def dsn_from_environment(env: Mapping[str, str]) -> str:
    """The PG* variables as a libpq keyword DSN ("" when none is set), so the DSN that config
    shows is the one the check connects with. The password stays in PGPASSWORD / ~/.pgpass,
    where libpq reads it itself."""
    params = {keyword: env[name] for name, keyword in PG_ENVIRONMENT.items() if env.get(name)}
    return conninfo_string(params)


def conninfo_string(params: Mapping[str, str]) -> str:
    """A libpq keyword/value string, values quoted where libpq needs it."""

    def quote(value: str) -> str:
        if value and all(c.isalnum() or c in "-_./:@" for c in value):
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{k}={quote(v)}" for k, v in params.items())
