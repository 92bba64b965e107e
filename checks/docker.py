"""docker check: every container, grouped by Compose project/service, with health and live stats.

Three things make it cheap and live on a busy engine:

- **Stats, one read per refresh.** On this host a container's memory and CPU time are read
  straight from its cgroup files (``checks/container_stats.py``: a few small reads, no request,
  no thread); for a remote engine, ``GET /containers/{id}/stats?one-shot=true`` runs in a small
  background pool, and a poll takes the newest finished answers without waiting for them (the
  engine answers a stats request only at its next once-a-second sample). CPU % needs two
  samples: the check keeps each container's previous one and computes the figure over at least
  ``MIN_CPU_WINDOW_S``, as ``docker stats`` does. The first poll has memory (on this host) but
  no CPU % yet; it fills in on the next refresh (``stats_pending`` counts the running
  containers still without memory). One stats stream per container, decoded every second in a
  thread of its own, was the earlier design: 20 threads at 20 containers.
- **Inspect cache.** ``GET /containers/json`` lacks restart count, exit code, OOM flag and the
  start time, so each container is inspected — once, then again only when its state or health
  changes, an Engine event names it, or the cached answer is older than ``INSPECT_MAX_AGE``.
- **Event stream.** A background thread follows ``GET /events`` (die, oom, health_status, start,
  restart, ...); each event marks its container for re-inspection and calls ``on_event`` (the app
  sets it to "poll docker now"), so a crash shows within a second.

Every client the check uses (polls, the events thread; logs and mitigations borrow the poll's)
is built by one factory, :meth:`DockerCheck.open_client` over ``checks/docker_client.py``, so
unix://, tcp:// and ssh:// behave the same everywhere. ssh:// is one ``ssh -L`` process
(:class:`SshTunnel`, the user's own ssh config and agent, never a password prompt) forwarding a
private local socket to the remote engine's, and the clients talk unix:// to that.

An engine that cannot be reached is one clear sentence with the fix; reconnect attempts back off
(1, 2, 4 ... 30 s) while the scheduler keeps polling.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from zconsole.checks.base import Check, Status, now_utc, worst
from zconsole.checks.container_logs import parse_engine_time, release_stream
from zconsole.checks.container_stats import (
    CgroupFiles,
    StatsSample,
    cpu_percent,
    locate_cgroup,
    online_cpus,
    parse_stats,
)
from zconsole.checks.docker_client import (
    EngineAPIError,
    EngineClient,
    EngineError,
    EngineNotFound,
    EngineStream,
    engine_client,
)
from zconsole.checks.docker_settings import DockerSettings, is_local_engine
from zconsole.checks.secrets import redact

#: Engine events that change what the pane shows.
WATCHED_EVENTS = (
    "create",
    "start",
    "restart",
    "die",
    "oom",
    "kill",
    "stop",
    "pause",
    "unpause",
    "destroy",
    "health_status",
)
#: Events worth a timeline line while an incident is open (others only trigger a refresh).
TIMELINE_EVENTS = ("die", "oom", "health_status: unhealthy", "restart")
#: One timeline line per (container, event) at most this often: a crash loop must not flood it.
TIMELINE_EVENT_EVERY_S = 60.0
#: Re-inspect a container about this often even without a state change or event...
INSPECT_MAX_AGE = 15.0
#: ... but at most this many such re-inspections per poll (events and changes are never capped).
AGED_INSPECTS_PER_POLL = 16
#: A container restarted and up for less than this counts as just restarted.
RECENT_S = 60.0
#: ... and with at least this many restarts behind it, as crash-looping.
CRASH_LOOP_RESTARTS = 3
#: Inspect requests at once (a cold start inspects every container)...
INSPECT_WORKERS = 8
#: ... but a batch this small is asked in the poll's own thread (a millisecond or two each).
INLINE_INSPECTS = AGED_INSPECTS_PER_POLL
#: Longest reconnect back-off.
MAX_BACKOFF_S = 30.0

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"

_HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health: starting)\)")


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """One container as the pane shows it (field names are the snapshot JSON names)."""

    name: str
    id: str
    image: str
    #: created, running, paused, restarting, removing, exited, dead.
    state: str
    #: healthy, unhealthy, starting, or "" when the container has no health check.
    health: str
    restart_count: int
    exit_code: int | None
    oom_killed: bool
    cpu_percent: float | None
    mem_bytes: int | None
    mem_limit_bytes: int | None
    compose_project: str
    compose_service: str
    #: ISO 8601 from the Engine; None when it never started.
    started_at: str | None
    finished_at: str | None
    #: "8080->80/tcp" style, published ports first.
    ports: tuple[str, ...]
    #: Why this container needs attention, in words ("UNHEALTHY", "EXITED 1", ...); "" if none.
    problem: str
    status: Status

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def group(self) -> str:
        """Compose "project/service", or "" for a container started outside Compose."""
        if self.compose_project or self.compose_service:
            return f"{self.compose_project}/{self.compose_service}"
        return ""


@dataclass(frozen=True, slots=True)
class DockerEvent:
    """One Engine event about a container."""

    at: str
    container_id: str
    name: str
    action: str
    text: str
    #: True when the app should write it to the open incident's timeline.
    for_timeline: bool


@dataclass(frozen=True, slots=True)
class DockerData:
    containers: tuple[ContainerInfo, ...]
    engine_version: str
    url: str
    #: Newest last; the last few Engine events this process saw.
    events: tuple[DockerEvent, ...]
    #: Running containers whose stats are not known yet (new stream) — shown as "–".
    stats_pending: int


# -- problems and ordering -----------------------------------------------------------------------


def classify(
    state: str,
    health: str,
    exit_code: int | None,
    oom_killed: bool,
    restart_count: int = 0,
    up_for_s: float | None = None,
) -> tuple[str, Status]:
    """The problem word and status of one container (problems are words, not just colours).

    A crash loop is caught in either phase: "restarting" while the Engine waits to restart it,
    or running for a few seconds with restarts behind it (``up_for_s`` is its current uptime).
    """
    if oom_killed:
        return "OOM-KILLED", Status.CRIT
    if state == "restarting":
        return "RESTARTING", Status.CRIT
    if state == "running" and restart_count and up_for_s is not None and up_for_s < RECENT_S:
        if restart_count >= CRASH_LOOP_RESTARTS:
            return "CRASH-LOOP", Status.CRIT
        return "RESTARTED", Status.WARN
    if health == "unhealthy":
        return "UNHEALTHY", Status.CRIT
    if state == "dead":
        return "DEAD", Status.CRIT
    if state == "exited" and exit_code not in (None, 0):
        return f"EXITED {exit_code}", Status.WARN
    return "", Status.OK


def sort_key(c: ContainerInfo) -> tuple[int, int, str, str, str]:
    """Problems first (worst first), then Compose project/service, then name."""
    return (
        0 if c.problem else 1,
        -c.status.rank,
        c.compose_project or "\uffff",
        c.compose_service,
        c.name,
    )


# -- error messages ------------------------------------------------------------------------------


class DockerUnreachable(Exception):
    """The Engine could not be reached; the message says why and how to fix it."""


def explain_unreachable(url: str, exc: BaseException) -> str:
    """One sentence: what failed and what to do about it."""
    text = _chain_text(exc)
    lowered = text.lower()
    if url.startswith("unix://") or url.startswith("/"):
        path = url.removeprefix("unix://")
        if "permission denied" in lowered or _in_chain(exc, PermissionError):
            return (
                f"permission denied on the Docker socket {path}: add your user to the docker "
                "group: sudo usermod -aG docker $USER (then log in again), or run as root"
            )
        if "no such file" in lowered or _in_chain(exc, FileNotFoundError):
            return (
                f"Docker socket {path} does not exist: is the Docker engine running? "
                "(sudo systemctl start docker), or set DOCKER_HOST to the engine's address"
            )
        if "connection refused" in lowered:
            return (
                f"nothing is listening on the Docker socket {path} (stale socket?): "
                "restart the engine: sudo systemctl restart docker"
            )
    if url.startswith("tcp://") or url.startswith("http"):
        if "connection refused" in lowered:
            return (
                f"cannot connect to the Docker engine at {url}: connection refused — is dockerd "
                "listening there (dockerd -H tcp://...)? Check DOCKER_HOST"
            )
        if "timed out" in lowered or "timeout" in lowered:
            return f"the Docker engine at {url} did not answer in time (firewall? wrong port?)"
    if url.startswith("ssh://"):
        if _in_chain(exc, FileNotFoundError) and "ssh" in lowered and shutil.which("ssh") is None:
            return (
                f"cannot reach the Docker engine over {url}: the ssh client is not installed "
                "(sudo apt-get install openssh-client)"
            )
        command = " ".join(ssh_argv(url, ()))
        return (
            f"cannot reach the Docker engine over {url}: {_short(text)} — check that "
            f"`{command} docker version` works without a password prompt and that the remote "
            "user may use docker"
        )
    return f"cannot reach the Docker engine at {url}: {_short(text)}"


def check_unix_socket(path: str, timeout: float) -> None:
    """Connect to the socket once ourselves, before any client: this raises the plain
    FileNotFoundError / PermissionError the message is built from."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        probe.connect(path)


