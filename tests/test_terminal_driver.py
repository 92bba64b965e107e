"""The console's terminal driver (zconsole/terminal_driver.py) in a real tmux pane: its input
thread sleeps at rest instead of waking ten times a second, and keys (a lone Escape too) and
quitting work as with Textual's own driver."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from tests.tmux import tmux_server

ROOT = Path(__file__).resolve().parent.parent


def _run_probe(tmp_path: Path, driver: str) -> tuple[int, list[str], float]:
    out = tmp_path / f"probe-{driver}.txt"
    with tmux_server("zc-driver") as tmux:
        command = (
            f"cd {ROOT} && {sys.executable} -m tests.driver_probe {out} {driver}; "
            "echo EXITED-$?; sleep 30"
        )
        tmux("new-session", "-d", "-s", "zc", "-x", "80", "-y", "24", command)
        deadline = time.monotonic() + 30
        while not (out.exists() and "wakeups" in out.read_text()):
            assert time.monotonic() < deadline, f"the probe never counted: {tmux.screen()}"
            time.sleep(0.1)
        count = int(re.search(r"wakeups (\d+)", out.read_text()).group(1))  # type: ignore[union-attr]
        for key, seen in (("Escape", "key escape"), ("x", "key x")):
            # Each key alone: Escape then x at once would be one key, alt+x.
            tmux.keys(key)
            deadline = time.monotonic() + 10
            while seen not in out.read_text():
                assert time.monotonic() < deadline, f"{key} never arrived: {out.read_text()}"
                time.sleep(0.05)
        started = time.monotonic()
        tmux.keys("q")
        tmux.wait_for("EXITED-0", timeout=10)
        took = time.monotonic() - started
    keys = re.findall(r"key (\S+)", out.read_text())
    return count, keys, took


@pytest.mark.parametrize("driver", ["quiet", "textual"])
def test_the_input_thread_sleeps_at_rest_and_keys_still_arrive(tmp_path: Path, driver: str) -> None:
    wakeups, keys, quit_took = _run_probe(tmp_path, driver)
    if driver == "quiet":
        # Two idle seconds: no wakeup at all, give or take one (a terminal report at start).
        assert wakeups <= 2, wakeups
    else:
        # Textual's own driver, the control that shows the count can tell: ~10 a second.
        assert wakeups >= 10, wakeups
    # A lone Escape is a key once the parser's short wait is over, then the next key after it.
    assert keys[:2] == ["escape", "x"], keys
    # Quitting does not wait for a select timeout.
    assert quit_took < 5, quit_took
