"""Top processes for the host check, each with the container it runs in (from its cgroup).

The scan visits every process each poll, so it is the host check's main cost. On Linux it reads
one file per process, ``/proc/PID/stat`` (name, CPU ticks, start time and resident pages are all
in it), with ``os.read`` on a raw descriptor: about 5 µs a process against psutil's ~30 µs for
the same fields (``oneshot`` still reads ``stat`` and ``statm`` through its wrappers, and
``name()`` re-reads the command line of every process whose name fills the kernel's 15 bytes).
psutil stays for everything else: the few processes that make the top lists get their user,
command line and cgroup from it once per process lifetime, and systems without ``/proc`` are
scanned through ``psutil.process_iter``. CPU % is the delta of CPU time between two scans over
the wall time between them, 100 % per core, as psutil's ``cpu_percent`` computes it.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psutil

from zconsole.checks.secrets import redact

#: Container id -> container name, or None when unknown. Must be cheap and must not raise.
ContainerResolver = Callable[[str], "str | None"]

# docker (cgroupfs: /docker/<id>; systemd: docker-<id>.scope), containerd, CRI-O, podman.
_CGROUP_ID = re.compile(r"(?:docker|cri-containerd|crio|libpod)[-/]([0-9a-f]{64})(?:\.scope)?\b")
_CGROUP_TAIL_ID = re.compile(r"/([0-9a-f]{64})(?:\.scope)?$")

#: The kernel keeps this many bytes of a process name (TASK_COMM_LEN - 1) in ``stat``.
_COMM_LEN = 15


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
    #: The name as the kernel had it when these were read (an exec or prctl changes it).
    comm: str
    #: psutil's name: the command's base name when the kernel's 15 bytes are a prefix of it.
    name: str


#: One scanned process: pid, name as the kernel keeps it, start (ticks after boot), CPU seconds,
#: resident bytes.
_Stat = tuple[int, str, int, float, int]


#: Most /proc/PID/stat descriptors kept open between scans; past it, a file is opened and
#: closed per scan as before.
STAT_FD_BUDGET = 512


class ProcessSampler:
    """Scans every process each poll; returns the top by CPU and by memory."""

    def __init__(self, top_n: int = 8, container_name: ContainerResolver | None = None) -> None:
        self.top_n = top_n
        self.container_name = container_name
        #: pid -> (start ticks, CPU seconds) of the previous scan; a recycled pid starts anew.
        self._cpu: dict[int, tuple[int, float]] = {}
        self._scanned_at = 0.0
        self._details: dict[tuple[int, float], _Details] = {}
        self._total_memory = psutil.virtual_memory().total
        self._boot_time = psutil.boot_time()
        self._ticks = _clock_ticks()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._scan: Callable[[], Iterator[_Stat]] = (
            self._scan_proc if os.path.exists("/proc/self/stat") else self._scan_psutil
        )
        self.count = 0
        #: /proc/PID/stat descriptors kept open between scans, by PID (see _read_stat).
        self._stat_fds: dict[str, int] = {}

    def prime(self) -> None:
        """Take the first CPU sample of every process, so the next :meth:`sample` has rates."""
        self._cpu = {pid: (start, cpu) for pid, _, start, cpu, _ in self._scan()}
        self._scanned_at = time.monotonic()

    def sample(self) -> tuple[ProcessInfo, ...]:
        """Top ``top_n`` by CPU plus top ``top_n`` by RSS (then the next by CPU, up to
        ``2 * top_n`` processes), most CPU first."""
        previous, elapsed = self._cpu, time.monotonic() - self._scanned_at
        rows = list(self._scan())
        self._scanned_at = time.monotonic()
        self._cpu = {pid: (start, cpu) for pid, _, start, cpu, _ in rows}
        self.count = len(rows)

        def percent(row: _Stat) -> float:
            before = previous.get(row[0])
            if before is None or before[0] != row[2] or elapsed <= 0:
                return 0.0  # new since the last scan, as psutil's first cpu_percent() says
            return max(0.0, (row[3] - before[1]) / elapsed * 100.0)

        by_cpu = sorted(
            ((percent(r), r) for r in rows), key=lambda x: (x[0], x[1][4]), reverse=True
        )
        by_rss = sorted(rows, key=lambda r: r[4], reverse=True)[: self.top_n]
        chosen: dict[int, tuple[float, _Stat]] = {}
        for cpu, row in by_cpu[: self.top_n]:
            chosen.setdefault(row[0], (cpu, row))
        for row in by_rss:
            chosen.setdefault(row[0], (percent(row), row))
        # Where the two lists overlap, the next by CPU fill in: the list keeps one length from
        # poll to poll, so the pane changes cells instead of rebuilding its table.
        for cpu, row in by_cpu[self.top_n :]:
            if len(chosen) >= 2 * self.top_n:
                break
            chosen.setdefault(row[0], (cpu, row))
        live_keys: set[tuple[int, float]] = set()
        out: list[ProcessInfo] = []
        for cpu, (pid, comm, start, _, rss) in chosen.values():
            created = start / self._ticks + self._boot_time
            key = (pid, created)
            live_keys.add(key)
            details = self._details.get(key)
            if details is None:
                details = _read_details(pid, comm)
                self._details[key] = details
            cid = details.container_id
            container = (self._resolve(cid) or cid[:12]) if cid else None
            out.append(
                ProcessInfo(
                    pid=pid,
                    name=details.name if details.comm == comm else comm,
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

    def _scan_proc(self) -> Iterator[_Stat]:
        ticks, page = float(self._ticks), self._page
        kept, alive = self._stat_fds, set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            raw = self._read_stat(entry, kept)
            if raw is None:
                continue  # gone since the listing
            alive.add(entry)
            # "pid (comm) state ...": comm may hold spaces and parentheses, so split at the last.
            close = raw.rfind(b")")
            fields = raw[close + 2 :].split()
            if len(fields) < 22:
                continue
            yield (
                int(entry),
                raw[raw.find(b"(") + 1 : close].decode(errors="replace"),
                int(fields[19]),
                (int(fields[11]) + int(fields[12])) / ticks,
                int(fields[21]) * page,
            )
        for entry in [e for e in kept if e not in alive]:
            with contextlib.suppress(OSError):
                os.close(kept.pop(entry))

    def _read_stat(self, entry: str, kept: dict[str, int]) -> bytes | None:
        """/proc/PID/stat through a descriptor kept open between scans (the kernel writes the
        file anew on every read from offset 0), so a scan costs one pread per process instead
        of open, read and close: about a third less CPU per scan. A kept descriptor of a
        process that has exited fails (ESRCH) even when its PID is reused: it is dropped and
        the new process's file opened. At most STAT_FD_BUDGET are kept, far below the 1024
        that select()-based code (in libraries, not ours) can cope with."""
        fd = kept.get(entry)
        if fd is not None:
            try:
                raw = os.pread(fd, 4096, 0)
                if raw:
                    return raw
            except OSError:
                pass
            with contextlib.suppress(OSError):
                os.close(fd)
            del kept[entry]
        try:
            fd = os.open(f"/proc/{entry}/stat", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            raw = os.pread(fd, 4096, 0)
        except OSError:
            raw = b""
        if raw and len(kept) < STAT_FD_BUDGET:
            kept[entry] = fd
        else:
            os.close(fd)
        return raw or None

    def close(self) -> None:
        """Close the kept /proc descriptors (the check is closing)."""
        for fd in self._stat_fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._stat_fds.clear()

    def _scan_psutil(self) -> Iterator[_Stat]:
        for proc in psutil.process_iter(["name", "cpu_times", "memory_info", "create_time"]):
            info = proc.info
            times, memory = info.get("cpu_times"), info.get("memory_info")
            if times is None or memory is None:
                continue
            start = round(((info.get("create_time") or 0.0) - self._boot_time) * self._ticks)
            yield (proc.pid, info.get("name") or "", start, times.user + times.system, memory.rss)

    def _resolve(self, cid: str) -> str | None:
        if self.container_name is None:
            return None
        try:
            return self.container_name(cid)
        except Exception:  # noqa: BLE001 - a name is a nicety; the id is still shown
            return None


def _clock_ticks() -> int:
    with contextlib.suppress(AttributeError, ValueError, OSError):
        return int(os.sysconf("SC_CLK_TCK"))
    return 100


def _read_details(pid: int, comm: str) -> _Details:
    username = cmdline = ""
    name = comm
    with contextlib.suppress(psutil.Error, OSError):
        proc = psutil.Process(pid)
        with contextlib.suppress(psutil.Error, OSError, KeyError):
            username = proc.username()
        with contextlib.suppress(psutil.Error, OSError):
            argv = proc.cmdline()
            if len(comm) >= _COMM_LEN and argv:
                extended = os.path.basename(argv[0])
                if extended.startswith(comm):
                    name = extended
            # Command lines carry DSNs and tokens (`psql postgres://u:pw@…`): redacted at the
            # source, since they travel on into snapshot JSON, evidence bundles and action
            # previews.
            cmdline = redact(" ".join(argv)[:500])
    return _Details(username, cmdline, container_id_of_pid(pid), comm, name)
