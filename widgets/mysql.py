"""MySQL / MariaDB pane: connections, long queries, the InnoDB blocking tree, health, replication.

Every query text, user, host and database name comes from the server and is outside text: it
goes through :func:`~zconsole.widgets.text.inert` before it reaches a widget. Mitigation keys
post :class:`MitigationRequested`; the app builds, confirms and runs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from zconsole.checks.base import Status
from zconsole.checks.units import human_bytes
from zconsole.widgets.db_text import counts_line, name_cell, query_cell
from zconsole.widgets.format import STATUS_STYLE, bar, human_duration
from zconsole.widgets.messages import MitigationRequested
from zconsole.widgets.pane import Pane
from zconsole.widgets.quiet import show
from zconsole.widgets.table import Table
from zconsole.widgets.text import inert

if TYPE_CHECKING:
    from zconsole.checks.mysql import Blocked, Health, MySQLData, Replica, Session

FULL_QUERY_LEN = 4000
DEADLOCK_LINES = 6


def _state(s: Session | Blocked) -> Text:
    if s.command == "Sleep" and s.trx_s is not None:
        return Text("Sleep in trx", style="bold yellow")
    return inert(s.state or s.command, single_line=True, max_len=24)


class MySQLPane(Pane):
    """One MySQL or MariaDB server."""

    DEFAULT_CSS = """
    MySQLPane #my-activity { height: 1fr; min-height: 4; }
    MySQLPane #my-blocking { height: auto; max-height: 10; }
    MySQLPane #my-query { height: auto; max-height: 6; color: $text-muted; }
    MySQLPane #my-deadlock { height: auto; max-height: 7; color: $text-muted; }
    MySQLPane .my--line { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    MySQLPane #my-notes { color: $warning; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Upper case like the PostgreSQL pane: lower-case letters are the app's.
        Binding("C", "mitigate('kill_query')", "KILL QUERY"),
        Binding("K", "mitigate('kill_connection')", "KILL connection"),
        Binding("B", "mitigate('kill_root_blocker')", "Kill root blocker"),
        Binding("L", "mitigate('kill_long')", "Kill long queries"),
        Binding("I", "mitigate('kill_idle_tx')", "Kill sleeping in trx"),
        Binding("D", "mitigate('dump')", "mysqldump"),
    ]

    def __init__(
        self, source: str, title: str, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(source, title, id=id, classes=classes)
        self.data: MySQLData | None = None
        self._activity: list[Session] = []
        self._blocking: list[Blocked] = []

    def compose_body(self) -> ComposeResult:
        yield Static("", id="my-connections", classes="my--line")
        yield Static("", id="my-health", classes="my--line")
        yield Static("", id="my-replication", classes="my--line")
        yield Static("", id="my-notes", classes="my--line")
        activity: DataTable[Any] = Table(id="my-activity", cursor_type="row")
        activity.add_columns("id", "user", "host", "db", "command", "time", "state", "info")
        yield activity
        yield Static("", id="my-query")
        blocking: DataTable[Any] = Table(id="my-blocking", cursor_type="row")
        blocking.add_columns("blocking tree", "user", "state", "trx open", "waits", "query")
        yield blocking
        yield Static("", id="my-deadlock")

    # -- rendering -----------------------------------------------------------------------------

    def render_data(self, data: Any) -> None:
        my: MySQLData = data
        self.data = my
        show(self.query_one("#my-connections", Static), self._connections_text(my))
        show(self.query_one("#my-health", Static), self._health_text(my.health, my))
        show(self.query_one("#my-replication", Static), self._replication_text(my.replication))
        notes = inert("\n".join(f"⚠ {n}" for n in my.limitations)) if my.limitations else Text("")
        notes_line = self.query_one("#my-notes", Static)
        show(notes_line, notes)
        notes_line.display = bool(notes.plain)
        self._fill_activity(my)
        self._fill_blocking(my)
        deadlock = self.query_one("#my-deadlock", Static)
        show(deadlock, self._deadlock_text(my.health))
        deadlock.display = my.health.latest_deadlock is not None

    def _connections_text(self, my: MySQLData) -> Text:
        c = my.connections
        style = STATUS_STYLE[c.status] if c.status is not Status.OK else ""
        text = Text()
        text.append(
            f"conns {bar(c.percent)} {c.threads_connected}/{c.max} ({c.percent:.0f}%)", style=style
        )
        text.append(f"  {c.status.symbol} {c.status.value}", style=STATUS_STYLE[c.status])
        text.append(f"  running {c.threads_running} · max used {c.max_used}")
        text.append(
            f" · aborted connects {c.aborted_connects}"
            + (f" (+{c.aborted_connects_new})" if c.aborted_connects_new else ""),
            style="bold red" if c.aborted_connects_new else "",
        )
        text.append("\n")
        text.append_text(counts_line("command", c.by_command, 4))
        text.append("  ")
        text.append_text(counts_line("state", c.by_state, 4))
        text.append("\n")
        text.append_text(counts_line("user", c.by_user, 3))
        text.append("  ")
        text.append_text(counts_line("host", c.by_host, 3))
        text.append("  ")
        text.append_text(counts_line("db", c.by_db, 3))
        return text

    def _health_text(self, h: Health, my: MySQLData) -> Text:
        text = Text()
        family = "MariaDB" if h.family == "mariadb" else "MySQL"
        text.append(f"{family} {h.version.split('-')[0]} · ")
        text.append_text(inert(f"as {my.user}", single_line=True, max_len=40))
        if h.read_only:
            text.append(" · read-only", style="yellow")
        connect = f"{h.connect_ms:.0f} ms" if h.connect_ms is not None else "–"
        text.append(f" · connect {connect} · up {human_duration(h.uptime_s)}")
        hit = f"{h.buffer_pool_hit_pct:.1f}%" if h.buffer_pool_hit_pct is not None else "–"
        text.append(f" · buffer pool hit {hit}")
        if h.questions_per_s is not None:
            text.append(f" · {h.questions_per_s:.0f} q/s")
        text.append("\n")
        rate = h.slow_queries_per_min
        slow = f"slow queries {h.slow_queries}" + (f" ({rate:.1f}/min)" if rate is not None else "")
        text.append(slow, style="yellow" if rate else "")
        if not h.slow_query_log:
            text.append(" (slow log off)", style="dim")
        text.append(f" · row lock waits {h.row_lock_waits}")
        if h.deadlocks is not None:
            text.append(f" · deadlocks {h.deadlocks}")
        if my.dump is not None:
            d = my.dump
            text.append("\nmysqldump ")
            text.append_text(inert(d.database, single_line=True, max_len=30))
            text.append(" → ")
            text.append_text(inert(d.path, single_line=True, max_len=60))
            state = "running" if d.running else "failed" if d.error else "done"
            text.append(
                f": {human_bytes(d.bytes_written)} written in {d.elapsed_s:.0f} s, {state}",
                style="bold red" if d.error else "",
            )
        return text

    def _replication_text(self, replica: Replica | None) -> Text:
        text = Text("replication: ", style="dim")
        if replica is None:
            text.append("not a replica")
            return text
        text.append("source ")
        text.append_text(name_cell(replica.source, 40))
        style = "green" if replica.running else "bold red"
        text.append(f" · IO {replica.io_running} SQL {replica.sql_running}", style=style)
        lag = f"{replica.lag_s:.0f} s" if replica.lag_s is not None else "–"
        text.append(f" · lag {lag}", style=STATUS_STYLE[replica.status])
        if replica.last_error:
            text.append(" · last error: ", style="bold red")
            text.append_text(inert(replica.last_error, single_line=True, max_len=120))
        return text

    def _deadlock_text(self, h: Health) -> Text:
        d = h.latest_deadlock
        if d is None:
            return Text("")
        text = Text("latest deadlock ", style="bold")
        text.append_text(inert(d.at, single_line=True, max_len=20))
        if d.victim:
            text.append(f" · rolled back transaction {d.victim}")
        lines = [line for line in d.text.splitlines()[1:] if line.strip()][:DEADLOCK_LINES]
        for line in lines:
            text.append("\n")
            text.append_text(inert(line, single_line=True, max_len=160, colour=False))
        return text

    def _fill_activity(self, my: MySQLData) -> None:
        self._activity = list(my.long_queries)
        rows = [
            (
                str(s.id),
                name_cell(s.user),
                name_cell(s.host, 22),
                name_cell(s.db),
                name_cell(s.command, 12),
                human_duration(s.duration_s),
                _state(s),
                query_cell(s.query),
            )
            for s in self._activity
        ]
        # Keyed by id: when the order changes the cursor stays on the connection it was on.
        self.query_one("#my-activity", Table).fill(rows, keys=[str(s.id) for s in self._activity])
        self._show_query()

    def _fill_blocking(self, my: MySQLData) -> None:
        self._blocking = list(my.blocking)
        rows: list[tuple[Text | str, ...]] = []
        for b in self._blocking:
            label = Text("  " * b.depth)
            if b.depth == 0:
                label.append(f"■ {b.id} ROOT", style="bold red")
            else:
                label.append(f"└ {b.id} waits on {', '.join(map(str, b.blocked_by))}")
            waits = human_duration(b.wait_s) if b.wait_s is not None else ""
            if b.locked_table:
                waits = f"{waits} {b.locked_table}".strip()
            rows.append(
                (
                    label,
                    name_cell(b.user),
                    _state(b),
                    human_duration(b.trx_s),
                    inert(waits, single_line=True, max_len=30),
                    query_cell(b.query),
                )
            )
        self.query_one("#my-blocking", Table).fill(rows)

    # -- selection -----------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#my-activity")
    def _activity_highlighted(self) -> None:
        self._show_query()

    def _show_query(self) -> None:
        table = self.query_one("#my-activity", DataTable)
        target = self.query_one("#my-query", Static)
        if not self._activity or not 0 <= table.cursor_row < len(self._activity):
            show(target, "")
            return
        s = self._activity[table.cursor_row]
        text = Text(f"id {s.id} · full query: ", style="bold")
        text.append_text(inert(s.query, max_len=FULL_QUERY_LEN, colour=False))
        show(target, text)

    def selected_record(self) -> Session | Blocked | None:
        """The connection under the cursor of the focused table (activity by default)."""
        blocking = self.query_one("#my-blocking", DataTable)
        if blocking.has_focus and 0 <= blocking.cursor_row < len(self._blocking):
            return self._blocking[blocking.cursor_row]
        activity = self.query_one("#my-activity", DataTable)
        if 0 <= activity.cursor_row < len(self._activity):
            return self._activity[activity.cursor_row]
        return None

    def action_mitigate(self, name: str) -> None:
        record: object = self.selected_record()
        if name in ("kill_long", "kill_idle_tx"):
            record = None  # N minutes from config ([mysql] kill_*_after_min)
        self.post_message(MitigationRequested(self.source, name, record))
