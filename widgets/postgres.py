"""PostgreSQL pane: connections, activity, blocking tree, slow statements, health, replication.

Every query text, user, database, application and host name comes from the server and is
outside text: it goes through :func:`~zconsole.widgets.text.inert` before it reaches a widget.
Mitigation keys post :class:`MitigationRequested`; the app builds, confirms and runs them.
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
from zconsole.widgets.pane import Block, Pane
from zconsole.widgets.quiet import set_border_title, show
from zconsole.widgets.table import Column, Table
from zconsole.widgets.text import inert

if TYPE_CHECKING:
    from zconsole.checks.postgres import (
        Blocked,
        Health,
        PostgresData,
        Replica,
        Session,
        StandbyStatus,
    )

FULL_QUERY_LEN = 4000
STATE_STYLE = {
    "active": "green",
    "idle in transaction": "bold yellow",
    "idle in transaction (aborted)": "bold red",
    "idle": "dim",
}
SHORT_STATE = {
    "idle in transaction": "idle in tx",
    "idle in transaction (aborted)": "idle in tx (aborted)",
}


def _state(state: str | None) -> Text:
    if state is None:
        return Text("<hidden>", style="dim")
    return inert(SHORT_STATE.get(state, state), single_line=True, style=STATE_STYLE.get(state, ""))


#: By priority (lower kept longer): what a session is doing and for how long, then who.
ACTIVITY_COLUMNS = (
    Column("pid", 1),
    Column("user", 4),
    Column("database", 6),
    Column("application", 7),
    Column("client", 8),
    Column("state", 0),
    Column("wait", 5),
    Column("for", 2),
    Column("query", 3, shrink_to=16),
)
BLOCKING_COLUMNS = (
    Column("blocking tree", 0),
    Column("user", 5),
    Column("state", 1),
    Column("in state", 2),
    Column("wait", 4),
    Column("query", 3, shrink_to=16),
)
STATEMENT_COLUMNS = (
    Column("mean", 0),
    Column("total", 1),
    Column("calls", 3),
    Column("user", 4),
    Column("statement", 2, shrink_to=16),
)
#: Rows a table is sure of before any secondary block gets one (it may grow past them).
TABLE_ROWS_FIRST = 12
FULL_QUERY_LINES = 6
NOMINAL_WIDTH = 80


class PostgresPane(Pane):
    """One PostgreSQL server."""

    DEFAULT_CSS = """
    PostgresPane #pg-query { color: $text-muted; }
    PostgresPane .pg--line { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    PostgresPane #pg-notes { color: $warning; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Upper case like the containers pane: lower-case letters are the app's (i declare, ...).
        Binding("C", "mitigate('cancel')", "Cancel query"),
        Binding("K", "mitigate('terminate')", "Terminate"),
        Binding("B", "mitigate('terminate_root_blocker')", "Kill root blocker"),
        Binding("L", "mitigate('terminate_long')", "Kill long queries"),
        Binding("I", "mitigate('terminate_idle_tx')", "Kill idle in tx"),
        Binding("D", "mitigate('dump')", "pg_dump"),
        Binding("t", "toggle_statements", "Statements by mean/total"),
    ]

    def __init__(
        self, source: str, title: str, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(source, title, id=id, classes=classes)
        self.data: PostgresData | None = None
        self._activity: list[Session] = []
        self._blocking: list[Blocked] = []
        #: Slow statements ordered by mean time (False: by total time); `t` toggles.
        self.statements_by_mean = True
        #: Pressed `t`: the statements table keeps its rows even where the pane is short.
        self.statements_asked = False

    def compose_body(self) -> ComposeResult:
        yield Static("", id="pg-connections", classes="pg--line")
        yield Static("", id="pg-health", classes="pg--line")
        yield Static("", id="pg-replication", classes="pg--line")
        yield Static("", id="pg-notes", classes="pg--line")
        yield Table(id="pg-activity", cursor_type="row", columns=ACTIVITY_COLUMNS)
        yield Static("", id="pg-query")
        yield Table(id="pg-blocking", cursor_type="row", columns=BLOCKING_COLUMNS)
        yield Table(id="pg-statements", cursor_type="row", columns=STATEMENT_COLUMNS)

    def blocks(self) -> list[Block]:
        """The sessions first; the blocking tree when there is a blocker; the statements when
        asked (`t`) or when there is room; the lines of figures after the tables."""
        if self.data is None:
            return []
        pg = self.data

        def table(selector: str, rows: int, first: int) -> Block:
            # A table with no rows takes no row at all (not even its header).
            least = min(rows, first) + 1 if rows else 0
            return Block(self.query_one(selector, Table), least, rows + 1 if rows else 0)

        def line(selector: str, least: int, want: int) -> Block:
            return Block(self.query_one(selector), least, want)

        statements = pg.statements if self.statements_by_mean else pg.statements_by_total
        sessions = len(self._activity)
        activity_block = Block(
            self.query_one("#pg-activity", Table),
            min(sessions, TABLE_ROWS_FIRST) + 1,
            sessions + 1,
            grows=True,
        )
        statements_block = table("#pg-statements", len(statements or ()), 3)
        query = self.query_one("#pg-query", Static)
        query_text = query.content
        query_lines = 0
        if isinstance(query_text, Text) and query_text.plain:
            # Counted at a nominal width, not the pane's: what a pane wants must not depend on
            # the width its place gives it, or placing the panes could go round in circles.
            query_lines = min(FULL_QUERY_LINES, -(-query_text.cell_len // NOMINAL_WIDTH))
        notes = len(self._notes_text(pg).plain.splitlines())
        blocks = [
            activity_block,
            table("#pg-blocking", len(self._blocking), 8),
            *([statements_block] if self.statements_asked else []),
            line("#pg-connections", 1, 3),
            line("#pg-notes", 1 if notes else 0, notes),
            line("#pg-health", 1, 3 if pg.dump is not None else 2),
            line("#pg-query", 1 if query_lines else 0, query_lines),
            line("#pg-replication", 1, 1),
            *([] if self.statements_asked else [statements_block]),
        ]
        return blocks

    # -- rendering -----------------------------------------------------------------------------

    def render_data(self, data: Any) -> None:
        pg: PostgresData = data
        self.data = pg
        show(self.query_one("#pg-connections", Static), self._connections_text(pg))
        show(self.query_one("#pg-health", Static), self._health_text(pg.health, pg))
        show(
            self.query_one("#pg-replication", Static),
            self._replication_text(pg.replication, pg.standby),
        )
        notes = self._notes_text(pg)
        show(self.query_one("#pg-notes", Static), notes)  # no row at all when empty (blocks)
        self._fill_activity(pg)
        self._fill_blocking(pg)
        self._fill_statements(pg)

    def _connections_text(self, pg: PostgresData) -> Text:
        c = pg.connections
        style = STATUS_STYLE[c.status] if c.status is not Status.OK else ""
        text = Text()
        text.append(f"conns {bar(c.percent)} {c.total}/{c.max} ({c.percent:.0f}%)", style=style)
        text.append(f"  {c.status.symbol} {c.status.value}", style=STATUS_STYLE[c.status])
        text.append("   ")
        text.append_text(counts_line("state", c.by_state, 5))
        text.append("\n")
        text.append_text(counts_line("db", c.by_database, 3))
        text.append("  ")
        text.append_text(counts_line("app", c.by_application, 3))
        text.append("\n")
        text.append_text(counts_line("user", c.by_user, 3))
        text.append("  ")
        text.append_text(counts_line("client", c.by_client, 3))
        return text

    def _health_text(self, h: Health, pg: PostgresData) -> Text:
        text = Text()
        text.append(f"{pg.role} · PostgreSQL {h.version.split()[0]} · ")
        text.append_text(inert(f"as {pg.user} ({pg.privileges})", single_line=True))
        connect = f"{h.connect_ms:.0f} ms" if h.connect_ms is not None else "–"
        text.append(f" · connect {connect}")
        hit = f"{h.cache_hit_pct:.1f}%" if h.cache_hit_pct is not None else "–"
        text.append(f" · cache hit {hit}")
        if h.commits_per_s is not None and h.rollbacks_per_s is not None:
            text.append(f" · {h.commits_per_s:.1f} commit/s {h.rollbacks_per_s:.1f} rollback/s")
        text.append("\n")
        deadlocks = f"deadlocks {h.deadlocks}"
        text.append(
            deadlocks + (f" (+{h.deadlocks_new})" if h.deadlocks_new else ""),
            style="bold red" if h.deadlocks_new else "",
        )
        text.append(f" · temp files {h.temp_files} ({human_bytes(h.temp_bytes)})")
        xid_style = "bold red" if h.xid_age_pct >= 75 else "yellow" if h.xid_age_pct >= 50 else ""
        text.append(f" · xid age {h.xid_age:,} ({h.xid_age_pct:.1f}% to wraparound)", xid_style)
        text.append(f" · autovacuum {len(h.autovacuums)}")
        for worker in h.autovacuums[:2]:
            text.append(" ")
            text.append_text(inert(worker.query.removeprefix("autovacuum: "), max_len=40))
        if h.databases:
            text.append(" · ")
            for index, db in enumerate(h.databases[:4]):
                if index:
                    text.append(", ")
                text.append_text(inert(db.name, single_line=True, max_len=20))
                text.append(f" {human_bytes(db.size_bytes)}")
        if pg.dump is not None:
            d = pg.dump
            text.append("\npg_dump ")
            text.append_text(inert(d.database, single_line=True, max_len=30))
            text.append(" → ")
            text.append_text(inert(d.path, single_line=True, max_len=60))
            state = "running" if d.running else "failed" if d.error else "done"
            text.append(f": {human_bytes(d.bytes_written)} written, {state}")
        return text

    def _replication_text(
        self, replicas: tuple[Replica, ...], standby: StandbyStatus | None
    ) -> Text:
        text = Text("replication: ", style="dim")
        if standby is not None:
            delay = standby.replay_delay_s
            text.append("this is a standby · replay delay ", style="")
            text.append(human_duration(delay) if delay is not None else "–")
            text.append(f" · {human_bytes(standby.lag_bytes)} not replayed")
            text.append(" · receiver ")
            text.append_text(name_cell(standby.receiver_status or "not running"))
            return text
        if not replicas:
            text.append("no standby connected")
            return text
        for index, r in enumerate(replicas):
            if index:
                text.append("  ")
            text.append_text(name_cell(r.name, 24))
            text.append_text(name_cell(f"@{r.client_addr or 'local'}", 24))
            if r.gone:
                text.append(" GONE", style="bold red")
                continue
            text.append(f" {r.state}", style="green" if r.state == "streaming" else "yellow")
            lag = human_bytes(r.lag_bytes) if r.lag_bytes is not None else "–"
            secs = f"{r.lag_s:.1f} s" if r.lag_s is not None else "–"
            text.append(f" lag {lag} / {secs}")
        return text

    def _notes_text(self, pg: PostgresData) -> Text:
        notes = list(pg.limitations)
        if pg.statements is None and pg.statements_unavailable not in notes:
            notes.append(pg.statements_unavailable or "slow statements unavailable")
        return inert("\n".join(f"⚠ {n}" for n in notes)) if notes else Text("")

    def _fill_activity(self, pg: PostgresData) -> None:
        self._activity = list(pg.long_queries)
        rows = [
            (
                str(s.pid),
                name_cell(s.usename),
                name_cell(s.datname),
                name_cell(s.application_name),
                name_cell(s.client_addr or "local", 20),
                _state(s.state),
                name_cell(s.wait_event, 14),
                human_duration(s.duration_s),
                query_cell(s.query),
            )
            for s in self._activity
        ]
        # Keyed by pid: when the order changes the cursor stays on the session it was on, so
        # C/K act on the backend the responder was looking at.
        self.query_one("#pg-activity", Table).fill(rows, keys=[str(s.pid) for s in self._activity])
        self._show_query()

    def _fill_blocking(self, pg: PostgresData) -> None:
        self._blocking = list(pg.blocking)
        rows: list[tuple[Text | str, ...]] = []
        for b in self._blocking:
            label = Text("  " * b.depth)
            if b.depth == 0:
                label.append(f"■ {b.pid} ROOT", style="bold red")
            else:
                label.append(f"└ {b.pid} waits on {', '.join(map(str, b.blocked_by))}")
            rows.append(
                (
                    label,
                    name_cell(b.usename),
                    _state(b.state),
                    human_duration(b.state_s),
                    name_cell(b.wait_event, 14),
                    query_cell(b.query),
                )
            )
        self.query_one("#pg-blocking", Table).fill(rows)

    def _fill_statements(self, pg: PostgresData) -> None:
        table = self.query_one("#pg-statements", Table)
        statements = pg.statements if self.statements_by_mean else pg.statements_by_total
        set_border_title(
            table, "slow statements by " + ("mean" if self.statements_by_mean else "total")
        )
        rows = [
            (
                f"{st.mean_ms:.1f} ms",
                f"{st.total_ms / 1000:.1f} s",
                str(st.calls),
                name_cell(st.usename, 12),
                query_cell(st.query),
            )
            for st in statements or ()
        ]
        table.fill(rows)

    # -- selection -----------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#pg-activity")
    def _activity_highlighted(self) -> None:
        self._show_query()
        self.fit()  # another session's query may take more or fewer lines

    def _show_query(self) -> None:
        table = self.query_one("#pg-activity", DataTable)
        target = self.query_one("#pg-query", Static)
        if not self._activity or not 0 <= table.cursor_row < len(self._activity):
            show(target, "")
            return
        s = self._activity[table.cursor_row]
        text = Text(f"pid {s.pid} · full query: ", style="bold")
        text.append_text(inert(s.query, max_len=FULL_QUERY_LEN, colour=False))
        show(target, text)

    def selected_record(self) -> Session | Blocked | None:
        """The session under the cursor of the focused table (activity by default)."""
        blocking = self.query_one("#pg-blocking", DataTable)
        if blocking.has_focus and 0 <= blocking.cursor_row < len(self._blocking):
            return self._blocking[blocking.cursor_row]
        activity = self.query_one("#pg-activity", DataTable)
        if 0 <= activity.cursor_row < len(self._activity):
            return self._activity[activity.cursor_row]
        return None

    def action_toggle_statements(self) -> None:
        """Flip the slow statements' order (mean / total), and keep them on screen even where
        the pane is short (they are shown by themselves only when there is room)."""
        self.statements_by_mean = not self.statements_by_mean
        self.statements_asked = True
        if self.data is not None:
            self._fill_statements(self.data)
            self.fit()

    def action_mitigate(self, name: str) -> None:
        record: object = self.selected_record()
        if name in ("terminate_long", "terminate_idle_tx"):
            record = None  # N minutes from config ([postgres] kill_*_after_min)
        self.post_message(MitigationRequested(self.source, name, record))
