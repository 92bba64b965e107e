"""A container's CPU and memory figures, as ``docker stats`` shows them, read once per refresh.

Two ways to a sample, the cheaper first:

- **The container's cgroup files**, when the engine runs on this host and they are readable: a
  few small reads per container (~30 µs), no request, no thread. The cgroup is found from
  ``/proc/<pid>/cgroup`` of the container's main process (``State.Pid`` of its inspect), which
  names it for both the systemd and the cgroupfs drivers; the path must hold the container's id,
  so a pid of another pid namespace (a remote or nested engine) never reads someone else's.
  cgroup v2 (``memory.current``, ``memory.stat``, ``cpu.stat``, ``memory.max``) and v1 (the
  ``memory`` and ``cpuacct`` controllers) alike.
- **The Engine API**, otherwise: ``GET /containers/{id}/stats?stream=false&one-shot=true``, one
  sample at once (the caller runs them from a bounded pool).

The figures are the engine's own: memory used is usage minus the inactive page cache (what the
kernel can drop), the limit is the cgroup's, capped at the host's memory as dockerd caps it (an
unlimited container shows the host's total), and CPU % is the CPU time used between two samples
over the time between them, 100 % per core. A one-shot sample carries no previous one, so the
check keeps each container's last sample and computes CPU % on the next refresh.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

#: A v1 memory limit at or above this means "no limit" (the kernel's page-rounded LONG_MAX).
_UNLIMITED = 1 << 62


@dataclass(frozen=True, slots=True)
class StatsSample:
    #: Nanoseconds of CPU the container has used.
    cpu_total: int
    #: Nanoseconds of host CPU time: the engine's ``system_cpu_usage``, or for a cgroup read the
    #: monotonic clock × online CPUs (the same thing less the CPUs' stolen time: ``docker stats``
    #: divides by host CPU time and multiplies by the CPUs, i.e. CPU time over wall time).
    system_total: int
    online_cpus: int
    mem_bytes: int | None
    mem_limit_bytes: int | None


def parse_stats(raw: Mapping[str, Any]) -> StatsSample | None:
    """One Engine stats document to a sample (None for the empty one of a stopped container)."""
    cpu = raw.get("cpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    system = cpu.get("system_cpu_usage")
    if not system:
        return None
    online = cpu.get("online_cpus") or len(usage.get("percpu_usage") or ()) or 1
    mem = raw.get("memory_stats") or {}
    used = mem.get("usage")
    if used is not None:
        # As `docker stats` does: page cache the kernel can drop is not "used".
        extra = mem.get("stats") or {}
        cache = extra.get("total_inactive_file", extra.get("inactive_file", 0)) or 0
        used = max(int(used) - int(cache), 0)
    limit = mem.get("limit")
    return StatsSample(
        cpu_total=int(usage.get("total_usage") or 0),
        system_total=int(system),
        online_cpus=int(online),
        mem_bytes=used,
        mem_limit_bytes=int(limit) if limit else None,
    )


def cpu_percent(previous: StatsSample, current: StatsSample) -> float | None:
    """CPU % between two samples, 100 % per core (as `docker stats` shows it)."""
    system_delta = current.system_total - previous.system_total
    cpu_delta = current.cpu_total - previous.cpu_total
    if system_delta <= 0 or cpu_delta < 0:
        return None
    return cpu_delta / system_delta * current.online_cpus * 100.0


# -- cgroup files --------------------------------------------------------------------------------


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _stat_value(text: bytes, key: bytes) -> int:
    """``key value`` from a flat-keyed cgroup file (memory.stat, cpu.stat); 0 if absent."""
    prefix = key + b" "
    if text.startswith(prefix):
        at = 0
    else:
        at = text.find(b"\n" + prefix)
        if at < 0:
            return 0
        at += 1
    end = text.find(b"\n", at)
    return int(text[at + len(prefix) : end if end >= 0 else None])


@cache
def _mounts() -> tuple[str | None, dict[str, tuple[str, str]]]:
    """(the cgroup2 mount point, {v1 controller: (mount point, mount root)}) of this host."""
    unified: str | None = None
    v1: dict[str, tuple[str, str]] = {}
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            head, _, tail = line.partition(" - ")
            fields, extra = head.split(), tail.split()
            if len(fields) < 5 or len(extra) < 3:
                continue
            root, point = fields[3], fields[4]
            if extra[0] == "cgroup2" and unified is None:
                unified = point
            elif extra[0] == "cgroup":
                for option in extra[2].split(","):
                    if option in ("memory", "cpuacct"):
                        v1.setdefault(option, (point, root))
    return unified, v1


@cache
def _host_memory() -> int:
    """MemTotal, which dockerd reports as the limit of a container without one."""
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def online_cpus() -> int:
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return max(int(os.sysconf("SC_NPROCESSORS_ONLN")), 1)
    return os.cpu_count() or 1


def _under(point: str, root: str, path: str) -> str:
    if root not in ("", "/") and path.startswith(root):
        path = path[len(root) :]
    return point + path


#: Descriptors kept open across refreshes, three per container (``pread`` at offset 0 re-reads a
#: cgroup file for half the cost of open+read+close): at most half the soft descriptor limit,
#: less a reserve; the containers past it open their files at each read instead.
_FD_BUDGET = max(resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2 - 64, 0)
_fds_kept = 0
_fds_lock = threading.Lock()

#: The memory limit is re-read this often (``docker update --memory`` shows within it); usage and
#: CPU time are read every sample.
LIMIT_MAX_AGE_S = 15.0
#: ``memory.stat`` (the inactive page cache to subtract) is re-read whenever usage or CPU time
#: moved, and at least this often: it is the one costly file (the kernel sums ~40 counters,
#: ~7 µs against ~1 µs for the others), and an idle container's does not move but when the
#: kernel reclaims, which shows within this.
STAT_MAX_AGE_S = 10.0


class CgroupFiles:
    """The files one container's figures come from (found once per container process). Its
    owner calls :meth:`close` when it forgets it: some descriptors may be kept open."""

    __slots__ = (
        "_fds",
        "_inactive",
        "_last",
        "_limit",
        "_limit_read_at",
        "_stat_read_at",
        "cpu",
        "cpu_in_stat",
        "inactive_key",
        "limit",
        "pid",
        "stat",
        "usage",
    )

    def __init__(
        self,
        pid: int,
        usage: str,
        stat: str,
        inactive_key: bytes,
        cpu: str,
        cpu_in_stat: bool,
        limit: str,
    ) -> None:
        self.pid = pid
        self.usage = usage
        self.stat = stat
        #: The cgroup v2 ``memory.stat`` key of the inactive page cache, or v1's.
        self.inactive_key = inactive_key
        self.cpu = cpu
        #: v2: cpu.stat's usage_usec (µs); v1: cpuacct.usage (ns).
        self.cpu_in_stat = cpu_in_stat
        self.limit = limit
        self._limit: int | None = None
        self._limit_read_at = 0.0
        #: usage, stat and cpu opened once (within the budget), or None: open at each read.
        self._fds: tuple[int, int, int] | None = None
        #: The last (usage, cpu) read, the inactive page cache then and when it was read.
        self._last: tuple[bytes, bytes] | None = None
        self._inactive = 0
        self._stat_read_at = 0.0

    def _fd(self, index: int) -> int | None:
        """The kept descriptor of usage (0), stat (1) or cpu (2); None past the budget."""
        global _fds_kept
        fds = self._fds
        if fds is None:
            with _fds_lock:
                keep = _fds_kept + 3 <= _FD_BUDGET
                if keep:
                    _fds_kept += 3
            if not keep:
                return None
            opened: list[int] = []
            try:
                for path in (self.usage, self.stat, self.cpu):
                    opened.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            except OSError:
                for fd in opened:
                    os.close(fd)
                with _fds_lock:
                    _fds_kept -= 3
                raise
            fds = self._fds = (opened[0], opened[1], opened[2])
        return fds[index]

    def _read_file(self, index: int, path: str) -> bytes:
        fd = self._fd(index)
        return _read(path) if fd is None else os.pread(fd, 65536, 0)

    def close(self) -> None:
        """Close the files kept open (the container stopped, or the check closes)."""
        global _fds_kept
        fds, self._fds = self._fds, None
        if fds is not None:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            with _fds_lock:
                _fds_kept -= 3

    def __repr__(self) -> str:
        return f"CgroupFiles(pid={self.pid}, usage={self.usage!r}, cpu={self.cpu!r})"

    def sample(self, cpus: int | None = None) -> StatsSample:
        """Read the files now (OSError if the container has gone meanwhile); ``cpus``: the
        online CPUs, if the caller has just counted them for several samples."""
        raw_usage = self._read_file(0, self.usage)
        raw_cpu = self._read_file(2, self.cpu)
        now = time.monotonic()
        moved = self._last != (raw_usage, raw_cpu)
        if moved or now - self._stat_read_at >= STAT_MAX_AGE_S:
            self._inactive = _stat_value(self._read_file(1, self.stat), self.inactive_key)
            self._stat_read_at = now
            self._last = (raw_usage, raw_cpu)
        usage = int(raw_usage)
        cpu = _stat_value(raw_cpu, b"usage_usec") * 1000 if self.cpu_in_stat else int(raw_cpu)
        if self._limit_read_at == 0.0 or now - self._limit_read_at >= LIMIT_MAX_AGE_S:
            raw_limit = _read(self.limit).strip()
            limit = _UNLIMITED if raw_limit == b"max" else int(raw_limit)
            host = _host_memory()
            self._limit = limit if limit < _UNLIMITED and not (host and limit > host) else host
            self._limit_read_at = now
        cpus = cpus or online_cpus()
        return StatsSample(
            cpu_total=cpu,
            system_total=time.monotonic_ns() * cpus,
            online_cpus=cpus,
            mem_bytes=max(usage - self._inactive, 0),
            mem_limit_bytes=self._limit or None,
        )


def locate_cgroup(pid: int, container_id: str) -> CgroupFiles | None:
    """The cgroup files of the container whose main process is ``pid`` on this host, or None
    (not on this host, another pid namespace, files unreadable: the caller asks the engine)."""
    if pid <= 0 or not container_id:
        return None
    try:
        lines = _read(f"/proc/{pid}/cgroup").decode(errors="replace").splitlines()
    except OSError:
        return None
    paths: dict[str, str] = {}
    for line in lines:
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if container_id not in path:
            continue
        for controller in controllers.split(",") if controllers else ("",):
            paths.setdefault(controller, path)
    unified, v1 = _mounts()
    candidates: list[CgroupFiles] = []
    if unified is not None and "" in paths:
        base = _under(unified, "/", paths[""])
        candidates.append(
            CgroupFiles(
                pid,
                f"{base}/memory.current",
                f"{base}/memory.stat",
                b"inactive_file",
                f"{base}/cpu.stat",
                True,
                f"{base}/memory.max",
            )
        )
    if "memory" in paths and "cpuacct" in paths and "memory" in v1 and "cpuacct" in v1:
        memory = _under(*v1["memory"], paths["memory"])
        cpuacct = _under(*v1["cpuacct"], paths["cpuacct"])
        candidates.append(
            CgroupFiles(
                pid,
                f"{memory}/memory.usage_in_bytes",
                f"{memory}/memory.stat",
                b"total_inactive_file",
                f"{cpuacct}/cpuacct.usage",
                False,
                f"{memory}/memory.limit_in_bytes",
            )
        )
    for files in candidates:
        try:
            files.sample()
        except (OSError, ValueError):
            files.close()
            continue  # e.g. the v2 hierarchy of a hybrid host, without the memory controller
        return files
    return None
