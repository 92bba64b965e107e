"""The host check against the real machine: a tmpfs made by the test filled to 95 %, processes
started by the test (one in a real container), a statvfs that hangs; plus the /proc parsers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests import services
from zconsole.checks.base import Status
from zconsole.checks.host import HostCheck, HostData, read_oom_kills, read_pressure
from zconsole.checks.host_containers import DockerNames
from zconsole.checks.host_mounts import (
    Growth,
    Hanging,
    MountEntry,
    StatPool,
    filling_candidates,
    parse_mounts,
    real_mounts,
)
from zconsole.checks.host_procs import STAT_FD_BUDGET, ProcessSampler, container_id_of_cgroup
from zconsole.checks.host_settings import HostSettings

MiB = 1024 * 1024


class Clock:
    """Monotonic clock moved by hand, so a fill rate needs no waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 20 MiB filesystem (tmpfs) mounted in the test's temp dir."""
    if os.geteuid() != 0:
        services.unavailable("mounting a tmpfs needs root")
    mnt = tmp_path / "fs"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "zc-test-tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        services.unavailable(f"mount -t tmpfs failed: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


def _disk(data: HostData, mount: Path) -> object:
    found = [d for d in data.disks if d.mount == str(mount)]
    assert found, f"{mount} not among {[d.mount for d in data.disks]}"
    return found[0]


def _write(path: Path, n_bytes: int) -> None:
    with path.open("ab") as fh:
        fh.write(os.urandom(n_bytes))
        fh.flush()
        os.fsync(fh.fileno())


def test_tmpfs_filled_to_95_percent_is_crit_with_a_fill_rate_eta(small_fs: Path) -> None:
    clock = Clock()
    check = HostCheck(
        HostSettings(include_mounts=[str(small_fs)], growth_window_s=600), clock=clock
    )
    _write(small_fs / "fill", int(19.2 * MiB))
    first = check.collect()
    assert first.error is None and first.data is not None
    disk = _disk(first.data, small_fs)
    assert disk.percent >= 95.0  # type: ignore[attr-defined]
    assert disk.status is Status.CRIT  # type: ignore[attr-defined]
    assert disk.full_eta_s is None  # type: ignore[attr-defined]  # not growing yet
    assert first.status is Status.CRIT
    assert str(small_fs) in first.summary

    # Keep writing: 100 KiB per 30 s of (injected) time.
    step, chunk = 30.0, 100 * 1024
    for _ in range(4):
        clock.now += step
        _write(small_fs / "fill", chunk)
        latest = check.collect()
    assert latest.data is not None
    disk = _disk(latest.data, small_fs)
    st = os.statvfs(small_fs)
    free = st.f_bavail * st.f_frsize
    expected = free / (chunk / step)
    assert disk.growth_bps == pytest.approx(chunk / step, rel=0.05)  # type: ignore[attr-defined]
    assert disk.full_eta_s == pytest.approx(expected, rel=0.05)  # type: ignore[attr-defined]
    assert disk.status is Status.CRIT  # type: ignore[attr-defined]
    # The disk's sparkline history holds one value per poll.
    assert len(latest.data.history.disks[str(small_fs)]) == 5


def test_tmpfs_is_hidden_unless_included(small_fs: Path) -> None:
    hidden = HostCheck().collect()
    assert hidden.data is not None
    assert str(small_fs) not in [d.mount for d in hidden.data.disks]
    shown = HostCheck(HostSettings(include_tmpfs=True)).collect()
    assert shown.data is not None
    assert str(small_fs) in [d.mount for d in shown.data.disks]


def test_a_tmpfs_filled_to_95_percent_is_listed_and_crit_unasked(small_fs: Path) -> None:
    """tmpfs is RAM and hidden while calm; once it passes disk_warn it is a disk like any other."""
    check = HostCheck()
    calm = check.collect()
    assert calm.data is not None
    assert str(small_fs) not in [d.mount for d in calm.data.disks]
    _write(small_fs / "fill", int(19.2 * MiB))
    full = check.collect()
    assert full.data is not None
    disk = _disk(full.data, small_fs)
    assert disk.fstype == "tmpfs" and disk.percent >= 95.0  # type: ignore[attr-defined]
    assert disk.status is Status.CRIT  # type: ignore[attr-defined]
    assert full.status is Status.CRIT
    assert str(small_fs) in full.summary
    (small_fs / "fill").unlink()
    emptied = check.collect()
    assert emptied.data is not None
    assert str(small_fs) not in [d.mount for d in emptied.data.disks]


