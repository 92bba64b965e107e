"""The one registry of sources: a source registered there, and nowhere else, is in the grid, the
tab bar, the number keys, the command palette and `zconsole snapshot --json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.fake_source import FAKE, FakePane
from tests.pilot import wait_until
from tests.test_snapshot_cli import CALM
from zconsole import registry
from zconsole.app import ZConsoleApp
from zconsole.config import Config
from zconsole.widgets.header import TabBar


@pytest.fixture
def sixth_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SOURCES", (*registry.SOURCES, FAKE))


async def test_a_sixth_source_is_in_the_grid_tabs_keys_and_palette(sixth_source: None) -> None:
    config = Config()
    app = ZConsoleApp(config, registry.build_checks(config))
    async with app.run_test(size=(200, 60)) as pilot:
        pane = app.pane("fake")
        assert isinstance(pane, FakePane)
        assert pane.parent is app.query_one("#panes")
        assert pane.border_title == "Sixth source"
        body = pane.query_one("#fake-body", Static)
        await wait_until(pilot, lambda: "the fake says seven" in str(body.render()))
        assert pane.region.area > 0
        tabs = app.query_one(TabBar).render().plain
        assert " 7 Sixth source ▲" in tabs
        await pilot.press("7")  # 6 is MySQL's, shown once configured
        assert app.query_one(TabBar).active == "fake"
        titles = [c.title for c in app.get_system_commands(app.main_screen)]
        assert "Sixth source (7)" in titles


def test_a_sixth_source_is_in_snapshot_json(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(CALM)  # the host is OK whatever this machine does
    # The repository goes last on the path: first, its zconsole/ would hide the installed
    # package (which maps checks/ and widgets/ into it).
    repo = str(Path(__file__).resolve().parent.parent)
    code = (
        "import sys\n"
        "import zconsole.checks\n"
        f"sys.path.append({repo!r})\n"
        "from tests.fake_source import FAKE\n"
        "from zconsole import registry\n"
        "registry.SOURCES = (*registry.SOURCES, FAKE)\n"
        "from zconsole.cli import main\n"
        "main(['snapshot', '--json'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=90,
    )
    report = json.loads(done.stdout)
    # The fake says WARN; the exit code follows the worst status reported, WARN at the least
    # (the calm host thresholds keep this loaded machine from deciding it).
    assert report["worst"] in ("warn", "crit", "error"), report["worst"]
    assert done.returncode == {"warn": 1, "crit": 2, "error": 2}[report["worst"]], done.stderr
    assert list(report["checks"]) == [
        "host",
        "docker",
        "postgres",
        "redis",
        "http",
        "mysql",
        "fake",
    ]
    assert report["checks"]["fake"]["status"] == "warn"
    assert report["checks"]["fake"]["data"] == "seven"


def test_every_source_has_one_entry_with_its_own_key() -> None:
    names = [s.name for s in registry.SOURCES]
    keys = [s.key for s in registry.SOURCES]
    assert names == ["host", "docker", "postgres", "redis", "http", "mysql"]
    assert len(set(keys)) == len(keys)
    config = Config()
    assert [c.name for c in registry.build_checks(config)] == names
