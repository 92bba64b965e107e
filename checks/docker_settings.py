"""The ``[docker]`` settings, and which engine they point at. No Engine client here: config
loading and the host check's container links read this without paying for httpx."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True, slots=True, kw_only=True)
class DockerSettings:
    enabled: bool = True
    #: Engine URL; empty means DOCKER_HOST or the default unix socket.
    host: str = ""
    interval: float | None = None
    timeout: float | None = None
    log_lines: int = 200
    #: What counts as an error line for the error-rate figure.
    error_pattern: str = r"(?i)\b(error|exception|traceback|fatal|panic)\b"
    #: CPU and memory of the running containers up to this many (more show no CPU/memory).
    max_stats_streams: int = 500
    #: `zconsole snapshot` only (one poll is all it gets): seconds to wait at most for a second
    #: stats sample so CPU % is known; capped at 60 % of the timeout. The console never waits:
    #: its list shows at once and CPU % arrives on the next refresh.
    first_stats_wait: float = 3.0

    @property
    def engine_url(self) -> str:
        """The engine in use: configured (or DOCKER_HOST), else the default socket if it exists;
        "" when Docker is off or there is no engine to talk to."""
        if not self.enabled:
            return ""
        if self.host:
            return self.host
        if os.path.exists(DEFAULT_DOCKER_SOCKET):
            return "unix://" + DEFAULT_DOCKER_SOCKET
        return ""


def is_local_engine(url: str) -> bool:
    """unix:// sockets and tcp:// on a loopback address run on this host; ssh:// does not."""
    if url.startswith("unix://"):
        return True
    if url.startswith("tcp://"):
        host = urlsplit(url).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")
    return False
