"""A sixth source that exists only in tests: registered in the one registry, nowhere else."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from zconsole.checks.base import Check, Status
from zconsole.config import Config
from zconsole.registry import Source
from zconsole.widgets.pane import Pane


class FakeCheck(Check[str]):
    name = "fake"

    def probe(self) -> tuple[Status, str, str]:
        return Status.WARN, "fake queue at 7", "seven"


class FakePane(Pane):
    def compose_body(self) -> ComposeResult:
        yield Static("", id="fake-body")

    def render_data(self, data: Any) -> None:
        self.query_one("#fake-body", Static).update(Text(f"the fake says {data}"))


def _build(config: Config, single_poll: bool) -> Check[Any]:
    return FakeCheck(interval=config.general.interval, timeout=config.general.timeout)


FAKE = Source("fake", "Sixth source", "7", "set FAKE_URL", _build, "tests.fake_source:FakePane")
