"""The console records its own polls while it runs, with the recorder's writer."""

from __future__ import annotations

from pathlib import Path

from tests.pilot import wait_until
from zconsole.app import ZConsoleApp
from zconsole.config import load_config
from zconsole.recording.db import recording_path
from zconsole.recording.reader import RecordingReader
from zconsole.recording.writer import RecordingWriter
from zconsole.registry import build_checks


def _config(workdir: Path, recording: Path) -> Path:
    path = workdir / "zconsole.toml"
    path.write_text(
        f'[general]\ninterval = 0.3\n[docker]\nenabled = false\n[recording]\npath = "{recording}"\n'
    )
    return path


def _host_frames(path: Path) -> int:
    if not path.exists():
        return 0
    with RecordingReader(path) as reader:
        span = reader.span()
        return 0 if span is None else len(reader.statuses("host", *span))


async def test_the_console_records_while_it_runs(workdir: Path) -> None:
    recording = workdir / "r.sqlite3"
    config = load_config(config_path=_config(workdir, recording))
    assert recording_path(config) == recording
    app = ZConsoleApp(config, build_checks(config))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.recording is not None, timeout=20)
        assert str(recording) in app.recording_note
        await wait_until(pilot, lambda: _host_frames(recording) >= 3, timeout=20)
    with RecordingReader(recording) as reader:
        span = reader.span()
        assert span is not None
        host = reader.snapshot_at("host", span[1])
    assert host is not None and host.ok_data


async def test_the_console_leaves_the_file_to_a_running_recorder(workdir: Path) -> None:
    recording = workdir / "r.sqlite3"
    config = load_config(config_path=_config(workdir, recording))
    service = RecordingWriter(recording)  # the recorder service holds the file
    try:
        app = ZConsoleApp(config, build_checks(config))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.recording_note != "", timeout=20)
            await pilot.pause(1.0)
            assert app.recording is None
            assert "recorded by another process" in app.recording_note
        assert _host_frames(recording) == 0
    finally:
        service.close()