def _in_chain(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, kind):
            return True
        stack.extend(x for x in (e.__cause__, e.__context__) if x is not None)
        stack.extend(a for a in e.args if isinstance(a, BaseException))
    return False


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append(str(e))
        e = e.__cause__ or e.__context__
    return " | ".join(parts)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- ssh:// --------------------------------------------------------------------------------------

#: The remote engine's socket when the ssh:// URL names no path (Docker's own default).
REMOTE_SOCKET = "/var/run/docker.sock"


class SshTunnelError(Exception):
    """ssh could not set up the forward; the message is what ssh said."""


def ssh_argv(url: str, options: tuple[str, ...]) -> list[str]:
    """``ssh [-p PORT] [-l USER] OPTIONS -- HOST`` for an ssh://[user@]host[:port] URL."""
    parts = urlsplit(url)
    argv = ["ssh"]
    if parts.port is not None:
        argv += ["-p", str(parts.port)]
    if parts.username:
        argv += ["-l", parts.username]
    argv += options
    return [*argv, parts.hostname or ""]


class SshTunnel:
    """One ``ssh -L`` process forwarding a private local socket to the remote engine's socket.

    BatchMode: a password or host-key prompt would fail at once instead of writing to the
    console's terminal. The ssh of the user (config, agent, known hosts) does the connecting,
    as the docker CLI's own ssh:// support does. ``close()`` ends the process and removes the
    socket; the check makes a new tunnel when it reconnects.
    """

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        parts = urlsplit(url)
        remote = parts.path if parts.path not in ("", "/") else REMOTE_SOCKET
        self._dir = Path(tempfile.mkdtemp(prefix="zc-ssh-"))  # 0700: the socket is ours alone
        self.socket_path = self._dir / "docker.sock"
        options = (
            "-nNT",
            "-o",
            "BatchMode=yes",
            "-o",
            "ExitOnForwardFailure=yes",
            "-o",
            f"ConnectTimeout={max(int(timeout), 1)}",
            "-o",
            "ServerAliveInterval=10",
            "-o",
            "ServerAliveCountMax=3",
            "-L",
            f"{self.socket_path}:{remote}",
            "--",
        )
        self._stderr: IO[bytes] = (self._dir / "ssh.err").open("w+b")
        self._process: subprocess.Popen[bytes] | None = None
        try:
            self._process = subprocess.Popen(
                ssh_argv(url, options),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                start_new_session=True,  # the console's ctrl+c is not the tunnel's
            )
            self._wait_ready(timeout)
        except BaseException:
            self.close()
            raise

    @property
    def local_url(self) -> str:
        return f"unix://{self.socket_path}"

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def said(self) -> str:
        """The last lines ssh wrote to stderr ("" if none)."""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            lines = self._stderr.read().decode(errors="replace").strip().splitlines()
            return " ".join(line.strip() for line in lines[-3:] if line.strip())
        return ""

    def problem(self) -> str:
        """What ssh said, or how it ended."""
        said = self.said()
        if said:
            return said
        code = self._process.poll() if self._process is not None else None
        return f"ssh exited with status {code}" if code is not None else "ssh is not answering"

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 1.0)
        while time.monotonic() < deadline:
            if not self.alive():
                raise SshTunnelError(self.problem())
            if self.socket_path.exists():
                return
            time.sleep(0.02)
        raise SshTunnelError(f"ssh set up no forward within {max(timeout, 1.0):g} s")

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()  # a no-op on an ssh that has exited; the wait reaps it
            try:
                process.wait(2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(2)
        with contextlib.suppress(OSError):
            self._stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def make_client(
    url: str, timeout: float, pool: int = 32, *, tunnel: SshTunnel | None = None
) -> EngineClient:
    """A client for unix:// or tcp://, or for ssh:// through ``tunnel`` (a running SshTunnel)."""
    base_url = url
    if url.startswith("ssh://"):
        if tunnel is None or not tunnel.alive():
            raise SshTunnelError(tunnel.problem() if tunnel is not None else "no ssh tunnel")
        base_url = tunnel.local_url
    return engine_client(base_url, timeout=max(int(timeout), 1), pool=pool)


# -- stats ---------------------------------------------------------------------------------------

#: CPU % is measured over at least this long (``docker stats`` shows ~1 s windows): a poll soon
#: after another (the app polls at once on an engine event) keeps the last figure and baseline.
MIN_CPU_WINDOW_S = 1.0
#: Engine stats requests at once, for the containers whose cgroup files cannot be read here (a
#: remote engine): each waits for the engine's next once-a-second sample, so they run in the
#: background and a poll takes the newest finished ones, never waiting for them.
STATS_WORKERS = 16
#: Figures of one container: (cpu %, memory used, memory limit).
Figures = tuple[float | None, int | None, int | None]


# -- the check -----------------------------------------------------------------------------------


@dataclass
class _Inspected:
    key: tuple[str, str]
    attrs: dict[str, Any]
    at: float


class DockerCheck(Check[DockerData]):
    """Containers of one Docker Engine."""

    name = "docker"

    def __init__(
        self,
        settings: DockerSettings,
        url: str,
        *,
        interval: float = 2.0,
        timeout: float = 5.0,
        first_poll_waits_for_stats: bool = False,
    ) -> None:
        super().__init__(interval=interval, timeout=timeout)
        self.settings = settings
        self.url = url
        self._client: EngineClient | None = None
        self._version = ""
        self._failures = 0
        self._next_attempt = 0.0
        self._last_problem = ""
        self._lock = threading.Lock()
        #: Per running container: its last stats sample (the CPU % baseline), its figures,
        #: its cgroup files ((pid, files), None files: not readable here, ask the engine) and
        #: its engine stats request in flight.
        self._samples: dict[str, StatsSample] = {}
        self._figures: dict[str, Figures] = {}
        self._cgroups: dict[str, tuple[int, CgroupFiles | None]] = {}
        self._engine_stats: dict[str, Future[StatsSample | None]] = {}
        self._stats_pool: ThreadPoolExecutor | None = None
        self._local = is_local_engine(url)
        self._inspected: dict[str, _Inspected] = {}
        self._dirty: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._seen_events: deque[tuple[str, str, str]] = deque(maxlen=200)
        self._events: deque[DockerEvent] = deque(maxlen=50)
        self._timeline_last: dict[tuple[str, str], float] = {}
        self._events_stop = threading.Event()
        self._events_stream: EngineStream | None = None
        self._events_thread: threading.Thread | None = None
        self._primed = False
        self._tunnel: SshTunnel | None = None
        #: Wait up to ``settings.first_stats_wait`` on the first poll for two stats samples, so
        #: CPU % is in it. Only for a single poll (``zconsole snapshot``): the console shows the
        #: list at once and fills CPU and memory in on the next refreshes ("stats pending").
        self.first_poll_waits_for_stats = first_poll_waits_for_stats
        #: The newest data (mitigations read it, e.g. the members of a Compose service).
        self.last_data: DockerData | None = None

    # -- client and back-off ---------------------------------------------------------------------

    #: Log lines per container in an evidence bundle (the runbooks' `logs --tail=100`, doubled).
    EVIDENCE_LOG_LINES = 200
    EVIDENCE_MAX_CONTAINERS = 10

    def evidence(self, selected: object | None = None) -> dict[str, str]:
        """Log tails: the selected container's, then those of the containers with problems."""
        containers = self.last_data.containers if self.last_data is not None else ()
        targets = [selected] if isinstance(selected, ContainerInfo) else []
        targets += [c for c in containers if c.problem and c not in targets]
        del targets[self.EVIDENCE_MAX_CONTAINERS :]
        api = self.client
        files: dict[str, str] = {}
        for c in targets:
            raw = api.logs(c.id, tail=self.EVIDENCE_LOG_LINES, timestamps=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            files[f"logs-{c.name}.txt"] = text
        return files

    @property
    def client(self) -> EngineClient:
        """The connected client (for mitigations and logs); raises DockerUnreachable."""
        with self._lock:
            return self._connect()

    def _connect(self) -> EngineClient:
        if self._client is not None:
            return self._client
        now = time.monotonic()
        if now < self._next_attempt:
            wait = self._next_attempt - now
            raise DockerUnreachable(f"{self._last_problem} — retrying in {math.ceil(wait)} s")
        try:
            if self.url.startswith("ssh://"):
                self._close_tunnel()
                self._tunnel = SshTunnel(self.url, self.timeout)
                check_unix_socket(str(self._tunnel.socket_path), self.timeout)
            elif self.url.startswith("unix://"):
                check_unix_socket(self.url.removeprefix("unix://"), self.timeout)
            client = self.open_client("poll")
            try:
                self._version = str(client.version().get("Version", ""))
            except BaseException:
                client.close()
                raise
        except Exception as exc:  # noqa: BLE001 - every failure to connect becomes one sentence
            self._failures += 1
            backoff = min(2.0 ** (self._failures - 1), MAX_BACKOFF_S)
            self._next_attempt = time.monotonic() + backoff
            self._last_problem = redact(explain_unreachable(self.url, self._tunnel_problem(exc)))
            self._close_tunnel()
            raise DockerUnreachable(self._last_problem) from None
        self._client = client
        self._failures = 0
        self._next_attempt = 0.0
        self._start_events(client)
        return client

    def open_client(self, purpose: str) -> EngineClient:
        """The one factory of the check's clients: "poll" (shared with the inspects, the engine
        stats requests, logs and mitigations) and "events" (the events thread's own).

        ssh:// goes through the check's tunnel; the events thread never starts one of its own
        (the poll does, when it reconnects), so while the tunnel is down this raises.
        """
        pool = INSPECT_WORKERS + STATS_WORKERS + 16 if purpose == "poll" else 2
        return make_client(self.url, self.timeout, pool, tunnel=self._tunnel)

    def _tunnel_problem(self, exc: BaseException) -> BaseException:
        """A failure over ssh:// is explained by what ssh said (a dead tunnel, or a remote
        socket it could not open), not by the local socket's errors."""
        tunnel = self._tunnel
        if tunnel is None or isinstance(exc, SshTunnelError):
            return exc
        if not tunnel.alive():
            return SshTunnelError(tunnel.problem())
        said = tunnel.said()
        return SshTunnelError(f"{_short(str(exc), 120)}; ssh: {said}") if said else exc

    def _close_tunnel(self) -> None:
        tunnel, self._tunnel = self._tunnel, None
        if tunnel is not None:
            tunnel.close()

    def _drop_client(self, exc: BaseException) -> None:
        """The engine went away mid-poll: stop streams, forget the client, back off."""
        client = self._client
        self._client = None
        self._forget_stats()
        self._stop_events()
        self._events_thread = None
        self._failures += 1
        self._next_attempt = time.monotonic() + min(2.0 ** (self._failures - 1), MAX_BACKOFF_S)
        self._last_problem = redact(explain_unreachable(self.url, self._tunnel_problem(exc)))
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        self._close_tunnel()

    # -- probe -----------------------------------------------------------------------------------

    def probe(self) -> tuple[Status, str, DockerData]:
        started = time.monotonic()
        with self._lock:
            client = self._connect()
            try:
                raw = client.containers(all=True)
            except EngineAPIError:
                raise  # the engine answered: an engine error, not a lost connection
            except (EngineError, OSError) as exc:
                self._drop_client(exc)
                raise DockerUnreachable(self._last_problem) from None
            inspected = self._inspect_changed(client, raw)
            running = [str(c["Id"]) for c in raw if c.get("State") == "running"]
            self._read_stats(client, running, inspected)
            if not self._primed and self.first_poll_waits_for_stats:
                # A single poll has no next refresh to fill CPU % in: sample again after a
                # window. The console never waits (the list first, CPU % on the next refresh).
                self._wait_for_cpu(client, running, inspected, started)
            self._primed = True
            containers = tuple(
                sorted(
                    (self._record(c, inspected.get(c["Id"])) for c in raw),
                    key=sort_key,
                )
            )
            pending = sum(1 for c in containers if c.state == "running" and c.mem_bytes is None)
            data = DockerData(
                containers=containers,
                engine_version=self._version,
                url=self.url,
                events=tuple(self._events),
                stats_pending=pending,
            )
            self.last_data = data
        return _grade(containers), _summary(containers), data

    def _inspect_changed(
        self, client: EngineClient, raw: list[dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        todo: list[tuple[str, tuple[str, str]]] = []
        aged: list[tuple[float, str, tuple[str, str]]] = []
        live: set[str] = set()
        for c in raw:
            cid = c["Id"]
            live.add(cid)
            key = (str(c.get("State", "")), _health_from_status(str(c.get("Status", ""))))
            cached = self._inspected.get(cid)
            if cached is None or cached.key != key or cid in dirty:
                todo.append((cid, key))
            elif now - cached.at > INSPECT_MAX_AGE:
                aged.append((cached.at, cid, key))
        # Only a slice of the merely old ones per poll, oldest first: 200 containers must not
        # all come due in the same poll.
        aged.sort()
        todo.extend((cid, key) for _, cid, key in aged[:AGED_INSPECTS_PER_POLL])
        for gone in set(self._inspected) - live:
            del self._inspected[gone]

        def fetch(cid: str) -> dict[str, Any] | None:
            try:
                return client.inspect_container(cid)
            except EngineNotFound:
                return None

        ids = [t[0] for t in todo]
        if len(ids) <= INLINE_INSPECTS:
            answers = [fetch(cid) for cid in ids]
        else:
            # A cold start or a mass change: a pool for this batch only, so no idle threads
            # stay behind at rest.
            with ThreadPoolExecutor(INSPECT_WORKERS, thread_name_prefix="docker-inspect") as pool:
                answers = list(pool.map(fetch, ids))
        for (cid, key), attrs in zip(todo, answers, strict=True):
            if attrs is not None:
                self._inspected[cid] = _Inspected(key, attrs, now)
        return {cid: i.attrs for cid, i in self._inspected.items()}

    # -- stats -----------------------------------------------------------------------------------

    def _read_stats(
        self, client: EngineClient, running: list[str], inspected: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """A sample of every running container (up to ``max_stats_streams``): from its cgroup
        files when the engine is on this host, else from the engine in the background."""
        wanted = running[: self.settings.max_stats_streams]
        live = set(wanted)
        for table in (self._samples, self._figures):
            for gone in [cid for cid in table if cid not in live]:
                del table[gone]
        for gone in [cid for cid in self._cgroups if cid not in live]:
            self._drop_cgroup(gone)
        for gone in [cid for cid in self._engine_stats if cid not in live]:
            self._engine_stats.pop(gone).cancel()
        from_engine: list[str] = []
        cpus = online_cpus()
        for cid in wanted:
            files = self._cgroup_of(cid, inspected.get(cid)) if self._local else None
            if files is None:
                from_engine.append(cid)
                continue
            try:
                sample = files.sample(cpus)
            except (OSError, ValueError):
                self._drop_cgroup(cid)  # gone or moved meanwhile: look again next poll
                continue
            self._take(cid, sample)
        if from_engine:
            self._ask_engine(client, from_engine)

    def _cgroup_of(self, cid: str, attrs: Mapping[str, Any] | None) -> CgroupFiles | None:
        """The container's cgroup files, found once per container process (its pid)."""
        state = (attrs or {}).get("State") or {}
        pid = int(state.get("Pid") or 0)
        known = self._cgroups.get(cid)
        if known is not None and known[0] == pid:
            return known[1]
        self._drop_cgroup(cid)
        files = locate_cgroup(pid, cid)
        self._cgroups[cid] = (pid, files)
        return files

    def _take(self, cid: str, sample: StatsSample) -> None:
        """A new sample: memory at once; CPU % against the baseline once a window has passed."""
        previous = self._samples.get(cid)
        cpu = self._figures.get(cid, (None, None, None))[0]
        if previous is None or sample.cpu_total < previous.cpu_total:
            self._samples[cid] = sample  # the first sample, or the container restarted
            cpu = None
        else:
            window_ns = (sample.system_total - previous.system_total) / max(sample.online_cpus, 1)
            if window_ns >= MIN_CPU_WINDOW_S * 1e9:
                cpu = cpu_percent(previous, sample)
                self._samples[cid] = sample
        self._figures[cid] = (cpu, sample.mem_bytes, sample.mem_limit_bytes)

    def _ask_engine(self, client: EngineClient, ids: list[str]) -> None:
        """Take the engine's finished stats answers and ask again (never waits for them)."""
        pool = self._stats_pool
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=STATS_WORKERS, thread_name_prefix="docker-stats")
            self._stats_pool = pool
        for cid in ids:
            asked = self._engine_stats.get(cid)
            if asked is not None:
                if not asked.done():
                    continue
                del self._engine_stats[cid]
                with contextlib.suppress(Exception):
                    sample = asked.result()
                    if sample is not None:
                        self._take(cid, sample)
            self._engine_stats[cid] = pool.submit(_engine_sample, client, cid)

    def _wait_for_cpu(
        self,
        client: EngineClient,
        running: list[str],
        inspected: Mapping[str, Mapping[str, Any]],
        started: float,
    ) -> None:
        deadline = min(
            time.monotonic() + self.settings.first_stats_wait, started + self.timeout * 0.6
        )
        wanted = running[: self.settings.max_stats_streams]
        while time.monotonic() < deadline:
            if all(self._figures.get(cid, (None,))[0] is not None for cid in wanted):
                return
            time.sleep(0.2)
            self._read_stats(client, running, inspected)

    def _forget_stats(self) -> None:
        for asked in self._engine_stats.values():
            asked.cancel()
        self._engine_stats.clear()
        self._samples.clear()
        self._figures.clear()
        for cid in list(self._cgroups):
            self._drop_cgroup(cid)

    def _drop_cgroup(self, cid: str) -> None:
        known = self._cgroups.pop(cid, None)
        if known is not None and known[1] is not None:
            known[1].close()

    def _stop_events(self) -> None:
        self._events_stop.set()
        stream = self._events_stream
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    def _record(self, c: Mapping[str, Any], attrs: Mapping[str, Any] | None) -> ContainerInfo:
        cid = str(c["Id"])
        labels = c.get("Labels") or {}
        names = c.get("Names") or []
        name = str(names[0]).lstrip("/") if names else cid[:12]
        state_info: Mapping[str, Any] = (attrs or {}).get("State") or {}
        state = str(state_info.get("Status") or c.get("State") or "unknown")
        health_info = state_info.get("Health") or {}
        health = str(health_info.get("Status") or "")
        if not health:
            health = _health_from_status(str(c.get("Status", ""))).removeprefix("health: ")
        if health == "none":
            health = ""
        exit_code_raw = state_info.get("ExitCode")
        # Only meaningful once it has exited (a restarting container shows its last exit).
        exit_code = (
            int(exit_code_raw)
            if exit_code_raw is not None and state in ("exited", "dead", "restarting")
            else None
        )
        oom = bool(state_info.get("OOMKilled", False))
        restart_count = int((attrs or {}).get("RestartCount") or 0)
        started_at = _engine_time(state_info.get("StartedAt"))
        finished_at = _engine_time(state_info.get("FinishedAt"))
        cpu, mem, limit = (
            self._figures.get(cid, (None, None, None)) if state == "running" else (None, None, None)
        )
        started = parse_engine_time(started_at)
        up_for = (now_utc() - started).total_seconds() if started is not None else None
        problem, status = classify(state, health, exit_code, oom, restart_count, up_for)
        return ContainerInfo(
            name=name,
            id=cid,
            image=str(c.get("Image") or ""),
            state=state,
            health=health,
            restart_count=restart_count,
            exit_code=exit_code,
            oom_killed=oom,
            cpu_percent=None if cpu is None else round(cpu, 2),
            mem_bytes=mem,
            mem_limit_bytes=limit,
            compose_project=str(labels.get(PROJECT_LABEL, "")),
            compose_service=str(labels.get(SERVICE_LABEL, "")),
            started_at=started_at,
            finished_at=finished_at,
            ports=_ports(c.get("Ports") or []),
            problem=problem,
            status=status,
        )

    # -- events ----------------------------------------------------------------------------------

    def _start_events(self, client: EngineClient) -> None:
        self._events_stop = threading.Event()
        thread = threading.Thread(
            target=self._follow_events,
            args=(self._events_stop,),
            name="docker-events",
            daemon=True,
        )
        self._events_thread = thread
        thread.start()

    def _follow_events(self, stop: threading.Event) -> None:
        """Follow the Engine's event stream until stopped; reconnect with back-off."""
        since = int(time.time())
        failures = 0
        while not stop.is_set():
            client: EngineClient | None = None
            stream: EngineStream | None = None
            try:
                client = self.open_client("events")
                # The events request itself has no read timeout (a quiet engine is normal).
                stream = client.events(
                    since=since,
                    filters={"type": ["container"], "event": list(WATCHED_EVENTS)},
                )
                self._events_stream = stream
                if stop.is_set():
                    stream.close()
                for line in stream.lines():
                    failures = 0
                    raw = json.loads(line)
                    since = int(raw.get("time") or since)
                    self._handle_event(raw)
            except Exception:  # noqa: BLE001 - engine gone; the poll reports it
                failures += 1
            finally:
                self._events_stream = None
                if stream is not None:
                    release_stream(stream)
                if client is not None:
                    with contextlib.suppress(Exception):
                        client.close()
            if not stop.is_set():
                stop.wait(min(2.0 ** max(failures - 1, 0), MAX_BACKOFF_S))

    def _handle_event(self, raw: Mapping[str, Any]) -> None:
        actor = raw.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        cid = str(raw.get("id") or actor.get("ID") or "")
        action = str(raw.get("Action") or raw.get("status") or "")
        name = str(attributes.get("name") or cid[:12])
        # `since` has one-second resolution: a reconnect replays that second's events.
        seen = (str(raw.get("timeNano") or raw.get("time")), cid, action)
        if seen in self._seen_events:
            return
        self._seen_events.append(seen)
        text = f"container {name}: {action}"
        if action == "die" and "exitCode" in attributes:
            text += f" (exit code {attributes['exitCode']})"
        key = (cid, action)
        now = time.monotonic()
        for_timeline = False
        if action in TIMELINE_EVENTS:
            last = self._timeline_last.get(key)
            if last is None or now - last >= TIMELINE_EVENT_EVERY_S:
                self._timeline_last[key] = now
                for_timeline = True
        event = DockerEvent(
            at=now_utc().isoformat(timespec="seconds"),
            container_id=cid,
            name=name,
            action=action,
            text=redact(text),
            for_timeline=for_timeline,
        )
        self._events.append(event)
        with self._dirty_lock:
            self._dirty.add(cid)
        callback = self.on_event
        if callback is not None:
            with contextlib.suppress(Exception):
                callback(event)

    # -- shutdown --------------------------------------------------------------------------------

    def close(self) -> None:
        self._stop_events()
        self._forget_stats()
        if self._stats_pool is not None:
            self._stats_pool.shutdown(wait=False, cancel_futures=True)
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        self._close_tunnel()


# -- helpers -------------------------------------------------------------------------------------


def _engine_sample(client: EngineClient, cid: str) -> StatsSample | None:
    """One engine stats sample (a pool thread); None if the container or the engine went."""
    try:
        return parse_stats(client.stats(cid))
    except (EngineError, OSError, ValueError):
        return None


def _health_from_status(status: str) -> str:
    match = _HEALTH_IN_STATUS.search(status)
    return match.group(1) if match else ""


def _engine_time(value: object) -> str | None:
    if not value or not isinstance(value, str) or value.startswith("0001-01-01"):
        return None
    return value


def _ports(ports: list[Mapping[str, Any]]) -> tuple[str, ...]:
    out: list[str] = []
    for p in ports:
        private = f"{p.get('PrivatePort')}/{p.get('Type', 'tcp')}"
        if p.get("PublicPort"):
            ip = p.get("IP") or ""
            prefix = "" if ip in ("", "0.0.0.0", "::") else f"{ip}:"  # noqa: S104 - display only
            out.append(f"{prefix}{p['PublicPort']}->{private}")
        else:
            out.append(private)
    return tuple(dict.fromkeys(sorted(out, key=lambda s: ("->" not in s, s))))


def _grade(containers: tuple[ContainerInfo, ...]) -> Status:
    return worst([c.status for c in containers])


def _summary(containers: tuple[ContainerInfo, ...]) -> str:
    running = sum(1 for c in containers if c.state == "running")
    problems = [c for c in containers if c.problem]
    text = f"{len(containers)} containers, {running} running"
    if problems:
        named = ", ".join(f"{c.name} {c.problem.lower()}" for c in problems[:3])
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        text += f"; {len(problems)} need attention: {named}{more}"
    return text


def iter_problems(data: DockerData) -> Iterator[ContainerInfo]:
    """The containers that need attention, worst first."""
    return (c for c in data.containers if c.problem)