def test_tmp_run_and_dev_shm_are_always_listed_when_tmpfs() -> None:
    entries = parse_mounts(
        "\n".join(
            [
                "/dev/sda1 / ext4 rw 0 0",
                "tmpfs /tmp tmpfs rw 0 0",
                "tmpfs /run tmpfs rw 0 0",
                "tmpfs /dev/shm tmpfs rw 0 0",
                "tmpfs /run/lock tmpfs rw 0 0",
            ]
        )
    )
    shown = real_mounts(entries)
    assert [e.mount for e in shown] == ["/", "/dev/shm", "/run", "/tmp"]
    assert [e.mount for e in filling_candidates(entries, shown)] == ["/run/lock"]


def test_snapshot_json_has_the_documented_fields(small_fs: Path) -> None:
    check = HostCheck(HostSettings(include_mounts=[str(small_fs)]))
    snapshot = check.collect()
    data = json.loads(json.dumps(snapshot.to_json()))["data"]
    for key in ("cpu_percent", "cores", "swap", "oom_kills", "uptime_s"):
        assert key in data
    assert len(data["load"]) == 3
    assert set(data["memory"]) >= {"total", "used", "available", "percent"}
    assert data["pressure"] is None or set(data["pressure"]) >= {"cpu_some", "memory_full"}
    assert os.path.exists("/proc/pressure") == (data["pressure"] is not None)
    disk = next(d for d in data["disks"] if d["mount"] == str(small_fs))
    assert set(disk) >= {
        "mount",
        "device",
        "fstype",
        "total",
        "used",
        "percent",
        "inodes_percent",
        "full_eta_s",
    }
    assert disk["total"] == 20 * MiB and disk["fstype"] == "tmpfs"
    assert data["top_processes"]
    assert set(data["top_processes"][0]) >= {"pid", "name", "cpu_percent", "rss_bytes", "container"}


def _vmrss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_process_started_by_the_test_is_in_the_top_list_with_its_rss() -> None:
    code = (
        "import sys, time\n"
        "block = b'z' * (200 << 20)\n"  # touched, so resident
        "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
        "time.sleep(600)\n"
    )
    dsn = "postgres://app:Sekr3t-pw@127.0.0.1/db"  # an argument, as a real worker would have
    argv = [sys.executable, "-c", code, dsn]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
            check = HostCheck(HostSettings(top_processes=20))
            snapshot = check.collect()
            assert snapshot.data is not None
            mine = [p for p in snapshot.data.top_processes if p.pid == proc.pid]
            assert mine, "the 200 MB process is not in the top list"
            real = _vmrss(proc.pid)
            assert real > 200 * MiB
            assert abs(mine[0].rss_bytes - real) <= 0.10 * real
            assert mine[0].container is None
            assert mine[0].cmdline.startswith(sys.executable)
            assert "Sekr3t-pw" not in mine[0].cmdline and "app:***@127.0.0.1" in mine[0].cmdline
        finally:
            proc.kill()


