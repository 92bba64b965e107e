"""Container mitigations: restart, stop, start, kill, remove, pause/unpause, restart a service.

Each factory only describes the action: the preview names the containers and the exact Engine API
call; ``execute`` (run later by the action runner, in a worker thread) makes the call and returns
what changed — the new StartedAt, the exit code — for the timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from zconsole.actions import Action, ActionError, Risk, risk_for
from zconsole.checks.base import Check
from zconsole.checks.docker import ContainerInfo, DockerCheck, DockerUnreachable
from zconsole.checks.docker_client import EngineAPIError, EngineClient, EngineError, EngineNotFound
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


def _state(client: EngineClient, container_id: str) -> dict[str, Any]:
    return dict(client.inspect_container(container_id).get("State") or {})


def _run(what: str, call: Callable[[], str]) -> str:
    try:
        return call()
    except EngineNotFound:
        raise ActionError(f"{what}: the container no longer exists") from None
    except EngineAPIError as exc:
        explanation = exc.explanation or str(exc)
        raise ActionError(redact(f"{what}: {explanation}")) from None
    except DockerUnreachable as exc:
        raise ActionError(f"{what}: {exc}") from None
    except (EngineError, OSError) as exc:
        raise ActionError(redact(f"{what}: {exc}")) from None


def _api(method: str, path: str, c: ContainerInfo) -> str:
    return f"{method} {path.format(id=c.short_id)}   # container {c.name}"


# -- one container: each operation is a row of this table ---------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerOperation:
    """One Engine call on one container, and how its outcome reads in the timeline."""

    name: str
    #: "Stop container {name}"; ``{name}`` is the container's.
    title: str
    risk: Risk
    #: The Engine API request the preview shows (``{id}`` is the short id).
    request: str
    #: Makes the call; returns the timeline text (reads the state after it, where it matters).
    call: Callable[[EngineClient, ContainerInfo], str]
    timeout: float = 30.0


def _restart(client: EngineClient, c: ContainerInfo) -> str:
    before = _state(client, c.id).get("StartedAt", "")
    client.restart(c.id, timeout=STOP_TIMEOUT_S)
    after = _state(client, c.id)
    return (
        f"restarted {c.name}: StartedAt {after.get('StartedAt', '?')} (was {before or '?'}), "
        f"state {after.get('Status', '?')}"
    )


def _stop(client: EngineClient, c: ContainerInfo) -> str:
    client.stop(c.id, timeout=STOP_TIMEOUT_S)
    after = _state(client, c.id)
    return (
        f"stopped {c.name}: exit code {after.get('ExitCode', '?')}, "
        f"FinishedAt {after.get('FinishedAt', '?')}"
    )


def _start(client: EngineClient, c: ContainerInfo) -> str:
    client.start(c.id)
    after = _state(client, c.id)
    return f"started {c.name}: StartedAt {after.get('StartedAt', '?')}, state " + str(
        after.get("Status", "?")
    )


def _kill(client: EngineClient, c: ContainerInfo) -> str:
    client.kill(c.id, signal="SIGKILL")
    after = _state(client, c.id)
    return f"killed {c.name}: exit code {after.get('ExitCode', '?')}, state " + str(
        after.get("Status", "?")
    )


def _remove(client: EngineClient, c: ContainerInfo) -> str:
    client.remove_container(c.id, force=True, v=False)
    return f"removed {c.name} ({c.short_id}); its named volumes were kept"


def _pause(client: EngineClient, c: ContainerInfo) -> str:
    client.pause(c.id)
    return f"paused {c.name}: state {_state(client, c.id).get('Status', '?')}"


def _unpause(client: EngineClient, c: ContainerInfo) -> str:
    client.unpause(c.id)
    return f"unpaused {c.name}: state {_state(client, c.id).get('Status', '?')}"


CONTAINER_OPERATIONS: tuple[ContainerOperation, ...] = (
    ContainerOperation(
        "restart",
        "Restart container {name}",
        Risk.DISRUPTIVE,
        f"POST /containers/{{id}}/restart?t={STOP_TIMEOUT_S}",
        _restart,
        timeout=STOP_TIMEOUT_S + 20,
    ),
    ContainerOperation(
        "stop",
        "Stop container {name}",
        Risk.DISRUPTIVE,
        f"POST /containers/{{id}}/stop?t={STOP_TIMEOUT_S}",
        _stop,
        timeout=STOP_TIMEOUT_S + 20,
    ),
    ContainerOperation(
        "start", "Start container {name}", Risk.DISRUPTIVE, "POST /containers/{id}/start", _start
    ),
    ContainerOperation(
        "kill",
        "Kill container {name} (SIGKILL, no clean shutdown)",
        risk_for(),  # one container: y/N (it can be started again)
        "POST /containers/{id}/kill?signal=SIGKILL",
        _kill,
    ),
    ContainerOperation(
        "remove",
        "Remove container {name} (stops it first; volumes kept)",
        risk_for(recoverable=False),
        "DELETE /containers/{id}?force=true&v=false",
        _remove,
        timeout=60,
    ),
    ContainerOperation(
        "pause",
        "Pause container {name} (freezes its processes)",
        Risk.DISRUPTIVE,
        "POST /containers/{id}/pause",
        _pause,
    ),
    ContainerOperation(
        "unpause",
        "Unpause container {name}",
        Risk.DISRUPTIVE,
        "POST /containers/{id}/unpause",
        _unpause,
    ),
)


def _container_action(op: ContainerOperation, check: Check[Any], record: object) -> Action:
    docker_check, c = _check_and_record(check, record)
    method, _, path = op.request.partition(" ")
    return Action(
        title=op.title.format(name=c.name),
        target=c.name,
        risk=op.risk,
        preview=_api(method, path, c),
        execute=lambda: _run(f"{op.name} {c.name}", lambda: op.call(docker_check.client, c)),
        timeout=op.timeout,
    )


for _op in CONTAINER_OPERATIONS:
    mitigation("docker", _op.name)(partial(_container_action, _op))


# -- a whole Compose service ---------------------------------------------------------------------


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

    def restart_member(member: ContainerInfo) -> str:
        return _restart(docker_check.client, member)

    def execute() -> str:
        lines = [_run(f"restart {m.name}", partial(restart_member, m)) for m in members]
        return f"restarted service {label} ({len(members)} containers):\n" + "\n".join(lines)

    return Action(
        title=f"Restart all {len(members)} containers of service {label}",
        target=label,
        risk=risk_for(targets=len(members)),
        preview=preview,
        execute=execute,
        timeout=(STOP_TIMEOUT_S + 20) * max(len(members), 1),
    )
