"""Top processes for the host check, each with the container it runs in (from its cgroup).

Per-poll cost is kept low: one ``/proc/PID/stat`` and ``statm`` read per process (psutil
``oneshot``), the Process objects are kept between polls (``cpu_percent`` is a delta against the
previous sample), and the expensive fields (user, command line, cgroup) are read only for the
few processes that make the top lists, once per process lifetime.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from zconsole.checks.secrets import redact

#: Container id -> container name, or None when unknown. Must be cheap and must not raise.
ContainerResolver = Callable[[str], "str | None"]

# docker (cgroupfs: /docker/<id>; systemd: docker-<id>.scope), containerd, CRI-O, podman.
_CGROUP_ID = re.compile(r"(?:docker|cri-containerd|crio|libpod)[-/]([0-9a-f]{64})(?:\.scope)?\b")
_CGROUP_TAIL_ID = re.compile(r"/([0-9a-f]{64})(?:\.scope)?$")


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int
    name: str
    cpu_percent: float
    rss_bytes: int
    #: Container name when resolved, else the 12-char container id; None outside containers.
    container: str | None = None
    container_id: str | None = None
    memory_percent: float = 0.0
    username: str = ""
    cmdline: str = ""
    #: psutil create_time, so a signal is never sent to a recycled pid.
    create_time: float = 0.0


def container_id_of_cgroup(text: str) -> str | None:
    """The container id in the text of /proc/PID/cgroup, if the process runs in a container."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        match = _CGROUP_ID.search(path) or _CGROUP_TAIL_ID.search(path)
        if match:
            return match.group(1)
    return None


def container_id_of_pid(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cgroup", encoding="ascii", errors="replace") as fh:
            return container_id_of_cgroup(fh.read())
    except OSError:
        return None


@dataclass(slots=True)
class _Details:
    username: str
    cmdline: str
    container_id: str | None


class ProcessSampler:
    """Keeps psutil Process objects between polls; returns the top by CPU and by memory."""

    def __init__(self, top_n: int = 8, container_name: ContainerResolver | None = None) -> None:
        self.top_n = top_n
        self.container_name = container_name
        self._procs: dict[int, psutil.Process] = {}
        self._details: dict[tuple[int, float], _Details] = {}
        self._total_memory = psutil.virtual_memory().total
        self.count = 0

    @property
    def primed(self) -> bool:
        return bool(self._procs)

    def prime(self) -> None:
        """Take the first CPU sample of every process, so the next :meth:`sample` has rates."""
        alive: dict[int, psutil.Process] = {}
        for pid in psutil.pids():
            try:
                proc = psutil.Process(pid)
                proc.cpu_percent(None)
            except (psutil.Error, OSError):
                continue
            alive[pid] = proc
        self._procs = alive

    def sample(self) -> tuple[ProcessInfo, ...]:
        """Top ``top_n`` by CPU plus top ``top_n`` by RSS, most CPU first."""
        rows: list[tuple[psutil.Process, str, float, int]] = []
        alive: dict[int, psutil.Process] = {}
        for pid in psutil.pids():
            proc = self._procs.get(pid)
            try:
                if proc is None:
                    proc = psutil.Process(pid)
                with proc.oneshot():
                    cpu = proc.cpu_percent(None)
                    rss = proc.memory_info().rss
                    name = proc.name()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            except OSError:
                continue
            alive[pid] = proc
            rows.append((proc, name, cpu, rss))
        self._procs = alive
        self.count = len(rows)
        by_cpu = sorted(rows, key=lambda r: r[2], reverse=True)[: self.top_n]
        by_rss = sorted(rows, key=lambda r: r[3], reverse=True)[: self.top_n]
        chosen: dict[int, tuple[psutil.Process, str, float, int]] = {}
        for row in (*by_cpu, *by_rss):
            chosen.setdefault(row[0].pid, row)
        live_keys: set[tuple[int, float]] = set()
        out: list[ProcessInfo] = []
        for proc, name, cpu, rss in chosen.values():
            created = _create_time(proc)
            key = (proc.pid, created)
            live_keys.add(key)
            details = self._details.get(key)
            if details is None:
                details = _read_details(proc)
                self._details[key] = details
            cid = details.container_id
            container = (self._resolve(cid) or cid[:12]) if cid else None
            out.append(
                ProcessInfo(
                    pid=proc.pid,
                    name=name,
                    cpu_percent=round(cpu, 1),
                    rss_bytes=rss,
                    container=container,
                    container_id=cid,
                    memory_percent=round(100.0 * rss / self._total_memory, 1)
                    if self._total_memory
                    else 0.0,
                    username=details.username,
                    cmdline=details.cmdline,
                    create_time=created,
                )
            )
        # Details of processes that left the top lists are forgotten (bounded cache).
        self._details = {k: v for k, v in self._details.items() if k in live_keys}
        out.sort(key=lambda p: (p.cpu_percent, p.rss_bytes), reverse=True)
        return tuple(out)

    def _resolve(self, cid: str) -> str | None:
        if self.container_name is None:
            return None
        try:
            return self.container_name(cid)
        except Exception:  # noqa: BLE001 - a name is a nicety; the id is still shown
            return None


def _create_time(proc: psutil.Process) -> float:
    try:
        return proc.create_time()
    except (psutil.Error, OSError):
        return 0.0


def _read_details(proc: psutil.Process) -> _Details:
    username = cmdline = ""
    with contextlib.suppress(psutil.Error, OSError, KeyError):
        username = proc.username()
    with contextlib.suppress(psutil.Error, OSError):
        # Command lines carry DSNs and tokens (`psql postgres://u:pw@…`): redacted at the source,
        # since they travel on into snapshot JSON, evidence bundles and action previews.
        cmdline = redact(" ".join(proc.cmdline())[:500])
    return _Details(username, cmdline, container_id_of_pid(proc.pid))
