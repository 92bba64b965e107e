"""HTTP & TLS pane — its full table comes with its own issue; for now status and summary."""

from __future__ import annotations

from typing import ClassVar

from zconsole.widgets.pane import SummaryPane


class HttpPane(SummaryPane):
    source: ClassVar[str] = "http"
    title: ClassVar[str] = "HTTP & TLS"
