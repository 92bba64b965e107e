"""Shared fixtures: isolation from the developer's own config, and throwaway real servers."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests import services

NO_LOCAL_DEFAULTS: dict[str, object] = {
    "pg_socket_dirs": [],
    "pg_service_files": [],
    "redis_sockets": [],
    "pg_ports": [],
    "redis_ports": [],
    "docker_sockets": [],
}

# `pytester` runs pytest inside a test: how the skip hook below is tested.
pytest_plugins = ["pytester"]


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Under ZCONSOLE_REQUIRE_SERVICES=1 (CI) a skip is a failure that says why it skipped.

    services.unavailable() already fails there; this also catches a bare pytest.skip(), a
    skipif marker and a module-level skip, so CI really runs every test. xfail is left alone.
    """
    if not report.skipped or hasattr(report, "wasxfail") or not services.require_services():
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = f"ZCONSOLE_REQUIRE_SERVICES=1 allows no skip; this one said: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport() -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report() -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_skip(report)
    return report


@pytest.fixture(autouse=True)
def _isolate_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the developer's config, data and environment out of every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    # The attach socket: a test's console never finds another test's collector.
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "DOCKER_HOST",
        "PGHOST",
        "PGPORT",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "PGSERVICE",
        "PGSERVICEFILE",
        "MYSQL_URL",
        "MYSQL_PWD",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    # Discovery's local defaults look nowhere: this machine's own servers on 5432/6379 and its
    # Docker socket stay out of every test (a test that wants them sets its own).
    monkeypatch.setenv("ZCONSOLE_LOCAL_DEFAULTS", json.dumps(NO_LOCAL_DEFAULTS))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working directory (no ./zconsole.toml unless the test writes one)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[services.Postgres]:
    server = services.start_postgres()
    yield server
    services.destroy_postgres(server)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[services.Redis]:
    server = services.start_redis()
    yield server
    services.destroy_redis(server)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[services.DockerEngine]:
    engine = services.start_docker()
    yield engine
    services.destroy_docker(engine)


@pytest.fixture(scope="session")
def server_images(docker_engine: services.DockerEngine) -> services.DockerEngine:
    """The test engine with the PostgreSQL/Redis image imported (once per session)."""
    from tests.server_image import import_server_image

    import_server_image(docker_engine)
    return docker_engine


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[services.MariaDB]:
    server = services.start_mariadb()
    yield server
    services.destroy_mariadb(server)
