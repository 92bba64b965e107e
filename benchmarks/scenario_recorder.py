"""Scenario 6, the flight recorder: what `zconsole record` costs against the drill-like load.

- CPU: `zconsole record` at a 5 s cadence (every source: 20 containers, 50 PostgreSQL sessions,
  the 5000-item queue, two HTTP endpoints), process-tree CPU over a window after its first
  polls, as a share of one core. Beside it in the same window, `glances -q --export csv -t 5`
  (a peer that records the host only) for scale.
- Size: the recording's growth over that window (pages in use), extrapolated to a day; and a
  synthetic day built by the writer from the polls that run recorded (cycled, so every body is
  a real poll's), whose file size is the figure.
- Retention: polls written past a small cap; the largest the file ever was, over the cap.
- Jump: random moments of the synthetic day opened with every source decoded (what the console
  does for a cursor move); the slowest of them.

Targets (issue 14): CPU ≤ 0.5 % of one core; ≤ 50 MB per day; the cap holds (≤ 1.0 × cap);
a jump ≤ 100 ms.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    GLANCES_DISABLED,
    ZCONSOLE_BIN,
    Context,
    Figure,
    TreeSampler,
    kill_tree,
    log,
    peer_bin,
    tool_env,
    write_config,
)

NAME = "6. Flight recorder"
INTERVAL_S = 5.0
CPU_LIMIT_PCT = 0.5
DAY_LIMIT_MB = 50.0
JUMP_LIMIT_MS = 100.0
CAP_BYTES = 5_000_000
#: --short keeps CI quick: a smaller cap turns over in a few seconds.
SHORT_CAP_BYTES = 1_000_000
SOURCES = ("host", "docker", "postgres", "redis", "http")
JUMPS = 50


def run(ctx: Context) -> list[Figure]:
    window = 15.0 if ctx.short else 90.0
    workdir = ctx.workdir("recorder")
    write_config(workdir, ctx.servers, interval=INTERVAL_S)
    recording = workdir / "recording.sqlite3"
    cpu = Figure(
        NAME,
        f"zconsole record, {INTERVAL_S:g} s cadence: CPU",
        "% of a core",
        target=f"≤ {CPU_LIMIT_PCT} % of one core",
        limit=CPU_LIMIT_PCT,
        note=f"process tree over {window:.0f} s after the first polls",
    )
    peer = Figure(
        NAME,
        f"glances -q --export csv -t {INTERVAL_S:g} (peer, host only): CPU",
        "% of a core",
        note="same window; records host figures only, no containers/PostgreSQL/Redis",
    )
    growth = Figure(
        NAME,
        "recording growth over the window, per day",
        "MB/day",
        target=f"≤ {DAY_LIMIT_MB:g} MB",
        limit=DAY_LIMIT_MB,
        note="pages in use, measured run extrapolated linearly",
    )
    for i in range(ctx.runs):
        log(f"recorder run {i + 1}/{ctx.runs}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(recording) + suffix).unlink()
        cpu_pct, peer_pct, per_day = _live_run(ctx, workdir, recording, window)
        cpu.values.append(cpu_pct)
        growth.values.append(per_day)
        if peer_pct is not None:
            peer.values.append(peer_pct)
    figures = [cpu]
    if peer.values:
        figures.append(peer)
    figures.append(growth)
    polls = _recorded_polls(recording)
    figures += _synthetic_day(ctx, workdir, polls)
    return figures


def _frames(recording: Path) -> dict[str, int]:
    import sqlite3

    if not recording.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{recording}?mode=ro", uri=True) as db:
            return dict(db.execute("SELECT source, COUNT(*) FROM frames GROUP BY source"))
    except sqlite3.Error:
        return {}


def _used(recording: Path) -> int:
    import sqlite3

    from zconsole.recording.db import used_bytes

    with sqlite3.connect(f"file:{recording}?mode=ro", uri=True) as db:
        return used_bytes(db)


def _live_run(
    ctx: Context, workdir: Path, recording: Path, window: float
) -> tuple[float, float | None, float]:
    env = {**os.environ, **tool_env(ctx.home)}
    recorder = subprocess.Popen(
        [str(ZCONSOLE_BIN), "record"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    glances = _start_glances(workdir, env)
    try:
        deadline = time.monotonic() + 60
        # Two polls of every source: connections made, docker's CPU % baselines taken.
        while min((_frames(recording).get(s, 0) for s in SOURCES), default=0) < 2:
            if time.monotonic() > deadline or recorder.poll() is not None:
                raise RuntimeError(f"recorder did not record every source: {_frames(recording)}")
            time.sleep(0.5)
        with TreeSampler(recorder.pid) as sampler, contextlib.ExitStack() as stack:
            peer_sampler = (
                stack.enter_context(TreeSampler(glances.pid)) if glances is not None else None
            )
            sampler.mark()
            if peer_sampler is not None:
                peer_sampler.mark()
            used_before = _used(recording)
            started = time.monotonic()
            time.sleep(window)
            took = time.monotonic() - started
            used_after = _used(recording)
            sampler.sample()
            cpu_pct = sampler.cpu_seconds() / took * 100
            peer_pct = None
            if peer_sampler is not None:
                peer_sampler.sample()
                peer_pct = peer_sampler.cpu_seconds() / took * 100
        per_day = (used_after - used_before) / took * 86400 / 1e6
    finally:
        recorder.send_signal(signal.SIGTERM)
        try:
            recorder.wait(20)
        except subprocess.TimeoutExpired:
            kill_tree(recorder.pid)
        if glances is not None:
            kill_tree(glances.pid)
    return cpu_pct, peer_pct, per_day


def _start_glances(workdir: Path, env: dict[str, str]) -> subprocess.Popen[str] | None:
    binary = peer_bin("glances")
    if not binary.exists():
        return None
    argv = [str(binary), "-q", "-t", f"{INTERVAL_S:g}", "--disable-plugin", GLANCES_DISABLED]
    argv += ["--disable-check-update", "--export", "csv"]
    argv += ["--export-csv-file", str(workdir / "glances.csv")]
    return subprocess.Popen(
        argv, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )


def _recorded_polls(recording: Path) -> dict[str, list[Any]]:
    """Every Snapshot the live run recorded, per source, oldest first."""
    from zconsole.recording.reader import RecordingReader

    with RecordingReader(recording) as reader:
        span = reader.span()
        assert span is not None
        return {s: list(reader.frames(s, *span)) for s in reader.sources()}


def _synthetic_day(ctx: Context, workdir: Path, polls: dict[str, list[Any]]) -> list[Figure]:
    from zconsole.recording.db import file_bytes
    from zconsole.recording.reader import RecordingReader
    from zconsole.recording.retention import Retention
    from zconsole.recording.writer import RecordingWriter

    hours = 0.25 if ctx.short else 24.0
    steps = int(hours * 3600 / INTERVAL_S)
    path = workdir / "synthetic-day.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
    start = min(p[0].collected_at for p in polls.values()) - timedelta(hours=hours)
    log(f"building a synthetic {hours:g} h recording ({steps} polls of {len(polls)} sources)")
    writer = RecordingWriter(path, retention=Retention(max_bytes=10**12, max_age_s=90000))
    spent = 0.0
    for step in range(steps):
        for snapshots in polls.values():
            snapshot = snapshots[step % len(snapshots)]
            at = start + timedelta(seconds=step * INTERVAL_S)
            t0 = time.process_time()
            writer.write(dataclasses.replace(snapshot, collected_at=at))
            spent += time.process_time() - t0
    writer.close()
    writes = steps * len(polls)
    day_mb = file_bytes(path) / 1e6 * (24.0 / hours)
    size = Figure(
        NAME,
        "synthetic day from the recorded polls: file size",
        "MB/day",
        [day_mb],
        target=f"≤ {DAY_LIMIT_MB:g} MB",
        limit=DAY_LIMIT_MB,
        note=f"{writes} polls written by the writer"
        + (f"; {hours:g} h extrapolated to 24 h in --short" if ctx.short else ""),
    )
    write_cost = Figure(
        NAME,
        "the writer's own CPU per poll (encode, redact, compress, commit)",
        "ms",
        [spent / writes * 1000],
        note=f"= {spent / writes * len(polls) / INTERVAL_S * 100:.3f} % of a core at 5 sources "
        f"every {INTERVAL_S:g} s",
    )
    rng = random.Random(14)
    slowest: list[float] = []
    for _ in range(ctx.runs):
        with RecordingReader(path) as reader:
            span = reader.span()
            assert span is not None
            first, last = span
            times = []
            for _j in range(JUMPS):
                moment = first + (last - first) * rng.random()
                t0 = time.perf_counter()
                seen = reader.at(moment)
                times.append((time.perf_counter() - t0) * 1000)
                assert set(seen) == set(polls), seen.keys()
            slowest.append(max(times))
    jump = Figure(
        NAME,
        f"jump to a random moment of the {hours:g} h recording, every source decoded: slowest",
        "ms",
        slowest,
        target=f"≤ {JUMP_LIMIT_MS:g} ms",
        limit=JUMP_LIMIT_MS,
        note=f"slowest of {JUMPS} jumps per run, reader opened fresh each run",
    )
    cap = SHORT_CAP_BYTES if ctx.short else CAP_BYTES
    return [size, write_cost, jump, _cap(workdir, polls, file_bytes(path) / writes, cap)]


def _cap(workdir: Path, polls: dict[str, list[Any]], bytes_per_write: float, cap: int) -> Figure:
    from zconsole.recording.db import file_bytes
    from zconsole.recording.retention import Retention
    from zconsole.recording.writer import RecordingWriter

    path = workdir / "capped.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
    writer = RecordingWriter(path, retention=Retention(max_bytes=cap))
    start = min(p[0].collected_at for p in polls.values())
    largest = 0
    # Three caps' worth of polls: the file turns over twice.
    steps = int(3 * cap / bytes_per_write / len(polls)) + 1
    for step in range(steps):
        for snapshots in polls.values():
            snapshot = snapshots[step % len(snapshots)]
            at = start + timedelta(seconds=step * INTERVAL_S)
            writer.write(dataclasses.replace(snapshot, collected_at=at))
        largest = max(largest, file_bytes(path))
    writer.close()
    return Figure(
        NAME,
        f"retention: largest file / cap ({cap / 1e6:g} MB cap)",
        "× cap",
        [largest / cap],
        target="≤ 1.0 × cap",
        limit=1.0,
        note=f"{steps * len(polls)} polls written, {writer.dropped} oldest dropped",
    )
