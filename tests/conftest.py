"""Shared fixtures: isolation from the developer's own config, and throwaway real servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services


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
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)


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