def test_scan_matches_psutil_for_a_busy_process_and_a_long_name(tmp_path: Path) -> None:
    # The scan reads /proc/PID/stat itself; what it says must be what psutil says.
    sleeper = tmp_path / "sleeper-with-a-name-past-15-bytes"
    shutil.copy("/bin/sleep", sleeper)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    idle = subprocess.Popen([str(sleeper), "600"])
    try:
        sampler = ProcessSampler(top_n=100_000)  # every process makes the list
        time.sleep(0.2)
        before = psutil.Process(busy.pid).cpu_times()
        sampler.prime()
        t0 = time.monotonic()
        time.sleep(1.0)
        after = psutil.Process(busy.pid).cpu_times()
        top = {p.pid: p for p in sampler.sample()}
        elapsed = time.monotonic() - t0
        spent = (after.user + after.system - before.user - before.system) / elapsed * 100
        assert top[busy.pid].cpu_percent > 5
        assert abs(top[busy.pid].cpu_percent - spent) < 15
        assert abs(top[busy.pid].rss_bytes - psutil.Process(busy.pid).memory_info().rss) < MiB
        assert top[busy.pid].create_time == pytest.approx(
            psutil.Process(busy.pid).create_time(), abs=0.05
        )
        assert top[idle.pid].name == psutil.Process(idle.pid).name() == sleeper.name
        assert top[idle.pid].cpu_percent == 0.0
        assert sampler.count >= 2
        # Overlapping CPU and memory lists are filled up by CPU: one length from poll to poll.
        small = ProcessSampler(top_n=3)
        small.prime()
        assert len(small.sample()) == 6 == len(small.sample())
    finally:
        busy.kill()
        idle.kill()
        busy.wait()
        idle.wait()


def test_scan_keeps_stat_files_open_and_lets_go_of_exited_processes() -> None:
    """The scan re-reads /proc/PID/stat through descriptors kept between scans: a process
    that exits is dropped (its descriptor closed), one started later is read, and close()
    gives every descriptor back."""

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    baseline = open_fds()
    sampler = ProcessSampler(top_n=100_000)
    sampler.prime()
    kept = dict(sampler._stat_fds)
    assert len(kept) >= min(sampler.count, STAT_FD_BUDGET) - 5  # a few may exit meanwhile
    assert open_fds() >= baseline + len(kept)
    child = subprocess.Popen(["sleep", "600"])
    try:
        seen = {p.pid for p in sampler.sample()}
        assert child.pid in seen and str(child.pid) in sampler._stat_fds
        # Same descriptors as before for the processes still alive: no reopen per scan.
        same = [e for e, fd in kept.items() if sampler._stat_fds.get(e) == fd]
        assert len(same) >= len(kept) - 5
    finally:
        child.kill()
        child.wait()
    after = {p.pid for p in sampler.sample()}
    assert child.pid not in after and str(child.pid) not in sampler._stat_fds
    sampler.close()
    assert sampler._stat_fds == {}
    assert open_fds() <= baseline + 1  # the listing's own descriptor, at most


@pytest.mark.docker
def test_process_in_a_container_shows_the_container_name(
    docker_engine: services.DockerEngine,
) -> None:
    name = "zc-host-hungry"
    cid = docker_engine.cli(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        services.BUSYBOX_IMAGE,
        "sh",
        "-c",
        # Not the last command, so sh stays (with x in memory) instead of exec-ing sleep.
        "x=$(yes abcdefghij | head -c 80000000); echo ready; sleep 3600; echo ${#x}",
    ).strip()
    resolver = DockerNames(docker_engine.url)
    try:
        services.wait_for(
            lambda: "ready" in docker_engine.cli("logs", cid, timeout=10), 60, "container ready"
        )
        pid = int(docker_engine.cli("inspect", "-f", "{{.State.Pid}}", cid).strip())
        check = HostCheck(HostSettings(top_processes=40), container_name=resolver)
        snapshot = check.collect()
        assert snapshot.data is not None
        found = [p for p in snapshot.data.top_processes if p.pid == pid]
        assert found, "the container's shell is not in the top list"
        assert found[0].container_id == cid
        assert found[0].container == name
    finally:
        resolver.close()
        docker_engine.cli("rm", "-f", cid, timeout=60)


# -- a mount that hangs ---------------------------------------------------------------------------


class HangingStatvfs:
    """os.statvfs, except for one path whose call blocks until released (a dead NFS server)."""

    def __init__(self, dead: str) -> None:
        self.dead = dead
        self.release = threading.Event()
        self.calls: dict[str, int] = {}

    def __call__(self, path: str) -> os.statvfs_result:
        self.calls[path] = self.calls.get(path, 0) + 1
        if path == self.dead:
            self.release.wait(60)
        return os.statvfs("/" if path == self.dead else path)


