"""The first paint (zconsole.first_paint): the host's figures on the screen before Textual loads,
replaced by the TUI; the user's screen back whatever happens after it."""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tmux import FIRST_PAINT_HEADER, Tmux, tmux_server
from zconsole import first_paint
from zconsole.first_paint import ENTER, LEAVE, FirstPaint, HostFigures, render

FIGURES = HostFigures(
    hostname="db-1",
    cpu_percent=37.5,
    cores=2,
    load=(0.5, 0.25, 0.125),
    memory_percent=71.3,
    memory_used=5 * 2**30,
    memory_available=2 * 2**30,
    memory_cached=3 * 2**30,
    swap_total=2**30,
    swap_used=2**28,
    swap_percent=25.0,
    pressure={"cpu": (3.0, 0.0), "memory": (0.0, 0.0), "io": (12.4, 1.0)},
    disks=[(f"/srv/volume-{i}", 90.0 - i, 100 * 2**30) for i in range(30)],
)


def test_the_first_paint_reads_like_the_host_pane() -> None:
    text = render(FIGURES, 80, 24)
    assert text.splitlines()[0] == f" db-1 · {FIRST_PAINT_HEADER}"
    assert " CPU  ███░░░░░  37.5%  load 0.50 0.25 0.12 /2" in text
    assert " MEM  ██████░░  71.3%  5.0G used 2.0G avail 3.0G cache" in text
    assert " SWAP 25% 256.0M · PSI cpu 3/0 mem 0/0 io 12/1" in text
    # The fullest disk first.
    assert re.search(r"^ /srv/volume-0 +████░ 90\.0%  100\.0G$", text.split("\r\n")[6], re.M)


@pytest.mark.parametrize("size", [(80, 24), (40, 10), (20, 3), (1, 1), (300, 100)])
def test_the_first_paint_fits_any_terminal(size: tuple[int, int]) -> None:
    columns, rows = size
    lines = render(FIGURES, columns, rows).split("\r\n")
    # No line reaches the last column (none wraps), the last row stays free (no scroll).
    assert len(lines) <= max(rows - 1, 1)
    assert all(len(line) <= max(columns - 1, 1) for line in lines)


def test_a_hostile_mount_or_host_name_cannot_send_escapes() -> None:
    figures = HostFigures(
        **{
            **{f: getattr(FIGURES, f) for f in FIGURES.__dataclass_fields__},
            "hostname": "h\x1b]0;owned\x07",
            "disks": [("/mnt/\x1b[2J\x9b31mevil", 95.0, 1)],
        }
    )
    text = render(figures, 80, 24)
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


def test_it_writes_little_and_leaves_the_alternate_screen_unless_the_tui_took_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(out, "fileno", lambda: 1)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=0: os.terminal_size((80, 24)))
    paint = FirstPaint(out)
    monkeypatch.setattr(paint, "figures", lambda settings=None: FIGURES)
    paint.show()
    written = out.getvalue()
    assert written.startswith(ENTER)
    assert len(written.encode()) < 2048  # a slow SSH link is not held up by it
    paint.restore()
    paint.restore()  # idempotent
    assert out.getvalue() == written + LEAVE
    taken = FirstPaint(io.StringIO())
    taken.shown = True
    taken.take_over()
    taken.restore()
    assert taken._out is not None and taken._out.getvalue() == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "environ",
    [
        {"TERM": "dumb"},
        {},
        {"TERM": "xterm-256color", "ZCONSOLE_FIRST_PAINT": "0"},
        # `zconsole serve`: a browser tab's console speaks Textual's web protocol.
        {"TERM": "xterm-256color", "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"},
    ],
)
def test_no_first_paint_where_it_would_not_be_read(environ: dict[str, str]) -> None:
    assert not first_paint.wanted(environ)


def test_no_first_paint_when_output_is_not_a_terminal() -> None:
    assert not first_paint.wanted({"TERM": "xterm"}, io.StringIO(), io.StringIO())


def test_the_cpu_figure_is_measured_over_a_short_sample() -> None:
    paint = FirstPaint(io.StringIO())
    started = time.monotonic()
    figures = paint.figures()
    assert time.monotonic() - started >= first_paint.MIN_SAMPLE_S * 0.9
    assert 0.0 <= figures.cpu_percent <= 100.0
    assert figures.cores >= 1 and figures.memory_percent > 0
    assert any(mount == "/" for mount, _, _ in figures.disks)


# -- in a real terminal ----------------------------------------------------------------------


@pytest.fixture
def tmux(workdir: Path) -> Iterator[Tmux]:
    with tmux_server("zc-paint") as session:
        yield session


def _screens_until(tmux: Tmux, done: str, timeout: float = 30.0) -> list[str]:
    """Every distinct screen (polled fast) until ``done`` is on one."""
    screens: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = tmux.screen()
        if not screens or screen != screens[-1]:
            screens.append(screen)
        if done in screen:
            return screens
        time.sleep(0.005)
    raise AssertionError(f"{done!r} never appeared; screens:\n" + "\n---\n".join(screens))


@pytest.mark.e2e
def test_the_first_paint_shows_host_data_then_the_tui_replaces_it(
    tmux: Tmux, workdir: Path
) -> None:
    (workdir / "zconsole.toml").write_text(
        '[docker]\nenabled = false\n[redis]\nurl = "redis://:Sekr1tPw@127.0.0.1:1/0"\n'
    )
    tmux.start(workdir, env="TERM=xterm-256color")
    screens = _screens_until(tmux, "1 Host")
    first = next((s for s in screens if FIRST_PAINT_HEADER in s), None)
    assert first is not None, "no first paint:\n" + "\n---\n".join(screens)
    assert "CPU " in first and "%  load " in first and "MEM " in first and "PSI cpu " in first
    assert " /" in first  # a disk
    assert "Sekr1tPw" not in first  # host figures only
    tmux.wait_for("cpu ")
    assert FIRST_PAINT_HEADER not in tmux.screen()
    tmux.keys("q")
    screen = tmux.wait_for("EXITED-0")
    assert not tmux.alternate_screen_on()
    assert FIRST_PAINT_HEADER not in screen


@pytest.mark.e2e
def test_the_terminal_is_restored_when_the_app_fails_after_the_first_paint(
    tmux: Tmux, workdir: Path
) -> None:
    # A Textual that cannot be imported: the first paint is shown (it needs no Textual), then
    # the app's import fails.
    broken = workdir / "broken"
    (broken / "textual").mkdir(parents=True)
    (broken / "textual" / "__init__.py").write_text("raise ImportError('textual is broken')\n")
    (workdir / "zconsole.toml").write_text("[docker]\nenabled = false\n")
    tmux.start(workdir, env=f"TERM=xterm-256color PYTHONPATH={broken}")
    screens = _screens_until(tmux, "EXITED-1")
    screen = screens[-1]
    assert any(FIRST_PAINT_HEADER in s for s in screens), "\n---\n".join(screens)
    assert not tmux.alternate_screen_on()
    assert FIRST_PAINT_HEADER not in screen
    # The error is on the user's own screen, readable.
    assert "textual is broken" in screen
