"""End to end: the installed `zconsole` in a real tmux pane, driven with send-keys, read with
capture-pane — as a responder over SSH would use it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tmux import Tmux, tmux_server


@pytest.fixture
def tmux(workdir: Path) -> Iterator[Tmux]:
    with tmux_server("zc-test") as session:
        yield session


def start(
    tmux: Tmux, workdir: Path, *args: str, size: tuple[int, int] = (80, 24), env: str = ""
) -> None:
    tmux.start(workdir, *args, size=size, env=env)


def test_console_runs_in_tmux_at_80x24_and_answers_keys(tmux: Tmux, workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text("[docker]\nenabled = false\n")
    start(tmux, workdir, env="TERM=xterm-256color")
    screen = tmux.wait_for("cpu ")
    assert "1 Host" in screen and "5 HTTP" in screen
    assert "No open incident" in screen
    tmux("send-keys", "-t", "zc", "4")
    screen = tmux.wait_for("REDIS_URL")
    assert "not configured" in screen
    tmux("send-keys", "-t", "zc", "q")
    tmux.wait_for("EXITED-0")


def test_war_room_size_fills_the_screen(tmux: Tmux, workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text("[docker]\nenabled = false\n")
    start(tmux, workdir, size=(200, 60), env="TERM=xterm-256color")
    tmux.wait_for("cpu ")
    screen = tmux.wait_for("HTTP & TLS  ? not configured")
    # The host is a box (its border light, or heavy while it is critical); the sources that
    # are not configured are one line each, their hint; no incident: one line.
    assert re.search(r"[─━] Host [─━]", screen)
    for title in ("Containers", "PostgreSQL", "Redis & queues", "HTTP & TLS"):
        assert re.search(rf"^ {re.escape(title)}  \? not configured — ", screen, re.M), title
    assert re.search(r"^ No open incident", screen, re.M)
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