def test_stat_pool_reports_hanging_and_does_not_spend_a_thread_per_poll(tmp_path: Path) -> None:
    statvfs = HangingStatvfs("/mnt/dead")
    pool = StatPool(statvfs, workers=2)
    try:
        for _ in range(5):
            results = pool.stat_all(["/mnt/dead", str(tmp_path)], timeout=0.2)
            assert isinstance(results["/mnt/dead"], Hanging)
            assert isinstance(results[str(tmp_path)], os.statvfs_result)
        assert statvfs.calls["/mnt/dead"] == 1  # remembered, never submitted again
        assert pool.thread_count <= 3  # two workers plus one replacing the stuck one
    finally:
        statvfs.release.set()
    services.wait_for(
        lambda: isinstance(
            pool.stat_all(["/mnt/dead"], timeout=1.0)["/mnt/dead"], os.statvfs_result
        ),
        10,
        "the dead mount answering again",
    )


def test_host_check_marks_a_hanging_mount_and_still_reports_the_rest(tmp_path: Path) -> None:
    statvfs = HangingStatvfs("/mnt/dead")
    mounts = [
        MountEntry("deadhost:/export", "/mnt/dead", "nfs4"),
        MountEntry("/dev/zc-test", str(tmp_path), "ext4"),
    ]
    check = HostCheck(HostSettings(mount_timeout=0.2), mounts=lambda: mounts, statvfs=statvfs)
    try:
        for _ in range(3):
            snapshot = check.collect()
            assert snapshot.error is None and snapshot.data is not None
            dead, alive = snapshot.data.disks
            assert dead.hanging and dead.status is Status.CRIT
            assert not alive.hanging and alive.total > 0
        assert "/mnt/dead hanging" in snapshot.summary
        assert snapshot.data is not None and len(snapshot.data.history.cpu) == 3
    finally:
        statvfs.release.set()


# -- parsers --------------------------------------------------------------------------------------


def test_real_mounts_skip_pseudo_filesystems_and_dedupe_bind_mounts() -> None:
    text = "\n".join(
        [
            "overlay / overlay rw 0 0",
            "proc /proc proc rw 0 0",
            "/dev/sda1 /data ext4 rw 0 0",
            "/dev/sda1 /data/bind\\040dir ext4 rw 0 0",
            "tmpfs /run tmpfs rw 0 0",
            "srv:/export /mnt/nfs nfs4 rw 0 0",
            "/dev/sdb1 /var/lib/docker/overlay2/x/merged overlay rw 0 0",
        ]
    )
    entries = parse_mounts(text)
    assert entries[3].mount == "/data/bind dir"
    mounts = [e.mount for e in real_mounts(entries)]
    assert mounts == ["/", "/data", "/mnt/nfs", "/run"]
    assert "/run" in [e.mount for e in real_mounts(entries)]  # /run, /tmp, /dev/shm: always
    assert [e.mount for e in real_mounts(entries, exclude=["/mnt/nfs"])] == ["/", "/data", "/run"]


def test_container_id_from_cgroup_formats() -> None:
    cid = "ab" * 32
    assert container_id_of_cgroup(f"0::/docker/{cid}\n") == cid
    assert container_id_of_cgroup(f"0::/system.slice/docker-{cid}.scope\n") == cid
    assert container_id_of_cgroup(f"4:memory:/kubepods/burstable/pod1/{cid}\n") == cid
    assert container_id_of_cgroup("0::/user.slice/user-0.slice/session-1.scope\n") is None


