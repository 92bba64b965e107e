"""One driver for end-to-end tests: the installed `zconsole` in a real tmux pane, typed into with
send-keys and read with capture-pane, as a responder over SSH would use it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests import services
from zconsole.first_paint import STARTING

ZCONSOLE = Path(sys.executable).parent / "zconsole"
#: The first paint's header ends so; the TUI's never does.
FIRST_PAINT_HEADER = f"zconsole · {STARTING}"


class Tmux:
    """A private tmux server (its own socket, no user config) with one session, `zc`."""

    def __init__(self, socket_name: str) -> None:
        self.socket = socket_name

    def __call__(self, *argv: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *argv],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout

    def start(
        self, workdir: Path, *args: str, size: tuple[int, int] = (80, 24), env: str = ""
    ) -> None:
        """Run `zconsole ARGS` in `workdir`; the pane prints EXITED-<code> when it ends."""
        # COLUMNS/LINES from the test runner would pin Textual's idea of the terminal size; no
        # DISPLAY means no local clipboard, so copies go out as OSC 52 (as over SSH).
        unset = "-u COLUMNS -u LINES -u DISPLAY -u WAYLAND_DISPLAY"
        run = f"env {unset} {env} {ZCONSOLE} {' '.join(args)}"
        command = f"cd {workdir} && {run}; echo EXITED-$?; sleep 60"
        width, height = str(size[0]), str(size[1])
        self("new-session", "-d", "-s", "zc", "-x", width, "-y", height, command)
        # A detached session may keep tmux's default size; make the window the size asked for.
        self("resize-window", "-t", "zc", "-x", width, "-y", height)

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "zc", *keys)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-J", "-t", "zc")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """The screen once ``text`` is on it — on the console's own screen: the first paint
        (zconsole.first_paint, shown before the TUI starts) has host words too ("cpu ")."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen and FIRST_PAINT_HEADER not in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")

    def alternate_screen_on(self) -> bool:
        """Whether the pane is on the alternate screen (a full-screen program holds it)."""
        return self("display-message", "-p", "-t", "zc", "#{alternate_on}").strip() == "1"

    def wait_gone(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text in (screen := self.screen()):
            assert time.monotonic() < deadline, f"{text!r} stayed; screen was:\n{screen}"
            time.sleep(0.1)


@contextmanager
def tmux_server(prefix: str) -> Iterator[Tmux]:
    """A private tmux server for one test; fails or skips (per ZCONSOLE_REQUIRE_SERVICES) without
    tmux."""
    if shutil.which("tmux") is None:
        services.unavailable("tmux not installed (Debian: apt-get install tmux)")
    session = Tmux(f"{prefix}-{uuid.uuid4().hex[:8]}")
    try:
        yield session
    finally:
        session("kill-server")
