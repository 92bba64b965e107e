"""Host pane figures: the 100 000-file "find what is big" scan, and one host refresh.

- scan: wall and CPU time of a full scan of a 100 000-file tree built in a temp dir;
- refresh: process CPU time (all threads) of one host poll in steady state (``collect``), and of
  the pane drawing it in a headless 200x60 app (``render``).

    .venv/bin/python -m benchmarks.bench_host   (from the repo root; prints the figures)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = str(Path(__file__).resolve().parent.parent)


def _fix_path() -> None:
    # `python -m` puts the repo root first on sys.path, where zconsole/ (without checks/ and
    # widgets/, which the editable install maps in) would shadow the installed package.
    sys.path[:] = [p for p in sys.path if p not in ("", ".", ROOT)] + [ROOT]


N_DIRS = 100
PER_DIR = 1000


def build_tree(root: Path) -> None:
    for d in range(N_DIRS):
        sub = root / f"d{d:03}"
        sub.mkdir()
        for f in range(PER_DIR):
            fd = os.open(sub / f"f{f}", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, b"x")
            os.close(fd)


def bench_scan(repeats: int = 5) -> tuple[float, float, int]:
    """(median wall s, median CPU s, files) of a full scan of the 100 000-file tree."""
    from zconsole.checks.disk_scan import scan

    root = Path(tempfile.mkdtemp(prefix="zc-bench-scan-"))
    try:
        build_tree(root)
        walls: list[float] = []
        cpus: list[float] = []
        files = 0
        for _ in range(repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            result = scan(str(root))
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            files = result.files
        return statistics.median(walls), statistics.median(cpus), files
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_refresh(polls: int = 20) -> tuple[float, float, int, int]:
    """(median CPU ms, median wall ms, processes, disks) of one host poll after warm-up."""
    from zconsole.checks.host import HostCheck
    from zconsole.checks.host_settings import HostSettings

    check = HostCheck(HostSettings(top_processes=8))
    check.collect()  # the first poll creates the Process objects; steady state is what matters
    time.sleep(0.2)
    cpus: list[float] = []
    walls: list[float] = []
    procs = disks = 0
    for _ in range(polls):
        w0, c0 = time.perf_counter(), time.process_time()
        snapshot = check.collect()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        if snapshot.data is not None:
            procs, disks = snapshot.data.process_count, len(snapshot.data.disks)
        time.sleep(0.05)
    return statistics.median(cpus) * 1000, statistics.median(walls) * 1000, procs, disks


async def _render(polls: int) -> float:
    from zconsole.app import ZConsoleApp
    from zconsole.checks.base import CheckResult
    from zconsole.checks.host import HostCheck
    from zconsole.config import Config

    check = HostCheck()
    app = ZConsoleApp(Config(), [check], poll=False)
    cpus: list[float] = []
    async with app.run_test(size=(200, 60)) as pilot:
        for _ in range(polls):
            snap = check.collect()
            result = CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic())
            c0 = time.process_time()
            app.show_result(result)
            await pilot.pause()
            cpus.append(time.process_time() - c0)
    return statistics.median(cpus) * 1000


def bench_render(polls: int = 10) -> float:
    """Median CPU ms of the host pane taking one snapshot (show_result + one screen update)."""
    result: Any = asyncio.run(_render(polls))
    return float(result)


def main() -> None:
    _fix_path()
    wall, cpu, files = bench_scan()
    print(f"disk scan: {files} files in {wall:.2f} s wall, {cpu:.2f} s CPU (median of 5)")
    cpu_ms, wall_ms, procs, disks = bench_refresh()
    print(
        f"host refresh: {cpu_ms:.1f} ms CPU, {wall_ms:.1f} ms wall per poll "
        f"({procs} processes, {disks} disks; median of 20)"
    )
    print(f"host render: {bench_render():.1f} ms CPU per snapshot (200x60, median of 10)")


if __name__ == "__main__":
    main()
