"""The one Docker client factory: a missing engine socket is one sentence, and no socket is
left for the garbage collector (the SDK's own failure leaked one: an unclosed-socket warning)."""

from __future__ import annotations

import gc
from pathlib import Path

import docker.errors
import pytest

from zconsole.checks.docker_client import engine_api, engine_client


@pytest.mark.parametrize("make", [engine_client, engine_api], ids=["client", "api"])
def test_a_missing_engine_socket_is_one_sentence_and_leaves_no_socket_open(
    tmp_path: Path, make: object
) -> None:
    missing = tmp_path / "docker.sock"
    with pytest.raises(docker.errors.DockerException, match="no Docker engine socket at"):
        make(f"unix://{missing}", timeout=1)  # type: ignore[operator]
    # filterwarnings = error: a socket left open would fail the test here.
    gc.collect()
