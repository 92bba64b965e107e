"""Container id -> name for the host check's process list.

The host check itself never talks to Docker: it finds a process's container id in its cgroup and
asks an injected resolver for the name. This is that resolver for a Docker engine. It is cheap by
construction: one ``GET /containers/json?all=1`` when an id it has not seen turns up, at most
every ``min_refresh_s``, with a short timeout; a failure backs off and the pane shows the short
id instead. It never blocks the host poll for longer than ``timeout``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from zconsole.checks.docker_client import engine_client


class DockerNames:
    """Callable resolver ``(container_id) -> name | None`` backed by the Docker API."""

    def __init__(self, url: str, *, timeout: float = 1.0, min_refresh_s: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self.min_refresh_s = min_refresh_s
        self._names: dict[str, str] = {}
        self._refreshed_at = -1e9
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self, container_id: str) -> str | None:
        with self._lock:
            name = self._names.get(container_id)
            if name is not None:
                return name
            if time.monotonic() - self._refreshed_at < self.min_refresh_s:
                return None
            self._refreshed_at = time.monotonic()
            try:
                self._refresh()
            except Exception:  # noqa: BLE001 - engine down or slow: names wait for next time
                self._client = None
                return None
            return self._names.get(container_id)

    def _refresh(self) -> None:
        if self._client is None:
            self._client = engine_client(self.url, timeout=self.timeout, pool=1)
        listed = self._client.containers(all=True)
        self._names = {
            c["Id"]: (c.get("Names") or ["/" + c["Id"][:12]])[0].lstrip("/") for c in listed
        }

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # shutting down
                client.close()
