"""HTTP & TLS pane: one row per endpoint — status and code, latency, certificate, what is wrong."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult

from zconsole.checks.base import Status
from zconsole.widgets.format import STATUS_STYLE
from zconsole.widgets.pane import Block, Pane
from zconsole.widgets.table import Column, Table
from zconsole.widgets.text import inert

if TYPE_CHECKING:
    from zconsole.checks.http import EndpointResult, HttpData


#: By priority (lower kept longer): the verdict, which endpoint, how slow, the certificate.
ENDPOINT_COLUMNS = (
    Column("endpoint", 1, shrink_to=20),
    Column("status", 0),
    Column("latency", 2),
    Column("certificate", 3),
    Column("detail", 4, shrink_to=12),
)


class HttpPane(Pane):
    """Health endpoints and their certificates (the runbooks' `curl -f` and `openssl s_client`)."""

    def compose_body(self) -> ComposeResult:
        yield Table(id="http-endpoints", cursor_type="row", columns=ENDPOINT_COLUMNS)

    def blocks(self) -> list[Block]:
        table = self.query_one("#http-endpoints", Table)
        return [Block(table, min(table.row_count, 12) + 1, table.row_count + 1, grows=True)]

    def render_data(self, data: Any) -> None:
        http: HttpData = data
        rows = [
            (
                endpoint_cell(endpoint),
                status_cell(endpoint),
                latency_cell(endpoint),
                cert_cell(endpoint),
                detail_cell(endpoint),
            )
            for endpoint in http.endpoints
        ]
        self.query_one("#http-endpoints", Table).fill(rows)


def endpoint_cell(endpoint: EndpointResult) -> Text:
    """The name (if any) and the URL, both outside text, so both through the sanitiser."""
    if not endpoint.name:
        return inert(endpoint.url, single_line=True, max_len=50)
    cell = inert(endpoint.name, single_line=True, max_len=24, style="bold")
    cell.append(" ")
    cell.append_text(inert(endpoint.url, single_line=True, max_len=36, style="dim"))
    return cell


def status_cell(endpoint: EndpointResult) -> Text:
    """Symbol, word and HTTP code: "✖ CRIT 500"; readable without colour."""
    status: Status = endpoint.status
    code = "—" if endpoint.status_code is None else str(endpoint.status_code)
    return Text(f"{status.symbol} {status.value.upper()} {code}", style=STATUS_STYLE[status])


def latency_cell(endpoint: EndpointResult) -> Text:
    if endpoint.latency_ms is None:
        return Text("–", style="dim")
    slow: Status = endpoint.latency_status
    style = STATUS_STYLE[slow] if slow is not Status.OK else ""
    return Text(f"{endpoint.latency_ms:.0f} ms", style=style)


def cert_days(days: float) -> str:
    """2.0 days left, 23 h left, expired 3.5 days ago."""
    if days <= 0:
        ago = -days
        return f"expired {ago:.1f} days ago" if ago >= 1 else f"expired {ago * 24:.0f} h ago"
    return f"{days:.1f} days left" if days >= 1 else f"{days * 24:.0f} h left"


def cert_cell(endpoint: EndpointResult) -> Text:
    """Days left, coloured by its grade, and the names the certificate was issued for."""
    if endpoint.cert_days_left is None:
        return Text("–", style="dim")
    graded: Status = endpoint.cert_status or Status.UNKNOWN
    cell = Text(cert_days(endpoint.cert_days_left), style=STATUS_STYLE[graded])
    if endpoint.cert_hostnames:
        cell.append(" · ")
        cell.append_text(inert(", ".join(endpoint.cert_hostnames), single_line=True, max_len=32))
    if endpoint.cert_verified is False:
        cell.append(" untrusted", style=STATUS_STYLE[Status.CRIT])
    return cell


def detail_cell(endpoint: EndpointResult) -> Text:
    """The error, else where it redirected, else nothing."""
    if endpoint.error:
        return inert(endpoint.error, single_line=True, max_len=120, style="red")
    if endpoint.redirected_to:
        cell = Text("→ ", style="dim")
        cell.append_text(inert(endpoint.redirected_to, single_line=True, max_len=80))
        return cell
    return Text("")
