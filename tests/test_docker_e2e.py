"""End to end in tmux: a container's hostile log shown in the logs screen stays inert.

The log holds a screen clear (``ESC [2J``), an OSC 52 clipboard write and ``[bold red]`` markup.
We read what the installed ``zconsole`` writes to its terminal (``tmux pipe-pane``), what the pane
shows (``capture-pane``), and tmux's paste buffers (with ``set-clipboard on`` an OSC 52 from the
app would land there).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests import services
from tests.tmux import Tmux, tmux_server

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

HOSTILE = (
    "printf 'clear\\033[2Jhere\\n'; printf 'clip\\033]52;c;SGVsbG8=\\007board\\n'; "
    "echo '[bold red]not markup[/bold red]'; echo 'ERROR boom' >&2; sleep 3600"
)


@pytest.fixture
def tmux(workdir: Path) -> Iterator[Tmux]:
    with tmux_server("zc-docker") as session:
        yield session


@pytest.fixture
def hostile_container(docker_engine: services.DockerEngine) -> Iterator[str]:
    client = docker.DockerClient(base_url=docker_engine.url, timeout=60)
    container = client.containers.run(
        services.BUSYBOX_IMAGE,
        ["sh", "-c", HOSTILE],
        name="zc-e2e-logs",
        detach=True,
        network_mode="none",
    )
    try:
        services.wait_for(
            lambda: b"not markup" in container.logs(), 30, "the hostile log", interval=0.2
        )
        yield "zc-e2e-logs"
    finally:
        container.remove(force=True)
        client.close()


def test_hostile_log_is_inert_and_no_osc52_is_written(
    tmux: Tmux,
    workdir: Path,
    docker_engine: services.DockerEngine,
    hostile_container: str,
) -> None:
    written = workdir / "terminal-output"
    env = f"TERM=xterm-256color DOCKER_HOST={docker_engine.url}"
    tmux.start(workdir, size=(200, 50), env=env)
    tmux("set-option", "-s", "set-clipboard", "on")
    tmux("pipe-pane", "-o", "-t", "zc", f"cat >> {written}")
    tmux.wait_for(hostile_container)
    # One step at a time, each waiting for what it shows: keys sent in a burst race the focus.
    tmux("send-keys", "-t", "zc", "2")
    tmux.wait_for("R Restart")  # the footer shows the containers pane's keys
    tmux("send-keys", "-t", "zc", "/")
    tmux.wait_for("filter: name")  # the filter line's placeholder
    tmux("send-keys", "-t", "zc", "-l", "e2e-logs")
    tmux.wait_gone("filter: name")  # typed into it
    tmux("send-keys", "-t", "zc", "Enter")
    tmux.wait_for("R Restart")
    tmux("send-keys", "-t", "zc", "l")
    screen = tmux.wait_for("not markup")

    assert "[bold red]not markup[/bold red]" in screen
    assert "clearhere" in screen  # the clear was dropped, the text around it kept
    assert "clipboard" in screen  # the OSC 52 was dropped, the text around it kept
    assert "Logs of" in screen and "ERR ERROR boom" in screen
    # pipe-pane saw the frame it just showed (so the checks below look at real output).
    services.wait_for(lambda: b"not markup" in written.read_bytes(), 10, "pipe-pane", 0.1)
    output = written.read_bytes()
    assert b"\x1b]52" not in output
    assert b"SGVsbG8=" not in output
    assert b"clear\x1b[2J" not in output  # the log's own screen clear was not passed on
    assert tmux("list-buffers") == ""

    tmux("send-keys", "-t", "zc", "Escape")
    tmux.wait_gone("Logs of")  # Escape then q at once would read as alt+q
    tmux("send-keys", "-t", "zc", "q")
    tmux.wait_for("EXITED-0")
