"""Find what is big: a real tree of 100 000 files, cancelled mid-way, an unreadable directory
(scanned by a forked child that dropped root for `nobody`), another filesystem not crossed, and
the modal driven through Pilot.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from tests import services
from zconsole.app import ZConsoleApp
from zconsole.checks.disk_scan import ScanProgress, scan
from zconsole.config import Config
from zconsole.disk_scan import open_disk_scan

N_DIRS = 100
PER_DIR = 1000
BIG = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 dirs x 1000 one-byte files, plus big/ holding one 5 MiB file."""
    root = tmp_path_factory.mktemp("scan-tree")
    for d in range(N_DIRS):
        sub = root / f"d{d:03}"
        sub.mkdir()
        for f in range(PER_DIR):
            fd = os.open(sub / f"f{f}", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, b"x")
            os.close(fd)
    (root / "big").mkdir()
    (root / "big" / "blob").write_bytes(os.urandom(BIG))
    return root


def test_scan_of_100k_files_finishes_with_the_largest_directory_first(tree: Path) -> None:
    reports: list[ScanProgress] = []
    result = scan(str(tree), on_progress=reports.append, top=5)
    assert result.done and not result.cancelled and not result.timed_out
    assert result.files == N_DIRS * PER_DIR + 1
    assert result.dirs == N_DIRS + 2  # the root, d000..d099, big
    assert result.denied_count == 0
    assert result.largest[0].path == str(tree / "big")
    assert result.largest[0].bytes >= BIG
    assert result.largest[1].files == PER_DIR
    assert reports[-1] == result


def test_scan_is_cancellable_mid_way(tree: Path) -> None:
    cancel = threading.Event()

    def progress(p: ScanProgress) -> None:
        if p.files >= 5 * PER_DIR:
            cancel.set()

    result = scan(str(tree), cancel=cancel, on_progress=progress, progress_every=0.0)
    assert result.cancelled and result.done  # done: this is the final report
    assert 5 * PER_DIR <= result.files < N_DIRS * PER_DIR


def test_scan_respects_max_depth(tree: Path) -> None:
    result = scan(str(tree), max_depth=0)
    assert result.files == 0 and result.depth_limited == N_DIRS + 1


def test_scan_does_not_cross_into_another_filesystem(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        services.unavailable("mounting a tmpfs needs root")
    (tmp_path / "own").write_bytes(b"y" * 10_000)
    inner = tmp_path / "mnt"
    inner.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=5m", "zc-scan-tmpfs", str(inner)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        services.unavailable("mount -t tmpfs failed")
    try:
        (inner / "hidden").write_bytes(b"z" * 100_000)
        result = scan(str(tmp_path))
        assert result.other_fs == 1
        assert result.files == 1  # "own" only; nothing from the tmpfs
    finally:
        subprocess.run(["umount", "-l", str(inner)], check=False, capture_output=True)


@pytest.fixture
def tree_with_locked_dir() -> Iterator[Path]:
    """A tree nobody may traverse, except locked/ (0700, root). Outside tmp_path, which is 0700."""
    root = Path(tempfile.mkdtemp(prefix="zc-scan-", dir="/tmp"))
    try:
        root.chmod(0o755)
        (root / "open").mkdir(mode=0o755)
        for i in range(10):
            (root / "open" / f"f{i}").write_bytes(b"o" * 100)
        locked = root / "locked"
        locked.mkdir()
        locked.chmod(0o700)
        (locked / "secret").write_bytes(b"s" * 100)
        for p in (root / "open", *(root / "open").iterdir()):
            p.chmod(p.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if p.is_dir() else 0))
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _scan_as_nobody(root: Path) -> dict[str, object]:
    """Root reads everything, so the scan runs in a forked child that became `nobody`."""
    nobody = pwd.getpwnam("nobody")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            payload = json.dumps(asdict(scan(str(root)))).encode()
            os.write(write_fd, payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    with os.fdopen(read_fd, "rb") as fh:
        chunks.append(fh.read())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result: dict[str, object] = json.loads(b"".join(chunks))
    return result


def test_unreadable_directory_is_counted_and_listed_not_fatal(tree_with_locked_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("dropping to nobody needs root")
    result = _scan_as_nobody(tree_with_locked_dir)
    assert result["done"] is True
    assert result["denied_count"] == 1
    assert result["denied"] == [str(tree_with_locked_dir / "locked")]
    assert result["files"] == 10  # open/ is scanned in full


async def test_scan_modal_lists_the_largest_directories(tree: Path) -> None:
    app = ZConsoleApp(Config(), [], poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = open_disk_scan(app, str(tree), top=10)
        await app.workers.wait_for_complete()
        await pilot.pause()
        progress = screen.progress
        assert progress is not None and progress.done
        assert progress.files == N_DIRS * PER_DIR + 1
        table = screen.query_one("#scan-table")
        assert table.row_count == 10  # type: ignore[attr-defined]
        first = table.get_row_at(0)  # type: ignore[attr-defined]
        assert first[2].plain == str(tree / "big")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen
