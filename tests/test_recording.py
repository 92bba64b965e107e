"""The recording: typed round trip, compact unchanged polls, kill -9, damaged files, retention."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from tests import services
from zconsole.checks.base import Snapshot, Status
from zconsole.checks.host import HostCheck, HostData
from zconsole.checks.secrets import register_secret
from zconsole.recording.db import file_bytes
from zconsole.recording.reader import RecordingReader
from zconsole.recording.retention import Retention
from zconsole.recording.when import parse_when
from zconsole.recording.writer import RecordingBusy, RecordingWriter, is_being_recorded

T0 = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def host_snapshot() -> Snapshot[HostData]:
    """One real poll of this machine (its processes, disks, memory)."""
    check = HostCheck(interval=1.0)
    check.collect()
    snapshot = check.collect()
    assert snapshot.ok_data
    return snapshot


def varied(base: Snapshot[HostData], i: int, *, at: datetime | None = None) -> Snapshot[HostData]:
    """The same host, ``i`` polls later, with figures that moved."""
    assert base.data is not None
    data = dataclasses.replace(
        base.data,
        cpu_percent=float(i % 97),
        memory=dataclasses.replace(base.data.memory, used=base.data.memory.used + i * 4096),
    )
    return dataclasses.replace(
        base, data=data, collected_at=at or T0 + timedelta(seconds=5 * i), duration_ms=12.3
    )


def frame_counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        frames = db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
        bodies = db.execute("SELECT COUNT(*) FROM bodies").fetchone()[0]
    return int(frames), int(bodies)


def test_a_recorded_snapshot_decodes_to_the_same_typed_record(
    tmp_path: Path, host_snapshot: Snapshot[HostData]
) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path, hostname="web-01")
    for i in range(10):
        writer.write(varied(host_snapshot, i))
    writer.close()
    with RecordingReader(path) as reader:
        got = reader.snapshot_at("host", T0 + timedelta(seconds=5 * 7 + 2))
        assert reader.hostname == "web-01"
    assert got is not None
    want = varied(host_snapshot, 7)
    assert isinstance(got.data, HostData) and got.data == want.data
    assert got.collected_at == want.collected_at and got.status is want.status
    assert got.summary == want.summary and got.duration_ms == 12.3


def test_an_unchanged_poll_costs_a_frame_row_and_no_body(
    tmp_path: Path, host_snapshot: Snapshot[HostData]
) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path)
    for i in range(50):
        same = dataclasses.replace(host_snapshot, collected_at=T0 + timedelta(seconds=5 * i))
        writer.write(same)
    writer.write(varied(host_snapshot, 51))
    writer.close()
    assert frame_counts(path) == (51, 2)
    with RecordingReader(path) as reader:
        old = reader.snapshot_at("host", T0 + timedelta(seconds=100))
        assert old is not None and old.data == host_snapshot.data


def test_a_changed_poll_is_stored_as_what_changed(
    tmp_path: Path, host_snapshot: Snapshot[HostData]
) -> None:
    """Delta against the keyframe: a body is a small share of the JSON it stands for."""
    from zconsole.recording.codec import encode_body

    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path)
    for i in range(100):
        writer.write(varied(host_snapshot, i))
    writer.close()
    with sqlite3.connect(path) as db:
        keyframes, deltas, delta_bytes = db.execute(
            "SELECT SUM(base IS NULL), SUM(base IS NOT NULL),"
            " SUM(CASE WHEN base IS NOT NULL THEN length(blob) END) FROM bodies"
        ).fetchone()
    raw = len(encode_body(varied(host_snapshot, 5)))
    assert keyframes == 1 and deltas == 99
    assert delta_bytes / deltas < raw / 10, (delta_bytes / deltas, raw)


def test_secrets_never_reach_the_file(tmp_path: Path, host_snapshot: Snapshot[HostData]) -> None:
    register_secret("s3cr3t-in-a-process-cmdline")
    assert host_snapshot.data is not None
    process = dataclasses.replace(
        host_snapshot.data.top_processes[0],
        cmdline="psql postgresql://app:s3cr3t-in-a-process-cmdline@127.0.0.1/app",
    )
    data = dataclasses.replace(host_snapshot.data, top_processes=(process,))
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path)
    writer.write(dataclasses.replace(host_snapshot, data=data))
    writer.close()
    with RecordingReader(path) as reader:
        got = reader.snapshot_at("host", datetime.now(UTC))
    assert got is not None and got.data is not None
    assert "s3cr3t" not in got.data.top_processes[0].cmdline
    # Compressed bodies hide nothing from this check: the raw text is decompressed above, and
    # the frame rows carry no text but the status.
    assert b"s3cr3t" not in path.read_bytes()


def test_the_recording_is_its_owners_alone(
    tmp_path: Path, host_snapshot: Snapshot[HostData]
) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path)
    writer.write(host_snapshot)
    for part in (path, Path(f"{path}-wal")):
        assert part.stat().st_mode & 0o777 == 0o600, part
    writer.close()


def test_one_writer_per_file(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path)
    assert is_being_recorded(path)
    with pytest.raises(RecordingBusy, match=f"pid {os.getpid()}"):
        RecordingWriter(path)
    writer.close()
    assert not is_being_recorded(path)
    RecordingWriter(path).close()


def test_transitions_are_written_with_their_frame(
    tmp_path: Path, host_snapshot: Snapshot[HostData]
) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path)
    statuses = [Status.OK] * 3 + [Status.CRIT] * 4 + [Status.OK] * 3
    for i, status in enumerate(statuses):
        writer.write(dataclasses.replace(varied(host_snapshot, i), status=status))
    writer.close()
    # A writer that reopens the file knows the last status: no transition for an unchanged one.
    writer = RecordingWriter(path)
    writer.write(dataclasses.replace(varied(host_snapshot, 10), status=Status.OK))
    writer.close()
    with RecordingReader(path) as reader:
        changes = [(t.old, t.new, t.at) for t in reader.transitions()]
    assert changes == [
        (None, Status.OK, T0),
        (Status.OK, Status.CRIT, T0 + timedelta(seconds=15)),
        (Status.CRIT, Status.OK, T0 + timedelta(seconds=35)),
    ]


def test_stepping_poll_by_poll(tmp_path: Path, host_snapshot: Snapshot[HostData]) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path)
    for i in range(5):
        writer.write(varied(host_snapshot, i))
    writer.close()
    with RecordingReader(path) as reader:
        assert reader.step(T0 + timedelta(seconds=10), -1) == T0 + timedelta(seconds=5)
        assert reader.step(T0 + timedelta(seconds=10), +1) == T0 + timedelta(seconds=15)
        assert reader.step(T0, -1) is None
        assert reader.span() == (T0, T0 + timedelta(seconds=20))
        # Long after the last poll the recorder was not running: nothing is "at" that moment.
        assert reader.snapshot_at("host", T0 + timedelta(hours=2)) is None


def test_filling_past_the_cap_drops_the_oldest_first(
    tmp_path: Path, host_snapshot: Snapshot[HostData]
) -> None:
    cap = 1_000_000
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path, retention=Retention(max_bytes=cap))
    n = 0
    largest = 0
    # Until three caps' worth have been written (each poll's body is random enough to count).
    rng = random.Random(7)
    written = 0
    while written < 3 * cap:
        snapshot = varied(host_snapshot, n)
        assert snapshot.data is not None
        noisy = dataclasses.replace(
            snapshot.data, per_core=tuple(rng.random() * 100 for _ in range(64))
        )
        writer.write(dataclasses.replace(snapshot, data=noisy))
        written += 600
        n += 1
        largest = max(largest, file_bytes(path))
    writer.close()
    assert largest <= cap, largest
    assert writer.dropped > 0
    with RecordingReader(path) as reader:
        span = reader.span()
        assert span is not None
        first, last = span
        assert last == T0 + timedelta(seconds=5 * (n - 1))  # the newest poll is kept
        assert first > T0  # the oldest went
        # What is left is a contiguous run of the newest polls: nothing in the middle dropped.
        kept = reader.statuses("host", first, last)
    assert len(kept) == (last - first).total_seconds() / 5 + 1


def test_polls_older_than_the_age_limit_are_dropped(
    tmp_path: Path, host_snapshot: Snapshot[HostData]
) -> None:
    path = tmp_path / "r.sqlite3"
    writer = RecordingWriter(path, retention=Retention(max_age_s=600))
    for i in range(0, 3600, 5):  # an hour, every 5 s
        writer.write(varied(host_snapshot, i // 5, at=T0 + timedelta(seconds=i)))
    writer.close()
    with RecordingReader(path) as reader:
        span = reader.span()
    assert span is not None
    first, last = span
    # Trimmed once a minute of recorded time: at most 10 min plus a minute are left.
    assert timedelta(minutes=10) <= last - first <= timedelta(minutes=11)


def test_a_damaged_file_is_set_aside_and_recording_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
    writer = RecordingWriter(path)
    assert writer.set_aside and Path(writer.set_aside).exists()
    writer.close()
    with RecordingReader(path) as reader:
        assert reader.span() is None


def test_times_as_responders_type_them() -> None:
    now = datetime(2026, 12, 4, 3, 30, 0, tzinfo=UTC)
    assert parse_when("-15m", now) == now - timedelta(minutes=15)
    assert parse_when("2h ago", now) == now - timedelta(hours=2)
    assert parse_when("03:12:04", now) == datetime(2026, 12, 4, 3, 12, 4, tzinfo=UTC)
    assert parse_when("04:00", now) == datetime(2026, 12, 3, 4, 0, tzinfo=UTC)  # yesterday's
    assert parse_when("2026-12-04T01:02:03", now) == datetime(2026, 12, 4, 1, 2, 3, tzinfo=UTC)
    assert parse_when("2026-12-04T04:02:03+01:00", now) == datetime(
        2026, 12, 4, 3, 2, 3, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="expected"):
        parse_when("yesterday-ish", now)


# -- kill -9 -------------------------------------------------------------------------------------

INTERVAL_S = 1.0


def _recorder(workdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "zconsole", "record", "--interval", str(INTERVAL_S)],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _newest(path: Path) -> tuple[int, float]:
    """(frames committed, time of the newest host frame), as another process sees the file."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            count, newest = db.execute(
                "SELECT COUNT(*), MAX(at) FROM frames WHERE source = 'host'"
            ).fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0, 0.0
    return int(count), float(newest or 0.0)


