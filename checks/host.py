"""Host check (psutil and /proc): CPU, load, memory, pressure, OOM kills, disks, top processes.

What an outage needs from the machine itself: the numbers of ``top``/``free``/``df`` plus what
they do not say — pressure stall information, OOM kills since the console started, how fast each
disk fills and when it will be full, which container a hungry process belongs to, and which
mount has stopped answering. The check keeps a bounded 10-minute history for sparklines.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psutil

from zconsole.checks.base import Check, Status, grade, worst
from zconsole.checks.host_mounts import (
    Growth,
    Hanging,
    MountEntry,
    StatPool,
    Statvfs,
    filling_candidates,
    read_mounts,
    real_mounts,
)
from zconsole.checks.host_procs import ContainerResolver, ProcessInfo, ProcessSampler
from zconsole.checks.host_settings import HostSettings

__all__ = [
    "Disk",
    "DiskIO",
    "HostCheck",
    "HostData",
    "HostHistory",
    "HostSettings",
    "Memory",
    "Pressure",
    "ProcessInfo",
    "Swap",
]


#: A growing disk that will be full sooner than this is WARN / CRIT whatever its percent.
FULL_ETA_WARN_S = 6 * 3600.0
FULL_ETA_CRIT_S = 3600.0


@dataclass(frozen=True, slots=True)
class Memory:
    total: int
    used: int
    available: int
    percent: float
    cached: int = 0


@dataclass(frozen=True, slots=True)
class Swap:
    total: int
    used: int
    percent: float


@dataclass(frozen=True, slots=True)
class Pressure:
    """PSI ``avg10`` (percent of the last 10 s some/all tasks stalled); None where absent."""

    cpu_some: float | None
    cpu_full: float | None
    memory_some: float | None
    memory_full: float | None
    io_some: float | None
    io_full: float | None


@dataclass(frozen=True, slots=True)
class DiskIO:
    read_bps: float
    write_bps: float
    read_iops: float = 0.0
    write_iops: float = 0.0


@dataclass(frozen=True, slots=True)
class Disk:
    mount: str
    device: str
    fstype: str
    total: int
    used: int
    percent: float
    inodes_percent: float | None = None
    #: Seconds until full at the rate of the rolling window; None when not growing.
    full_eta_s: float | None = None
    status: Status = Status.OK
    #: Bytes per second over the rolling window (negative when shrinking), None until known.
    growth_bps: float | None = None
    #: statvfs has not answered within the mount timeout (a dead network filesystem).
    hanging: bool = False
    hanging_s: float | None = None
    error: str | None = None
    io: DiskIO | None = None


@dataclass(frozen=True, slots=True)
class HostHistory:
    """The last 10 minutes, one value per poll, oldest first (for sparklines)."""

    cpu: tuple[float, ...] = ()
    memory: tuple[float, ...] = ()
    disks: dict[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HostData:
    cpu_percent: float
    load: tuple[float, float, float]
    cores: int
    memory: Memory
    swap: Swap
    disks: tuple[Disk, ...]
    uptime_s: float
    per_core: tuple[float, ...] = field(default_factory=tuple)
    pressure: Pressure | None = None
    #: OOM kills since boot (/proc/vmstat oom_kill) and since the console started.
    oom_kills: int | None = None
    oom_kills_new: int = 0
    io: DiskIO | None = None
    top_processes: tuple[ProcessInfo, ...] = ()
    process_count: int = 0
    history: HostHistory = field(default_factory=HostHistory)


# -- /proc readers --------------------------------------------------------------------------------


def read_pressure(root: str = "/proc/pressure") -> Pressure | None:
    """PSI avg10 values, or None when the kernel has no PSI (old kernel, psi=0)."""
    values: dict[str, float | None] = {}
    found = False
    for resource in ("cpu", "memory", "io"):
        values[f"{resource}_some"] = values[f"{resource}_full"] = None
        try:
            with open(os.path.join(root, resource), encoding="ascii") as fh:
                text = fh.read()
        except OSError:
            continue
        found = True
        for line in text.splitlines():
            kind, _, rest = line.partition(" ")
            if kind not in ("some", "full"):
                continue
            for item in rest.split():
                key, _, value = item.partition("=")
                if key == "avg10":
                    with contextlib.suppress(ValueError):
                        values[f"{resource}_{kind}"] = float(value)
    if not found:
        return None
    return Pressure(**values)


def read_oom_kills(path: str = "/proc/vmstat") -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


_CPU_BUSY_EXCLUDED = ("idle", "iowait")


def _busy_percent(before: object, after: object) -> float:
    fields = getattr(after, "_fields", ())
    total = sum(
        getattr(after, f) - getattr(before, f) for f in fields if f not in ("guest", "guest_nice")
    )
    idle = sum(getattr(after, f, 0.0) - getattr(before, f, 0.0) for f in _CPU_BUSY_EXCLUDED)
    if total <= 0:
        return 0.0
    return float(max(0.0, min(100.0, 100.0 * (total - idle) / total)))


def _usage(st: os.statvfs_result) -> tuple[int, int, float, float | None]:
    """(total, used, percent, inodes_percent) the way df computes them."""
    total = st.f_blocks * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    denominator = used + avail
    percent = round(100.0 * used / denominator, 1) if denominator else 0.0
    inodes = None
    if st.f_files:
        inodes = round(100.0 * (st.f_files - st.f_ffree) / st.f_files, 1)
    return total, used, percent, inodes


# -- the check ------------------------------------------------------------------------------------


class HostCheck(Check[HostData]):
    """CPU, load, memory, pressure, OOM kills, disks and top processes of this machine."""

    name = "host"

    def __init__(
        self,
        settings: HostSettings | None = None,
        *,
        interval: float = 2.0,
        timeout: float = 5.0,
        history_s: float = 600.0,
        container_name: ContainerResolver | None = None,
        docker_url: str = "",
        statvfs: Statvfs = os.statvfs,
        mounts: Callable[[], list[MountEntry]] = read_mounts,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(interval=interval, timeout=timeout)
        self.settings = settings or HostSettings()
        self.history_s = history_s
        #: The local engine the host mitigations (Docker prune) talk to; "" for none.
        self.docker_url = docker_url
        self.processes = ProcessSampler(
            top_n=self.settings.top_processes, container_name=container_name
        )
        self._mounts = mounts
        self._clock = clock
        self._pool = StatPool(statvfs)
        self._growth: dict[str, Growth] = {}
        self._last_usage: dict[str, tuple[int, int, float, float | None]] = {}
        samples = max(2, int(history_s / max(interval, 0.1)) + 1)
        self._cpu_hist: deque[tuple[float, float]] = deque(maxlen=samples)
        self._mem_hist: deque[tuple[float, float]] = deque(maxlen=samples)
        self._disk_hist: dict[str, deque[tuple[float, float]]] = {}
        self._oom_at_start = read_oom_kills()
        self._last_cpu = psutil.cpu_times(percpu=True)
        self._last_io: tuple[float, dict[str, Any]] | None = None
        self._io_sample()
        # Per-process CPU is a delta too: without a first sample a one-shot `snapshot` would
        # show every process at 0 %. Taken here (a scan is ~5 µs a process), so that the
        # console's start-up, not a wait in the first poll, covers the 0.1 s between samples.
        self.processes.prime()
        self._primed_at = time.monotonic()

    # -- probe --------------------------------------------------------------------------------

    def probe(self) -> tuple[Status, str, HostData]:
        t = self.settings
        waited = time.monotonic() - self._primed_at
        if waited < 0.1:
            time.sleep(0.1 - waited)
        now = self._clock()
        cpu_now = psutil.cpu_times(percpu=True)
        per_core = tuple(
            round(_busy_percent(a, b), 1) for a, b in zip(self._last_cpu, cpu_now, strict=False)
        )
        self._last_cpu = cpu_now
        cpu = round(sum(per_core) / len(per_core), 1) if per_core else 0.0
        cores = psutil.cpu_count() or 1
        load = os.getloadavg()
        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
        memory = Memory(
            total=vm.total,
            used=vm.total - vm.available,
            available=vm.available,
            percent=vm.percent,
            cached=getattr(vm, "cached", 0),
        )
        swap = Swap(total=sw.total, used=sw.used, percent=sw.percent)
        io_total, io_per_device = self._io_rates()
        disks = tuple(self._disks(now, io_per_device))
        oom = read_oom_kills()
        oom_new = (
            max(0, oom - self._oom_at_start)
            if oom is not None and self._oom_at_start is not None
            else 0
        )
        top = self.processes.sample()
        self._remember(now, cpu, vm.percent, disks)
        data = HostData(
            cpu_percent=cpu,
            load=(round(load[0], 2), round(load[1], 2), round(load[2], 2)),
            cores=cores,
            memory=memory,
            swap=swap,
            disks=disks,
            uptime_s=time.time() - psutil.boot_time(),
            per_core=per_core,
            pressure=read_pressure(),
            oom_kills=oom,
            oom_kills_new=oom_new,
            io=io_total,
            top_processes=top,
            process_count=self.processes.count,
            history=self._history(),
        )
        statuses = {
            "cpu": grade(cpu, t.cpu_warn, t.cpu_crit),
            "memory": grade(vm.percent, t.memory_warn, t.memory_crit),
            "swap": grade(sw.percent, t.swap_warn, t.swap_crit) if sw.total else Status.OK,
            "load": grade(load[0] / cores, t.load_warn_per_core, t.load_crit_per_core),
            "oom": Status.WARN if oom_new else Status.OK,
        }
        status = worst([*statuses.values(), *(d.status for d in disks)])
        fullest = max((d for d in disks if not d.hanging), key=lambda d: d.percent, default=None)
        summary = f"cpu {cpu:.0f}% · mem {vm.percent:.0f}% · load {load[0]:.2f}/{cores}"
        if fullest is not None:
            summary += f" · {fullest.mount} {fullest.percent:.0f}%"
        if oom_new:
            summary += f" · {oom_new} new OOM kill{'s' if oom_new > 1 else ''}"
        bad = [k for k, v in statuses.items() if v.rank >= Status.WARN.rank]
        for d in disks:
            if d.hanging:
                bad.append(f"{d.mount} hanging")
            elif d.status.rank >= Status.WARN.rank:
                bad.append(d.mount)
        if bad:
            summary = f"{status.value.upper()}: {', '.join(bad)} — {summary}"
        return status, summary, data

    # -- disks --------------------------------------------------------------------------------

    def _disks(self, now: float, io: dict[str, DiskIO]) -> list[Disk]:
        t = self.settings
        excluded = set(self.settings.exclude_mounts)
        mounted = [e for e in self._mounts() if e.mount not in excluded]
        entries = real_mounts(
            mounted,
            include_tmpfs=self.settings.include_tmpfs,
            include=tuple(self.settings.include_mounts),
            exclude=tuple(self.settings.exclude_mounts),
        )
        filling = filling_candidates(mounted, entries)
        stats = self._pool.stat_all(
            (e.mount for e in (*entries, *filling)), self.settings.mount_timeout
        )
        out: list[Disk] = []
        mono = time.monotonic()
        for entry in filling:
            result = stats[entry.mount]
            if isinstance(result, os.statvfs_result):
                percent, inodes = _usage(result)[2:]
                if max(percent, inodes or 0.0) >= t.disk_warn:
                    entries.append(entry)
        entries.sort(key=lambda e: e.mount)
        for entry in entries:
            result = stats[entry.mount]
            device_io = io.get(os.path.basename(_real_device(entry.device)))
            if isinstance(result, Hanging):
                total, used, percent, inodes = self._last_usage.get(entry.mount, (0, 0, 0.0, None))
                out.append(
                    Disk(
                        mount=entry.mount,
                        device=entry.device,
                        fstype=entry.fstype,
                        total=total,
                        used=used,
                        percent=percent,
                        inodes_percent=inodes,
                        status=Status.CRIT,
                        hanging=True,
                        hanging_s=round(mono - result.since, 1),
                        io=device_io,
                    )
                )
                continue
            if isinstance(result, OSError):
                out.append(
                    Disk(
                        mount=entry.mount,
                        device=entry.device,
                        fstype=entry.fstype,
                        total=0,
                        used=0,
                        percent=0.0,
                        status=Status.UNKNOWN,
                        error=f"{type(result).__name__}: {result.strerror or result}",
                    )
                )
                continue
            total, used, percent, inodes = _usage(result)
            self._last_usage[entry.mount] = (total, used, percent, inodes)
            growth = self._growth.get(entry.mount)
            if growth is None:
                growth = self._growth[entry.mount] = Growth(self.settings.growth_window_s)
            growth.add(now, used)
            rate = growth.rate()
            eta = growth.full_eta(result.f_bavail * result.f_frsize)
            status = worst(
                [
                    grade(percent, t.disk_warn, t.disk_crit),
                    grade(inodes or 0.0, t.disk_warn, t.disk_crit),
                    _eta_grade(eta),
                ]
            )
            out.append(
                Disk(
                    mount=entry.mount,
                    device=entry.device,
                    fstype=entry.fstype,
                    total=total,
                    used=used,
                    percent=percent,
                    inodes_percent=inodes,
                    full_eta_s=None if eta is None else round(eta, 1),
                    status=status,
                    growth_bps=None if rate is None else round(rate, 1),
                    io=device_io,
                )
            )
        gone = set(self._growth) - {e.mount for e in entries}
        for mount in gone:
            self._growth.pop(mount, None)
            self._last_usage.pop(mount, None)
            self._disk_hist.pop(mount, None)
        return out

    # -- I/O rates ----------------------------------------------------------------------------

    def _io_sample(self) -> dict[str, Any]:
        try:
            counters = psutil.disk_io_counters(perdisk=True, nowrap=True) or {}
        except (OSError, RuntimeError):
            counters = {}
        sample: dict[str, Any] = dict(counters)
        previous = self._last_io
        self._last_io = (time.monotonic(), sample)
        return previous[1] if previous else {}

    def _io_rates(self) -> tuple[DiskIO | None, dict[str, DiskIO]]:
        before_at = self._last_io[0] if self._last_io else time.monotonic()
        before = self._io_sample()
        assert self._last_io is not None
        after_at, after = self._last_io
        dt = after_at - before_at
        if dt <= 0 or not before:
            return None, {}
        per: dict[str, DiskIO] = {}
        for name, now in after.items():
            prev = before.get(name)
            if prev is None:
                continue
            per[name] = DiskIO(
                read_bps=round((now.read_bytes - prev.read_bytes) / dt, 1),
                write_bps=round((now.write_bytes - prev.write_bytes) / dt, 1),
                read_iops=round((now.read_count - prev.read_count) / dt, 1),
                write_iops=round((now.write_count - prev.write_count) / dt, 1),
            )
        whole = [v for k, v in per.items() if os.path.exists(f"/sys/block/{k}")] or list(
            per.values()
        )
        total = DiskIO(
            read_bps=round(sum(d.read_bps for d in whole), 1),
            write_bps=round(sum(d.write_bps for d in whole), 1),
            read_iops=round(sum(d.read_iops for d in whole), 1),
            write_iops=round(sum(d.write_iops for d in whole), 1),
        )
        return total, per

    # -- history ------------------------------------------------------------------------------

    def _remember(self, now: float, cpu: float, memory: float, disks: Iterable[Disk]) -> None:
        self._cpu_hist.append((now, cpu))
        self._mem_hist.append((now, memory))
        for disk in disks:
            if disk.hanging or disk.error:
                continue
            hist = self._disk_hist.get(disk.mount)
            if hist is None:
                hist = self._disk_hist[disk.mount] = deque(maxlen=self._cpu_hist.maxlen)
            hist.append((now, disk.percent))
        cutoff = now - self.history_s
        for series in (self._cpu_hist, self._mem_hist, *self._disk_hist.values()):
            while series and series[0][0] < cutoff:
                series.popleft()

    def seed_history(
        self, points: Iterable[tuple[float, float, float, Mapping[str, float]]]
    ) -> None:
        """Fill the sparklines' window from earlier polls (the recording), before the first poll:
        (seconds ago, CPU %, memory %, {mount: disk %}), oldest first."""
        now = self._clock()
        for ago, cpu, memory, disks in points:
            if ago > self.history_s or ago < 0:
                continue
            at = now - ago
            self._cpu_hist.append((at, cpu))
            self._mem_hist.append((at, memory))
            for mount, percent in disks.items():
                hist = self._disk_hist.get(mount)
                if hist is None:
                    hist = self._disk_hist[mount] = deque(maxlen=self._cpu_hist.maxlen)
                hist.append((at, percent))

    def _history(self) -> HostHistory:
        return HostHistory(
            cpu=tuple(v for _, v in self._cpu_hist),
            memory=tuple(v for _, v in self._mem_hist),
            disks={m: tuple(v for _, v in h) for m, h in self._disk_hist.items()},
        )

    def evidence(self, selected: object | None = None) -> dict[str, str]:
        """The runbooks' `ps aux --sort=-%mem | head`, as text (top 50 by resident memory)."""
        procs = []
        wanted = ["pid", "username", "memory_info", "cmdline", "name"]
        for proc in psutil.process_iter(wanted):
            info = proc.info
            rss = info["memory_info"].rss if info.get("memory_info") else 0
            command = " ".join(info.get("cmdline") or []) or str(info.get("name") or "")
            procs.append((rss, info["pid"], info.get("username") or "?", command))
        procs.sort(reverse=True)
        lines = ["rss_bytes\tpid\tuser\tcommand"]
        lines += [f"{rss}\t{pid}\t{user}\t{cmd[:300]}" for rss, pid, user, cmd in procs[:50]]
        # Disks are in the snapshot already; statvfs again here could hang on a dead mount.
        return {"processes-by-memory.tsv": "\n".join(lines)}

    def close(self) -> None:
        self.processes.close()
        resolver = self.processes.container_name
        closer = getattr(resolver, "close", None)
        if callable(closer):
            with contextlib.suppress(Exception):  # shutting down
                closer()


def _eta_grade(eta: float | None) -> Status:
    if eta is None:
        return Status.OK
    if eta <= FULL_ETA_CRIT_S:
        return Status.CRIT
    if eta <= FULL_ETA_WARN_S:
        return Status.WARN
    return Status.OK


def _real_device(device: str) -> str:
    # /dev/mapper/vg-root -> /dev/dm-0, so it matches /proc/diskstats names. No I/O on the mount.
    if device.startswith("/dev/"):
        try:
            return os.path.realpath(device)
        except OSError:
            return device
    return device
