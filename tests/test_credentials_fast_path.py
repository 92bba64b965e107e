"""Config loading reads plain PostgreSQL and Redis URLs without importing their drivers (the
console's first paint waits for the config): the password it registers must be the one psycopg's
conninfo parser and redis-py's parse_url read, for any password written as a URL must carry it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.connection import parse_url

from zconsole.checks import secrets
from zconsole.checks.credentials import UnsafeURL, register_postgres_dsn, register_redis_url

PASSWORDS = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=3,
    max_size=24,
)


def _registered(password: str) -> bool:
    return password in secrets.known_secrets()


@contextmanager
def _registry_kept() -> Iterator[None]:
    """The process-wide registry as it was: a generated "000" registered as a secret would
    mask every 5000 in the tests after this one."""
    known, by_length = set(secrets._known), secrets._by_length
    try:
        yield
    finally:
        with secrets._lock:
            secrets._known.clear()
            secrets._known.update(known)
            secrets._by_length = by_length


@given(PASSWORDS)
def test_a_postgres_url_password_is_registered_as_libpq_reads_it(password: str) -> None:
    url = f"postgresql://app:{quote(password, safe='')}@127.0.0.1:5432/app"
    with _registry_kept():
        register_postgres_dsn(url)
        assert psycopg.conninfo.conninfo_to_dict(url)["password"] == password
        assert _registered(password)


@given(PASSWORDS)
def test_a_redis_url_password_is_registered_as_redis_py_reads_it(password: str) -> None:
    url = f"redis://:{quote(password, safe='')}@127.0.0.1:6379/0"
    with _registry_kept():
        register_redis_url(url)
        assert parse_url(url)["password"] == password  # type: ignore[no-untyped-call]
        assert _registered(password)


def test_a_bad_redis_port_is_still_refused_in_one_line() -> None:
    with pytest.raises(UnsafeURL, match="redis-py cannot read it"):
        register_redis_url("redis://:Pw12345@127.0.0.1:notaport/0")


def test_urls_with_parameters_still_go_to_the_drivers_parsers() -> None:
    with _registry_kept():
        register_postgres_dsn("postgresql://app@127.0.0.1/app?password=Qu3ryPw")
        register_redis_url("redis://127.0.0.1:6379/0?password=R3disQuery")
        assert _registered("Qu3ryPw") and _registered("R3disQuery")


def test_plain_urls_load_no_driver(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from zconsole.checks.credentials import register_postgres_dsn, register_redis_url\n"
        "register_postgres_dsn('postgresql://app:S3cr%40t@127.0.0.1:5432/app')\n"
        "register_redis_url('rediss://user:S3cr%2Ft@127.0.0.1:6379/0')\n"
        "print(sorted(m for m in ('psycopg', 'redis') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
