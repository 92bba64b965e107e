"""End to end: the installed `zconsole` in a real tmux pane, driven with send-keys, read with
capture-pane — as a responder over SSH would use it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services

ZCONSOLE = Path(sys.executable).parent / "zconsole"


class Tmux:
    def __init__(self, socket_name: str) -> None:
        self.socket = socket_name

    def __call__(self, *argv: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *argv], capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-J", "-t", "zc")

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")


@pytest.fixture
def tmux(workdir: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        services.unavailable("tmux not installed (Debian: apt-get install tmux)")
    session = Tmux(f"zc-test-{uuid.uuid4().hex[:8]}")
    yield session
    session("kill-server")


def start(
    tmux: Tmux, workdir: Path, *args: str, size: tuple[int, int] = (80, 24), env: str = ""
) -> None:
    # COLUMNS/LINES from the test runner would pin Textual's idea of the terminal size.
    run = f"env -u COLUMNS -u LINES {env} {ZCONSOLE} {' '.join(args)}"
    command = f"cd {workdir} && {run}; echo EXITED-$?; sleep 60"
    width, height = str(size[0]), str(size[1])
    tmux("new-session", "-d", "-s", "zc", "-x", width, "-y", height, command)
    # A detached session may keep tmux's default size; make the window the size asked for.
    tmux("resize-window", "-t", "zc", "-x", width, "-y", height)


def test_console_runs_in_tmux_at_80x24_and_answers_keys(tmux: Tmux, workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text("[docker]\nenabled = false\n")
    start(tmux, workdir, env="TERM=xterm-256color")
    screen = tmux.wait_for("cpu ")
    assert "1 Host" in screen and "5 HTTP" in screen
    assert "Incident" in screen
    tmux("send-keys", "-t", "zc", "4")
    screen = tmux.wait_for("REDIS_URL")
    assert "not configured" in screen
    tmux("send-keys", "-t", "zc", "q")
    tmux.wait_for("EXITED-0")


def test_war_room_size_fills_the_screen(tmux: Tmux, workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text("[docker]\nenabled = false\n")
    start(tmux, workdir, size=(200, 60), env="TERM=xterm-256color")
    tmux.wait_for("cpu ")
    screen = tmux.wait_for(" Containers ")
    for title in ("Host", "Containers", "PostgreSQL", "Redis & queues", "HTTP & TLS", "Incident"):
        # The border is light, or heavy while the pane is critical.
        assert re.search(rf"[─━] {re.escape(title)} [─━]", screen), title
    assert len(screen.splitlines()) >= 59
    tmux("send-keys", "-t", "zc", "q")
    tmux.wait_for("EXITED-0")


def test_no_color_and_16_colour_terminals_stay_readable(tmux: Tmux, workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text("[docker]\nenabled = false\n")
    start(tmux, workdir, env="NO_COLOR=1 TERM=screen")
    screen = tmux.wait_for("cpu ")
    # Status reads as a word and a symbol without colour.
    assert "✔ OK" in screen or "▲ WARN" in screen or "✖ CRIT" in screen
    tmux("send-keys", "-t", "zc", "q")
    tmux.wait_for("EXITED-0")


def test_broken_config_exits_2_with_one_line_in_the_pane(tmux: Tmux, workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text("[postgres]\nport = 5432\n")
    start(tmux, workdir)
    screen = tmux.wait_for("EXITED-2")
    assert "zconsole.toml: postgres.port: unknown key" in screen
    assert "Traceback" not in screen
