"""Custom runbook actions: argv lists with validated {placeholders}, run as real subprocesses
without a shell, output bounded, through the same runner and audit log as every mitigation."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.widgets import OptionList

from tests.pilot import wait_until as pilot_wait_until
from zconsole.actions import ActionError, Risk
from zconsole.app import ZConsoleApp
from zconsole.audit import read_audit
from zconsole.config import Config, CustomAction
from zconsole.custom_actions import (
    MAX_OUTPUT,
    PlaceholderError,
    build_custom_action,
    fill_argv,
    matching,
    placeholders,
    record_fields,
    run_argv,
)
from zconsole.widgets.actions_menu import ActionsMenu
from zconsole.widgets.confirm import ConfirmScreen


@dataclass(frozen=True, slots=True)
class ContainerRow:
    name: str
    service: str
    restarts: int = 0


HOSTILE = ["x; rm -rf /", "$(id)", "`id`", "a b", "a|b", "a&&b", "", "-rf", "--help", "é", "a\nb"]


def test_placeholders_are_filled_from_the_record() -> None:
    row = ContainerRow(name="web-1", service="web", restarts=3)
    assert record_fields(row) == {"name": "web-1", "service": "web", "restarts": "3"}
    argv = fill_argv(["docker", "compose", "restart", "{service}"], record_fields(row))
    assert argv == ["docker", "compose", "restart", "web"]
    assert fill_argv(["x", "--name={name}:{restarts}"], record_fields(row)) == [
        "x",
        "--name=web-1:3",
    ]
    assert fill_argv(["echo", "{a}"], {"a": "user@db.example:5432/app_1"}) == [
        "echo",
        "user@db.example:5432/app_1",
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_refused(value: str) -> None:
    with pytest.raises(PlaceholderError, match="refused"):
        fill_argv(["/bin/echo", "{name}"], {"name": value})


@pytest.mark.parametrize("arg", ["{name.__class__}", "{name[0]}", "{name!r}", "{name:>9}", "{0}"])
def test_only_plain_placeholders_are_allowed(arg: str) -> None:
    with pytest.raises(PlaceholderError, match="only plain"):
        placeholders(["echo", arg])


def test_missing_placeholder_value_is_refused() -> None:
    with pytest.raises(PlaceholderError, match="no value"):
        fill_argv(["echo", "{service}"], {"name": "web-1"})
    with pytest.raises(PlaceholderError, match="no row selected"):
        build_custom_action(CustomAction(name="e", argv=["echo", "{name}"]), None)


def test_bad_risk_and_empty_argv_are_refused() -> None:
    with pytest.raises(ValueError, match="risk must be"):
        build_custom_action(CustomAction(name="e", argv=["echo"], risk="yolo"))
    with pytest.raises(ValueError, match="argv is empty"):
        build_custom_action(CustomAction(name="e", argv=[]))


def test_echo_with_a_placeholder_runs_as_a_real_subprocess() -> None:
    custom = CustomAction(name="echo", argv=["/bin/echo", "hello", "{name}"], risk="safe")
    action = build_custom_action(custom, ContainerRow(name="web-1", service="web"))
    assert action.risk is Risk.SAFE
    assert action.target == "web-1"
    assert action.preview == "argv: /bin/echo hello web-1"
    assert action.execute() == "hello web-1"


def test_no_shell_is_involved(tmp_path: Path) -> None:
    # Shell syntax in the configured argv is passed on literally: nothing globs, splits or expands.
    (tmp_path / "a-file").write_text("")
    custom = CustomAction(
        name="args", argv=[sys.executable, "-c", PRINT_ARGV, "*", "$HOME", "a;b", "{name}"]
    )
    action = build_custom_action(custom, {"name": "web-1"}, cwd=tmp_path)
    assert action.execute() == "['*', '$HOME', 'a;b', 'web-1']"


PRINT_ARGV = "import sys; print(sys.argv[1:])"


def test_output_is_bounded() -> None:
    out = run_argv([sys.executable, "-c", "print('x' * 100000)"], timeout=30)
    kept, _, note = out.partition("\n… (")
    assert len(kept) == MAX_OUTPUT
    assert re.fullmatch(r"\d+ more bytes not kept\)", note)


def test_failure_and_missing_program_raise_action_error() -> None:
    with pytest.raises(ActionError, match=r"exit status 3:\nboom"):
        run_argv([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], timeout=30)
    with pytest.raises(ActionError, match="cannot run /nonexistent/zc-tool"):
        run_argv(["/nonexistent/zc-tool"], timeout=30)


def test_a_hung_command_is_killed_at_its_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(ActionError, match="killed after"):
        run_argv(
            [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"],
            timeout=0.5,
        )
    # Not a speed assertion: just proof the 60 s sleep did not run to its end.
    assert time.monotonic() - started < 50


def test_matching_offers_pane_actions_and_row_free_ones() -> None:
    docker = CustomAction(name="restart", argv=["docker"], source="docker")
    anywhere = CustomAction(name="vacuum", argv=["journalctl"])
    redis = CustomAction(name="purge", argv=["x"], source="redis")
    assert matching([docker, anywhere, redis], "docker") == [docker, anywhere]


def test_shipped_examples_are_valid_config_when_uncommented() -> None:
    text = resources.files("zconsole").joinpath("examples/zconsole.toml").read_text()
    uncommented = "\n".join(
        line[2:] for line in text.splitlines() if re.match(r"# (\[\[actions\]\]|\w+ = )", line)
    )
    import tomllib

    config = msgspec.convert(tomllib.loads(uncommented), Config)
    names = [a.name for a in config.actions]
    assert "compose restart service" in names
    assert "vacuum journal to 1 day" in names
    assert "migration plan" in names
    for custom in config.actions:
        Risk(custom.risk)
        placeholders(custom.argv)
    restart = next(a for a in config.actions if a.name == "compose restart service")
    action = build_custom_action(restart, ContainerRow(name="app-web-1", service="web"))
    assert action.preview == "argv: docker compose restart web"


# -- through the app -------------------------------------------------------------------------


class App(ZConsoleApp):
    def __init__(self, config: Config, row: object) -> None:
        super().__init__(config, [], hostname="test-host", poll=False)
        self.row = row
        self.told: list[str] = []

    def selected_record(self, source: str) -> object:
        return self.row

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.told.append(message)
        super().notify(message, *args, **kwargs)


# Waits in this module: bounded at 30 s, polled every 0.02 s.
wait_until = partial(pilot_wait_until, timeout=30.0, step=0.02)


def echo_config() -> Config:
    return Config(
        actions=[
            CustomAction(
                name="echo name", argv=["/bin/echo", "restarting", "{name}"], source="host"
            )
        ]
    )


async def test_custom_action_from_the_menu_runs_and_lands_in_audit_and_timeline() -> None:
    app = App(echo_config(), ContainerRow(name="web-1", service="web"))
    async with app.run_test(size=(120, 40)) as pilot:
        incidents = app.incidents
        assert incidents is not None, app.store_problem
        incident = incidents.declare(title="Disk full", severity="P2")
        assert incident is not None
        app.action_show_pane("host")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionsMenu))
        options = app.screen.query_one(OptionList)
        await pilot.press(*["down"] * (options.option_count - 1), "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(read_audit(app.action_runner.audit.path)))
        await app.workers.wait_for_complete()
        (line,) = read_audit(app.action_runner.audit.path)
        assert line["outcome"] == "succeeded"
        assert line["action"] == "custom.echo name"
        assert line["preview"] == "argv: /bin/echo restarting web-1"
        assert line["detail"] == "restarting web-1"
        entries = [e for e in incidents.store.entries(incident.id) if e.kind == "action"]
        assert len(entries) == 1 and "restarting web-1" in entries[0].text


async def test_hostile_placeholder_is_refused_audited_and_never_run(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_text("still here")
    hostile = f"x; rm -rf {canary}"
    app = App(echo_config(), {"name": hostile})
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_flow.run_custom(app.config.actions[0], app.row)
        await wait_until(pilot, lambda: bool(app.told))
        await app.workers.wait_for_complete()
        assert "refused" in app.told[0]
        (line,) = read_audit(app.action_runner.audit.path)
        assert line["outcome"] == "refused"
        assert line["action"] == "custom.echo name"
        assert line["preview"] == "argv: /bin/echo restarting '{name}'"
        assert "may only use" in line["detail"]
        assert not isinstance(app.screen, ActionsMenu)
    assert canary.read_text() == "still here"


async def test_custom_actions_are_in_the_command_palette() -> None:
    app = App(echo_config(), ContainerRow(name="web-9", service="web"))
    async with app.run_test(size=(120, 40)) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "Actions (a)" in commands
        command = commands["Run action: echo name"]
        assert command.help == "disruptive: /bin/echo restarting '{name}'"
        command.callback()
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(read_audit(app.action_runner.audit.path)))
        await app.workers.wait_for_complete()
        assert read_audit(app.action_runner.audit.path)[0]["detail"] == "restarting web-9"
