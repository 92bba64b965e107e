"""Mounts for the host check: which ones are real, statvfs with a per-mount timeout, growth.

A dead network filesystem blocks ``statvfs`` in the kernel, uninterruptibly. The only defence is
to call it on a thread we can abandon: :class:`StatPool` keeps a few daemon threads, gives every
mount the same deadline, and remembers a mount whose call has not come back, so a hung mount
costs one stuck thread in total, not one more per poll.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: Filesystems that are never "full" in a way a responder can act on, or are views of others.
PSEUDO_FSTYPES = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "iso9660",
        "mqueue",
        "nsfs",
        "overlay",
        "proc",
        "pstore",
        "ramfs",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "squashfs",
        "sysfs",
        "tmpfs",
        "tracefs",
    }
)
#: Network filesystems: no block device, but real, and the ones that hang.
NETWORK_FSTYPES = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "9p", "fuse.sshfs", "afs"}
)


@dataclass(frozen=True, slots=True)
class MountEntry:
    device: str
    mount: str
    fstype: str


def _unescape(field: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as \040 \011 \012 \134.
    if "\\" not in field:
        return field
    out: list[str] = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mounts(text: str) -> list[MountEntry]:
    out: list[MountEntry] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            out.append(MountEntry(_unescape(parts[0]), _unescape(parts[1]), parts[2]))
    return out


def real_mounts(
    entries: Iterable[MountEntry],
    *,
    include_tmpfs: bool = False,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> list[MountEntry]:
    """The mounts worth a row: block devices, network filesystems, the root, /tmp, /run and
    /dev/shm when they are tmpfs, and any asked for.

    A block device mounted several times (bind mounts) is shown once, at its shortest path.
    """
    forced = set(include)
    excluded = set(exclude)
    by_key: dict[str, MountEntry] = {}
    for entry in entries:
        if entry.mount in excluded:
            continue
        wanted = (
            entry.mount in forced
            or entry.mount == "/"
            or (entry.fstype == "tmpfs" and (include_tmpfs or entry.mount in ALWAYS_SHOWN_TMPFS))
            or entry.fstype in NETWORK_FSTYPES
            or (entry.fstype not in PSEUDO_FSTYPES and entry.device.startswith("/"))
        )
        if not wanted:
            continue
        key = entry.device if entry.device.startswith("/dev/") else entry.mount
        if entry.mount in forced:
            key = entry.mount
        previous = by_key.get(key)
        if previous is None or len(entry.mount) < len(previous.mount):
            by_key[key] = entry
    return sorted(by_key.values(), key=lambda e: e.mount)


#: tmpfs mounts that services break on when full (Debian 13 puts /tmp on tmpfs): always listed.
ALWAYS_SHOWN_TMPFS = ("/tmp", "/run", "/dev/shm")  # noqa: S108 - mount points, not files we write


def filling_candidates(
    entries: Iterable[MountEntry], shown: Iterable[MountEntry]
) -> list[MountEntry]:
    """tmpfs mounts not in ``shown``: RAM, not disk, so listed only once they fill up.

    A full tmpfs is still an outage (a full /run stops services), so the host check stats these
    too and lists one when it passes the disk warn threshold.
    """
    taken = {e.mount for e in shown}
    out: dict[str, MountEntry] = {}
    for entry in entries:
        if entry.fstype == "tmpfs" and entry.mount not in taken:
            out.setdefault(entry.mount, entry)
    return sorted(out.values(), key=lambda e: e.mount)


def read_mounts(path: str = "/proc/self/mounts") -> list[MountEntry]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return parse_mounts(fh.read())


# -- statvfs with a timeout ----------------------------------------------------------------------

Statvfs = Callable[[str], os.statvfs_result]


class Hanging:
    """Marker result: the call for this mount has not returned (since ``since``, monotonic)."""

    __slots__ = ("since",)

    def __init__(self, since: float) -> None:
        self.since = since


class _Job:
    __slots__ = ("done", "error", "mount", "result", "started")

    def __init__(self, mount: str) -> None:
        self.mount = mount
        self.started = time.monotonic()
        self.done = threading.Event()
        self.result: os.statvfs_result | None = None
        self.error: OSError | None = None


class StatPool:
    """``statvfs`` of many mounts in parallel with one deadline; hung mounts are remembered."""

    def __init__(self, statvfs: Statvfs = os.statvfs, *, workers: int = 4, max_hung: int = 16):
        self._statvfs = statvfs
        self._workers = workers
        self._max_hung = max_hung
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        #: Jobs submitted and not yet collected, by mount. A job still here at the start of a
        #: poll and not done is a hung mount: it is not submitted again.
        self._pending: dict[str, _Job] = {}

    def stat_all(
        self, mounts: Iterable[str], timeout: float
    ) -> dict[str, os.statvfs_result | OSError | Hanging]:
        mounts = list(mounts)
        fresh: list[_Job] = []
        out: dict[str, os.statvfs_result | OSError | Hanging] = {}
        for mount in mounts:
            job = self._pending.get(mount)
            if job is not None and not job.done.is_set():
                out[mount] = Hanging(job.started)
                continue
            job = _Job(mount)
            self._pending[mount] = job
            fresh.append(job)
        hung = sum(1 for j in self._pending.values() if not j.done.is_set()) - len(fresh)
        self._ensure_threads(hung)
        for job in fresh:
            self._queue.put(job)
        deadline = time.monotonic() + timeout
        for job in fresh:
            job.done.wait(max(0.0, deadline - time.monotonic()))
            if not job.done.is_set():
                out[job.mount] = Hanging(job.started)
                continue
            del self._pending[job.mount]
            if job.result is not None:
                out[job.mount] = job.result
            else:
                out[job.mount] = job.error or OSError(f"statvfs {job.mount} failed")
        # Mounts that went away: forget them (a hung call's thread stays stuck, nothing to do).
        for mount in list(self._pending):
            if mount not in out:
                del self._pending[mount]
        return {m: out[m] for m in mounts}

    def _ensure_threads(self, hung: int) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        wanted = self._workers + min(max(hung, 0), self._max_hung)
        while len(self._threads) < wanted:
            thread = threading.Thread(target=self._work, name="host-statvfs", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job.result = self._statvfs(job.mount)
            except OSError as exc:
                job.error = exc
            except Exception as exc:  # noqa: BLE001 - an injected callable may raise anything
                job.error = OSError(str(exc))
            finally:
                job.done.set()

    @property
    def thread_count(self) -> int:
        return sum(1 for t in self._threads if t.is_alive())


# -- growth and "full in about X" ----------------------------------------------------------------


class Growth:
    """Used bytes of one mount over a rolling window; the fill rate is a least-squares slope."""

    def __init__(self, window_s: float, min_span_s: float | None = None) -> None:
        self.window_s = window_s
        #: A rate over a few seconds is noise (a burst of writes): no ETA before this much history.
        self.min_span_s = min(60.0, window_s / 10) if min_span_s is None else min_span_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, used: int) -> None:
        self._samples.append((at, used))
        while self._samples and at - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    def rate(self) -> float | None:
        """Bytes per second over the window; None until ``min_span_s`` of samples."""
        if len(self._samples) < 2 or self._samples[-1][0] - self._samples[0][0] < max(
            self.min_span_s, 1e-9
        ):
            return None
        n = len(self._samples)
        t0 = self._samples[0][0]
        mean_t = sum(t - t0 for t, _ in self._samples) / n
        mean_u = sum(u for _, u in self._samples) / n
        var = sum((t - t0 - mean_t) ** 2 for t, _ in self._samples)
        if var <= 0:
            return None
        cov = sum((t - t0 - mean_t) * (u - mean_u) for t, u in self._samples)
        return cov / var

    def full_eta(self, free: int) -> float | None:
        """Seconds until ``free`` bytes are used at the current rate, when the mount is growing."""
        rate = self.rate()
        if rate is None or rate <= 0 or not math.isfinite(rate):
            return None
        return max(free, 0) / rate
