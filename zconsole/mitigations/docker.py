"""Container mitigations: restart, stop, start, kill, remove, pause/unpause, restart a service.

Each factory only describes the action: the preview names the containers and the exact Engine API
call; ``execute`` (run later by the action runner, in a worker thread) makes the call and returns
what changed — the new StartedAt, the exit code — for the timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import docker
import docker.errors

from zconsole.actions import Action, ActionError, Risk
from zconsole.checks.base import Check
from zconsole.checks.docker import ContainerInfo, DockerCheck, DockerUnreachable
from zconsole.checks.secrets import redact
from zconsole.mitigations import mitigation

#: Seconds the Engine waits after SIGTERM before SIGKILL on stop/restart (`docker stop -t`).
STOP_TIMEOUT_S = 10


def _check_and_record(check: Check[Any], record: object) -> tuple[DockerCheck, ContainerInfo]:
    if not isinstance(check, DockerCheck):
        raise ValueError("docker mitigations need the docker check")
    if not isinstance(record, ContainerInfo):
        raise ValueError("select a container first")
    return check, record


def _state(client: docker.DockerClient, container_id: str) -> dict[str, Any]:
    return dict(client.api.inspect_container(container_id).get("State") or {})


def _run(what: str, call: Callable[[], str]) -> str:
    try:
        return call()
    except docker.errors.NotFound:
        raise ActionError(f"{what}: the container no longer exists") from None
    except docker.errors.APIError as exc:
        explanation = exc.explanation or str(exc)
        raise ActionError(redact(f"{what}: {explanation}")) from None
    except DockerUnreachable as exc:
        raise ActionError(f"{what}: {exc}") from None
    except (docker.errors.DockerException, OSError) as exc:
        raise ActionError(redact(f"{what}: {exc}")) from None


def _api(method: str, path: str, c: ContainerInfo) -> str:
    return f"{method} {path.format(id=c.short_id)}   # container {c.name}"


def _restart_one(check: DockerCheck, c: ContainerInfo) -> str:
    client = check.client
    before = _state(client, c.id).get("StartedAt", "")
    client.api.restart(c.id, timeout=STOP_TIMEOUT_S)
    after = _state(client, c.id)
    return (
        f"restarted {c.name}: StartedAt {after.get('StartedAt', '?')} (was {before or '?'}), "
        f"state {after.get('Status', '?')}"
    )


@mitigation("docker", "restart")
def restart(check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)
    return Action(
        name="docker.restart",
        title=f"Restart container {c.name}",
        target=c.name,
        risk=Risk.DISRUPTIVE,
        preview=_api("POST", f"/containers/{{id}}/restart?t={STOP_TIMEOUT_S}", c),
        execute=lambda: _run(f"restart {c.name}", lambda: _restart_one(docker_check, c)),
        timeout=STOP_TIMEOUT_S + 20,
        source="docker",
    )


@mitigation("docker", "stop")
def stop(check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)

    def execute() -> str:
        client = docker_check.client
        client.api.stop(c.id, timeout=STOP_TIMEOUT_S)
        after = _state(client, c.id)
        return (
            f"stopped {c.name}: exit code {after.get('ExitCode', '?')}, "
            f"FinishedAt {after.get('FinishedAt', '?')}"
        )

    return Action(
        name="docker.stop",
        title=f"Stop container {c.name}",
        target=c.name,
        risk=Risk.DISRUPTIVE,
        preview=_api("POST", f"/containers/{{id}}/stop?t={STOP_TIMEOUT_S}", c),
        execute=lambda: _run(f"stop {c.name}", execute),
        timeout=STOP_TIMEOUT_S + 20,
        source="docker",
    )


@mitigation("docker", "start")
def start(check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)

    def execute() -> str:
        client = docker_check.client
        client.api.start(c.id)
        after = _state(client, c.id)
        return f"started {c.name}: StartedAt {after.get('StartedAt', '?')}, state " + str(
            after.get("Status", "?")
        )

    return Action(
        name="docker.start",
        title=f"Start container {c.name}",
        target=c.name,
        risk=Risk.DISRUPTIVE,
        preview=_api("POST", "/containers/{id}/start", c),
        execute=lambda: _run(f"start {c.name}", execute),
        timeout=30,
        source="docker",
    )


@mitigation("docker", "kill")
def kill(check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)

    def execute() -> str:
        client = docker_check.client
        client.api.kill(c.id, signal="SIGKILL")
        after = _state(client, c.id)
        return f"killed {c.name}: exit code {after.get('ExitCode', '?')}, state " + str(
            after.get("Status", "?")
        )

    return Action(
        name="docker.kill",
        title=f"Kill container {c.name} (SIGKILL, no clean shutdown)",
        target=c.name,
        risk=Risk.DESTRUCTIVE,
        preview=_api("POST", "/containers/{id}/kill?signal=SIGKILL", c),
        execute=lambda: _run(f"kill {c.name}", execute),
        timeout=30,
        source="docker",
    )


@mitigation("docker", "remove")
def remove(check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)

    def execute() -> str:
        client = docker_check.client
        client.api.remove_container(c.id, force=True, v=False)
        return f"removed {c.name} ({c.short_id}); its named volumes were kept"

    return Action(
        name="docker.remove",
        title=f"Remove container {c.name} (stops it first; volumes kept)",
        target=c.name,
        risk=Risk.DESTRUCTIVE,
        preview=_api("DELETE", "/containers/{id}?force=true&v=false", c),
        execute=lambda: _run(f"remove {c.name}", execute),
        timeout=60,
        source="docker",
    )


@mitigation("docker", "pause")
def pause(check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)

    def execute() -> str:
        client = docker_check.client
        client.api.pause(c.id)
        return f"paused {c.name}: state {_state(client, c.id).get('Status', '?')}"

    return Action(
        name="docker.pause",
        title=f"Pause container {c.name} (freezes its processes)",
        target=c.name,
        risk=Risk.DISRUPTIVE,
        preview=_api("POST", "/containers/{id}/pause", c),
        execute=lambda: _run(f"pause {c.name}", execute),
        timeout=30,
        source="docker",
    )


@mitigation("docker", "unpause")
def unpause(check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)

    def execute() -> str:
        client = docker_check.client
        client.api.unpause(c.id)
        return f"unpaused {c.name}: state {_state(client, c.id).get('Status', '?')}"

    return Action(
        name="docker.unpause",
        title=f"Unpause container {c.name}",
        target=c.name,
        risk=Risk.DISRUPTIVE,
        preview=_api("POST", "/containers/{id}/unpause", c),
        execute=lambda: _run(f"unpause {c.name}", execute),
        timeout=30,
        source="docker",
    )


def service_members(check: DockerCheck, c: ContainerInfo) -> tuple[ContainerInfo, ...]:
    """Every container of the selected container's Compose service (from the last poll)."""
    if not c.compose_service:
        return (c,)
    data = check.last_data
    members = tuple(
        x
        for x in (data.containers if data is not None else ())
        if x.compose_project == c.compose_project and x.compose_service == c.compose_service
    )
    return tuple(sorted(members, key=lambda x: x.name)) or (c,)


@mitigation("docker", "restart_service")
def restart_service(check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)
    members = service_members(docker_check, c)
    label = f"{c.compose_project}/{c.compose_service}" if c.compose_service else c.name
    preview = "\n".join(
        _api("POST", f"/containers/{{id}}/restart?t={STOP_TIMEOUT_S}", m) for m in members
    )

    def execute() -> str:
        lines = [_run(f"restart {m.name}", partial(_restart_one, docker_check, m)) for m in members]
        return f"restarted service {label} ({len(members)} containers):\n" + "\n".join(lines)

    return Action(
        name="docker.restart_service",
        title=f"Restart all {len(members)} containers of service {label}",
        target=label,
        risk=Risk.DISRUPTIVE,
        preview=preview,
        execute=execute,
        timeout=(STOP_TIMEOUT_S + 20) * max(len(members), 1),
        source="docker",
    )
