"""PostgreSQL mitigations that fit a containerised server: the emergency dump run inside the
database container (as runbook 003 does with ``docker-compose exec``), and restarting the
database as its Compose service.

Both use the Engine API of the engine the database container was found on: the dump is an
exec of the container's own ``pg_dump`` — the server's own version, so it is never too old —
streamed to a file here; the restart is ``POST /containers/{id}/restart`` for every container
of the Compose service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from zconsole.actions import Action, ActionError, Risk
from zconsole.checks.base import Check
from zconsole.checks.docker_client import EngineClient, engine_client
from zconsole.checks.postgres import APPLICATION_NAME, PostgresCheck
from zconsole.checks.secrets import redact
from zconsole.discovery.engine import COMPOSE_PROJECT, COMPOSE_SERVICE
from zconsole.mitigations import mitigation
from zconsole.mitigations.dump_file import DumpResult, dump_path, private_output

SOURCE = "postgres"
#: Custom format: compressed, and pg_restore can list it and restore a single table from it.
CONTAINER_DUMP_OPTIONS = ("--no-password", "--format=custom", "--lock-wait-timeout=30s")
RESTART_TIMEOUT_S = 10
#: Stream number of stdout in the Engine API's multiplexed exec stream.
STDOUT = 1


def _client(url: str) -> EngineClient:
    return engine_client(url, timeout=60, pool=2)


def dump_argv(user: str, database: str) -> list[str]:
    # Inside the container libpq uses the container's own socket directory and PGPORT.
    return ["pg_dump", *CONTAINER_DUMP_OPTIONS, "--username", user, "--dbname", database]


def run_container_dump(
    docker_url: str,
    container: str,
    user: str,
    database: str,
    password: str | None,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> DumpResult:
    """``pg_dump`` inside ``container``, its output streamed to ``path`` (mode 0600). A failed
    dump leaves no partial file behind."""
    client = _client(docker_url)
    env: Mapping[str, str] = {"PGAPPNAME": APPLICATION_NAME}
    if password:
        env = {**env, "PGPASSWORD": password}
    started = time.monotonic()
    written = 0
    errors = bytearray()
    try:
        with private_output(path) as out:
            exec_id = client.exec_create(
                container, dump_argv(user, database), stdout=True, stderr=True, environment=env
            )["Id"]
            # The exec's output, read frame by frame and its connection closed here.
            output = client.exec_stream(exec_id)
            try:
                for stream, chunk in output.frames():
                    if stream == STDOUT:
                        out.write(chunk)
                        written += len(chunk)
                        if progress is not None:
                            progress(written)
                    elif len(errors) < 64 * 1024:
                        errors.extend(chunk)
            finally:
                output.release()
            code = client.exec_inspect(exec_id).get("ExitCode")
            if code != 0:
                text = errors.decode(errors="replace")
                last = [line for line in text.splitlines() if line.strip()]
                raise ActionError(
                    redact(
                        f"pg_dump in container {container} failed ({code}): "
                        f"{last[-1] if last else 'no output'}"
                    )
                )
    except ActionError:
        raise
    except Exception as exc:  # noqa: BLE001 - the engine's or the file's error is the message
        raise ActionError(redact(f"pg_dump in container {container}: {exc}")) from None
    finally:
        client.close()
    return DumpResult(database, path, path.stat().st_size, time.monotonic() - started)


def container_dump_action(pg: PostgresCheck, database: str, reason: str) -> Action:
    """The emergency dump through the database container (the host's pg_dump cannot do it)."""
    params, password = pg.dump_conninfo()
    user = params.get("user") or "postgres"
    path = dump_path(pg.settings.dump_dir, database, suffix=".dump")

    def execute() -> str:
        progress = pg.dump_progress
        progress.start(database, str(path))
        try:
            result = run_container_dump(
                pg.docker_url,
                pg.container,
                user,
                database,
                password,
                path,
                progress=progress.advance,
            )
        except ActionError as exc:
            progress.fail(str(exc))
            raise
        progress.finish(result.size_bytes, result.seconds)
        return (
            f"pg_dump {database} in container {pg.container} → {result.path} "
            f"({result.size_bytes} bytes, {result.seconds:.1f} s)"
        )

    argv = " ".join(dump_argv(user, database))
    return Action(
        title=f"Emergency pg_dump of {database} (inside container {pg.container})",
        target=database,
        risk=Risk.DISRUPTIVE,
        preview=redact(
            f"{reason}: the container's own pg_dump, through the Engine API\n"
            f"POST /containers/{pg.container}/exec  {argv}\n"
            f"output streamed to {path} (custom format: pg_restore --list reads it; readable "
            "by you only; the password, if any, in the exec's PGPASSWORD)"
        ),
        execute=execute,
        timeout=3600.0,
    )


def _service_of(client: EngineClient, container: str) -> tuple[str, str, list[Any]]:
    inspect = client.inspect_container(container)
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    project, service = labels.get(COMPOSE_PROJECT, ""), labels.get(COMPOSE_SERVICE, "")
    if not service:
        return "", "", [inspect]
    members = client.containers(
        all=True,
        filters={"label": [f"{COMPOSE_PROJECT}={project}", f"{COMPOSE_SERVICE}={service}"]},
    )
    return project, service, members


@mitigation(SOURCE, "restart_service")
def restart_database_service(check: Check[Any], record: object) -> Action:
    """Restart the database the way its project runs it: every container of its Compose service."""
    if not isinstance(check, PostgresCheck):
        raise TypeError(f"not a PostgreSQL check: {type(check).__name__}")
    pg = check
    if not pg.container or not pg.docker_url:
        raise ValueError(
            "this PostgreSQL is not known to run in a container ([postgres] container)"
        )
    client = _client(pg.docker_url)
    try:
        project, service, members = _service_of(client, pg.container)
    finally:
        client.close()
    ids = [str(m.get("Id", "")) for m in members]
    names = [str((m.get("Names") or [m.get("Name", "")])[0]).lstrip("/") for m in members]
    label = f"{project}/{service}" if service else names[0]

    def execute() -> str:
        client = _client(pg.docker_url)
        done: list[str] = []
        try:
            for cid, name in zip(ids, names, strict=True):
                client.restart(cid, timeout=RESTART_TIMEOUT_S)
                done.append(name)
        except Exception as exc:  # noqa: BLE001 - the engine's answer is the error text
            raise ActionError(
                redact(f"restart of {label} stopped after {done or 'none'}: {exc}")
            ) from None
        finally:
            client.close()
        return f"restarted database service {label}: {', '.join(done)}"

    calls = [
        f"  POST /containers/{cid[:12]}/restart?t={RESTART_TIMEOUT_S}  ({n})"
        for cid, n in zip(ids, names, strict=True)
    ]
    return Action(
        title=f"Restart the database service {label}",
        target=label,
        risk=Risk.DESTRUCTIVE,
        preview=redact(
            f"restart every container of Compose service {label} (every connection drops):\n"
            + "\n".join(calls)
        ),
        execute=execute,
        timeout=RESTART_TIMEOUT_S * len(ids) + 60.0,
    )
