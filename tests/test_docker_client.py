"""The one Docker client factory: a missing engine socket is one sentence, and no socket is
left for the garbage collector (the SDK's own failure leaked one: an unclosed-socket warning)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from zconsole.checks.docker_client import EngineError, engine_client


def test_a_missing_engine_socket_is_one_sentence_and_leaves_no_socket_open(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "docker.sock"
    with pytest.raises(EngineError, match="no Docker engine socket at"):
        engine_client(f"unix://{missing}", timeout=1)
    # filterwarnings = error: a socket left open would fail the test here.
    gc.collect()
