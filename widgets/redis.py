"""Redis & queues pane: server health, every queue's depth with its trend and drain time, slowlog.

Keys (with the queue table focused): ``x`` purge the selected queue (undoable: the items go to a
file first), ``f`` requeue the selected RQ queue's failed jobs, ``F`` FLUSHDB, ``b`` find big
keys. Each posts :class:`MitigationRequested`; the app previews, confirms and runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from zconsole.checks.base import Status
from zconsole.checks.units import human_bytes
from zconsole.widgets.format import STATUS_STYLE, bar, human_duration, status_text
from zconsole.widgets.messages import MitigationRequested
from zconsole.widgets.pane import Block, Pane
from zconsole.widgets.quiet import show
from zconsole.widgets.table import Column, Table
from zconsole.widgets.text import inert

if TYPE_CHECKING:
    from zconsole.checks.redis import RedisData
    from zconsole.checks.redis_queues import QueueInfo

#: kombu's priority separator, shown as ":pN" (the check module holds the same constant).
_CELERY_SEP = "\x06\x16"


def _queue_name(name: str) -> str:
    base, sep, pri = name.partition(_CELERY_SEP)
    return f"{base}:p{pri}" if sep else name


def trend_text(rate_per_min: float | None) -> Text:
    """Growth per minute with an arrow that reads without colour."""
    if rate_per_min is None:
        return Text("–", style="dim")
    if abs(rate_per_min) < 0.5:
        return Text("= 0/min", style="dim")
    if rate_per_min > 0:
        return Text(f"▲ +{rate_per_min:,.0f}/min", style="yellow")
    return Text(f"▼ {rate_per_min:,.0f}/min", style="green")


def _queue_detail(queue: QueueInfo) -> Text:
    if queue.kind == "rq":
        style = "bold red" if queue.failed else "dim"
        return Text(f"failed {queue.failed or 0} · started {queue.started or 0}", style=style)
    if queue.kind == "stream":
        detail = Text(f"len {queue.length}", style="dim")
        for group in queue.groups:
            lag = "?" if group.lag is None else str(group.lag)
            detail.append(" · ")
            detail.append_text(inert(group.name, single_line=True, max_len=20))
            detail.append(f" lag {lag} pend {group.pending}")
        return detail
    if queue.kind == "celery" and len(queue.keys) > 1:
        return Text(f"{len(queue.keys)} priority lists", style="dim")
    return Text("")


#: By priority (lower kept longer): which queue, how deep, its verdict, where it is heading.
QUEUE_COLUMNS = (
    Column("queue", 0),
    Column("kind", 5),
    Column("depth", 1),
    Column("trend", 3),
    Column("drains in", 4),
    Column("status", 2),
    Column("detail", 6, shrink_to=10),
)
SLOWLOG_COLUMNS = (Column("ms", 0), Column("command", 1, shrink_to=16), Column("client", 2))
#: Rows the queue table is sure of before the health lines and the slowlog get any.
TABLE_ROWS_FIRST = 10
HEALTH_LINES = 4


class RedisPane(Pane):
    """One Redis server and the queues kept in it."""

    DEFAULT_CSS = """
    RedisPane #redis-health { text-wrap: nowrap; text-overflow: ellipsis; }
    RedisPane #redis-slowlog-box { height: auto; }
    RedisPane #redis-slowlog { height: 1fr; }
    RedisPane .redis--caption { color: $text-muted; height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "purge", "Purge queue"),
        Binding("f", "requeue_failed", "Requeue failed (RQ)"),
        Binding("F", "flushdb", "FLUSHDB"),
        Binding("b", "bigkeys", "Big keys"),
    ]

    def __init__(
        self, source: str, title: str, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(source, title, id=id, classes=classes)
        self._data: RedisData | None = None
        self._queues: list[QueueInfo] = []

    def compose_body(self) -> ComposeResult:
        yield Static("", id="redis-health")
        yield Table(id="redis-queues", cursor_type="row", columns=QUEUE_COLUMNS)
        with Vertical(id="redis-slowlog-box"):
            yield Static("slowlog", classes="redis--caption")
            yield Table(id="redis-slowlog", cursor_type="row", columns=SLOWLOG_COLUMNS)

    def blocks(self) -> list[Block]:
        """The queues first, then the server's health lines, then the slowlog."""
        queues = len(self._queues) + 1
        slow = len(self._data.slowlog) if self._data is not None else 0
        return [
            Block(self.query_one("#redis-queues"), min(queues, TABLE_ROWS_FIRST + 1), queues, True),
            Block(self.query_one("#redis-health"), 2, HEALTH_LINES),
            # The caption, the header and a row at least; nothing at all for an empty slowlog.
            Block(self.query_one("#redis-slowlog-box"), 3 if slow else 0, slow + 2 if slow else 0),
        ]

    # -- data ----------------------------------------------------------------------------------

    def render_data(self, data: Any) -> None:
        redis: RedisData = data
        self._data = redis
        show(self.query_one("#redis-health", Static), self._health(redis))
        self._render_queues(redis)
        slowlog = [
            (
                Text(f"{entry.duration_us / 1000:.1f}", justify="right"),
                inert(entry.command, single_line=True, max_len=80),
                inert(entry.client, single_line=True, max_len=24),
            )
            for entry in redis.slowlog
        ]
        self.query_one("#redis-slowlog", Table).fill(slowlog)

    def _health(self, redis: RedisData) -> Text:
        """Four short lines (the pane is ~60 columns wide in the grid)."""
        out = Text()
        out.append(f"PONG {redis.ping_ms:.1f} ms · ")
        out.append_text(inert(f"v{redis.version} · {redis.replication}", single_line=True))
        out.append("\n")
        style = STATUS_STYLE[redis.memory_status] if redis.memory_status is not Status.OK else ""
        if redis.maxmemory and redis.memory_pct is not None:
            out.append(f"MEM {bar(redis.memory_pct)} {redis.memory_pct:.1f}%", style=style)
            out.append(f" {human_bytes(redis.used_memory)}/{human_bytes(redis.maxmemory)}")
        else:
            out.append(f"MEM {human_bytes(redis.used_memory)}, no maxmemory", style=style)
        out.append(" · ")
        out.append_text(inert(redis.maxmemory_policy, single_line=True, max_len=20))
        if redis.fragmentation is not None:
            out.append(f" · frag {redis.fragmentation:.2f}")
        out.append("\n")
        evicted = "–" if redis.evicted_per_s is None else f"{redis.evicted_per_s:.1f}/s"
        expired = "–" if redis.expired_per_s is None else f"{redis.expired_per_s:.1f}/s"
        out.append(
            f"evicted {evicted} ({redis.evicted_keys})",
            style="bold red" if redis.evicted_per_s else "",
        )
        hits = "–" if redis.hit_rate is None else f"{redis.hit_rate * 100:.1f}%"
        out.append(f" · expired {expired} · hit rate {hits}\n")
        out.append(f"clients {redis.connected_clients} ({redis.blocked_clients} blocked)")
        out.append(f" · {redis.ops_per_sec} ops/s · ")
        dbs = " ".join(f"db{d.db} {d.keys} keys" for d in redis.dbs)
        out.append(f"{dbs or 'no keys'} · persist ", style="dim")
        out.append_text(inert(redis.persistence, single_line=True, style="dim"))
        return out

    def _render_queues(self, redis: RedisData) -> None:
        self._queues = list(redis.queues)
        rows = [
            (
                inert(_queue_name(queue.name), single_line=True, max_len=32),
                Text(str(queue.kind)),
                Text(f"{queue.depth:,}", justify="right", style=STATUS_STYLE[queue.status]),
                trend_text(queue.rate_per_min),
                Text(human_duration(queue.drain_eta_s) if queue.drain_eta_s is not None else "–"),
                status_text(queue.status),
                _queue_detail(queue),
            )
            for queue in self._queues
        ]
        self.query_one("#redis-queues", Table).fill(rows)

    # -- actions -------------------------------------------------------------------------------

    def selected_record(self) -> QueueInfo | None:
        """The selected queue, for the app's actions menu."""
        return self.selected_queue()

    def selected_queue(self) -> QueueInfo | None:
        table = self.query_one("#redis-queues", DataTable)
        if not self._queues or not table.row_count:
            return None
        return self._queues[min(table.cursor_row, len(self._queues) - 1)]

    def action_purge(self) -> None:
        queue = self.selected_queue()
        if queue is None:
            self.notify("No queue selected", severity="warning", timeout=3)
        elif queue.kind == "stream":
            self.notify("Streams are not purged (they keep history)", severity="warning")
        else:
            self.post_message(MitigationRequested(self.source, "purge", queue))

    def action_requeue_failed(self) -> None:
        queue = self.selected_queue()
        if queue is None or queue.kind != "rq":
            self.notify("Select an RQ queue to requeue its failed jobs", severity="warning")
        else:
            self.post_message(MitigationRequested(self.source, "requeue_failed", queue))

    def action_flushdb(self) -> None:
        if self._data is None:
            self.notify("No Redis data yet", severity="warning", timeout=3)
        else:
            self.post_message(MitigationRequested(self.source, "flushdb", self._data))

    def action_bigkeys(self) -> None:
        if self._data is None:
            self.notify("No Redis data yet", severity="warning", timeout=3)
        else:
            self.post_message(MitigationRequested(self.source, "bigkeys", self._data))