def _has_frames(path: Path, count: int) -> bool:
    return _newest(path)[0] >= count


def test_kill_9_mid_write_loses_at_most_the_poll_in_flight(workdir: Path) -> None:
    path = workdir / "r.sqlite3"
    (workdir / "zconsole.toml").write_text(
        f'[docker]\nenabled = false\n[recording]\npath = "{path}"\n'
    )
    rng = random.Random(14)
    seen_total = 0
    for _round in range(3):
        proc = _recorder(workdir)
        try:
            wanted = _newest(path)[0] + 3
            services.wait_for(partial(_has_frames, path, wanted), 30, "three polls")
            # Somewhere inside an interval: between polls, during one, or during its commit.
            time.sleep(rng.random() * INTERVAL_S)
            committed, _ = _newest(path)
            killed_at = time.time()
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(10)
            assert proc.stderr is not None and proc.stdout is not None
            stderr = proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, stderr
        # Reopening runs the integrity check; a damaged file would have been set aside.
        writer = RecordingWriter(path)
        assert writer.set_aside == ""
        writer.close()
        count, newest = _newest(path)
        assert count >= committed >= seen_total
        # Every poll that finished more than one interval (plus its own few ms) before the
        # kill is in the file: at most the poll in flight is gone.
        assert newest >= killed_at - INTERVAL_S - 0.5, (killed_at - newest, stderr)
        seen_total = count
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_sigterm_stops_the_recorder_cleanly(workdir: Path) -> None:
    path = workdir / "r.sqlite3"
    (workdir / "zconsole.toml").write_text(
        f'[docker]\nenabled = false\n[recording]\npath = "{path}"\n'
    )
    proc = _recorder(workdir)
    services.wait_for(lambda: _newest(path)[0] >= 2, 30, "two polls")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert f"into {path}" in out and "every 1 s" in out
    assert not is_being_recorded(path)


def test_the_recorder_waits_for_a_console_that_records_then_takes_over(workdir: Path) -> None:
    path = workdir / "r.sqlite3"
    (workdir / "zconsole.toml").write_text(
        f'[docker]\nenabled = false\n[recording]\npath = "{path}"\n'
    )
    console = RecordingWriter(path)  # a console is recording
    proc = _recorder(workdir)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "already being recorded" in line and "waiting for it to stop" in line, line
        time.sleep(1.0)
        assert _newest(path)[0] == 0  # it does not write beside the console
        console.close()
        services.wait_for(partial(_has_frames, path, 2), 30, "the recorder taking over")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
