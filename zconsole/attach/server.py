"""The collector's side of the attach channel: a sink of every poll and a unix-socket service.

Hosted by `zconsole record` (beside the recording writer) and by a console that polls while no
collector runs. Each attached console gets the newest poll of every source at once, then every
poll as it is made; who is attached goes to all of them. An action a console asks for is built
on the collector's own check (its connection) and run through the one action runner here: its
confirmations are asked back at that console, its audit line names the asking user (from the
kernel, not from the console's word) and their terminal, and the source is polled again after.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zconsole.action_runner import ActionRunner, ConfirmRequest, RepeatGuard
from zconsole.actions import Action, ActionOutcome, Outcome, Risk
from zconsole.attach import channel
from zconsole.audit import AuditLog, Identity, default_audit_path
from zconsole.checks.base import Check, CheckResult, describe_error
from zconsole.checks.secrets import redact

#: A viewer this far behind (bytes queued) is dropped rather than held in memory: it reattaches.
MAX_BACKLOG = 32 * 1024 * 1024


class CollectorRunning(Exception):
    """Another process already serves this socket."""


@dataclass
class Viewer:
    peer: channel.Peer
    writer: asyncio.StreamWriter
    tty: str = ""
    client_host: str = ""
    read_only: bool = False
    what: str = "console"
    answers: dict[int, asyncio.Future[bool]] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"user": self.peer.user, "tty": self.tty, "pid": self.peer.pid, "what": self.what}


class AttachServer:
    """Serves every poll to attached consoles and runs their actions on this process's checks."""

    def __init__(
        self,
        path: Path,
        checks: Mapping[str, Check[Any]],
        *,
        refresh: Callable[[str], None],
        hostname: str,
        describe: str,
        group: str = "",
        read_only: bool = False,
        interval: float = 2.0,
    ) -> None:
        self.path = path
        self.checks = checks
        self.refresh = refresh
        self.hostname = hostname
        self.describe = describe
        self.group = group
        self.read_only = read_only
        self.interval = interval
        self.viewers: list[Viewer] = []
        #: The newest poll of each source, for a console that attaches between polls; its line
        #: is encoded when someone is there to read it (nobody is, most of the time).
        self._latest: dict[str, CheckResult] = {}
        self._lines: dict[str, bytes] = {}
        #: Set while a console is attached: the beat sleeps otherwise (nobody to tell).
        self._watched = asyncio.Event()
        #: One repeat guard for every console: three people restarting one container count.
        self.guard = RepeatGuard()
        #: Told who is attached whenever that changes (the hosting console's header).
        self.viewers_changed: Callable[[list[dict[str, Any]]], None] | None = None
        self._server: asyncio.AbstractServer | None = None
        self._lock_fd: int | None = None

    # -- the socket ----------------------------------------------------------------------------

    def claim(self) -> None:
        """Take the socket (an exclusive lock beside it decides between two starting at once);
        CollectorRunning when another process holds it."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o750 if self.group else 0o700)
        fd = os.open(
            folder / (self.path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise CollectorRunning(f"a collector already serves {self.path}") from None
        self._lock_fd = fd
        # Ours now: a socket file left by a collector that was killed is stale.
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def start(self) -> None:
        if self._lock_fd is None:
            self.claim()
        old = os.umask(0o117 if self.group else 0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.path), limit=channel.MAX_LINE
            )
        finally:
            os.umask(old)
        if self.group:
            import grp

            with contextlib.suppress(KeyError, OSError):
                os.chown(self.path, -1, grp.getgrnam(self.group).gr_gid)

    async def run(self) -> None:
        """The service: serve and beat until cancelled."""
        if self._server is None:
            await self.start()
        beat = channel.line({"kind": "beat"})
        try:
            while True:
                await self._watched.wait()
                await asyncio.sleep(channel.BEAT_S)
                self._send_all(beat)
        finally:
            self.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for viewer in list(self.viewers):
            viewer.writer.close()
        self.viewers.clear()
        if self._lock_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- the sink ------------------------------------------------------------------------------

    def accept(self, result: CheckResult) -> None:
        self._latest[result.name] = result
        self._lines.pop(result.name, None)
        if self.viewers:
            self._send_all(self._line(result.name))

    def _line(self, name: str) -> bytes:
        data = self._lines.get(name)
        if data is None:
            data = self._lines[name] = channel.snapshot_line(self._latest[name], self.hostname)
        return data

    def _send_all(self, data: bytes) -> None:
        for viewer in list(self.viewers):
            self._send(viewer, data)

    def _send(self, viewer: Viewer, data: bytes) -> None:
        transport = viewer.writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > MAX_BACKLOG:
            viewer.writer.close()
            return
        viewer.writer.write(data)

    # -- one console ---------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        try:
            peer = channel.peer_of(sock)
        except OSError:
            writer.close()
            return
        if not channel.may_attach(peer, self.group):
            writer.write(channel.line({"kind": "refused", "reason": "not allowed to attach"}))
            writer.close()
            return
        viewer = Viewer(peer, writer)
        tasks: set[asyncio.Task[None]] = set()
        try:
            hello = channel.message_of(await reader.readline())
            if hello.get("kind") != "hello":
                return
            viewer.tty = str(hello.get("tty", ""))[:40]
            viewer.client_host = str(hello.get("client_host", ""))[:80]
            viewer.read_only = bool(hello.get("read_only", False))
            viewer.what = str(hello.get("what", "console"))[:20]
            writer.write(
                channel.line(
                    {
                        "kind": "welcome",
                        "version": channel.VERSION,
                        "collector": self.describe,
                        "pid": os.getpid(),
                        "interval": self.interval,
                        "beat_s": channel.BEAT_S,
                    }
                )
            )
            for name in list(self._latest):
                writer.write(self._line(name))
            self.viewers.append(viewer)
            self._send_viewers()
            while raw := await reader.readline():
                message = channel.message_of(raw)
                kind = message.get("kind")
                if kind == "act":
                    task = asyncio.create_task(self._act(viewer, message))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif kind == "answer":
                    answer = viewer.answers.pop(int(message.get("id", -1)), None)
                    if answer is not None and not answer.done():
                        answer.set_result(message.get("yes") is True)
        except (ValueError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a console that speaks nonsense or goes away is simply gone
        finally:
            for task in tasks:
                task.cancel()
            for answer in viewer.answers.values():
                if not answer.done():
                    answer.set_result(False)
            if viewer in self.viewers:
                self.viewers.remove(viewer)
                self._send_viewers()
            writer.close()

    def _send_viewers(self) -> None:
        if self.viewers:
            self._watched.set()
        else:
            self._watched.clear()
        viewers = [v.describe() for v in self.viewers]
        if self.viewers_changed is not None:
            self.viewers_changed(viewers)
        self._send_all(channel.line({"kind": "viewers", "viewers": viewers}))

    # -- actions -------------------------------------------------------------------------------

    async def _act(self, viewer: Viewer, message: dict[str, Any]) -> None:
        ident = int(message.get("id", 0))
        source = str(message.get("source", ""))
        name = str(message.get("name", ""))
        try:
            outcome = await self._run(viewer, ident, source, name, message.get("record"))
            reply = {"kind": "outcome", "id": ident, **outcome_json(outcome)}
        except Exception as exc:  # noqa: BLE001 - the console reads why it was not built
            reply = {"kind": "not_built", "id": ident, "error": redact(describe_error(exc))}
        self._send(viewer, channel.line(reply))

    async def _run(
        self, viewer: Viewer, ident: int, source: str, name: str, record: object
    ) -> ActionOutcome:
        from zconsole import mitigations

        identity = Identity(
            user=viewer.peer.user,
            host=self.hostname,
            client_host=viewer.client_host,
            tty=viewer.tty,
            via=f"collector {self.describe}",
        )

        async def confirm(request: ConfirmRequest) -> bool:
            # Confirmation stays at the console that asked: the question goes back to it.
            answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            viewer.answers[ident] = answer
            ask = {"kind": "confirm", "id": ident, **request_json(request)}
            self._send(viewer, channel.line(ask))
            return await answer

        runner = ActionRunner(
            audit=AuditLog(default_audit_path(), identity),
            confirm=confirm,
            read_only=self.read_only or viewer.read_only,
            guard=self.guard,
        )
        check = self.checks.get(source)
        if check is None:
            raise LookupError(f"the collector has no {source} source")
        if runner.read_only:
            unbuilt = Action(
                name=f"{source}.{name}",
                title=name.replace("_", " ").capitalize(),
                target="(not built)",
                risk=Risk.SAFE,
                preview="(not built)",
                execute=lambda: "",
                source=source,
            )
            return await runner.run(unbuilt)
        row = channel.record_of(record)
        action = await asyncio.to_thread(mitigations.build, source, name, check, row)
        outcome = await runner.run(action)
        if outcome.outcome is not Outcome.REFUSED:
            self.refresh(source)  # the re-check: every screen sees what the action changed
        return outcome


def action_json(action: Action) -> dict[str, Any]:
    return {
        "name": action.name,
        "title": action.title,
        "target": action.target,
        "risk": action.risk.value,
        "preview": action.preview,
        "source": action.source,
        "timeout": action.timeout,
    }


def request_json(request: ConfirmRequest) -> dict[str, Any]:
    return {
        "action": action_json(request.action),
        "confirm": request.kind.value,
        "repeats": request.repeats,
        "window_s": request.window_s,
    }


def outcome_json(outcome: ActionOutcome) -> dict[str, Any]:
    return {
        "action": action_json(outcome.action),
        "outcome": outcome.outcome.value,
        "text": outcome.text,
        "duration_s": outcome.duration_s,
        "audit_error": outcome.audit_error,
    }


def host_for(
    checks: Mapping[str, Check[Any]],
    *,
    refresh: Callable[[str], None],
    config: Any,
    describe: str,
) -> tuple[AttachServer | None, str]:
    """The attach server for this config, claimed, and what to say about it; None when
    attaching is off or another collector serves the socket."""
    if not config.warroom.attach:
        return None, "attaching is off ([warroom] attach = false)"
    server = AttachServer(
        channel.socket_path(config),
        checks,
        refresh=refresh,
        hostname=socket.gethostname(),
        describe=describe,
        group=config.warroom.group,
        read_only=config.general.read_only,
        interval=config.general.interval,
    )
    try:
        server.claim()
    except CollectorRunning as exc:
        return None, str(exc)
    except OSError as exc:
        return None, redact(f"no attach socket: {exc}")
    return server, f"consoles attach at {server.path}"
