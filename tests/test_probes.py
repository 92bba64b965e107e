"""The hostile user's probes: one test for each promise a probe once broke, as it was reproduced.

Each drives the real command line (or the real app through Pilot) the way the probe did.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import services

ZCONSOLE = [sys.executable, "-m", "zconsole"]
ESC = "\x1b"
BEL = "\x07"
NO_DOCKER = "[docker]\nenabled = false\n"


def run_cli(
    *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZCONSOLE, *argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=90,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# -- plain snapshot: outside text stays inert --------------------------------------------------


@pytest.mark.redis
def test_plain_snapshot_writes_no_escape_from_a_hostile_rq_queue_name(
    workdir: Path, redis_server: services.Redis
) -> None:
    import redis

    name = f"jobs{ESC}]52;c;ZXZpbA=={BEL}{ESC}[2J\nforged line"
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.sadd("rq:queues", f"rq:queue:{name}")
    client.rpush(f"rq:queue:{name}", *[f"job-{i}" for i in range(6000)])
    (workdir / "zconsole.toml").write_text(NO_DOCKER + "[redis]\nqueue_warn = 10\n")
    done = run_cli("snapshot", cwd=workdir, env={"REDIS_URL": redis_server.url})
    client.flushdb()
    assert "redis" in done.stdout and "6000" in done.stdout, done.stdout
    assert ESC not in done.stdout and BEL not in done.stdout
    assert "forged line" not in [line.strip() for line in done.stdout.splitlines()]


# -- passwords with reserved characters ----------------------------------------------------------


def test_a_raw_at_in_a_postgres_password_is_refused_and_its_tail_never_shown(
    workdir: Path,
) -> None:
    (workdir / "zconsole.toml").write_text(NO_DOCKER)
    env = {"DATABASE_URL": "postgresql://app:S3cr@tPw9@127.0.0.1:1/x"}
    for command, code in ((["snapshot"], 3), (["snapshot", "--json"], 3), (["config"], 2)):
        done = run_cli(*command, cwd=workdir, env=env)
        line = assert_one_line(done, code)
        assert line.startswith("zconsole: DATABASE_URL: ")
        assert "'@' as %40" in line
        assert done.stdout == ""
        for fragment in ("S3cr", "tPw9", "3cr@", "r@tP"):
            assert fragment not in done.stderr


@pytest.mark.parametrize("char", ["/", '"', " "])
def test_config_never_prints_a_password_with_a_slash_quote_or_space(
    workdir: Path, char: str
) -> None:
    password = f"Ab{char}Cd3fGh"
    (workdir / "zconsole.toml").write_text(
        NO_DOCKER + f"[postgres]\ndsn = '''postgresql://u:{password}@127.0.0.1:1/x'''\n"
    )
    done = run_cli("config", cwd=workdir)
    line = assert_one_line(done, 2)
    assert line.startswith("zconsole: ") and "zconsole.toml: postgres.dsn: " in line
    assert password not in done.stderr + done.stdout
    assert "Ab" + char not in line and "Cd3f" not in line
    # Written as the refusal says, it is accepted and masked everywhere.
    from urllib.parse import quote

    (workdir / "zconsole.toml").write_text(
        NO_DOCKER + f"[postgres]\ndsn = 'postgresql://u:{quote(password, safe='')}@127.0.0.1:1/x'\n"
    )
    shown = run_cli("config", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert 'dsn = "postgresql://u:***@127.0.0.1:1/x"' in shown.stdout
    snap = run_cli("snapshot", "--json", cwd=workdir)
    assert snap.returncode == 2, snap.stderr
    for fragment in ("Cd3f", "d3fG", quote(password, safe="")):
        assert fragment not in snap.stdout + snap.stderr


def test_a_quote_in_a_postgres_password_is_accepted_and_masked(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(
        NO_DOCKER + '[postgres]\ndsn = "postgresql://u:Ab\'Cd3fGh@127.0.0.1:1/x"\n'
    )
    shown = run_cli("config", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert "Cd3f" not in shown.stdout
    assert 'dsn = "postgresql://u:***@127.0.0.1:1/x"' in shown.stdout


def test_a_slash_in_a_redis_password_is_one_line_not_a_traceback(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(NO_DOCKER)
    env = {"REDIS_URL": "redis://:Ab/Cd3fGh@127.0.0.1:1/0"}
    for command, code in ((["snapshot"], 3), ([], 2), (["config"], 2)):
        done = run_cli(*command, cwd=workdir, env=env)
        line = assert_one_line(done, code)
        assert line.startswith("zconsole: REDIS_URL: ") and "'/' as %2F" in line
        assert "Ab" not in line and "Cd3f" not in done.stderr + done.stdout


# -- the audit log -------------------------------------------------------------------------------


def test_the_audit_log_is_in_the_data_dir_and_never_follows_a_symlink(tmp_path: Path) -> None:
    from zconsole.actions import Action, Outcome, Risk
    from zconsole.audit import AuditLog, default_audit_path

    shared = tmp_path / "shared"
    shared.mkdir()
    path = default_audit_path()
    assert path.parent == Path(os.environ["XDG_DATA_HOME"]) / "zconsole"
    assert shared not in path.parents
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(victim)
    log = AuditLog(path)
    action = Action(
        name="x", title="x", target="t", risk=Risk.SAFE, preview="p", execute=lambda: "", source="h"
    )
    with pytest.raises(OSError):
        log.write(action, Outcome.SUCCEEDED, "done")
    assert victim.read_text() == "keep me\n"


# -- the command line ----------------------------------------------------------------------------


def test_global_options_are_accepted_after_the_subcommand(workdir: Path) -> None:
    store = workdir / "elsewhere" / "incidents.db"
    store.parent.mkdir()
    after = run_cli("incidents", "list", "--store", str(store), cwd=workdir)
    assert after.returncode == 0, after.stderr
    assert after.stdout == "no incidents\n"
    assert store.exists()
    shown = run_cli("config", "--read-only", "--interval", "7", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert "read_only = true" in shown.stdout and "interval = 7.0" in shown.stdout
    # Before the subcommand still works, and is not reset by the subcommand's parser.
    before = run_cli("--read-only", "config", cwd=workdir)
    assert "read_only = true" in before.stdout


# -- the screen ------------------------------------------------------------------------------------


def _screen_text(app: object) -> str:
    strips = app.screen._compositor.render_strips()  # type: ignore[attr-defined]
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def test_a_40x12_terminal_says_it_is_too_small_and_keeps_every_status(
    tmp_path: Path,
) -> None:
    from zconsole.app import ZConsoleApp
    from zconsole.checks.base import Status
    from zconsole.config import load_config
    from zconsole.registry import build_checks
    from zconsole.widgets.header import TabBar

    config = load_config(flags={"general": {"store": str(tmp_path / "s.db")}}, env={})
    app = ZConsoleApp(config, build_checks(config), poll=False)
    async with app.run_test(size=(40, 12)) as pilot:
        bar = app.query_one(TabBar)
        for name, status in zip(
            bar.tabs, (Status.OK, Status.CRIT, Status.ERROR, Status.WARN, Status.OK), strict=True
        ):
            bar.set_status(name, status)
        await pilot.pause()
        text = _screen_text(app)
        assert "terminal too small (need 80x24)" in text
        tabs = next(line for line in text.splitlines() if " 1 " in line)
        for index, symbol in zip("12345", ("✔", "✖", "!", "▲", "✔"), strict=True):
            assert f" {index} {symbol}" in tabs, tabs
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        text = _screen_text(app)
        assert "terminal too small" not in text
        assert "Containers" in text


async def test_no_color_triage_checkboxes_look_different_ticked_and_unticked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.widgets import Checkbox

    from zconsole.app import ZConsoleApp
    from zconsole.config import load_config
    from zconsole.registry import build_checks
    from zconsole.widgets.declare import DeclareScreen

    monkeypatch.setenv("NO_COLOR", "1")
    config = load_config(flags={"general": {"store": str(tmp_path / "s.db")}}, env={})
    app = ZConsoleApp(config, build_checks(config), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.no_color
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, DeclareScreen)
        boxes = list(app.screen.query(Checkbox))
        boxes[0].value = True
        await pilot.pause()
        ticked = "".join(s.text for s in boxes[0].render_line(0))
        unticked = "".join(s.text for s in boxes[1].render_line(0))
        assert ticked[:3] != unticked[:3], (ticked, unticked)
        assert "X" in ticked[:3] and "X" not in unticked[:3]


# -- confirmation in proportion to the risk ------------------------------------------------------


def test_one_backend_or_container_asks_y_n_several_or_lost_data_asks_to_type() -> None:
    import dataclasses

    from tests.screen_data import docker_data, postgres_data
    from zconsole import mitigations
    from zconsole.action_runner import ConfirmKind, confirmation_for
    from zconsole.checks.docker import DockerCheck
    from zconsole.checks.docker_settings import DockerSettings
    from zconsole.checks.host import HostCheck
    from zconsole.checks.postgres import PostgresCheck
    from zconsole.checks.postgres_settings import PostgresSettings

    def asks(source: str, name: str, check: object, record: object) -> ConfirmKind | None:
        action = mitigations.build(source, name, check, record)  # type: ignore[arg-type]
        return confirmation_for(action.risk)

    pg = PostgresCheck(PostgresSettings(), "postgresql://monitor@127.0.0.1:1/app")
    session = dataclasses.replace(postgres_data().long_queries[0], state="active", duration_s=900)
    assert asks("postgres", "terminate", pg, session) is ConfirmKind.YES_NO
    assert asks("postgres", "cancel", pg, session) is ConfirmKind.YES_NO
    pg.sessions = (session, dataclasses.replace(session, pid=session.pid + 1))
    assert asks("postgres", "terminate_long", pg, 1.0) is ConfirmKind.TYPE_TARGET
    pg.sessions = (session,)
    assert asks("postgres", "terminate_long", pg, 1.0) is ConfirmKind.YES_NO

    docker = DockerCheck(DockerSettings(), "unix:///nonexistent.sock")
    container = docker_data().containers[0]
    assert asks("docker", "kill", docker, container) is ConfirmKind.YES_NO
    assert asks("docker", "restart", docker, container) is ConfirmKind.YES_NO
    assert asks("docker", "remove", docker, container) is ConfirmKind.TYPE_TARGET

    import psutil

    from zconsole.checks.host_procs import ProcessInfo

    me = psutil.Process().parent()  # only built, never run; not ourselves (refused)
    assert me is not None
    proc = ProcessInfo(
        pid=me.pid, name="python", cpu_percent=0.0, rss_bytes=1, create_time=me.create_time()
    )
    host = HostCheck()
    assert asks("host", "kill", host, proc) is ConfirmKind.YES_NO


# -- config numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("[general]\ntimeout = 1e400", "general.timeout: inf"),
        ("[general]\ntimeout = nan", "general.timeout: nan"),
        ("[general]\ntimeout = 1e300", "general.timeout: 1e+300"),
        ("[general]\ntimeout = -1", "general.timeout: -1"),
        ("[general]\ninterval = 0", "general.interval: 0"),
        ("[postgres]\nstatement_timeout_ms = 100000000000000000000", "statement_timeout_ms: 1"),
    ],
)
def test_an_unbounded_config_number_is_one_line_exit_2_or_3_for_snapshot(
    workdir: Path, line: str, key: str
) -> None:
    (workdir / "zconsole.toml").write_text(NO_DOCKER + line + "\n")
    for command, code in ((["config"], 2), (["snapshot"], 3), (["snapshot", "--json"], 3)):
        error = assert_one_line(run_cli(*command, cwd=workdir), code)
        assert error.startswith(f"zconsole: {workdir / 'zconsole.toml'}: ")
        assert key in error and "out of range (allowed: " in error, error


def test_interval_0_on_the_command_line_is_refused(workdir: Path) -> None:
    (workdir / "zconsole.toml").write_text(NO_DOCKER)
    error = assert_one_line(run_cli("--interval", "0", "snapshot", cwd=workdir), 3)
    assert error == "zconsole: --interval: 0.0 is out of range (allowed: 0.2 to 3600 s)"
    assert_one_line(run_cli("config", "--interval", "0", cwd=workdir), 2)


# -- read-only ------------------------------------------------------------------------------------


def _store_with_open_incident(path: Path) -> str:
    from zconsole.store import IncidentStore

    store = IncidentStore(path)
    incident = store.declare(title="checkout down", severity="P2", author="alice")
    store.add_entry(incident.id, "note", "looking at the db", "alice")
    store.close()
    return incident.id


def _entries(path: Path, incident_id: str) -> list[tuple[str, str]]:
    from zconsole.store import IncidentStore

    store = IncidentStore(path)
    try:
        return [(e.kind, e.text) for e in store.entries(incident_id)]
    finally:
        store.close()


async def test_read_only_refuses_every_write_and_a_typed_confirmation_swallows_its_keys(
    tmp_path: Path,
) -> None:
    import dataclasses

    from tests.pilot import wait_until
    from tests.screen_data import postgres_data
    from zconsole.app import ZConsoleApp
    from zconsole.audit import default_audit_path, read_audit
    from zconsole.checks.postgres import PostgresCheck
    from zconsole.checks.postgres_settings import PostgresSettings
    from zconsole.config import load_config
    from zconsole.store import IncidentStore
    from zconsole.widgets.header import StatusHeader

    path = tmp_path / "store.db"
    incident_id = _store_with_open_incident(path)
    before = _entries(path, incident_id)

    def refusals(action: str) -> int:
        lines = read_audit(default_audit_path())
        return sum(1 for line in lines if line["action"] == action and line["outcome"] == "refused")

    config = load_config(flags={"general": {"store": str(path), "read_only": True}}, env={})
    pg = PostgresCheck(PostgresSettings(), "postgresql://monitor@127.0.0.1:1/app")
    session = postgres_data().long_queries[0]
    pg.sessions = tuple(
        dataclasses.replace(session, pid=pid, state="active", duration_s=900.0)
        for pid in (101, 102)
    )
    app = ZConsoleApp(config, [pg], poll=False)
    notes: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        original_notify = app.notify

        def notify(message: str, **kwargs: object) -> None:
            notes.append(str(message))
            original_notify(message, **kwargs)  # type: ignore[arg-type]

        app.notify = notify  # type: ignore[method-assign]
        # The viewer sees the open incident.
        assert incident_id in app.query_one(StatusHeader).incident
        for key in ("n", "s", "i", "p", "u", "E"):
            await pilot.press(key)
            await pilot.pause()
            assert not app.screen.is_modal, key
            assert notes and notes[-1].startswith("read-only: "), (key, notes)
        # A destructive action (two backends): refused where its typed confirmation would be;
        # the target typed ahead, "s" + Enter, goes nowhere.
        app.action_flow.request_mitigation("postgres", "terminate_long", 1.0)
        await wait_until(pilot, lambda: refusals("postgres.terminate_long") == 1)
        await pilot.press("s")
        await pilot.pause()
        # The refusal is what the keyboard talks to: "s" went nowhere, Enter closes it.
        assert app.screen.is_modal and "Refused" in _screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert not app.screen.is_modal
    assert _entries(path, incident_id) == before
    store = IncidentStore(path)
    assert store.get(incident_id).status == "investigating"
    store.close()
    assert refusals("postgres.terminate_long") == 1


async def test_a_viewer_who_may_only_read_the_store_sees_the_open_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from zconsole import cli
    from zconsole.app import ZConsoleApp
    from zconsole.config import load_config
    from zconsole.store import IncidentStore
    from zconsole.widgets.header import StatusHeader

    path = tmp_path / "store.db"
    incident_id = _store_with_open_incident(path)

    # As another user would be (the tests run as root, who may write anything): the file and
    # its folder are not writable, and SQLite says so at the first write.
    def no_write(self: IncidentStore) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    real_access = os.access
    monkeypatch.setattr(IncidentStore, "_probe_write", no_write)
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK and real_access(p, mode))
    config = load_config(flags={"general": {"store": str(path)}}, env={})
    app = ZConsoleApp(config, [], poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.incidents is not None and app.incidents.read_only
        assert incident_id in app.query_one(StatusHeader).incident
        assert "No open incident" not in _screen_text(app)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["incidents", "list", "--store", str(path)]) == 0
    assert incident_id in out.getvalue() and "P2" in out.getvalue()
