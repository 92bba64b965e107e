"""A tiny Textual app on a given driver, run in a real tmux pane by tests/test_terminal_driver.py:
it writes its input thread's wakeups over an idle second, then each key it gets, to a file.

    python -m tests.driver_probe OUT quiet|textual
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.driver import Driver
from textual.widgets import Static

from zconsole.terminal_driver import QuietLinuxDriver


def wakeups(native_id: int) -> int:
    """The thread's voluntary context switches so far (each select that returned)."""
    for line in Path(f"/proc/self/task/{native_id}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise RuntimeError("no voluntary_ctxt_switches in /proc")


class Probe(App[None]):
    def __init__(self, out: Path, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet  # before App.__init__, which asks get_driver_class
        super().__init__()

    def get_driver_class(self) -> type[Driver]:
        return QuietLinuxDriver if self.quiet else super().get_driver_class()

    def compose(self) -> ComposeResult:
        yield Static("probe")

    def on_mount(self) -> None:
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        time.sleep(1.0)
        thread = getattr(self._driver, "_key_thread", None)
        native = thread.native_id if thread is not None else None
        if native is None:
            self.out.write_text("no input thread\n")
            return
        before = wakeups(native)
        time.sleep(2.0)
        self.out.write_text(f"wakeups {wakeups(native) - before}\n")

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "?")
        with self.out.open("a") as f:
            f.write(f"key {key}\n")
        if key == "q":
            self.exit()


if __name__ == "__main__":
    Probe(Path(sys.argv[1]), sys.argv[2] == "quiet").run()
