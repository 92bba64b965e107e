"""Containers pane — its full table comes with its own issue; for now status and summary."""

from __future__ import annotations

from typing import ClassVar

from zconsole.widgets.pane import SummaryPane


class ContainersPane(SummaryPane):
    source: ClassVar[str] = "docker"
    title: ClassVar[str] = "Containers"
