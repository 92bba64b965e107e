"""Where passwords enter: DSNs and URLs read as their drivers read them, every secret registered.

The redactor masks secrets by value, so it must know each password exactly as the driver will
use it. A PostgreSQL DSN is therefore parsed by psycopg's own conninfo parser (libpq's rules) and
a Redis URL by redis-py's; when the two readings a human and a driver could give a URL differ —
an unencoded ``@``, ``/``, ``?`` or ``#`` in the password — the URL is refused with one line that
says how to write it, never half-parsed (libpq splits ``u:S3cr@tPw9@host`` at the first ``@`` and
would show ``tPw9@host`` as a host name in its error).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlparse

from zconsole.checks.secrets import register_secret

#: Characters a URL password may hold as they are (RFC 3986 userinfo: unreserved, sub-delims,
#: ":" and percent escapes); anything else non-ASCII is taken literally by every parser we use.
_USERINFO_ASCII = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:%]")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
#: Where a URL's authority (the part holding user:password@host) ends for every parser.
_AUTHORITY_END = re.compile(r"[/?#]")
#: URLs whose password is read without the driver's parser: no query string, no fragment.
_PLAIN_POSTGRES_URL = re.compile(r"^postgres(?:ql)?(?:\+[a-z0-9_]+)?://[^?#]*$")
_PLAIN_REDIS_URL = re.compile(r"^rediss?://[^?#]*$", re.IGNORECASE)


class UnsafeURL(ValueError):
    """A URL whose password the driver would cut somewhere else than its author meant."""


def _problem_char(userinfo: str) -> str | None:
    """The first character of ``user:password`` that must be percent-encoded, if any."""
    index = 0
    while index < len(userinfo):
        ch = userinfo[index]
        if ch == "%":
            if not _PERCENT_ESCAPE.match(userinfo, index):
                return ch
            index += 3
            continue
        if ch.isascii():
            if not _USERINFO_ASCII.match(ch):
                return ch
        elif ch.isspace() or unicodedata.category(ch)[0] in "CZ":
            return ch
        index += 1
    return None


def _encoded(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode())


def _shown(ch: str) -> str:
    if ch == " ":
        return "a space"
    return f"'{ch}'" if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def url_password_problem(url: str) -> str | None:
    """Why a URL's credentials are ambiguous (one sentence, never the password), or None."""
    _, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    end = _AUTHORITY_END.search(rest)
    authority = rest[: end.start()] if end else rest
    if "@" in authority:
        userinfo = authority[: authority.rfind("@")]
        bad = "@" if "@" in userinfo else _problem_char(userinfo)
    elif ":" in authority and end is not None:
        # "u:Ab/Cd@host": a reserved character cut "user:password" short, and what is left
        # reads as host "u", port "Ab". A host:port followed by an "@" further on is far rarer.
        bad = rest[end.start()]
    else:
        return None
    if bad is None:
        return None
    return (
        f"the password (or user name) in this URL holds {_shown(bad)}, which a URL must carry "
        f"percent-encoded: write {_shown(bad)} as {_encoded(bad)}"
    )


def _register_with_spellings(password: str) -> None:
    """The password as used, and as it may be spelled in a URL, JSON or a libpq keyword DSN."""
    from urllib.parse import quote

    register_secret(password)
    register_secret(quote(password, safe=""))
    register_secret(quote(password, safe="!$&'()*+,;=:"))
    register_secret(password.replace("\\", "\\\\").replace("'", "\\'"))


def _userinfo_password(url: str) -> str | None:
    """The password exactly as written in the URL (before percent-decoding)."""
    _, sep, rest = url.partition("://")
    end = _AUTHORITY_END.search(rest)
    authority = rest[: end.start()] if end else rest
    userinfo, at, _ = authority.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return None
    return userinfo.partition(":")[2]