def test_pressure_and_oom_parsers(tmp_path: Path) -> None:
    psi = tmp_path / "pressure"
    psi.mkdir()
    (psi / "cpu").write_text("some avg10=4.50 avg60=1.00 avg300=0.20 total=100\n")
    (psi / "memory").write_text(
        "some avg10=1.25 avg60=0 avg300=0 total=1\nfull avg10=0.75 avg60=0 avg300=0 total=1\n"
    )
    pressure = read_pressure(str(psi))
    assert pressure is not None
    assert pressure.cpu_some == 4.5 and pressure.cpu_full is None  # older kernels: no cpu full
    assert pressure.memory_full == 0.75 and pressure.io_some is None
    assert read_pressure(str(tmp_path / "absent")) is None
    vmstat = tmp_path / "vmstat"
    vmstat.write_text("nr_free_pages 1\noom_kill 7\n")
    assert read_oom_kills(str(vmstat)) == 7
    vmstat.write_text("nr_free_pages 1\n")
    assert read_oom_kills(str(vmstat)) is None


def test_growth_gives_no_eta_when_flat_or_shrinking_or_too_short() -> None:
    growth = Growth(600)
    growth.add(0, 1000)
    growth.add(30, 2000)
    assert growth.full_eta(10_000) is None  # 30 s of history is not yet a trend
    growth.add(90, 3000)
    assert growth.full_eta(10_000) is not None
    flat = Growth(600)
    for t in range(0, 300, 30):
        flat.add(t, 5000)
    assert flat.full_eta(10_000) is None
    shrinking = Growth(600)
    for t in range(0, 300, 30):
        shrinking.add(t, 10_000 - t)
    assert shrinking.full_eta(10_000) is None


@pytest.mark.docker
def test_an_oom_kill_after_the_console_started_is_counted_and_warned(
    docker_engine: services.DockerEngine,
) -> None:
    check = HostCheck()
    before = check.collect()
    assert before.data is not None and before.data.oom_kills is not None
    # A container capped at 16 MiB that wants 200 MB: the kernel's OOM killer ends it.
    cid = docker_engine.cli(
        "run", "-d", "--memory", "16m", "--memory-swap", "16m", "--network", "none",
        services.BUSYBOX_IMAGE, "sh", "-c", "x=$(yes abcdefghij | head -c 200000000); sleep 1",
    ).strip()  # fmt: skip
    try:
        services.wait_for(
            lambda: (
                docker_engine.cli("inspect", "-f", "{{.State.Status}}", cid).strip() == "exited"
            ),
            60,
            "the capped container to die",
        )
        assert docker_engine.cli("inspect", "-f", "{{.State.OOMKilled}}", cid).strip() == "true"
        after = check.collect()
        assert after.data is not None and after.data.oom_kills is not None
        assert after.data.oom_kills_new >= 1
        assert after.data.oom_kills >= before.data.oom_kills + 1
        assert after.status.rank >= Status.WARN.rank and "new OOM kill" in after.summary
    finally:
        docker_engine.cli("rm", "-f", cid, timeout=60)


def test_disk_io_rates_see_a_real_write(tmp_path: Path) -> None:
    """`I/O r … w …` in the pane: bytes written to the real disk between two polls show up."""
    check = HostCheck()
    first = check.collect()
    assert first.error is None
    _write(tmp_path / "io", 32 * MiB)  # fsync'd: it reaches the block device before the poll
    second = check.collect()
    assert second.data is not None and second.data.io is not None
    io = second.data.io
    # Rates are per second over the time between the polls; at least the bytes we wrote went
    # to some disk in that time, whatever else the machine wrote.
    assert io.write_bps > 0
    assert io.write_iops > 0
    mount = next(
        d for d in second.data.disks if str(tmp_path.resolve()).startswith(d.mount.rstrip("/"))
    )
    assert mount.io is not None and mount.io.write_bps > 0


def test_history_keeps_ten_minutes_at_most() -> None:
    """The sparklines: one point per poll, none older than the window (10 min by default)."""
    clock = Clock()
    check = HostCheck(clock=clock, interval=30.0)
    assert check.history_s == 600.0
    for _ in range(30):  # 15 minutes of polls every 30 s
        clock.now += 30.0
        snapshot = check.collect()
    assert snapshot.data is not None
    history = snapshot.data.history
    # 600 s / 30 s = 20 intervals: the points from the last 10 minutes, ends included.
    assert len(history.cpu) == 21
    assert len(history.memory) == 21
    assert all(len(points) == 21 for points in history.disks.values())
    assert history.disks
