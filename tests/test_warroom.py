"""The war room: one collector polls, consoles attach to it (one database session however many
screens), fall back to polling when it dies, run actions through its connection when their own
cannot connect, and `zconsole serve` shows the console in a browser, read-only."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import services
from tests.tmux import ZCONSOLE, Tmux, tmux_server

#: Seconds between polls of the collector and the consoles in these tests.
INTERVAL = 2.0


def zconsole_sessions(pg: services.Postgres) -> int:
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zconsole'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def war_room_config(workdir: Path, dsn: str, *, extra: str = "") -> None:
    (workdir / "zconsole.toml").write_text(
        f'[general]\nstore = "{workdir / "store.db"}"\ninterval = {INTERVAL}\n'
        f"[recording]\ninterval = {INTERVAL}\n"
        "[docker]\nenabled = false\n"
        f'[postgres]\ndsn = "{dsn}"\n{extra}'
    )


@pytest.fixture
def collector(workdir: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`zconsole record` processes started by a test, killed at its end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def start_collector(
    workdir: Path, started: list[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    with (workdir / "record.log").open("ab") as log:
        process = subprocess.Popen(
            [str(ZCONSOLE), "record"], cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        )
    started.append(process)
    return process


def start_console(tmux: Tmux, name: str, workdir: Path, *args: str) -> None:
    unset = "-u COLUMNS -u LINES -u DISPLAY -u WAYLAND_DISPLAY"
    # A tmux server keeps the environment it started with: the test's own dirs are passed.
    passed = " ".join(
        f"{name}={os.environ[name]}" for name in ("HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME")
    )
    command = (
        f"cd {workdir} && env {unset} TERM=xterm-256color {passed} {ZCONSOLE} {' '.join(args)}"
    )
    tmux("new-session", "-d", "-s", name, "-x", "220", "-y", "50", f"{command}; sleep 60")
    tmux("resize-window", "-t", name, "-x", "220", "-y", "50")


def screen_of(tmux: Tmux, name: str) -> str:
    return tmux("capture-pane", "-p", "-J", "-t", name)


def wait_screen(tmux: Tmux, name: str, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = screen_of(tmux, name)
        if text in screen:
            return screen
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {name}; screen was:\n{screen}")


@pytest.mark.postgres
@pytest.mark.e2e
def test_a_collector_and_three_consoles_hold_one_session_and_they_poll_when_it_dies(
    postgres_server: services.Postgres,
    workdir: Path,
    collector: list[subprocess.Popen[bytes]],
) -> None:
    pg = postgres_server
    war_room_config(workdir, pg.dsn)
    recorder = start_collector(workdir, collector)
    services.wait_for(lambda: zconsole_sessions(pg) == 1, 30, "the collector's session")
    consoles = ["zc1", "zc2", "zc3"]
    with tmux_server("zc-war") as tmux:
        for name in consoles:
            start_console(tmux, name, workdir)
        for name in consoles:
            wait_screen(tmux, name, "attached to zconsole record")
        # Each shows the collector's PostgreSQL data and the others attached beside it.
        for name in consoles:
            screen = wait_screen(tmux, name, "also: ")
            assert screen.count(" pts/") >= 1, screen
        # Several intervals later there is still only the collector's session.
        for _ in range(3):
            time.sleep(INTERVAL)
            assert zconsole_sessions(pg) == 1
        for name in consoles:
            assert "PostgreSQL" in screen_of(tmux, name)

        recorder.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        for name in consoles:
            wait_screen(tmux, name, "polling on its own", timeout=2 * INTERVAL)
        told = time.monotonic() - killed
        # And they do poll: each console holds its own session again.
        services.wait_for(
            lambda: zconsole_sessions(pg) == 3, 2 * INTERVAL, "three consoles polling"
        )
        polling = time.monotonic() - killed
        print(f"collector killed: told in {told:.2f} s, three sessions after {polling:.2f} s")
        assert polling < 2 * INTERVAL
        for name in consoles:
            tmux("send-keys", "-t", name, "q")


@pytest.fixture
def crowded_postgres() -> Iterator[services.Postgres]:
    """A server with few slots: 3 reserved for superusers, 5 for everyone else."""
    server = services.start_postgres(
        {"max_connections": "8", "superuser_reserved_connections": "3"}
    )
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE app LOGIN")
    yield server
    services.destroy_postgres(server)


async def test_an_attached_console_acts_through_the_collector_while_the_pool_is_full(
    crowded_postgres: services.Postgres,
    workdir: Path,
    collector: list[subprocess.Popen[bytes]],
) -> None:
    import asyncio
    import getpass
    import threading

    from tests.pilot import wait_until
    from zconsole.app import ZConsoleApp
    from zconsole.audit import default_audit_path, read_audit
    from zconsole.config import load_config
    from zconsole.registry import build_checks
    from zconsole.widgets.confirm import ConfirmScreen

    pg = crowded_postgres
    app_dsn = pg.url("app")
    war_room_config(workdir, app_dsn)
    start_collector(workdir, collector)
    await asyncio.to_thread(
        services.wait_for, lambda: zconsole_sessions(pg) == 1, 30, "the collector's session"
    )
    # The application takes every slot a non-superuser may have: long queries, one each.
    fillers: list[psycopg.Connection[tuple[object, ...]]] = []
    while True:
        try:
            conn = psycopg.connect(app_dsn, autocommit=True, application_name="worker")
        except psycopg.OperationalError as exc:
            refused = str(exc)
            break
        fillers.append(conn)
        threading.Thread(
            target=lambda c=conn: _ignore(lambda: c.execute("SELECT pg_sleep(600)")), daemon=True
        ).start()
    assert "reserved" in refused or "too many clients" in refused, refused
    assert fillers, "the collector's session should leave room for a worker"
    try:
        config = load_config(env={})
        app = ZConsoleApp(config, build_checks(config))
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_until(pilot, lambda: app.attach_flow.attached, timeout=20)

            def long_queries() -> tuple[object, ...]:
                result = app.latest.get("postgres")
                data = result.latest.data if result is not None else None
                return tuple(s for s in getattr(data, "long_queries", ()) if s.usename == "app")

            await wait_until(pilot, lambda: len(long_queries()) == len(fillers), timeout=20)
            target = long_queries()[0]
            app.action_flow.request_mitigation("postgres", "terminate", target)
            # Confirmation stays at the console that asked.
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=20)
            await pilot.press("y")
            await wait_until(
                pilot,
                lambda: any(
                    e.get("action") == "postgres.terminate"
                    for e in read_audit(default_audit_path())
                ),
                timeout=20,
            )
            # The console itself never got a session: still only the collector's.
            assert zconsole_sessions(pg) == 1
        entry = [e for e in read_audit(default_audit_path()) if e["action"] == "postgres.terminate"]
        assert len(entry) == 1, entry
        assert entry[0]["outcome"] == "succeeded", entry
        assert entry[0]["user"] == getpass.getuser()
        assert entry[0]["via"].startswith("collector zconsole record pid ")
        assert entry[0]["target"] == str(target.pid)  # type: ignore[attr-defined]
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            alive = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                (target.pid,),  # type: ignore[attr-defined]
            ).fetchone()
        assert alive == (0,)
    finally:
        for conn in fillers:
            _ignore(conn.close)


def _ignore(fn: object) -> None:
    with contextlib.suppress(Exception):
        fn()  # type: ignore[operator]


def _store_with_open_incident(path: Path) -> tuple[str, int]:
    from zconsole.store import IncidentStore

    store = IncidentStore(path)
    incident = store.declare(title="checkout down", severity="P2", author="alice")
    count = len(store.entries(incident.id))
    store.close()
    return incident.id, count


def _entry_count(path: Path, incident_id: str) -> int:
    from zconsole.store import IncidentStore

    store = IncidentStore(path, read_only=True)
    try:
        return len(store.entries(incident_id))
    finally:
        store.close()


@pytest.mark.e2e
async def test_serve_shows_the_console_in_chromium_read_only_and_a_typed_note_is_refused(
    workdir: Path,
) -> None:
    import asyncio

    from tests.browser import chromium_page

    store = workdir / "store.db"
    incident_id, before = _store_with_open_incident(store)
    (workdir / "zconsole.toml").write_text(
        f'[general]\nstore = "{store}"\ninterval = {INTERVAL}\n[docker]\nenabled = false\n'
    )
    port = services.free_port()
    with (workdir / "serve.log").open("ab") as log:
        server = subprocess.Popen(
            [str(ZCONSOLE), "serve", "--port", str(port)],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        await asyncio.to_thread(services.wait_for, lambda: _listens(port), 30, "zconsole serve")
        async with chromium_page(f"http://127.0.0.1:{port}/?fontsize=18", workdir) as page:
            # The panes' titles, a status word, and that this tab is attached and read-only.
            text = await page.wait_text(
                "Host", "Containers", "PostgreSQL", "Redis", "HTTP", "READ-ONLY", "attached"
            )
            assert any(word in text.split() for word in ("OK", "WARN", "CRIT")), text
            # The open incident is on the wallboard too.
            assert "checkout down" in text
            await page.type("n")
            await page.type("ok")
            await page.press_enter()
            # The refusal is on screen (READ_ONLY_WRITES, wrapped in its notification).
            assert await page.seen_soon("only read here")
        assert _entry_count(store, incident_id) == before
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_snapshot_line_decodes_into_the_checks_own_records() -> None:
    from tests.screen_data import postgres_data
    from zconsole.attach import channel
    from zconsole.checks.base import CheckResult, Snapshot, Status, now_utc
    from zconsole.checks.postgres import PostgresData

    data = postgres_data()
    snapshot = Snapshot("postgres", Status.WARN, "2 long", now_utc(), 12.5, data=data)
    failed: Snapshot[PostgresData] = Snapshot(
        "postgres", Status.ERROR, "refused", now_utc(), 3.0, error="refused"
    )
    line = channel.snapshot_line(CheckResult(failed, snapshot, time.monotonic() - 4), "db-1")
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    (result,) = channel.results_of(line.rstrip(b"\n"))
    assert result.latest.error == "refused" and result.latest.status is Status.ERROR
    assert isinstance(result.last_good, Snapshot)
    assert isinstance(result.last_good.data, PostgresData)
    assert result.last_good.data == data
    stale = result.stale_for()
    assert stale is not None and 3.5 < stale < 60


def test_a_check_record_is_rebuilt_and_nothing_else_is() -> None:
    from tests.screen_data import postgres_data
    from zconsole.attach import channel

    session = postgres_data().long_queries[0]
    assert channel.record_of(channel.record_json(session)) == session
    assert channel.record_of(channel.record_json(2.5)) == 2.5
    with pytest.raises(ValueError, match="not a check record"):
        channel.record_of({"type": "os:system", "value": "true"})


def test_serve_elsewhere_than_loopback_needs_a_token_and_a_token_is_checked(
    workdir: Path,
) -> None:
    import urllib.error
    import urllib.request

    (workdir / "zconsole.toml").write_text("[docker]\nenabled = false\n")
    refused = subprocess.run(
        [str(ZCONSOLE), "serve", "--host", "0.0.0.0"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert "needs --token or --basic-auth" in refused.stderr
    port = services.free_port()
    token = "wallboard-token-4f1c9e"
    with (workdir / "serve.log").open("ab") as log:
        server = subprocess.Popen(
            [str(ZCONSOLE), "serve", "--port", str(port)],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ZCONSOLE_SERVE_TOKEN": token},
        )
    try:
        services.wait_for(lambda: _listens(port), 30, "zconsole serve")
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert denied.value.code == 401
        denied.value.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token={token}", timeout=10) as ok:
            assert ok.status == 200
            assert "zconsole_token=" in ok.headers.get("Set-Cookie", "")
    finally:
        server.terminate()
        server.wait(timeout=20)
    # Its log (the access log writes every URL) never holds the token.
    log_text = (workdir / "serve.log").read_text()
    assert "GET /?token=" in log_text and token not in log_text


def _listens(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