def register_postgres_dsn(dsn: str) -> None:
    """Check a libpq DSN (URL or keywords) and register its password as libpq reads it.

    Raises :class:`UnsafeURL` (one line, no password) when libpq would read it otherwise than
    meant, or cannot read it at all.
    """
    if not dsn:
        return
    written = _userinfo_password(dsn)
    if written:
        register_secret(written)  # so that even a message about this DSN masks it
    problem = url_password_problem(dsn)
    if problem:
        raise UnsafeURL(problem)
    if _PLAIN_POSTGRES_URL.match(dsn) and "%00" not in dsn:
        # The common spelling: a URL without parameters, its userinfo checked above. libpq
        # reads the password as the percent-decoded text after the first ":" of the userinfo,
        # which is what this reads; importing psycopg (~40 ms) only to parse it would hold
        # up the console's first paint. Anything else (keywords, ?password=) goes to libpq.
        if written:
            _register_with_spellings(unquote(written))
        return
    import psycopg

    # SQLAlchemy's "postgresql+psycopg://" spelling: libpq does not know it (the check maps it).
    libpq_dsn = re.sub(r"^postgres(?:ql)?\+[a-z0-9_]+://", "postgresql://", dsn)
    try:
        params = psycopg.conninfo.conninfo_to_dict(libpq_dsn)
    except psycopg.ProgrammingError as exc:
        from zconsole.checks.secrets import redact

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot be parsed"
        raise UnsafeURL(redact(f"libpq cannot read it: {first}")) from None
    password = params.get("password")
    if password:
        _register_with_spellings(str(password))


def register_redis_url(url: str) -> None:
    """Check a Redis URL and register its password as redis-py reads it (raises UnsafeURL)."""
    if not url:
        return
    written = _userinfo_password(url)
    if written:
        register_secret(written)
    problem = url_password_problem(url)
    if problem:
        raise UnsafeURL(problem)
    if _PLAIN_REDIS_URL.match(url):
        # Without a query string redis-py's parse_url takes the password as urllib reads it,
        # percent-decoded: read here the same way, without importing redis-py (~60 ms) before
        # the console's first paint. A bad port is refused as parse_url would refuse it.
        try:
            password = urlparse(url).password
            urlparse(url).port  # noqa: B018 - raises ValueError as in parse_url
        except ValueError as exc:
            from zconsole.checks.secrets import redact

            raise UnsafeURL(redact(f"redis-py cannot read it: {exc}")) from None
        if password:
            _register_with_spellings(unquote(password))
        return
    from redis.connection import parse_url

    try:
        params = parse_url(url)  # type: ignore[no-untyped-call]  # redis-py's own reading
    except ValueError as exc:
        from zconsole.checks.secrets import redact

        raise UnsafeURL(redact(f"redis-py cannot read it: {exc}")) from None
    password = params.get("password")
    if password:
        _register_with_spellings(str(password))


def register_mysql_dsn(dsn: str) -> None:
    """Check a mysql:// DSN and register its password as the MySQL check reads it (raises
    UnsafeURL)."""
    if not dsn:
        return
    written = _userinfo_password(dsn)
    if written:
        register_secret(written)
    problem = url_password_problem(dsn)
    if problem:
        raise UnsafeURL(problem)
    from zconsole.checks.mysql_settings import parse_dsn

    try:
        endpoint = parse_dsn(dsn)
    except ValueError as exc:
        raise UnsafeURL(str(exc)) from None
    if endpoint.password:
        _register_with_spellings(endpoint.password)


def register_url_secret(url: str) -> None:
    """Register the userinfo password of any URL (a webhook, an engine URL), raw and decoded."""
    written = _userinfo_password(url)
    if written:
        register_secret(written)
        _register_with_spellings(unquote(written))


def register_pgpass(path: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Every password of the libpq password file: libpq reads it itself, but its errors and a
    server's may still echo one back."""
    environ = os.environ if env is None else env
    if path is None:
        path = Path(environ.get("PGPASSFILE") or Path.home() / ".pgpass")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            fields = _pgpass_fields(line)
            if len(fields) == 5:
                register_secret(fields[4])


def _pgpass_fields(line: str) -> list[str]:
    """host:port:database:username:password, where "\\:" and "\\\\" are escapes."""
    fields: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, ""))
        elif ch == ":" and len(fields) < 4:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    fields.append("".join(current))
    return fields
