"""Host check (psutil): CPU, load, memory, swap, disks."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import psutil
from zconsole.checks.base import Check, Status, grade, worst


@dataclass(frozen=True, slots=True)
class HostThresholds:
    cpu_warn: float = 80.0
    cpu_crit: float = 95.0
    memory_warn: float = 85.0
    memory_crit: float = 95.0
    swap_warn: float = 50.0
    swap_crit: float = 90.0
    disk_warn: float = 80.0
    disk_crit: float = 90.0
    load_warn_per_core: float = 1.5
    load_crit_per_core: float = 3.0


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
class Disk:
    mount: str
    device: str
    fstype: str
    total: int
    used: int
    percent: float
    inodes_percent: float | None = None
    full_eta_s: float | None = None
    status: Status = Status.OK


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


# Pseudo and read-only image filesystems are never "full" in a way a responder can act on.
_SKIP_FSTYPES = frozenset(
    {"squashfs", "iso9660", "overlay", "tmpfs", "devtmpfs", "proc", "sysfs", "nsfs", "autofs"}
)


class HostCheck(Check[HostData]):
    """CPU, load, memory, swap and disk usage of this machine."""

    name = "host"
    title = "Host"

    def __init__(
        self,
        thresholds: HostThresholds | None = None,
        *,
        interval: float = 2.0,
        timeout: float = 5.0,
        include_tmpfs: bool = False,
    ) -> None:
        super().__init__(interval=interval, timeout=timeout)
        self.thresholds = thresholds or HostThresholds()
        self.include_tmpfs = include_tmpfs
        # Prime psutil's CPU counters so the first probe measures a real interval.
        psutil.cpu_percent(percpu=True)
        self._primed_at = time.monotonic()

    def probe(self) -> tuple[Status, str, HostData]:
        t = self.thresholds
        if time.monotonic() - self._primed_at < 0.1:
            time.sleep(0.1)
        per_core = tuple(psutil.cpu_percent(percpu=True))
        cpu = sum(per_core) / len(per_core) if per_core else 0.0
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
        disks = tuple(self._disks())
        data = HostData(
            cpu_percent=round(cpu, 1),
            load=(round(load[0], 2), round(load[1], 2), round(load[2], 2)),
            cores=cores,
            memory=memory,
            swap=swap,
            disks=disks,
            uptime_s=time.time() - psutil.boot_time(),
            per_core=per_core,
        )
        statuses = {
            "cpu": grade(cpu, t.cpu_warn, t.cpu_crit),
            "memory": grade(vm.percent, t.memory_warn, t.memory_crit),
            "swap": grade(sw.percent, t.swap_warn, t.swap_crit) if sw.total else Status.OK,
            "load": grade(load[0] / cores, t.load_warn_per_core, t.load_crit_per_core),
        }
        status = worst([*statuses.values(), *(d.status for d in disks)])
        fullest = max(disks, key=lambda d: d.percent, default=None)
        summary = f"cpu {cpu:.0f}% · mem {vm.percent:.0f}% · load {load[0]:.2f}/{cores}"
        if fullest is not None:
            summary += f" · {fullest.mount} {fullest.percent:.0f}%"
        bad = [k for k, v in statuses.items() if v.rank >= Status.WARN.rank]
        bad += [d.mount for d in disks if d.status.rank >= Status.WARN.rank]
        if bad:
            summary = f"{status.value.upper()}: {', '.join(bad)} — {summary}"
        return status, summary, data

    def _disks(self) -> list[Disk]:
        t = self.thresholds
        out: list[Disk] = []
        seen: set[str] = set()
        for part in psutil.disk_partitions(all=False):
            if part.mountpoint in seen:
                continue
            if part.fstype in _SKIP_FSTYPES and not (self.include_tmpfs and part.fstype == "tmpfs"):
                continue
            seen.add(part.mountpoint)
            try:
                usage = psutil.disk_usage(part.mountpoint)
            except OSError:
                continue
            out.append(
                Disk(
                    mount=part.mountpoint,
                    device=part.device,
                    fstype=part.fstype,
                    total=usage.total,
                    used=usage.used,
                    percent=usage.percent,
                    inodes_percent=_inode_percent(part.mountpoint),
                    status=grade(usage.percent, t.disk_warn, t.disk_crit),
                )
            )
        return out


def _inode_percent(mount: str) -> float | None:
    try:
        st = os.statvfs(mount)
    except OSError:
        return None
    if not st.f_files:
        return None
    return round(100.0 * (st.f_files - st.f_ffree) / st.f_files, 1)
