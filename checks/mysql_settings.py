"""The MySQL/MariaDB source's settings (``[mysql]``) and where a connection comes from.

Kept apart from the check so that loading config never imports the driver. Where the console
connects, first found wins: ``[mysql] dsn``, ``MYSQL_URL``, a ``mysql://`` ``DATABASE_URL``,
then the ``[client]`` section of ``~/.my.cnf`` (what ``mysql -u root -p`` users already have).
"""

from __future__ import annotations

import configparser
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from zconsole.checks.secrets import register_secret

#: URL schemes that name a MySQL-protocol server (SQLAlchemy spells the driver after a "+").
SCHEMES = ("mysql", "mariadb")
DEFAULT_PORT = 3306


@dataclass(frozen=True, slots=True, kw_only=True)
class MySQLSettings:
    #: mysql://user:password@host:port/db (``?unix_socket=/path`` for a socket); empty means
    #: MYSQL_URL, a mysql:// DATABASE_URL, then ~/.my.cnf.
    dsn: str = ""
    #: The option file read when no DSN is given ("" means ~/.my.cnf).
    my_cnf: str = ""
    interval: float | None = None
    timeout: float | None = None
    connections_warn_pct: float = 80.0
    connections_crit_pct: float = 95.0
    #: A query running longer than this is a "long query" (runbooks: slow query > 1 s).
    long_query_s: float = 1.0
    #: Server-side limit of the console's own statements, milliseconds (max_statement_time on
    #: MariaDB, max_execution_time on MySQL).
    statement_timeout_ms: int = 3000
    #: Bulk "kill long queries" default (runbooks: kill long-running queries > 5 min).
    kill_long_after_min: float = 5.0
    #: Bulk "kill sleeping connections holding a transaction" default, minutes in the transaction.
    kill_idle_tx_after_min: float = 5.0
    #: Slow_queries per minute that counts as a warning.
    slow_queries_warn_per_min: float = 10.0
    #: Replica lag (Seconds_Behind_Master) that counts as a warning / as critical.
    replica_lag_warn_s: float = 30.0
    replica_lag_crit_s: float = 300.0
    #: Where the emergency mysqldump writes its file ("" means the current directory).
    dump_dir: str = ""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and as whom to connect, resolved once from a DSN or an option file."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    user: str = "root"
    password: str | None = None
    database: str | None = None
    unix_socket: str | None = None
    #: Where it came from, for `zconsole config` and error messages (never the password).
    origin: str = "dsn"

    @property
    def where(self) -> str:
        return self.unix_socket or f"{self.host}:{self.port}"


def is_mysql_url(url: str) -> bool:
    scheme = url.partition("://")[0].lower()
    return scheme.split("+", 1)[0] in SCHEMES and "://" in url


def parse_dsn(dsn: str) -> Endpoint:
    """mysql://user:pass@host:port/db[?unix_socket=/path]; the password is registered as secret."""
    if not is_mysql_url(dsn):
        raise ValueError("a MySQL DSN starts with mysql:// or mariadb://")
    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    password = unquote(parts.password) if parts.password is not None else None
    register_secret(password)
    sockets = query.get("unix_socket") or query.get("socket") or []
    socket_path = sockets[0] if sockets else None
    host = parts.hostname or "localhost"
    return Endpoint(
        host=host,
        port=parts.port or DEFAULT_PORT,
        user=unquote(parts.username) if parts.username else "root",
        password=password,
        database=unquote(parts.path.lstrip("/")) or None,
        unix_socket=socket_path,
        origin="dsn",
    )


def read_my_cnf(path: Path) -> Endpoint | None:
    """The ``[client]`` (and ``[mysql]``) options of a MySQL option file; None without any."""
    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None, strict=False)
    try:
        # Option files may start with !include lines, which configparser cannot parse.
        text = "\n".join(
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.startswith("!")
        )
        parser.read_string(text, source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    options: dict[str, str] = {}
    for section in ("client", "mysql"):
        if parser.has_section(section):
            options.update(
                {k.replace("-", "_"): (v or "").strip("'\"") for k, v in parser[section].items()}
            )
    if not options:
        return None
    password = options.get("password") or None
    register_secret(password)
    port = options.get("port", "")
    return Endpoint(
        host=options.get("host") or "localhost",
        port=int(port) if port.isdigit() else DEFAULT_PORT,
        user=options.get("user") or "root",
        password=password,
        database=options.get("database") or None,
        unix_socket=options.get("socket") or None,
        origin=str(path),
    )


def resolve(config: MySQLSettings, env: Mapping[str, str], home: Path) -> Endpoint | None:
    """The endpoint to use, or None when MySQL is not configured anywhere."""
    if config.dsn:
        return parse_dsn(config.dsn)
    cnf = Path(config.my_cnf).expanduser() if config.my_cnf else home / ".my.cnf"
    if cnf.is_file():
        endpoint = read_my_cnf(cnf)
        if endpoint is not None:
            password = env.get("MYSQL_PWD")
            register_secret(password)
            if endpoint.password is None and password:
                return dataclasses.replace(endpoint, password=password)
            return endpoint
    return None


__all__ = ["Endpoint", "MySQLSettings", "is_mysql_url", "parse_dsn", "read_my_cnf", "resolve"]
