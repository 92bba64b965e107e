"""The one way to make a Docker Engine API client: the docker check, the host pane's links,
discovery and the container mitigations all get theirs here.

A ``unix://`` URL whose socket does not exist is refused before the SDK is asked: the SDK opens
a socket, fails to connect and leaves it to the garbage collector (an unclosed-socket warning,
and a file descriptor held meanwhile), and "no engine socket at PATH" is the clearer sentence.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from zconsole.checks.lazy import lazy

if TYPE_CHECKING:
    import docker
else:
    # Imported at the first client, in the thread that needs it, never before the first frame.
    docker = lazy("docker")


def _refuse_missing_socket(url: str) -> None:
    if url.startswith("unix://"):
        path = url.removeprefix("unix://")
        if not os.path.exists(path):
            raise docker.errors.DockerException(f"no Docker engine socket at {path}")


def engine_client(url: str, *, timeout: float, pool: int = 10) -> docker.DockerClient:
    """A high-level client for a ``unix://`` or ``tcp://`` engine (ssh:// goes through the
    docker check's tunnel, which hands a local ``unix://`` URL here)."""
    _refuse_missing_socket(url)
    return docker.DockerClient(base_url=url, timeout=max(1, round(timeout)), max_pool_size=pool)


def engine_api(url: str, *, timeout: float) -> docker.APIClient:
    """The low-level Engine API client, for the calls the high-level one does not wrap."""
    _refuse_missing_socket(url)
    return docker.APIClient(base_url=url, timeout=max(1, round(timeout)))
