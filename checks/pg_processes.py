"""PostgreSQL backends seen from this host's process titles, for when SQL cannot get in.

At max_connections a monitor role that is not a superuser is refused (``too many clients``,
``remaining connection slots are reserved``) and pg_stat_activity is out of reach. Every
backend still says what it is doing in its process title (``update_process_title``, on by
default): ``postgres: erp himalytix 10.0.0.5(4711) idle in transaction``. A containerised
server's backends are host processes too, so this works for them as well.

Titles carry the user, database, client and state, not the application name nor how long a
state has lasted. A backend is identified by pid *and* process start time, so a signal never
reaches a process that took over a reused pid.
"""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psutil

from zconsole.checks.secrets import redact

#: What the server says when it refuses a connection for want of a slot.
OUT_OF_CONNECTIONS = (
    "too many clients already",
    "remaining connection slots are reserved",
)
IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")
_CLIENT = re.compile(r"^(\[local\]|[0-9A-Fa-f:.]+\(\d+\)|[0-9A-Fa-f:.]+|[\w.-]+\(\d+\))$")
_TITLE_PREFIX = re.compile(r"^postgres:\s+(?:(?P<cluster>\S+):\s+)?(?P<rest>.*)$")


def is_out_of_connections(message: str) -> bool:
    low = message.lower()
    return any(text in low for text in OUT_OF_CONNECTIONS)


@dataclass(frozen=True, slots=True)
class Backend:
    """A client backend, from its process title."""

    pid: int
    user: str
    database: str
    #: "10.0.0.5", or "local" for a unix-socket client.
    client: str
    #: "idle", "idle in transaction", "active" (running a command), "authentication", …
    state: str
    #: The title's activity as shown: "idle in transaction", "SELECT", "UPDATE waiting".
    activity: str
    #: Process start time (psutil's create_time): with the pid, identifies the backend.
    started: float
    #: The postmaster this backend belongs to.
    postmaster: int


@dataclass(frozen=True, slots=True)
class ProcessCounts:
    """The client backends of one server, counted as the pane counts pg_stat_activity."""

    postmaster: int
    backends: tuple[Backend, ...]

    @property
    def total(self) -> int:
        return len(self.backends)

    def by(self, field: str) -> dict[str, int]:
        return dict(Counter(str(getattr(b, field)) for b in self.backends).most_common())

    def idle_in_transaction(self) -> list[Backend]:
        return [b for b in self.backends if b.state in IDLE_IN_TRANSACTION]


def parse_title(title: str) -> tuple[str, str, str, str] | None:
    """(user, database, client, activity) of a client backend's title; None for any other
    process (the postmaster, checkpointer, autovacuum, walsender, parallel workers)."""
    match = _TITLE_PREFIX.match(title.strip())
    if match is None:
        return None
    parts = match.group("rest").split(None, 3)
    if len(parts) < 4 or parts[0] == "walsender" or not _CLIENT.match(parts[2]):
        return None
    user, database, client, activity = parts
    client = "local" if client == "[local]" else client.split("(", 1)[0]
    return user, database, client, activity.strip()


def _state(activity: str) -> str:
    low = activity.lower()
    for state in ("idle in transaction (aborted)", "idle in transaction", "idle"):
        if low.startswith(state):
            return state
    if low in ("authentication", "startup"):
        return low
    return "active"


def _title(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline()).strip()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def _postmasters() -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter(["name", "ppid"]):
        if proc.info["name"] not in ("postgres", "postmaster"):
            continue
        title = _title(proc)
        if title and not title.startswith("postgres:"):
            out.append(proc)
    return out


def _listens_on(proc: psutil.Process, port: int) -> bool:
    try:
        conns = proc.net_connections(kind="inet")
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in conns)


def find_postmaster(port: int) -> psutil.Process | None:
    """The postmaster listening on ``port`` (its own network namespace: a published container
    port is the container's 5432); the only one on this host when none says so."""
    found = _postmasters()
    listening = [p for p in found if _listens_on(p, port)]
    if len(listening) == 1:
        return listening[0]
    return found[0] if len(found) == 1 and not listening else None


def backends_of(postmaster: psutil.Process) -> ProcessCounts:
    backends: list[Backend] = []
    try:
        children = postmaster.children()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        children = []
    for child in children:
        parsed = parse_title(_title(child))
        if parsed is None:
            continue
        user, database, client, activity = parsed
        try:
            started = child.create_time()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        backends.append(
            Backend(
                pid=child.pid,
                user=redact(user),
                database=redact(database),
                client=client,
                state=_state(activity),
                activity=redact(activity),
                started=started,
                postmaster=postmaster.pid,
            )
        )
    return ProcessCounts(postmaster.pid, tuple(sorted(backends, key=lambda b: b.pid)))


def postmaster_in(pid: int) -> psutil.Process | None:
    """The postmaster that is ``pid`` or runs under it: a container's main process is the
    postmaster itself (the official image execs it) or an init (tini, a shell) above it."""
    try:
        top = psutil.Process(pid)
        family = [top, *top.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    for proc in family:
        title = _title(proc)
        try:
            name = proc.name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if name in ("postgres", "postmaster") and title and not title.startswith("postgres:"):
            return proc
    return None


def count_backends(port: int, container_pid: int | None = None) -> ProcessCounts | None:
    """The backends of the server on ``port`` of this host, or None if it is not found here.

    ``container_pid``, the main process of the server's container when it is known, settles
    which postmaster it is when the port cannot: a published port (docker-proxy listens on it,
    the postmaster on its container port) on a host with other servers.
    """
    postmaster = find_postmaster(port)
    if postmaster is None and container_pid:
        postmaster = postmaster_in(container_pid)
    return backends_of(postmaster) if postmaster is not None else None


def still_matches(backend: Backend, states: Iterable[str]) -> bool:
    """The same process (pid and start time), still a backend of that server, still in one of
    ``states``: checked right before the signal."""
    try:
        proc = psutil.Process(backend.pid)
        if abs(proc.create_time() - backend.started) > 0.01 or proc.ppid() != backend.postmaster:
            return False
        parsed = parse_title(_title(proc))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return parsed is not None and _state(parsed[3]) in tuple(states)


def terminate(
    backends: Sequence[Backend], states: Iterable[str] = IDLE_IN_TRANSACTION
) -> list[int]:
    """SIGTERM (what pg_terminate_backend sends) to each backend that still matches; the pids
    signalled."""
    wanted = tuple(states)
    done: list[int] = []
    for backend in backends:
        if not still_matches(backend, wanted):
            continue
        try:
            os.kill(backend.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        done.append(backend.pid)
    return done


__all__ = [
    "IDLE_IN_TRANSACTION",
    "Backend",
    "ProcessCounts",
    "backends_of",
    "count_backends",
    "find_postmaster",
    "is_out_of_connections",
    "parse_title",
    "still_matches",
    "terminate",
]
