"""A console's side of the attach channel: hello, then the collector's lines, and actions.

No Textual here: the app's attach flow turns what arrives into panes, the header and modals.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from zconsole.attach import channel
from zconsole.audit import ssh_client_host
from zconsole.checks.base import CheckResult


class NoCollector(Exception):
    """Nothing serves the socket (or it is not one we may trust)."""


class CollectorGone(Exception):
    """The collector closed the channel or stopped beating."""


Confirm = Callable[[dict[str, Any]], Awaitable[bool]]


class AttachClient:
    """One connection to the collector."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.welcome: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self._outcomes: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._confirms: dict[int, Confirm] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def connect(
        cls, path: Path, *, read_only: bool, what: str = "console", timeout: float = 2.0
    ) -> AttachClient:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(path), limit=channel.MAX_LINE), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise NoCollector(str(exc)) from None
        client = cls(reader, writer)
        try:
            if not channel.trusted_collector(channel.peer_of(writer.get_extra_info("socket"))):
                raise NoCollector(f"{path} is served by another user")
            hello = {
                "kind": "hello",
                "version": channel.VERSION,
                "tty": channel.this_tty(),
                "client_host": ssh_client_host(os.environ),
                "read_only": read_only,
                "what": what,
            }
            writer.write(channel.line(hello))
            raw = await asyncio.wait_for(reader.readline(), timeout)
            welcome = channel.message_of(raw) if raw else {}
        except (OSError, ValueError, TimeoutError) as exc:
            client.close()
            raise NoCollector(str(exc)) from None
        except NoCollector:
            client.close()
            raise
        if welcome.get("kind") != "welcome":
            client.close()
            raise NoCollector(str(welcome.get("reason", "no welcome from the collector")))
        client.welcome = welcome
        return client

    @property
    def collector(self) -> str:
        return str(self.welcome.get("collector", "collector"))

    async def run(
        self,
        *,
        results: Callable[[list[CheckResult]], None],
        viewers: Callable[[list[dict[str, Any]]], None],
        silence_s: float,
    ) -> None:
        """Hand every line on until the collector goes; raises CollectorGone then (its end, or
        ``silence_s`` without a line: it beats twice a second)."""
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(self.reader.readline(), silence_s)
                except TimeoutError:
                    raise CollectorGone(f"collector silent for {silence_s:g} s") from None
                if not raw:
                    raise CollectorGone("collector closed the channel")
                kind = channel.kind_of(raw)
                if kind == "snapshot":
                    results(channel.results_of(raw))
                elif kind == "viewers":
                    viewers(list(channel.message_of(raw).get("viewers", [])))
                elif kind in ("confirm", "outcome", "not_built"):
                    self._answer(channel.message_of(raw))
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise CollectorGone(f"channel broken: {exc}") from None
        finally:
            for future in self._outcomes.values():
                if not future.done():
                    future.set_exception(CollectorGone("the collector went away"))
            self.close()

    def _answer(self, message: dict[str, Any]) -> None:
        ident = int(message.get("id", -1))
        if message["kind"] == "confirm":
            confirm = self._confirms.get(ident)
            if confirm is None:
                return
            task = asyncio.create_task(self._confirm(ident, confirm, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        future = self._outcomes.pop(ident, None)
        self._confirms.pop(ident, None)
        if future is not None and not future.done():
            future.set_result(message)

    async def _confirm(self, ident: int, confirm: Confirm, message: dict[str, Any]) -> None:
        try:
            yes = await confirm(message)
        except Exception:  # noqa: BLE001 - no answer is a No
            yes = False
        with contextlib.suppress(OSError):
            self.writer.write(channel.line({"kind": "answer", "id": ident, "yes": yes}))

    async def act(self, source: str, name: str, record: object, confirm: Confirm) -> dict[str, Any]:
        """Ask the collector to build and run a mitigation; its confirmations come back to
        ``confirm``; the answer is the ``outcome`` (or ``not_built``) message."""
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._outcomes[ident] = future
        self._confirms[ident] = confirm
        message = {
            "kind": "act",
            "id": ident,
            "source": source,
            "name": name,
            "record": channel.record_json(record),
        }
        self.writer.write(channel.line(message))
        return await future

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()
